"""Chunked tracking: the cut, the stitch and its overlap check, the same track whatever the workers, and
scores like one unbroken stream on a dev clip."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from formcheck.config import Config, ConfigError, VideoConfig
from formcheck.errors import ModelError
from formcheck.inputs.video import VideoInfo, iter_frames, probe
from formcheck.pose import chunked as parallel
from formcheck.pose.chunked import Chunk, agree, chunks_for, plan, stitch, track_chunked, workers_for
from formcheck.pose.model import PoseSample
from formcheck.pose.track import PoseTrack, empty_arrays

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
        (60.0, False, {"chunks": 1}, 1),
        (60.0, False, {}, 2),  # the default
        (60.0, False, {"chunks": 8}, 8),
        (3.9, False, {}, 1),  # shorter than parallel_min_s: not worth splitting
        (4.0, False, {"chunks": 8}, 2),  # one extra chunk per parallel_min_s of video
        (9.0, False, {"chunks": 8}, 3),
        (60.0, True, {}, 1),  # animated pictures: no seeking
        (0.0, False, {}, 1),  # unknown length
        (60.0, False, {"parallel_min_s": 0.0}, 1),  # knob off
    ],
    ids=["one-asked", "default", "eight", "too-short", "min-s-per-chunk", "three", "gif", "unknown-length", "off"],
)
def test_chunks_for(seconds, gif, over, expected):
    assert chunks_for(_info(seconds, gif=gif), _video(**over)) == expected


@pytest.mark.parametrize("n_cores", [1, 2, 64])
def test_the_cut_does_not_depend_on_the_machine(monkeypatch, n_cores):
    monkeypatch.setattr(parallel, "cores", lambda: n_cores)
    assert chunks_for(_info(60.0), _video()) == 2
    assert plan(60.0, 2, 1.0, 0.25) == plan(60.0, 2, 1.0, 0.25)
    assert workers_for(2, _video()) == min(n_cores, 2)  # only how many run at once follows the cores
    assert workers_for(8, _video(workers=3)) == 3


def test_video_settings_are_checked():
    for bad in ({"chunks": 0}, {"workers": -1}, {"parallel_warmup_s": -1.0}, {"max_side": 0}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            _video(**bad)


def test_plan_covers_the_file_once_with_equal_work():
    # 9 s, 3 chunks, 1 s warm-up, 0.5 s check: each tracker runs 4 s.
    chunks = plan(9.0, 3, 1.0, 0.5)
    assert [c.start_s for c in chunks] == pytest.approx([0.0, 3.5, 6.0])
    assert [c.end_s for c in chunks[:-1]] == [c.start_s for c in chunks[1:]]
    assert math.isinf(chunks[-1].end_s)  # whatever the container said about the length
    assert [c.seek_s for c in chunks] == pytest.approx([0.0, 2.5, 5.0])
    assert [c.check_s for c in chunks] == [0.5, 0.5, 0.0]
    work = [min(c.end_s + c.check_s, 9.0) - c.seek_s for c in chunks]
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


def _pose(shift_px: float = 0.0) -> np.ndarray:
    """A lying body, torso 100 px long, moved right by shift_px."""
    xy = np.full((33, 3), 5.0)
    for (i, j), x in zip([(11, 12), (23, 24), (25, 26), (27, 28)], [0.0, 100.0, 150.0, 150.0], strict=True):
        xy[[i, j], 0] = x + shift_px
        xy[[i, j], 1] = [200.0, 210.0] if x < 150 else [150.0, 160.0]
    return xy


def _sample(shift_px: float = 0.0) -> PoseSample:
    return PoseSample(_pose(shift_px), np.zeros((33, 3)), np.ones(33))


def _later(rows: list[np.ndarray | None], t0: float = 1.0) -> PoseTrack:
    image, world, vis = empty_arrays(len(rows))
    for i, r in enumerate(rows):
        if r is not None:
            image[i] = r
    return PoseTrack(t0 + 0.1 * np.arange(len(rows)), image, world, vis, 1280, 720)


@pytest.mark.parametrize(
    ("mine", "theirs", "ok"),
    [
        ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0], True),  # 1 px of 100: the trackers' own noise
        ([0.0, 0.0, 0.0], [40.0, 40.0, 40.0], False),  # the later tracker started on another pose
        ([0.0, 0.0, 0.0], [1.0, 40.0, 1.0], True),  # one odd frame is not a bad start
        ([0.0, 0.0, 0.0], [None, None, 1.0], False),  # it lost the person the earlier one saw
        ([None, None, 0.0], [None, None, 1.0], True),  # neither saw anyone: they agree
        ([], [2.0], True),  # no check frames (a file that ends there): nothing to go on
    ],
    ids=["noise", "bad-start", "one-odd-frame", "lost", "nobody", "no-check"],
)
def test_stitch_checks_that_the_trackers_agree_where_they_overlap(mine, theirs, ok):
    check = [(1.0 + 0.1 * i, None if m is None else _sample(m)) for i, m in enumerate(mine)]
    later = _later([None if x is None else _pose(x) for x in theirs])
    assert agree(check, later) is ok
    first = _part([0.0, 0.5], 1.0)
    first.check = check
    second = _part(later.t.tolist(), None)
    second.track = later
    assert (stitch([first, second], _info(2.0)) is not None) is ok


def test_check_frames_must_be_the_later_chunks_first_frames():
    assert not agree([(1.05, _sample())], _later([_pose()]))


# ---------------------------------------------------------------- the real thing


def test_a_chunk_error_is_raised_like_the_single_stream_one(samples_dir, tmp_path):
    path = samples_dir / SPLIT_CLIP
    with pytest.raises(ModelError):
        track_chunked(path, probe(path), _video(), 2, model=tmp_path / "missing.task")


def _verdicts(analysis) -> list[list[str]]:
    return [[c.verdict.value for c in cs] for cs in analysis.checks]


@pytest.mark.video
def test_the_fast_path_gives_the_plain_paths_track_reps_and_verdicts(samples_dir):
    """Two chunks on two cores vs the same chunks in turn on one: the same, bit for bit."""
    from formcheck.pipeline.analyze import analyze_track, track_video

    path = samples_dir / SPLIT_CLIP
    plain = track_video(path, dataclasses.replace(Config(), video=_video(workers=1)))
    seen: list[tuple[int, int]] = []
    fast = track_chunked(path, probe(path), _video(), 2, progress=lambda d, n: seen.append((d, n)), workers=2)
    assert fast is not None, "the stitch could not be verified on a plain mp4"
    for name in ("t", "image", "world", "visibility"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(plain, name))
    a, b = analyze_track(plain), analyze_track(fast)
    assert a.exercise == b.exercise
    assert [(r.top, r.partial) for r in a.reps] == [(r.top, r.partial) for r in b.reps]
    assert len(a.full_reps) == 5
    assert _verdicts(a) == _verdicts(b)
    assert seen and all(n == plain.frames_expected for _, n in seen)


@pytest.mark.video
def test_chunked_tracking_scores_like_one_unbroken_stream(samples_dir):
    """Against one tracker over the whole file (`chunks = 1`): the same frames, and after the cut
    landmarks within the tracker's own noise, so the same reps and verdicts on this clip."""
    from formcheck.pipeline.analyze import analyze_track, track_video

    path = samples_dir / SPLIT_CLIP
    unbroken = track_video(path, dataclasses.replace(Config(), video=_video(chunks=1)))
    chunked = track_video(path, dataclasses.replace(Config(), video=_video()))
    np.testing.assert_array_equal(chunked.t, unbroken.t)  # every frame once, same timestamps
    np.testing.assert_array_equal(chunked.detected, unbroken.detected)
    cut = plan(probe(path).duration_s, 2, _video().parallel_warmup_s, _video().parallel_check_s)[1].start_s
    before = chunked.t < cut
    np.testing.assert_array_equal(chunked.image[before], unbroken.image[before])  # chunk 0 is the same run
    gap = np.abs(chunked.image[~before, :, :2] - unbroken.image[~before, :, :2])
    assert 0 < np.nanmedian(gap) < 2.0  # px on a 1280x720 frame
    a, b = analyze_track(unbroken), analyze_track(chunked)
    assert a.exercise == b.exercise
    assert len(a.reps) == len(b.reps) > 0
    for ra, rb in zip(a.reps, b.reps, strict=True):
        assert abs(ra.top - rb.top) <= 2 and ra.partial == rb.partial
    assert _verdicts(a) == _verdicts(b)


