"""The model at a lower rate (`[video] model_hz`, `--fast`): which frames it sees, how the others
are filled, how tracks record it, and that chunked tracking still stitches (issue 15)."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import SHIPPED
from formcheck.analysis.smoothing import SmoothingConfig, fill_skipped, smooth_track
from formcheck.config import Config
from formcheck.errors import NotAVideo
from formcheck.inputs.frames import Frame, Skipped
from formcheck.inputs.sampling import FramePicker, pick, pick_decoded, stride_for
from formcheck.pipeline.analyze import analyze_track
from formcheck.pose.settings import FAST_HZ
from formcheck.pose.track import PoseTrack


@pytest.mark.parametrize(("fps", "hz", "stride"), [
    (30, 10, 3), (29.97, 10, 3), (24, 10, 2), (25, 10, 2), (60, 10, 6), (59.94, 10, 6), (15, 10, 1),
    (30, 0, 1), (0, 10, 1), (float("nan"), 10, 1), (120, 7.5, 16),
])
def test_stride_keeps_at_least_the_rate(fps, hz, stride):
    assert stride_for(fps, hz) == stride


def _raw(n: int, fps: float, cut_at: int | None = None, start: int = 0):
    """(index, t, image) of a still scene; from `cut_at` on, another (bright) scene."""
    for i in range(start, n):
        level = 200 if cut_at is not None and i >= cut_at else 20
        yield i, i / fps, np.full((36, 64, 3), level, np.uint8)


def _chosen(items) -> list[int]:
    return [f.index for f in items if isinstance(f, Frame)]


def test_picker_models_every_third_frame_and_the_last():
    items = list(pick(_raw(31, 30.0), FramePicker(30.0, 3), lambda im: im))
    assert [f.index for f in items] == list(range(31))  # every frame keeps its place
    assert _chosen(items) == [*range(0, 31, 3)]  # 30 is on the grid and the last
    items = list(pick(_raw(29, 30.0), FramePicker(30.0, 3), lambda im: im))
    assert _chosen(items) == [*range(0, 29, 3), 28]  # the last frame, off the grid, too
    assert all(isinstance(f, Skipped) for f in items if f.index not in _chosen(items))


def test_picker_models_both_sides_of_an_edit_cut():
    chosen = _chosen(pick(_raw(30, 30.0, cut_at=10), FramePicker(30.0, 3), lambda im: im))
    assert {9, 10} <= set(chosen)
    assert chosen == sorted(set([*range(0, 30, 3), 9, 10, 29]))


def test_picker_does_not_depend_on_where_reading_began():
    """Two trackers reading overlapping stretches (chunked tracking) must see the same frames there."""
    whole = _chosen(pick(_raw(90, 30.0, cut_at=50), FramePicker(30.0, 3), lambda im: im))
    later = _chosen(pick(_raw(90, 30.0, cut_at=50, start=7), FramePicker(30.0, 3), lambda im: im))
    assert [i for i in whole if i > 7] == [i for i in later if i > 7]


def test_picker_keeps_the_rate_when_frames_are_lost():
    raw = [r for r in _raw(90, 30.0) if r[0] % 3 != 0]  # exactly the grid frames lost
    chosen = _chosen(pick(iter(raw), FramePicker(30.0, 3), lambda im: im))
    assert len(chosen) >= 29  # one a period, still


def test_skipped_frames_are_not_converted():
    converted: list[int] = []

    def convert(im: np.ndarray) -> np.ndarray:
        converted.append(int(im[0, 0, 0]))
        return im

    raw = ((i, i / 30.0, np.full((4, 4, 3), i, np.uint8)) for i in range(12))
    items = list(pick(raw, FramePicker(30.0, 3), convert))
    assert converted == _chosen(items) == [0, 3, 6, 9, 11]


class _Lazy:
    """A decoder that hands out (index, t, fetch) and counts the fetches (the costly conversions);
    `again` rereads a stretch from the same frames, as a second, seeking reader would."""

    def __init__(self, frames: list[tuple[int, float, np.ndarray]], shift: int = 0) -> None:
        self.frames, self.shift, self.fetched, self.rereads = frames, shift, [], 0

    def raw(self):
        for index, t, image in self.frames:
            yield index, t, lambda index=index, image=image: self.fetched.append(index) or image

    def again(self, first: int, last: int) -> list[np.ndarray] | None:
        self.rereads += 1
        by_index = {i: im for i, _, im in self.frames}
        return [by_index[i + self.shift] for i in range(first, last + 1) if i + self.shift in by_index] or None


def _moving(n: int, fps: float, cuts: tuple[int, ...] = ()) -> list[tuple[int, float, np.ndarray]]:
    """A slowly moving scene (a faint bar drifting across); at each cut another scene, brighter."""
    out = []
    for i in range(n):
        shot = sum(i >= c for c in cuts)
        im = np.full((36, 64, 3), 30 + 45 * shot, np.uint8)
        x = (i // 2) % 60
        im[:, x:x + 4] += 40
        out.append((i, i / fps, im))
    return out


@pytest.mark.parametrize("cuts", [(), (40,), (41, 42), (10, 50, 51, 88)])
def test_fetching_only_the_model_frames_finds_the_same_cuts(cuts):
    """Decode once, convert only what the model sees: the frames chosen are those the
    frame-by-frame rule chooses, however many cuts there are, and no more frames are converted
    than where a cut may lie."""
    frames = _moving(120, 30.0, cuts)
    picker = FramePicker(30.0, 3)
    every = _chosen(pick(iter(frames), picker, lambda im: im))
    lazy = _Lazy(frames)
    items = list(pick_decoded(lazy.raw(), picker, lambda im: im, lazy.again, tail_from=118))
    assert [f.index for f in items] == list(range(120))
    assert _chosen(items) == every
    assert {c - 1 for c in cuts} | set(cuts) <= set(every)
    if not cuts:  # a still shot: the model frames and the last two, nothing else
        assert lazy.rereads == 0 and sorted(set(lazy.fetched)) == sorted({*range(0, 120, 3), 118, 119})
    else:
        assert lazy.rereads >= 1 and len(set(lazy.fetched)) < 120


def test_a_reread_that_gives_other_frames_is_not_trusted():
    """A seek that lands on the wrong frames (a damaged index) must not be used: the two sides of
    the cut, never converted, cannot be modelled (a missed cut: the new shot is modelled at the
    next model frame), and the reading converts every frame from there on, seeking no more: the
    next cut is found frame by frame."""
    frames = _moving(120, 30.0, (59, 100))
    picker = FramePicker(30.0, 3)
    lazy = _Lazy(frames, shift=5)
    chosen = _chosen(pick_decoded(lazy.raw(), picker, lambda im: im, lazy.again, tail_from=118))
    every = _chosen(pick(iter(frames), picker, lambda im: im))
    assert {58, 59, 99, 100} <= set(every)
    assert chosen == [i for i in every if i not in (58, 59)]
    assert lazy.rereads == 1 and set(range(60, 120)) <= set(lazy.fetched)


def test_the_last_frame_is_read_again_where_the_container_did_not_say_it_was_last():
    frames = _moving(50, 30.0)
    lazy = _Lazy(frames)
    chosen = _chosen(pick_decoded(lazy.raw(), FramePicker(30.0, 3), lambda im: im, lazy.again, tail_from=None))
    assert chosen[-1] == 49 and lazy.rereads == 1


def test_a_video_file_fetches_only_the_model_frames_and_finds_its_cut(tmp_path):
    """End to end on a real file: the grabbed-and-fetched reading and the frame-by-frame one give
    the same frames, pixel for pixel, and the cut's both sides are modelled."""
    import cv2

    from corpus import write_video
    from formcheck.inputs.video import VideoFile

    def bgr():
        for _, _, im in _moving(90, 30.0, (47,)):
            yield cv2.resize(im, (160, 96), interpolation=cv2.INTER_NEAREST)

    path = write_video(tmp_path / "cut.mp4", bgr(), fps=30.0)
    picker = FramePicker(30.0, 3)
    lazy = list(VideoFile(path).sampled(picker))
    cap = cv2.VideoCapture(str(path))
    every = list(pick(VideoFile._decoded(cap), picker, lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2RGB)))
    cap.release()
    assert [(f.index, f.t) for f in lazy] == [(f.index, f.t) for f in every]
    assert _chosen(lazy) == _chosen(every) and {46, 47, 89} <= set(_chosen(lazy))
    assert all(np.array_equal(a.image, b.image) for a, b in zip(lazy, every, strict=True) if isinstance(a, Frame))


