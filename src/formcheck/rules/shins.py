"""Vertical shins at the top: the foot position that puts the load on the glutes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from formcheck.pose.track import L_ANKLE, L_KNEE, R_ANKLE, R_KNEE
from formcheck.rules.base import CheckResult, RepContext, Rule, Verdict, ViewNeed, all_in_view, near_leg_free

TOO_FAR = "Walk your feet in a little: this far out the hamstrings take over; aim for vertical shins at the top."
TOO_CLOSE = "Move your feet further out: this close the quads take over; aim for vertical shins at the top."


class VerticalShins(Rule):
    """At the top the shins are vertical and the knees bent about 90° (feet neither too far nor too close).

    S4: walk the feet out "until your shins are vertical at the top of the movement, forming
    a 90-degree angle at the knee"; feet too far out and the hamstrings take over, too close
    and the quads do. S0: "shins perpendicular to the ground" at the top. The two signs only
    agree when the torso is level at the top (a hip thrust): with the shoulders on the floor
    (a glute bridge) the thighs slope up to the knees, so a vertical shin means a knee well
    under 90°, and a 90° knee means the feet sit ahead of the knees; on a high box the thighs
    slope down and it is the other way round. Neither seed covers that, so the middle we
    take: a fault only when both signs point the same way (shin past `shin_tol_deg` from
    vertical AND knee past `knee_tol_deg` from 90°), and a fail when the knee is also more
    than `knee_fail_deg` from 90°. Judged on the top frame, in a side view with the feet in
    the picture.
    """

    name: ClassVar[str] = "vertical_shins"
    title: ClassVar[str] = "Vertical shins at the top"
    source: ClassVar[str] = "S4, S0"
    unit: ClassVar[str] = "deg"
    quantity: ClassVar[str] = "knee at the top"  # what `value` is, in words (every output names it)
    weight: ClassVar[float] = 1.5
    order: ClassVar[int] = 40  # place in reports and `formcheck rules`
    view = ViewNeed.PROFILE
    landmarks = (L_KNEE, L_ANKLE, R_KNEE, R_ANKLE)

    @dataclass(frozen=True)
    class Params:
        # Degrees. Shin within this of vertical counts as vertical.
        shin_tol_deg: float = field(default=10.0, metadata={"range": (0, 90)})
        # Knee within 90 ± this counts as ~90° (warn beyond it) ...
        knee_tol_deg: float = field(default=15.0, metadata={"range": (0, 90), "at_most": "knee_fail_deg"})
        # ... and beyond 90 ± this (with the shin agreeing) fails.
        knee_fail_deg: float = field(default=30.0, metadata={"range": (0, 90)})

    def measure(self, ctx: RepContext) -> CheckResult:
        p, k, top = self.params, ctx.k, ctx.rep.top
        if near_leg_free(ctx):
            return self.not_visible("the leg nearest the camera is the raised one (single-leg)")
        if not all_in_view(k.feet_in_view, top, top):
            return self.not_visible("the feet are out of the picture at the top")
        knee, shin = ctx.at("knee", top), ctx.at("shin", top)
        if not (math.isfinite(knee) and math.isfinite(shin)):
            return self.not_visible("the knee or ankle was not tracked at the top")
        off = knee - 90.0
        too_far = shin < -p.shin_tol_deg and off > p.knee_tol_deg
        too_close = shin > p.shin_tol_deg and off < -p.knee_tol_deg
        cue = TOO_FAR if too_far else TOO_CLOSE if too_close else ""
        if not (too_far or too_close):
            verdict = Verdict.PASS
        elif abs(off) > p.knee_fail_deg:
            verdict = Verdict.FAIL
        else:
            verdict = Verdict.WARN
        lean = "ahead of" if shin > 0 else "behind"
        detail = f"knee {knee:.0f}° at the top (90° ideal); shin {abs(shin):.0f}° off vertical, knee {lean} the ankle"
        return self.judged(verdict, knee, detail, cue)

