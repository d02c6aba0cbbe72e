"""Frames in: timestamps, damaged and odd files, downscaling, rotation, bounded memory."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import corpus
from formcheck.config import VideoConfig
from formcheck.errors import InputNotFound, NotAVideo
from formcheck.inputs import video
from formcheck.inputs.sniff import explain_unreadable
from formcheck.inputs.video import iter_frames, probe


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-frame fast-start mp4 (index first, as phones and web exports write it)."""
    d = tmp_path_factory.mktemp("clip")
    corpus.write_video(d / "moov_last.mp4", corpus.moving_box(60))
    return corpus.faststart(d / "moov_last.mp4", d / "clip.mp4")


def frames(path: Path, **kw) -> list[video.Frame]:
    return list(iter_frames(path, **kw))


# --- timestamps ---------------------------------------------------------------------------


def test_gif_timestamps_come_from_frame_durations(tmp_path: Path):
    p = corpus.gif(tmp_path / "a.gif", [100, 500, 100])
    info = probe(p)
    assert info.is_gif and info.frame_count == 3 and (info.width, info.height) == (64, 48)
    assert [f.t for f in frames(p)] == pytest.approx([0.0, 0.1, 0.6])


def test_gif_tiny_delays_are_shown_as_browsers_do(tmp_path: Path):
    p = corpus.gif(tmp_path / "a.gif", [0, 0, 0])  # browsers show 0-10 ms frames for 100 ms
    assert [f.t for f in frames(p)] == pytest.approx([0.0, 0.1, 0.2])


def test_animated_png_is_a_video_still_png_is_not(tmp_path: Path):
    from PIL import Image

    ims = [Image.new("RGB", (40, 30), (i * 80, 0, 0)) for i in range(3)]
    ims[0].save(tmp_path / "a.png", save_all=True, append_images=ims[1:], duration=[200, 300, 100])
    assert [f.t for f in frames(tmp_path / "a.png")] == pytest.approx([0.0, 0.2, 0.5])
    corpus.image(tmp_path / "s.png")
    with pytest.raises(NotAVideo, match="still PNG image"):
        probe(tmp_path / "s.png")


def test_cut_gif_keeps_the_frames_before_the_cut(tmp_path: Path):
    full = corpus.gif(tmp_path / "a.gif", [100] * 6, size=(120, 90))
    cut = tmp_path / "cut.gif"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.7)])
    got = frames(cut)
    assert 2 <= len(got) < 6


def test_video_timestamps_are_finite_and_increasing(clip: Path):
    got = frames(clip)
    t = np.array([f.t for f in got])
    assert len(got) == 60 and t[0] == 0.0
    assert np.all(np.isfinite(t)) and np.all(np.diff(t) > 0)
    assert t[-1] == pytest.approx(59 / 24.0, abs=0.01)


# --- damage ---------------------------------------------------------------------------------


def test_reads_on_past_a_damaged_stretch(clip: Path, tmp_path: Path):
    """A damaged frame used to end the video; the frames after it are now kept."""
    bad = corpus.corrupt_middle(clip, tmp_path / "bad.mp4", length=256)  # ~4 of 60 frames
    got = frames(bad)
    assert 50 <= len(got) < 60
    t = np.array([f.t for f in got])
    assert np.all(np.diff(t) > 0)
    assert t[-1] == pytest.approx(59 / 24.0, abs=0.01)  # the frames after the damage keep their times
    assert np.diff(t).max() > 1.5 / 24.0  # and the lost frames show as a gap, not a squeeze


def test_cut_video_keeps_what_was_written(clip: Path, tmp_path: Path):
    counts = []
    for fraction in (0.1, 0.5, 0.9):
        cut = corpus.truncate(clip, tmp_path / f"cut{fraction}.mp4", fraction)
        assert probe(cut).frame_count == 60  # the index still announces the whole clip
        counts.append(len(frames(cut)))
    assert 1 <= counts[0] < counts[1] < counts[2] < 60, counts
    assert counts[2] >= 45, counts  # the first frame is the largest: data is not spread evenly


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda c, d: corpus.header_only(c, d), "cut short", id="header-only"),
        pytest.param(lambda c, d: corpus.truncate_bytes(c, d, 0.5), "index (moov) is missing", id="index-last-cut"),
        pytest.param(lambda c, d: corpus.random_bytes(d), "not a video formcheck can read", id="random-bytes"),
    ],
)
def test_unreadable_videos(clip: Path, tmp_path: Path, make, message: str):
    src = clip if "index" not in message else clip.with_name("moov_last.mp4")
    p = make(src, tmp_path / "x.mp4")
    with pytest.raises(NotAVideo, match=message.replace("(", r"\(").replace(")", r"\)")):
        probe(p)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"", "empty (0 bytes)", id="empty"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "still PNG image", id="png"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\0" * 40, "still JPEG image", id="jpeg"),
        pytest.param(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic" + b"\0" * 40, "still HEIC image", id="heic"),
        pytest.param(b"RIFF\x24\0\0\0WAVEfmt " + b"\0" * 40, "only sound", id="wav"),
        pytest.param(b"ID3\x04\0\0\0\0\0\0" + b"\1" * 40, "only sound", id="mp3"),
        pytest.param(b"\xef\xbb\xbf<!DOCTYPE html><html>403</html>", "web page", id="html"),
        pytest.param("résumé: squats\n".encode(), "text file", id="text"),
        pytest.param(b"%PDF-1.7\n\0\1\2", "PDF document", id="pdf"),
        pytest.param(b"\0\0\0\x20ftypisom\0\0\0\0" + b"\0" * 16 + b"\0\0\x10\0mdat", "cut short", id="mp4-cut"),
        pytest.param(b"\0\0\0\x10ftypisom\0\0\0\0\0\0\0\x08free", "no index", id="mp4-no-moov"),
        pytest.param(b"\0\0\0\x02ftypisom", "damaged", id="mp4-bad-box"),
    ],
)
def test_explains_what_a_file_is(tmp_path: Path, content: bytes, message: str):
    p = tmp_path / "x.mp4"
    p.write_bytes(content)
    assert message in explain_unreadable(p)


