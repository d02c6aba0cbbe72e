"""2-D image angles change as the camera turns; MediaPipe's 3-D world angles do not."""

from __future__ import annotations

import numpy as np
import pytest

from formcheck.analysis.agreement import agreement
from formcheck.analysis.kinematics import compute
from formcheck.analysis.reps import Rep
from formcheck.pose.track import (
    L_ANKLE,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    N_LANDMARKS,
    R_ANKLE,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    PoseTrack,
)

# A body at the top of a thrust, metres, hip-centred, y down: hip angle 160°, knee 90°.
HIP_DEG, KNEE_DEG = 160.0, 90.0


def _body() -> dict[int, np.ndarray]:
    thigh = np.array([np.cos(np.radians(180 - HIP_DEG)), -np.sin(np.radians(180 - HIP_DEG)), 0.0]) * 0.45
    knee = thigh
    shin_dir = np.array([0.0, 1.0, 0.0])  # straight down from the knee (thigh near level: ~90°)
    ankle = knee + shin_dir * 0.45
    pts = {}
    for side, dz in ((0, -0.12), (1, 0.12)):
        off = np.array([0.0, 0.0, dz])
        pts[(L_SHOULDER, R_SHOULDER)[side]] = np.array([-0.5, 0.0, 0.0]) + off
        pts[(L_HIP, R_HIP)[side]] = off
        pts[(L_KNEE, R_KNEE)[side]] = knee + off
        pts[(L_ANKLE, R_ANKLE)[side]] = ankle + off
    return pts


def _track(yaw_deg: float, n: int = 12) -> PoseTrack:
    """The camera at `yaw_deg` round from the lifter's front (90 = side-on): the body rotated
    about the vertical, projected (orthographic, 400 px per metre)."""
    a = np.radians(90.0 - yaw_deg)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    world = np.full((n, N_LANDMARKS, 3), np.nan)
    for j, p in _body().items():
        world[:, j] = p
    world = np.where(np.isnan(world), 0.0, world)
    cam = world @ rot.T
    image = np.stack([320 + 400 * cam[..., 0], 300 + 400 * cam[..., 1], 400 * cam[..., 2]], axis=-1)
    t = np.arange(n) / 30.0
    # MediaPipe's world frame faces the camera too: the coordinates turn, the angles do not.
    return PoseTrack(t=t, image=image, world=cam, visibility=np.ones((n, N_LANDMARKS)), width=640, height=480)


def _rep(n: int = 12) -> Rep:
    return Rep(start=0, top=n // 2, end=n - 1, hold_start=2, hold_end=n - 3, start_s=0.0, top_s=0.2,
               end_s=0.37, hold_s=0.23, rom_deg=50.0, lift=0.4)


@pytest.mark.parametrize("yaw", [90.0, 60.0, 40.0])
def test_world_angles_hold_when_the_camera_turns_image_angles_do_not(yaw):
    side = agreement(_track(90.0), compute(_track(90.0)), _rep())
    turned = agreement(_track(yaw), compute(_track(yaw)), _rep())
    assert turned.hip_world_deg == pytest.approx(side.hip_world_deg, abs=0.5)
    assert turned.knee_world_deg == pytest.approx(side.knee_world_deg, abs=0.5)
    assert side.hip_image_deg == pytest.approx(side.hip_world_deg, abs=1.0)  # side-on: they agree
    if yaw < 90:
        assert abs(turned.hip_image_deg - side.hip_image_deg) > 2.0  # foreshortened
        assert turned.hip_gap_deg > side.hip_gap_deg


def test_the_source_follows_the_view():
    assert agreement(_track(90.0), compute(_track(90.0)), _rep()).source == "image"
    assert agreement(_track(40.0), compute(_track(40.0)), _rep()).source == "world"
