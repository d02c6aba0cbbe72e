"""Smoothing must not lag or blunt the top of a rep, and must not invent poses in long gaps."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from formcheck.analysis.smoothing import (
    OneEuroFilter,
    SmoothingConfig,
    cut_points,
    drop_glitches,
    fill_gaps,
    glitches,
    lowpass,
    runs,
)
from visual_builders import stick_track


def test_runs():
    assert runs(np.array([0, 1, 1, 0, 1], bool)) == [(1, 3), (4, 5)]
    assert runs(np.zeros(3, bool)) == []


def test_short_gap_filled_long_gap_kept_ends_not_extrapolated():
    t = np.arange(20) / 10.0
    x = np.arange(20, dtype=float)
    x[[0, 5, 6]] = np.nan  # 0.2 s gap inside, one at the start
    x[10:16] = np.nan  # 0.6 s gap
    y = fill_gaps(t, x, max_gap_s=0.3)
    assert np.isnan(y[0])
    assert y[5] == pytest.approx(5.0) and y[6] == pytest.approx(6.0)
    assert np.isnan(y[10:16]).all()


@pytest.mark.parametrize("fps", [24.0, 30.0, 60.0])
def test_zero_phase_lowpass_keeps_the_top(fps):
    rng = np.random.default_rng(1)
    t = np.arange(0, 8, 1 / fps)
    clean = 140 + 40 * np.sin(2 * np.pi * 0.5 * t)
    y = lowpass(t, clean + rng.normal(0, 2, len(t)), cutoff_hz=6.0)
    tops_clean = t[(t > 0.5) & (t < 1.5)][np.argmax(clean[(t > 0.5) & (t < 1.5)])]
    tops_y = t[(t > 0.5) & (t < 1.5)][np.argmax(y[(t > 0.5) & (t < 1.5)])]
    assert abs(tops_y - tops_clean) <= 2.5 / fps  # no lag
    assert np.max(y) == pytest.approx(180, abs=2.5)  # not blunted
    assert np.std(y - clean) < 1.5  # and the noise is reduced


def test_lowpass_on_low_fps_clip_stays_below_nyquist():
    t = np.arange(0, 5, 1 / 10.0)
    x = np.sin(t)
    assert np.allclose(lowpass(t, x, cutoff_hz=6.0), x, atol=0.05)


def test_one_euro_follows_a_step_and_damps_jitter():
    f = OneEuroFilter()
    out = [f.update(i / 30, np.array([0.0 + (0.3 if i % 2 else -0.3)])) for i in range(60)]
    assert np.std(np.concatenate(out[30:])) < 0.2
    outs = [f.update(2 + i / 30, np.array([50.0])) for i in range(15)]
    assert outs[-1][0] == pytest.approx(50.0, abs=2.0)


def test_a_flipped_skeleton_after_a_dropout_is_a_cut():
    """The model sometimes returns the lifter upside down for a few frames; with one missing
    frame between, the flip must still split the track (it was compared to NaN before)."""
    track = stick_track(40, 320, 180)
    image = track.image.copy()
    image[10] = np.nan
    centre = image[:10, :, :2].mean(axis=1, keepdims=True)
    image[:10, :, :2] = 2 * centre - image[:10, :, :2]  # rotated 180° about its centre
    cuts = cut_points(replace(track, image=image), max_jump=0.5)
    assert np.flatnonzero(cuts).tolist() == [11]
    assert not cut_points(track, max_jump=0.5).any()


def _flipped(track, rows: slice, shift: float = 0.0):
    """The track with `rows` turned end for end about the torso (and moved `shift` px right)."""
    image = track.image.copy()
    centre = image[rows, :, :2].mean(axis=1, keepdims=True)
    image[rows, :, :2] = 2 * centre - image[rows, :, :2]
    image[rows, :, 0] += shift
    return replace(track, image=image)


def test_a_wrong_pose_between_two_matching_poses_is_a_glitch_and_dropped():
    """MediaPipe can hold a lifter flipped end for end for a second at the top of a rep, then
    find them again where they were: the stretch is no shot of its own and its frames go, so the
    poses either side are one stretch (reps.segment bridges the gap)."""
    track = stick_track(60, 320, 180)  # 15 fps
    bad = _flipped(track, slice(20, 35))  # 1 s
    assert np.flatnonzero(glitches(bad)).tolist() == list(range(20, 35))
    cleaned = drop_glitches(bad)
    assert not cleaned.detected[20:35].any() and cleaned.detected[:20].all() and cleaned.detected[35:].all()
    assert not cut_points(cleaned, max_jump=0.5).any()
    assert not glitches(track).any()


def test_a_shot_that_does_not_come_back_or_lasts_long_is_no_glitch():
    track = stick_track(90, 320, 180)  # 15 fps, 6 s
    for_good = _flipped(track, slice(20, 90))  # a new shot to the end of the clip
    assert not glitches(for_good).any()
    long = _flipped(track, slice(20, 60))  # 2.7 s: longer than max_glitch_s (2 s)
    assert not glitches(long).any()
    assert glitches(long, SmoothingConfig(max_glitch_s=3.0)).sum() == 40
    # Back, but somewhere else: a third shot, not the first one resumed.
    image = _flipped(track, slice(20, 35)).image.copy()
    image[35:, :, 0] += 200
    assert not glitches(replace(track, image=image)).any()


def test_lowpass_is_defined_in_time_so_dropped_frames_do_not_change_the_curve():
    """30 % of frames lost (a busy machine, a lower model rate): the smoothed curve read at the
    frames that remain is the one every frame gives, not a filter stretched over fewer samples."""
    rng = np.random.default_rng(3)
    t = np.arange(0, 10, 1 / 30)
    x = 140 + 35 * np.sin(2 * np.pi * t / 2.5) + rng.normal(0, 1.0, len(t))
    keep = np.sort(rng.choice(len(t), int(0.7 * len(t)), replace=False))
    full = lowpass(t, x, 6.0)[keep]
    dropped = lowpass(t[keep], x[keep], 6.0)
    inner = slice(10, -10)  # away from the ends, where any filter has less to go on
    assert np.max(np.abs(dropped[inner] - full[inner])) < 2.0
    assert abs(dropped.max() - full.max()) < 1.0  # the top is neither blunted nor moved
