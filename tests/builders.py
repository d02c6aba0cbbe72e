"""Small builders for synthetic measures: sine-wave reps, holds, noise, gaps."""

from __future__ import annotations

import numpy as np

from formcheck.analysis.kinematics import Kinematics, View


def kinematics(t: np.ndarray, hip_ext: np.ndarray, lift: np.ndarray | None = None, **over: object) -> Kinematics:
    """A Kinematics with plausible hip-thrust defaults; any series can be overridden."""
    n = len(t)
    if lift is None:
        lift = (hip_ext - np.nanmin(hip_ext)) / 100.0  # hips rise with hip extension
    base: dict[str, object] = {
        "t": t,
        "view": View.SIDE_LEFT,
        "yaw_deg": 88.0,
        "hip_ext": hip_ext,
        "knee": np.full(n, 90.0),
        "shin": np.zeros(n),
        "torso": np.zeros(n),
        "neck": np.zeros(n),
        "lift": lift,
        "incline": np.full(n, 30.0),
        "knee_width": np.ones(n),
        "hip_tilt": np.zeros(n),
        "feet_gap": np.full(n, 0.1),
        "scale_px": 200.0,
        "hip_over_shoulder": lift.copy(),  # the shoulders stay put while the hips rise
        "hip_over_supports": lift.copy(),  # ... and the hips rise off the shoulder-feet line
    }
    base.update(over)
    return Kinematics(**base)  # type: ignore[arg-type]


def sine_reps(
    n_reps: int,
    period_s: float = 2.0,
    fps: float = 30.0,
    bottom: float = 110.0,
    top: float = 178.0,
    lead_s: float = 0.5,
    phase: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Hip extension for n full low-top-low reps, starting and ending at the bottom."""
    dur = n_reps * period_s + 2 * lead_s
    t = np.arange(0, dur, 1 / fps)
    x = np.clip(t - lead_s, 0, n_reps * period_s)
    s = bottom + (top - bottom) * 0.5 * (1 - np.cos(2 * np.pi * x / period_s + phase))
    return t, s
