"""No rib flare: the hips do not overshoot the shoulder-knee line by arching the lower back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from formcheck.pose.track import L_HIP, R_HIP
from formcheck.rules.base import HIP_RANGE, CheckResult, Ladder, RepContext, Rule, ViewNeed, hip_at_top

CUE = "Ribs down, tailbone slightly tucked: stop at a straight line instead of arching your lower back."


class NoHyperextension(Rule):
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
    quantity: ClassVar[str] = "hip angle at the top"  # what `value` is, in words (every output names it)
    weight: ClassVar[float] = 1.5
    order: ClassVar[int] = 20  # place in reports and `formcheck rules`
    view = ViewNeed.SIDE
    view_why = "only a profile shows the hips past the straight line"
    ladder = Ladder.above("warn_above_deg", "fail_above_deg")
    cue = CUE
    landmarks = (L_HIP, R_HIP)

    @dataclass(frozen=True)
    class Params:
        # Hip angle at the top, degrees: 180 = straight, >180 = hips above the shoulder-knee line;
        # past HIP_EXT_MAX_PLAUSIBLE_DEG the pose is not judged, so no threshold lies beyond it.
        warn_above_deg: float = field(default=205.0, metadata={"range": HIP_RANGE, "at_most": "fail_above_deg"})
        fail_above_deg: float = field(default=215.0, metadata={"range": HIP_RANGE})

    def measure(self, ctx: RepContext) -> CheckResult:
        value, reason = hip_at_top(ctx)
        if reason:
            return self.not_visible(reason)
        where = f"{value - 180:.0f}° past" if value >= 180 else f"{180 - value:.0f}° short of"
        detail = f"hip angle at the top {value:.0f}° ({where} the shoulder-knee line)"
        return self.judged(self.grade(value), value, detail)