def test_a_zip_is_named(tmp_path: Path):
    with zipfile.ZipFile(tmp_path / "x.mp4", "w") as z:
        z.writestr("set.mp4", b"\0" * 10)
    assert "ZIP archive" in explain_unreadable(tmp_path / "x.mp4")


def test_paths_that_are_not_files(tmp_path: Path):
    with pytest.raises(InputNotFound, match="no such file"):
        probe(tmp_path / "missing.mp4")
    with pytest.raises(InputNotFound, match="is a directory"):
        probe(tmp_path)
    os.mkfifo(tmp_path / "fifo.mp4")
    with pytest.raises(InputNotFound, match="not a regular file"):
        probe(tmp_path / "fifo.mp4")  # never blocks on open


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file(clip: Path, tmp_path: Path):
    p = shutil.copy(clip, tmp_path / "locked.mp4")
    os.chmod(p, 0)
    with pytest.raises(InputNotFound, match="cannot be read"):
        probe(p)


# --- size -------------------------------------------------------------------------------------


def test_huge_frames_are_downscaled_before_the_model(tmp_path: Path):
    p = corpus.write_video(tmp_path / "4k.mp4", corpus.solid_frames(3, 3840, 2160))
    info = probe(p)
    assert (info.width, info.height) == (3840, 2160)  # landmarks are reported in source pixels
    got = frames(p, max_side=VideoConfig().max_side)
    assert [f.image.shape for f in got] == [(720, 1280, 3)] * 3


def test_absurd_frame_sizes_are_refused_before_decoding(clip: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(video, "MAX_FRAME_PIXELS", 100 * 100)
    with pytest.raises(NotAVideo, match="too large"):
        probe(clip)
    with pytest.raises(NotAVideo, match="too large"):
        frames(clip)
    with pytest.raises(NotAVideo, match="too large"):
        probe(corpus.gif(tmp_path / "a.gif", [100, 100], size=(200, 100)))


def test_one_frame_and_tiny_videos(tmp_path: Path):
    one = corpus.write_video(tmp_path / "one.mp4", corpus.solid_frames(1))
    assert probe(one).frame_count == 1 and len(frames(one)) == 1
    tiny = corpus.write_video(tmp_path / "tiny.mp4", corpus.solid_frames(5, 16, 16))
    assert probe(tiny).width == 16 and [f.image.shape for f in frames(tiny)] == [(16, 16, 3)] * 5


def test_memory_does_not_grow_with_video_length(tmp_path: Path):
    """Frames are streamed: decoding 10x more frames must not hold 10x more memory."""
    short = corpus.write_video(tmp_path / "short.mp4", corpus.noise_frames(30, 320, 240))
    long = corpus.write_video(tmp_path / "long.mp4", corpus.noise_frames(300, 320, 240))

    def peak(p: Path) -> int:
        tracemalloc.start()
        try:
            for f in iter_frames(p, prefetch=4):
                assert f.image.shape == (240, 320, 3)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    frame_bytes = 320 * 240 * 3
    p_short, p_long = peak(short), peak(long)
    assert p_long < p_short + 4 * frame_bytes, (p_short, p_long)
    assert p_long < 20 * frame_bytes  # a handful of frames in flight, not 300


def test_prefetch_stops_its_thread_when_the_reader_stops_early(clip: Path):
    before = threading.active_count()
    it = iter_frames(clip, prefetch=2)
    next(it)
    it.close()
    assert threading.active_count() == before


# --- rotation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotation_tagged_phone_clips_come_out_upright(clip: Path, tmp_path: Path, degrees: int):
    """Compared with what ffmpeg itself (and so every player) shows for the same file."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="the dev extra imageio-ffmpeg makes the clip")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    tagged = tmp_path / f"rot{degrees}.mp4"
    quiet = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run([*quiet, "-display_rotation", str(degrees), "-i", clip, "-c", "copy", tagged], check=True)
    raw = subprocess.run([*quiet, "-i", tagged, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout  # fmt: skip
    info = probe(tagged)
    first = next(iter(iter_frames(tagged)))
    upright = (160, 120) if degrees == 180 else (120, 160)
    assert (info.width, info.height) == upright
    assert first.image.shape == (upright[1], upright[0], 3)
    shown = np.frombuffer(raw, np.uint8).reshape(first.image.shape)
    assert np.abs(shown.astype(int) - first.image).mean() < 2.0
