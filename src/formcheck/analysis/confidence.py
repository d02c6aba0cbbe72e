"""How sure each call is: high, medium or low, with the reasons in words.

A call is only as good as the evidence under it. Each reason names something a lifter can
act on (film from the side, keep the feet in frame) or at least understand (the value sat
within the noise of a threshold), so a "medium" is never a mystery.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from formcheck.analysis.exercise import BENCH_MIN_INCLINE_DEG, SINGLE_LEG_MIN_FEET_GAP, Exercise
from formcheck.analysis.kinematics import Kinematics, View
from formcheck.analysis.reps import Rep

# A rep the model saw in fewer frames than this is thinly measured (a 7 fps GIF sees ~10).
FEW_FRAMES = 8
VERY_FEW_FRAMES = 4
# Share of a rep's frames without a pose that makes its measures doubtful.
MISSING_MEDIUM, MISSING_LOW = 0.2, 0.5
# The bench/floor call is near its threshold within this many degrees of ankle->shoulder incline
# ... and within this many in an oblique view, where a camera tilted down at the lifter lowers the
# incline most (a synthetic thrust 45° round and 20° down: -14°; docs/reps.md, "a camera that
# looks down"): the incline is read in the camera's axes, and no reading of "up" that ignores
# the camera held on the dev clips.
INCLINE_NEAR_DEG = 6.0
INCLINE_NEAR_OBLIQUE_DEG = 12.0
# The single-leg call is near its threshold within this many torso lengths of feet gap.
FEET_GAP_NEAR = 0.15

GATE_WORDS = {
    "lift": "the hip rise off the feet",
    "hip_rise": "the hip rise past the shoulders",
    "incline": "the body's incline (lying vs standing)",
    "knee_top": "the knee bend at the top",
    "hip_top": "the hip angle at the top",
    "hip_open": "how far the hips open at the top",
    "rom": "the range of motion",
}


class Level(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True)
class Confidence:
    level: Level
    reasons: tuple[str, ...] = ()

    @classmethod
    def of(cls, medium: list[str], low: list[str]) -> Confidence:
        """Low if anything is low-grade or three things are doubtful; medium if one is."""
        reasons = (*low, *medium)
        if low or len(medium) >= 3:
            return cls(Level.LOW, reasons)
        return cls(Level.MEDIUM if medium else Level.HIGH, reasons)

    def to_dict(self) -> dict[str, object]:
        return {"level": self.level.value, "reasons": list(self.reasons)}


def rep_confidence(k: Kinematics, rep: Rep) -> Confidence:
    medium, low = seen_reasons(k, rep)
    if not rep.sure:
        medium.insert(0, f"{GATE_WORDS.get(rep.weakest, rep.weakest)} is within the noise of its threshold")
    return Confidence.of(medium, low)


def seen_reasons(k: Kinematics, rep: Rep) -> tuple[list[str], list[str]]:
    """How well the camera and the tracker saw the rep: (medium reasons, low reasons). A verdict
    on a rep seen this way is no surer than the rep itself."""
    medium: list[str] = []
    low: list[str] = []
    span = slice(rep.start, rep.end + 1)
    seen = np.isfinite(k.hip_ext[span])
    n_seen, n = int(seen.sum()), max(1, rep.end - rep.start + 1)
    if n_seen < VERY_FEW_FRAMES:
        low.append(f"measured on only {n_seen} frames")
    elif n_seen < FEW_FRAMES:
        medium.append(f"measured on only {n_seen} frames")
    missing = 1 - n_seen / n
    if missing >= MISSING_LOW:
        low.append(f"the lifter was not seen in {100 * missing:.0f} % of the rep")
    elif missing >= MISSING_MEDIUM:
        medium.append(f"the lifter was not seen in {100 * missing:.0f} % of the rep")
    if k.feet_in_view is not None:
        top = slice(rep.hold_start, rep.hold_end + 1)
        if not np.all(k.feet_in_view[top]):
            medium.append("the feet were out of frame at the top")
    return medium, low


def exercise_confidence(k: Kinematics, reps: list[Rep], exercise: Exercise) -> Confidence:
    medium: list[str] = []
    low: list[str] = []
    if exercise == Exercise.NONE or not reps:
        return Confidence.of(medium, low)
    if not any(r.sure for r in reps):
        low.append("no rep was clear of every threshold")
    elif not all(r.sure for r in reps):
        medium.append("some reps were within the noise of a threshold")
    frames = np.concatenate([np.arange(r.start, r.end + 1) for r in reps])
    tops = np.concatenate([np.arange(r.hold_start, r.hold_end + 1) for r in reps])
    incline = float(np.nanmedian(k.incline[frames]))
    if abs(incline - BENCH_MIN_INCLINE_DEG) < INCLINE_NEAR_DEG:
        medium.append(f"the shoulders sit between bench and floor height (incline {incline:.0f}°)")
    elif k.view == View.OBLIQUE and abs(incline - BENCH_MIN_INCLINE_DEG) < INCLINE_NEAR_OBLIQUE_DEG:
        medium.append(f"bench or floor read in an oblique view (incline {incline:.0f}°): a camera held above "
                      "the lifter lowers it; film from the side at hip height to be sure")
    gap = float(np.nanmedian(k.feet_gap[tops]))
    if abs(gap - SINGLE_LEG_MIN_FEET_GAP) < FEET_GAP_NEAR:
        medium.append("one foot is only partly off the floor at the top")
    return Confidence.of(medium, low)