@pytest.mark.video
def test_a_chunk_whose_tracker_starts_on_the_wrong_pose_is_not_stitched(samples_dir, monkeypatch):
    """A 0.3 s warm-up on this clip starts the second tracker 1.5 torso lengths off (measured):
    the overlap check refuses the cut, and the first chunk's tracker carries on to the end, which
    is the one-stream track itself, with no second pass over the file."""
    from formcheck.pipeline.analyze import track_video
    from formcheck.pose import model as pose_model

    path = samples_dir / SHORT_CLIP
    refused = []
    real = parallel.joinable
    monkeypatch.setattr(parallel, "joinable", lambda parts: refused.append(real(parts)) or refused[-1])
    second_pass = []

    def one_stream(*args: object, **kw: object) -> None:  # the plain path's tracker: a second pass
        second_pass.append(args)
        raise AssertionError("the file was tracked a second time")

    monkeypatch.setattr(pose_model, "PoseEstimator", one_stream)
    track = track_video(path, dataclasses.replace(Config(), video=_video(parallel_min_s=1.0, parallel_warmup_s=0.3)))
    assert refused == [1] and not second_pass
    monkeypatch.undo()
    unbroken = track_video(path, dataclasses.replace(Config(), video=_video(chunks=1)))
    for name in ("t", "image", "world", "visibility", "modelled"):
        np.testing.assert_array_equal(getattr(track, name), getattr(unbroken, name))


@pytest.mark.video
def test_a_refused_stitch_with_a_stride_carries_on_the_same_frames(samples_dir, monkeypatch):
    from formcheck.pipeline.analyze import track_video

    path = samples_dir / SHORT_CLIP
    monkeypatch.setattr(parallel, "joinable", lambda parts: 1)  # the stitch refused at the first cut
    video = _video(parallel_min_s=0.3, model_hz=10.0)
    track = track_video(path, dataclasses.replace(Config(), video=video))
    monkeypatch.undo()
    unbroken = track_video(path, dataclasses.replace(Config(), video=dataclasses.replace(video, chunks=1)))
    assert not unbroken.modelled.all()
    for name in ("t", "image", "modelled"):
        np.testing.assert_array_equal(getattr(track, name), getattr(unbroken, name))


@pytest.mark.video
def test_track_video_falls_back_to_one_stream_when_no_chunk_can_be_used(samples_dir, monkeypatch):
    from formcheck.pipeline.analyze import track_video

    path = samples_dir / SHORT_CLIP
    cfg = dataclasses.replace(Config(), video=_video(workers=2, parallel_min_s=1.0))
    calls = []
    monkeypatch.setattr(parallel, "joinable", lambda parts: calls.append(len(parts)) or 0)
    track = track_video(path, cfg)
    assert calls == [2]  # the chunks ran, none could be used ...
    n = sum(1 for _ in iter_frames(path))
    assert len(track) == n  # ... and the single stream gave every frame
