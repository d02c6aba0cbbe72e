"""Chunked parallel tracking: planning, stitching, and the same result as one stream on a dev clip."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from formcheck import parallel
from formcheck.config import Config, VideoConfig
from formcheck.errors import ModelError
from formcheck.parallel import Chunk, plan, stitch, track_chunked, workers_for
from formcheck.track import PoseTrack, empty_arrays
from formcheck.video import VideoInfo, iter_frames, probe

SPLIT_CLIP = "glute_bridge_BE-PROJECTS2018_GroupNo23.mp4"  # 232 frames, 9.7 s, 3 reps
SHORT_CLIP = "synthetic_glute_bridge_anvoxfit.mp4"  # 97 frames, 4 s


def _info(seconds: float, fps: float = 30.0, gif: bool = False) -> VideoInfo:
    return VideoInfo("clip.mp4", 1280, 720, fps, round(seconds * fps), gif)


def _video(**over: object) -> VideoConfig:
    return dataclasses.replace(VideoConfig(), **{"parallel_min_s": 4.0, **over})


# ---------------------------------------------------------------- planning


@pytest.mark.parametrize(
    ("seconds", "gif", "over", "expected"),
    [
        (60.0, False, {"workers": 1}, 1),
        (60.0, False, {"workers": 2}, 2),
        (60.0, False, {"workers": 8}, 8),
        (3.9, False, {"workers": 2}, 1),  # shorter than parallel_min_s: not worth splitting
        (4.0, False, {"workers": 8}, 2),  # one extra tracker per parallel_min_s of video
        (9.0, False, {"workers": 8}, 3),
        (60.0, True, {"workers": 2}, 1),  # animated pictures: no seeking
        (0.0, False, {"workers": 2}, 1),  # unknown length
        (60.0, False, {"workers": 2, "parallel_min_s": 0.0}, 1),  # knob off
    ],
    ids=["one-asked", "two", "eight", "too-short", "min-s-per-worker", "three", "gif", "unknown-length", "off"],
)
def test_workers_for(seconds, gif, over, expected):
    assert workers_for(_info(seconds, gif=gif), _video(**over)) == expected


def test_auto_workers_follow_the_cores(monkeypatch):
    monkeypatch.setattr(parallel, "cores", lambda: 1)
    assert workers_for(_info(60.0), _video(workers=0)) == 1
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    assert workers_for(_info(60.0), _video(workers=0)) == 2
    monkeypatch.setattr(parallel, "cores", lambda: 64)
    assert workers_for(_info(600.0), _video(workers=0)) == parallel.MAX_AUTO_WORKERS  # memory


def test_plan_covers_the_file_once_with_equal_work():
    chunks = plan(10.0, 3, 1.0)  # the first chunk owns 4 s; the others 3 s plus 1 s of warm-up
    assert [c.start_s for c in chunks] == pytest.approx([0.0, 4.0, 7.0])
    assert [c.end_s for c in chunks[:-1]] == [c.start_s for c in chunks[1:]]
    assert math.isinf(chunks[-1].end_s)  # whatever the container said about the length
    assert [c.seek_s for c in chunks] == pytest.approx([0.0, 3.0, 6.0])
    work = [min(c.end_s, 10.0) - c.seek_s for c in chunks]
    assert work == pytest.approx([4.0, 4.0, 4.0])
    assert [c.start_s for c in plan(1.0, 2, 1.0)] == pytest.approx([0.0, 0.5])  # shorter than the warm-up
    assert Chunk(0.5, 2.0, 1.0).seek_s == 0.0  # never before the start


# ---------------------------------------------------------------- stitching


def _part(ts: list[float], next_t: float | None, clean: bool = True) -> parallel._Part:
    part = parallel._Part()
    image, world, vis = empty_arrays(len(ts))
    part.track = PoseTrack(np.asarray(ts, dtype=float), image, world, vis, 1280, 720)
    part.next_t, part.clean, part.size = next_t, clean, (1280, 720) if ts else None
    return part


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([([0.0, 0.1], 0.2), ([0.2, 0.3], None)], [0.0, 0.1, 0.2, 0.3]),
        ([([0.0, 0.1], None), ([], None)], [0.0, 0.1]),  # the file ended before the second chunk
        ([([0.0, 0.1], 0.2), ([0.3], None)], None),  # a frame lost between chunks
        ([([0.0, 0.1], 0.2), ([0.1, 0.2], None)], None),  # a frame doubled
        ([([0.0, 0.1], 0.2), ([], None)], None),  # the second chunk found nothing after 0.2
        ([([0.0, 0.1], None), ([0.2], None)], None),  # frames after the first chunk's end of file
        ([([0.0, 0.1], 0.2), ([0.2, 0.3], 0.4)], None),  # the last chunk stopped before the end
    ],
    ids=["joined", "short-file", "gap", "overlap", "missing-tail", "past-end", "cut-tail"],
)
def test_stitch_only_when_every_frame_is_there_once(parts, expected):
    info = _info(1.0)
    track = stitch([_part(ts, nxt) for ts, nxt in parts], info)
    if expected is None:
        assert track is None
    else:
        assert track is not None
        assert track.t.tolist() == expected
        assert track.frames_expected == info.frame_count


def test_stitch_refuses_a_chunk_that_decoded_with_trouble():
    assert stitch([_part([0.0], 0.1), _part([0.1], None, clean=False)], _info(1.0)) is None


# ---------------------------------------------------------------- the real thing


def test_a_chunk_error_is_raised_like_the_single_stream_one(samples_dir, tmp_path):
    path = samples_dir / SPLIT_CLIP
    with pytest.raises(ModelError):
        track_chunked(path, probe(path), _video(), 2, model=tmp_path / "missing.task")


@pytest.mark.video
def test_chunked_tracking_gives_the_single_stream_frames_reps_and_verdicts(samples_dir):
    from formcheck.pipeline import analyze_track, track_video

    path = samples_dir / SPLIT_CLIP
    single = track_video(path, dataclasses.replace(Config(), video=_video(workers=1)))
    seen: list[tuple[int, int]] = []
    fast = track_chunked(path, probe(path), _video(), 2, progress=lambda d, n: seen.append((d, n)))
    assert fast is not None, "the stitch could not be verified on a plain mp4"
    np.testing.assert_array_equal(fast.t, single.t)  # every frame once, same timestamps
    np.testing.assert_array_equal(fast.detected, single.detected)
    half = len(single) // 2
    np.testing.assert_array_equal(fast.image[: half - 1], single.image[: half - 1])  # chunk 0 is the same run
    a, b = analyze_track(single), analyze_track(fast)
    assert a.exercise == b.exercise
    assert len(a.reps) == len(b.reps) > 0
    for ra, rb in zip(a.reps, b.reps, strict=True):
        assert abs(ra.top - rb.top) <= 2 and ra.partial == rb.partial
    assert [[c.verdict for c in cs] for cs in a.checks] == [[c.verdict for c in cs] for cs in b.checks]
    assert seen and all(n == single.frames_expected for _, n in seen)


@pytest.mark.video
def test_track_video_falls_back_to_one_stream_when_the_stitch_fails(samples_dir, monkeypatch):
    from formcheck.pipeline import track_video

    path = samples_dir / SHORT_CLIP
    cfg = dataclasses.replace(Config(), video=_video(workers=2, parallel_min_s=1.0))
    calls = []
    monkeypatch.setattr(parallel, "stitch", lambda parts, info: calls.append(len(parts)))
    track = track_video(path, cfg)
    assert calls == [2]  # the chunks ran, their stitch was refused ...
    n = sum(1 for _ in iter_frames(path))
    assert len(track) == n  # ... and the single stream gave every frame
