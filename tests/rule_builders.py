"""Synthetic reps for the rule tests: measures that follow each rep's phase, and its Rep records.

A rep's phase is 0 at the bottom, rises linearly over the ascent, stays 1 through the hold,
falls linearly over the descent and stays 0 through the rest before the next rep. Every
measure is given as a constant or as (value at the bottom, value at the top) and follows
the phase, so a test states what the lifter did in the two positions a coach looks at.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from formcheck.analysis.exercise import Exercise
from formcheck.analysis.kinematics import Kinematics, View
from formcheck.analysis.reps import Rep
from formcheck.rules.base import RepContext

BOTTOM_HIP_DEG = 110.0
EDGE = 0.2  # reps.py's edge_frac: a rep starts/ends 20 % of the way up

Measure = float | tuple[float, float]


def _phase(fps: float, n_reps: int, ascent_s: float, hold_s: float, descent_s: float, rest_s: float) -> np.ndarray:
    parts = [np.zeros(round(rest_s * fps))]
    for _ in range(n_reps):
        up = np.linspace(0, 1, round(ascent_s * fps) + 1)[1:]
        down = np.linspace(1, 0, round(descent_s * fps) + 1)[1:]
        parts += [up, np.ones(max(1, round(hold_s * fps))), down, np.zeros(round(rest_s * fps))]
    return np.concatenate(parts)


def _follow(m: Measure, p: np.ndarray) -> np.ndarray:
    lo, hi = m if isinstance(m, tuple) else (m, m)
    return lo + (hi - lo) * p


def build(
    tops: Sequence[float] = (180.0,),
    *,
    fps: float = 30.0,
    ascent_s: float = 0.6,
    hold_s: float = 1.2,
    descent_s: float = 1.2,
    rest_s: float = 0.5,
    view: View = View.SIDE_LEFT,
    yaw: float = 88.0,
    **measures: Measure | np.ndarray,
) -> tuple[Kinematics, list[Rep]]:
    """Kinematics and Rep records for len(tops) reps whose tops reach the given hip angles."""
    p = _phase(fps, len(tops), ascent_s, hold_s, descent_s, rest_s)
    n = len(p)
    t = np.arange(n) / fps
    # Which rep each frame belongs to: split at the middle of each rest.
    tops_at = np.flatnonzero(np.diff(np.concatenate([[0.0], (p == 1).astype(float)])) == 1)
    owner = np.searchsorted((tops_at[1:] + tops_at[:-1]) // 2, np.arange(n), side="right")
    top_hip = np.asarray(tops, dtype=float)[owner]
    hip_ext = BOTTOM_HIP_DEG + (top_hip - BOTTOM_HIP_DEG) * p
    defaults: dict[str, Measure] = {
        "knee": 90.0,
        "shin": 0.0,
        "torso": (45.0, 10.0),
        "neck": 0.0,
        "lift": (0.1, 0.5),
        "incline": (30.0, 5.0),
        "knee_width": 1.1,
        "hip_tilt": 0.0,
        "feet_gap": 0.05,
        "head_pitch": (0.0, 5.0),
        "heel_height": 0.0,
        "near_foot_up": 0.0,
    }
    series: dict[str, np.ndarray] = {}
    for name, m in {**defaults, **measures}.items():
        series[name] = m if isinstance(m, np.ndarray) else _follow(m, p)
    series.setdefault("feet_in_view", np.ones(n, bool))
    series.setdefault("head_in_view", np.ones(n, bool))
    k = Kinematics(t=t, view=view, yaw_deg=yaw, hip_ext=hip_ext, scale_px=200.0, **series)  # type: ignore[arg-type]
    reps = [_rep(k, p, int(i0), float(top_hip[i0])) for i0 in tops_at]
    return k, reps


def _rep(k: Kinematics, p: np.ndarray, hold_start: int, top_hip: float) -> Rep:
    hold_end = hold_start
    while hold_end + 1 < len(p) and p[hold_end + 1] == 1:
        hold_end += 1
    start = hold_start
    while start > 0 and p[start] > EDGE:
        start -= 1
    end = hold_end
    while end < len(p) - 1 and p[end] > EDGE:
        end += 1
    top = (hold_start + hold_end) // 2
    t = k.t
    return Rep(
        start=start,
        top=top,
        end=end,
        hold_start=hold_start,
        hold_end=hold_end,
        start_s=float(t[start]),
        top_s=float(t[top]),
        end_s=float(t[end]),
        hold_s=float(t[hold_end] - t[hold_start]),
        rom_deg=top_hip - BOTTOM_HIP_DEG,
        lift=0.4,
    )


def context(k: Kinematics, reps: list[Rep], i: int = 0, exercise: Exercise = Exercise.HIP_THRUST) -> RepContext:
    return RepContext(reps[i], k, exercise, tuple(reps))