def thrust_track() -> PoseTrack:
    """A real pose track (shipped sample): a glute bridge, 5 reps, 24 fps, 10 s."""
    return PoseTrack.load(SHIPPED / "glute_bridge_BE-PROJECTS2018_GroupNo23.npz")


def _skip(track: PoseTrack, stride: int) -> PoseTrack:
    """The track as the model at every `stride`-th frame would leave it (last frame modelled)."""
    seen = np.zeros(len(track), bool)
    seen[::stride] = True
    seen[-1] = True
    image, world, vis = track.image.copy(), track.world.copy(), track.visibility.copy()
    for a in (image, world, vis):
        a[~seen] = np.nan
    return dataclasses.replace(track, image=image, world=world, visibility=vis, modelled=seen)


def _torso(track: PoseTrack) -> float:
    return float(np.nanmedian(np.linalg.norm(track.image[:, 11, :2] - track.image[:, 23, :2], axis=1)))


def test_fill_skipped_restores_the_motion():
    full = thrust_track()
    sparse = _skip(full, 2)
    filled = fill_skipped(sparse)
    assert np.array_equal(np.isfinite(filled.image), np.isfinite(full.image))
    assert np.array_equal(filled.image[sparse.modelled], full.image[sparse.modelled], equal_nan=True)
    a, b = smooth_track(full), smooth_track(sparse)  # what the analysis reads
    err = np.nanmax(np.abs(a.image - b.image)[:, [11, 12, 23, 24, 25, 26], :2]) / _torso(full)
    assert err < 0.05


