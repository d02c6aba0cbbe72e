"""Kinematics added for the rules: head pitch, heel height, feet/head in view, free leg.

A hand-placed lifter at the top of a hip thrust, in a side view; the measures must not care
where the lifter stands in the image, how big they are, or which way they face.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from formcheck.analysis.kinematics import View, compute
from formcheck.pose.track import (
    L_ANKLE,
    L_EAR,
    L_FOOT,
    L_HEEL,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    N_LANDMARKS,
    NOSE,
    R_ANKLE,
    R_EAR,
    R_FOOT,
    R_HEEL,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    PoseTrack,
)
from visual_builders import stick_track

FACE_POINTS = (NOSE, 1, 2, 3, 4, 5, 6, 9, 10)


def lifter(face_deg: float = 0.0, heel_up: float = 0.0, near_foot_up: float = 0.0) -> dict[int, tuple[float, float]]:
    """Image points (x right, y down) of a hip thrust top, head at the left, feet at the right.

    face_deg: the face's direction above horizontal, towards the feet. heel_up: heel above the
    toe in pixels (shin = 100 px). near_foot_up: the left (near) foot lifted, pixels.
    """
    p = {
        L_SHOULDER: (100.0, 300.0), L_HIP: (300.0, 300.0), L_KNEE: (500.0, 300.0), L_ANKLE: (500.0, 400.0),
        L_HEEL: (490.0, 420.0 - heel_up), L_FOOT: (560.0, 420.0), L_EAR: (80.0, 260.0),
    }  # fmt: skip
    ear = np.array(p[L_EAR])
    a = np.radians(face_deg)
    face = ear + 30 * np.array([np.cos(a), -np.sin(a)])
    for i in FACE_POINTS:
        p[i] = (float(face[0]), float(face[1]))
    for left, right in ((L_SHOULDER, R_SHOULDER), (L_HIP, R_HIP), (L_KNEE, R_KNEE), (L_ANKLE, R_ANKLE),
                        (L_HEEL, R_HEEL), (L_FOOT, R_FOOT), (L_EAR, R_EAR)):  # fmt: skip
        p[right] = p[left]
    for i in (L_ANKLE, L_HEEL, L_FOOT, L_KNEE):
        p[i] = (p[i][0], p[i][1] - near_foot_up)
    return p


def track(
    points: list[dict[int, tuple[float, float]]],
    width: int = 800,
    height: int = 600,
    mirror: bool = False,
    scale: float = 1.0,
    shift: tuple[float, float] = (0.0, 0.0),
) -> PoseTrack:
    n = len(points)
    image = np.zeros((n, N_LANDMARKS, 3))
    for f, pts in enumerate(points):
        for i, (x, y) in pts.items():
            x = width - x if mirror else x
            image[f, i, :2] = (x * scale + shift[0], y * scale + shift[1])
    world = np.zeros((n, N_LANDMARKS, 3))
    # Side view: the left-right axes point into the image (z); the left side is nearer.
    for left, right in ((L_HIP, R_HIP), (L_SHOULDER, R_SHOULDER)):
        world[:, left, 2], world[:, right, 2] = (-0.1, 0.1) if not mirror else (0.1, -0.1)
    return PoseTrack(
        t=np.arange(n) / 30.0, image=image, world=world, visibility=np.ones((n, N_LANDMARKS)),
        width=width, height=height,
    )  # fmt: skip


FRAMINGS = [(False, 1.0, (0, 0)), (True, 1.0, (0, 0)), (False, 0.5, (40, 30))]


@pytest.mark.parametrize("face_deg", [-30.0, 0.0, 25.0, 80.0])
@pytest.mark.parametrize(("mirror", "scale", "shift"), FRAMINGS, ids=["as-is", "mirrored", "smaller-moved"])
def test_head_pitch_is_the_face_direction_whichever_way_the_lifter_faces(face_deg, mirror, scale, shift) -> None:
    k = compute(track([lifter(face_deg)], mirror=mirror, scale=scale, shift=shift))
    assert k.view.is_side
    assert k.head_pitch is not None
    assert k.head_pitch[0] == pytest.approx(face_deg, abs=1e-6)


def test_heel_height_is_in_shin_lengths_and_survives_zoom() -> None:
    flat, lifted = lifter(heel_up=0.0), lifter(heel_up=25.0)
    for scale in (1.0, 0.4):
        k = compute(track([flat, lifted], scale=scale))
        assert k.heel_height is not None
        assert k.heel_height[1] - k.heel_height[0] == pytest.approx(0.25, abs=1e-6)


def test_feet_and_head_in_view() -> None:
    pts = lifter()
    k = compute(track([pts, pts], width=800))
    assert k.feet_in_view is not None and k.feet_in_view.all()
    cut = compute(track([pts], width=530))  # the toes leave the picture on the right
    assert cut.feet_in_view is not None and not cut.feet_in_view.any()
    assert cut.head_in_view is not None and cut.head_in_view.all()


def test_near_foot_up_is_zero_on_the_planted_foot() -> None:
    k = compute(track([lifter(), lifter(near_foot_up=60.0)]))
    assert k.view == View.SIDE_LEFT
    assert k.near_foot_up is not None
    assert k.near_foot_up[0] == pytest.approx(0.0)
    assert k.near_foot_up[1] == pytest.approx(60.0 / 200.0)  # torso = 200 px


def test_nan_frames_stay_nan_without_warnings() -> None:
    t = track([lifter(), lifter()])
    image = t.image.copy()
    image[1] = np.nan
    gappy = PoseTrack(t=t.t, image=image, world=t.world, visibility=t.visibility, width=t.width, height=t.height)
    with np.errstate(all="raise"):
        k = compute(gappy)
    assert k.head_pitch is not None and k.heel_height is not None
    assert np.isnan(k.head_pitch[1]) and np.isnan(k.heel_height[1])
    assert k.feet_in_view is not None and not k.feet_in_view[1]





def test_body_scale_follows_a_zooming_camera() -> None:
    """A camera that zooms in by 30 % over the set must not make the hips look higher: heights
    are in torso lengths around each frame, not the set's median."""
    track = stick_track(120, 320, 180, fps=15.0)
    steady = compute(track)
    zoom = np.linspace(1.0, 1.3, len(track))[:, None]
    image = track.image.copy()
    image[..., :2] = (image[..., :2] - [160.0, 90.0]) * zoom[..., None] + [160.0, 90.0]
    zoomed = compute(replace(track, image=image))
    for name in ("lift", "hip_over_shoulder"):
        a, b = getattr(steady, name), getattr(zoomed, name)
        assert np.nanmax(np.abs(a - b)) < 0.02 * np.nanmax(np.abs(a)) + 0.01, name


def test_hip_height_off_the_supports_survives_a_rolling_camera() -> None:
    """A hand-held camera that rolls 8° tilts the picture's vertical, not the distance of the
    hips from the shoulder-feet line."""
    track = stick_track(60, 320, 180, fps=15.0)
    a = np.radians(8.0)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    image = track.image.copy()
    image[..., :2] = (image[..., :2] - [160.0, 90.0]) @ rot.T + [160.0, 90.0]
    steady, rolled = compute(track), compute(replace(track, image=image))
    assert np.nanmax(np.abs(steady.hip_over_supports - rolled.hip_over_supports)) < 0.01
    assert np.nanmax(np.abs(steady.hip_over_shoulder - rolled.hip_over_shoulder)) > 0.05  # the picture's vertical moves
