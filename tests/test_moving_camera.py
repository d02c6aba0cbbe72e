"""A camera that moves round the lifter during the set: reps seen from the feet still count.

A synthetic 3-D thruster (shoulders on a bench, hips rising from 0.05 to 0.40 m) is filmed by
an orthographic camera whose yaw follows a schedule: 0° = from the side, 90° = from the feet.
The image and the world landmarks are made from the same 3-D points, as MediaPipe gives them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from formcheck.analysis.kinematics import LEFT, PART, RIGHT, View, compute, profile_frames
from formcheck.analysis.smoothing import smooth_track
from formcheck.pipeline.analyze import analyze_track
from formcheck.pose.track import L_HIP, N_LANDMARKS, R_HIP, PoseTrack

# Body frame: x along the body (head -> feet), y up, z to the lifter's left; metres.
_POINTS = {  # body part (kinematics.PART): (x, y, |z|); the hip's height is filled in per frame
    "shoulder": (0.0, 0.35, 0.18), "knee": (0.95, 0.45, 0.12), "ankle": (1.05, 0.0, 0.12),
    "heel": (1.0, 0.0, 0.12), "toe": (1.2, 0.02, 0.12), "ear": (-0.12, 0.42, 0.08),
}
_SIDES = {+1: LEFT, -1: RIGHT}  # the sign of z, and the side's landmarks in PART order


def filmed(yaw_deg: Callable[[float], float], n_reps: int = 3, period_s: float = 3.0, fps: float = 30.0,
           seed: int = 0, pitch_deg: float = 0.0, free_leg: bool = False) -> PoseTrack:
    """n_reps thrusts; `yaw_deg(u)` is the camera's angle from the side at u in [0, 1] of the clip;
    `pitch_deg` tilts the camera down at the lifter (0 = level); `free_leg`: single-leg, the right
    leg (the one nearer the camera at yaw 0) held straight out along the thigh."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, n_reps * period_s + 1.0, 1 / fps)
    x = np.clip(t - 0.5, 0, n_reps * period_s)
    hip_y = 0.05 + 0.35 * 0.5 * (1 - np.cos(2 * np.pi * x / period_s))
    body = np.tile(np.array([-0.15, 0.45, 0.0]), (len(t), N_LANDMARKS, 1))  # face, hands: by the head
    for sign, marks in _SIDES.items():
        for part, (px, py, pz) in _POINTS.items():
            body[:, marks[PART[part]]] = (px, py, sign * pz)
        body[:, marks[PART["hip"]]] = np.column_stack([np.full(len(t), 0.5), hip_y, np.full(len(t), sign * 0.15)])
    if free_leg:
        hip = body[:, RIGHT[PART["hip"]]]
        thigh = np.array([0.95, 0.45, -0.12]) - hip
        thigh /= np.linalg.norm(thigh, axis=1, keepdims=True)
        for part, reach in (("knee", 0.45), ("ankle", 0.9), ("heel", 0.9), ("toe", 1.0)):
            body[:, RIGHT[PART[part]]] = hip + reach * thigh
    th = np.radians([yaw_deg(u) for u in t / t[-1]])[:, None]
    bx, by, bz = body[..., 0], body[..., 1], body[..., 2]
    cam = np.stack([bx * np.cos(th) + bz * np.sin(th), by, -bx * np.sin(th) + bz * np.cos(th)], axis=-1)
    p = np.radians(pitch_deg)
    cy, cz = cam[..., 1].copy(), cam[..., 2].copy()
    cam[..., 1], cam[..., 2] = cy * np.cos(p) - cz * np.sin(p), cy * np.sin(p) + cz * np.cos(p)
    cam += rng.normal(0, 0.003, cam.shape)
    image = np.stack([640 + 500 * (cam[..., 0] - 0.5), 500 - 500 * cam[..., 1], 500 * cam[..., 2]], axis=-1)
    hip_c = cam[:, [L_HIP, R_HIP]].mean(axis=1, keepdims=True)
    world = (cam - hip_c) * np.array([1.0, -1.0, 1.0])  # MediaPipe's world: hip-centred, y down
    return PoseTrack(t=t, image=image, world=world, visibility=np.ones((len(t), N_LANDMARKS)), width=1280,
                     height=720, source="moving.mp4", fps=fps, frames_expected=len(t))


def test_a_steady_side_set_is_read_in_profile_throughout():
    track = smooth_track(filmed(lambda u: 0.0))
    assert compute(track).view.is_side and profile_frames(track) is None
    assert len(analyze_track(filmed(lambda u: 0.0)).full_reps) == 3


@pytest.mark.parametrize("schedule", [
    lambda u: 80.0 if u < 0.4 else 0.0,  # the first rep from the feet, then the camera walks to the side
    lambda u: 0.0 if u < 0.6 else 80.0,  # the last rep from the feet
], ids=["feet-then-side", "side-then-feet"])
def test_reps_filmed_from_the_feet_in_a_side_set_still_count(schedule):
    """The set is called a side view (most frames are), but its reps filmed from the feet are read
    in 3-D: all three count (read in 2-D, the frontal rep's angles made two of three)."""
    analysis = analyze_track(filmed(schedule))
    assert analysis.k.view in (View.SIDE_LEFT, View.SIDE_RIGHT)
    assert len(analysis.full_reps) == 3
    profile = profile_frames(analysis.smoothed)
    assert profile is not None and 0.2 < 1 - profile.mean() < 0.6
    # Each rep says which reading it was judged on: the frontal one in 3-D, the others in 2-D.
    sources = [a.source for a in analysis.angles]
    assert sorted(sources) == ["image", "image", "world"]
    # ... and the checkpoints only a profile shows are not judged on the rep seen from the feet.
    for source, checks in zip(sources, analysis.checks, strict=True):
        shins = next(c for c in checks if c.rule == "vertical_shins")
        assert (shins.verdict == "not_visible") == (source == "world"), shins
        if source == "world":
            assert "moved round to the front" in shins.detail


def test_a_camera_walking_from_the_feet_to_the_side_counts_every_rep():
    assert len(analyze_track(filmed(lambda u: 90.0 * (1 - u))).full_reps) == 3


@pytest.mark.parametrize("yaw", [0.0, 45.0, 60.0])
@pytest.mark.parametrize("pitch", [20.0, 40.0, 60.0])
def test_a_camera_that_looks_down_keeps_the_count(yaw, pitch):
    """A phone held above the lifter, tilted down, from the side or obliquely: every rep counts
    and the set stays a thrust or a bridge (the bench/floor name itself turns with the camera:
    docs/reps.md, "a camera that looks down")."""
    a = analyze_track(filmed(lambda u: yaw, pitch_deg=pitch))
    assert len(a.full_reps) == 3
    assert a.exercise.value in ("hip_thrust", "glute_bridge")


@pytest.mark.parametrize("yaw", [0.0, 30.0])
def test_a_single_leg_set_filmed_from_the_free_legs_side_counts(yaw):
    """Filmed from the side of the raised leg, the near knee is straight at every top: the knee
    gate ("the knees stay bent") reads the planted leg's knee, so the set is not thrown out as a
    straight-legged exercise (it came out `none`, 0 reps); from the other side it always counted."""
    for free in (False, True):
        a = analyze_track(filmed(lambda u: yaw, free_leg=free))
        assert len(a.full_reps) == 3, free
        assert a.exercise.value == ("single_leg_hip_thrust" if free else "hip_thrust")