def test_fill_skipped_leaves_gaps_beside_a_miss_and_across_a_cut():
    track = _skip(thrust_track(), 3)
    image = track.image.copy()
    image[30] = np.nan  # a modelled frame with nobody found
    image[60:] += 3000.0  # the shot changes between modelled frames 57 and 60
    track = dataclasses.replace(track, image=image)
    filled = fill_skipped(track)
    assert np.isnan(filled.image[28:30]).all() and np.isnan(filled.image[31:33]).all()
    assert np.isnan(filled.image[58:60]).all()
    assert np.isfinite(filled.image[55:57]).all()
    # the gap rules still apply afterwards: the short miss is bridged, the cut is not
    smoothed = smooth_track(track, SmoothingConfig())
    assert np.isfinite(smoothed.image[28:33]).all() and np.isnan(smoothed.image[58:60]).all()


def test_fast_track_scores_like_the_full_one():
    full = thrust_track()
    a, b = analyze_track(full), analyze_track(_skip(full, 2))
    assert len(b.full_reps) == len(a.full_reps) == 5
    assert [r.top_s for r in b.full_reps] == pytest.approx([r.top_s for r in a.full_reps], abs=0.1)
    assert [[c.verdict for c in cs] for cs in b.checks] == [[c.verdict for c in cs] for cs in a.checks]
    assert not any("no person" in w for w in b.warnings)  # skipped frames are not missing people
    assert b.track.found_fraction == 1.0


def test_track_records_the_modelled_frames(tmp_path):
    full = thrust_track()
    full.save(tmp_path / "every.npz")
    with zipfile.ZipFile(tmp_path / "every.npz") as zf:
        assert "modelled.npy" not in zf.namelist()  # every frame: the old format, readable by 0.1
    assert PoseTrack.load(tmp_path / "every.npz").modelled.all()
    fast = _skip(full, 3)
    fast.save(tmp_path / "fast.npz")
    back = PoseTrack.load(tmp_path / "fast.npz")
    assert np.array_equal(back.modelled, fast.modelled) and back.modelled.sum() == len(full) // 3 + 1
    header = json.loads(np.load(tmp_path / "fast.npz")["header"].tobytes())
    assert header["version"] == 2
    assert len(analyze_track(back).full_reps) == 5


