"""What is on screen: which exercise the reps are, from the pose alone.

Rep segmentation already refuses motion that is not a hip extension with the hips rising
off a lying or bench-supported body; this module names what the reps are:
- hip_thrust: shoulders on a bench, so at the bottom the shoulders sit well above the feet;
- glute_bridge: shoulders on the floor, level with the feet;
- single-leg variants: at the top one foot is off the floor, far above the other;
- none: no rep of either, whatever else the person is doing.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np

from formcheck.analysis.kinematics import Kinematics
from formcheck.analysis.reps import Rep

# Shoulders on a bench raise the ankle->shoulder line; on the floor it stays near level.
BENCH_MIN_INCLINE_DEG = 15.0
# A free foot held up at the top: ankle heights differ by this many torso lengths.
SINGLE_LEG_MIN_FEET_GAP = 0.6


class Exercise(StrEnum):
    HIP_THRUST = "hip_thrust"
    GLUTE_BRIDGE = "glute_bridge"
    SINGLE_LEG_HIP_THRUST = "single_leg_hip_thrust"
    SINGLE_LEG_GLUTE_BRIDGE = "single_leg_glute_bridge"
    NONE = "none"


def classify(k: Kinematics, reps: list[Rep]) -> Exercise:
    """The exercise of the set, from every frame of its reps (partial ones included), so a few
    missing or misread frames cannot change the call."""
    if not reps:
        return Exercise.NONE
    frames = np.concatenate([np.arange(r.start, r.end + 1) for r in reps])
    tops = np.concatenate([np.arange(r.hold_start, r.hold_end + 1) for r in reps])
    incline = float(np.nanmedian(k.incline[frames]))
    single = float(np.nanmedian(k.feet_gap[tops])) >= SINGLE_LEG_MIN_FEET_GAP
    if incline >= BENCH_MIN_INCLINE_DEG:
        return Exercise.SINGLE_LEG_HIP_THRUST if single else Exercise.HIP_THRUST
    return Exercise.SINGLE_LEG_GLUTE_BRIDGE if single else Exercise.GLUTE_BRIDGE
