"""No rib flare: the hips do not overshoot the shoulder-knee line by arching the lower back."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from formcheck.pose.track import L_HIP, R_HIP
from formcheck.rules.base import HIP_EXT_MAX_PLAUSIBLE_DEG, CheckResult, RepContext, grade, judged, not_visible

CUE = "Ribs down, tailbone slightly tucked: stop at a straight line instead of arching your lower back."


class NoHyperextension:
    """At the top the hips stop at the shoulder-knee line instead of arching past it.

    S4: hyperextending the lower back ("rib flare") moves the tension from the glutes to
    the lumbar spine; tuck the tailbone, ribs down. S2: the lower back must not arch, tilt
    the pelvis slightly back. S1: "avoid excessive arching"; S3: "avoid overarching your
    lower back". The seeds agree. The pose has no lumbar spine or ribs, only shoulders,
    hips and knees, so we measure the symptom they can show: the hip angle (signed, side
    views) going past 180°, i.e. the hips pushed above the shoulder-knee line. The hip
    itself extends only some 10-20° past straight, and good bridges on the dev clips reach
    200° (the shoulder point sits on the joint, below the upper back), so only a clear
    overshoot warns. This catches a gross arch, not a subtle rib flare.
    """

    name: ClassVar[str] = "no_hyperextension"
    title: ClassVar[str] = "No rib flare / lower-back arch"
    source: ClassVar[str] = "S4, S2, S1, S3"
    unit: ClassVar[str] = "deg"
    weight: ClassVar[float] = 1.5
    order: ClassVar[int] = 20  # place in reports and `formcheck rules`

    @dataclass(frozen=True)
    class Params:
        warn_above_deg: float = 205.0  # hip angle at the top, 180 = straight, >180 = hips above the line
        fail_above_deg: float = 215.0

    def __init__(self, params: Params | None = None) -> None:
        self.params = params or self.Params()

    def check(self, ctx: RepContext) -> CheckResult:
        p = self.params
        if not ctx.k.view.is_side:
            return not_visible(self, "needs a side view (only a profile shows the hips past the straight line)")
        value = ctx.at("hip_ext", ctx.rep.top)
        if not math.isfinite(value):
            return not_visible(self, "the hips were not tracked at the top of the rep")
        if value > HIP_EXT_MAX_PLAUSIBLE_DEG:
            return not_visible(self, f"hip angle {value:.0f}° is not humanly possible: the pose is wrong here")
        verdict = grade(value, p.warn_above_deg, p.fail_above_deg)
        where = f"{value - 180:.0f}° past" if value >= 180 else f"{180 - value:.0f}° short of"
        detail = f"hip angle at the top {value:.0f}° ({where} the shoulder-knee line)"
        return judged(self, verdict, value, CUE, detail, (L_HIP, R_HIP))


RULE = NoHyperextension