def test_a_damaged_modelled_mask_is_refused(tmp_path):
    fast = _skip(thrust_track(), 3)
    fast.save(tmp_path / "fast.npz")
    with np.load(tmp_path / "fast.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["modelled"] = np.full(len(fast), 7, np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(NotAVideo, match="modelled"):
        PoseTrack.load(tmp_path / "bad.npz")
    arrays["modelled"] = np.ones(3, np.uint8)
    np.savez(tmp_path / "short.npz", **arrays)
    with pytest.raises(NotAVideo, match="modelled"):
        PoseTrack.load(tmp_path / "short.npz")


# ----------------------------------------------------------------- on a real video (dev samples)

CLIP = "glute_bridge_BE-PROJECTS2018_GroupNo23.mp4"  # 24 fps, 10 s: stride 2


def _cfg(**video) -> Config:
    cfg = Config()
    return dataclasses.replace(cfg, video=dataclasses.replace(cfg.video, **video))


def test_fast_on_a_video_models_the_stride_and_the_last_frame(samples_dir):
    from formcheck.pipeline.analyze import track_video

    track = track_video(samples_dir / CLIP, _cfg(model_hz=FAST_HZ, chunks=1))
    seen = np.flatnonzero(track.modelled)
    assert seen[-1] == len(track) - 1 and seen[0] == 0
    assert 0.45 < track.modelled.mean() < 0.55  # 24 fps at 10 Hz: every 2nd frame
    assert np.all(np.diff(track.t[seen]) <= 2.5 / 24)


def test_chunked_tracking_with_a_stride_stitches_the_same_frames(samples_dir):
    from formcheck.inputs.video import probe
    from formcheck.pipeline.analyze import track_video
    from formcheck.pose.chunked import track_chunked

    path = samples_dir / CLIP
    cfg = _cfg(model_hz=FAST_HZ, chunks=2, parallel_min_s=1.0)
    one = track_video(path, _cfg(model_hz=FAST_HZ, chunks=1))
    cut = track_chunked(path, probe(path), cfg.video, 2)
    assert cut is not None, "the stitch was refused"
    assert np.array_equal(cut.t, one.t) and np.array_equal(cut.modelled, one.modelled)
    a, b = analyze_track(one, cfg), analyze_track(cut, cfg)
    assert len(a.full_reps) == len(b.full_reps) == 5


def test_cli_fast_flag_reports_the_frames_modelled(samples_dir, tmp_path):
    from typer.testing import CliRunner

    from formcheck.cli.analyze import app

    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, [str(samples_dir / CLIP), "--fast", "--json", str(out), "--quiet",
                                   "--save-poses", str(tmp_path / "t.npz")])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert report["frames_modelled"] < report["frames"] * 0.6 and report["summary"]["reps"] == 5
    assert not PoseTrack.load(tmp_path / "t.npz").modelled.all()
    # re-scoring the saved track without the video gives the same report
    again = tmp_path / "again.json"
    res = CliRunner().invoke(app, [str(tmp_path / "t.npz"), "--json", str(again), "--quiet"])
    assert res.exit_code == 0, res.output
    assert json.loads(again.read_text())["reps"] == report["reps"]


def test_every_frame_flag_overrides_the_config(tmp_path):
    from formcheck.cli.common import with_model_rate

    cfg = _cfg(model_hz=5.0)
    assert with_model_rate(cfg, None).video.model_hz == 5.0
    assert with_model_rate(cfg, False).video.model_hz == 0.0
    assert with_model_rate(cfg, True).video.model_hz == FAST_HZ


def test_model_hz_is_range_checked(tmp_path):
    from formcheck.config import load_config
    from formcheck.errors import ConfigError

    bad = Path(tmp_path / "c.toml")
    bad.write_text("[video]\nmodel_hz = -3\n")
    with pytest.raises(ConfigError, match="model_hz"):
        load_config(bad)


def test_batch_redoes_a_file_scored_at_another_model_rate(tmp_path):
    """Resume keys on the settings: a batch rerun with --fast is not served every-frame results."""
    from formcheck.apps.batch.records import Settings
    from formcheck.cli.common import with_model_rate

    every = Settings.create(tmp_path, Config())
    assert Settings.create(tmp_path, with_model_rate(Config(), True)).key != every.key
    assert Settings.create(tmp_path, with_model_rate(Config(), False)).key == every.key
