"""Full lockout: shoulders, hips and knees in one straight line at the top."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from formcheck.pose.track import L_HIP, R_HIP
from formcheck.rules.base import HIP_RANGE, CheckResult, Ladder, RepContext, Rule, Verdict, hip_at_top

CUES = {
    Verdict.WARN: "Finish the rep: squeeze your glutes until shoulders, hips and knees line up.",
    Verdict.FAIL: "Drive your hips all the way up: shoulders, hips and knees in one line.",
}


class FullLockout(Rule):
    """Hip extension at the top of the rep should reach a straight shoulder-hip-knee line.

    S3 and S4 ask for "a straight line from shoulders to knees" at the top; S1 asks for the
    back "parallel to the floor"; S0 says not to worry, the hips "will be slightly lower
    than the shoulders and knees". The middle we take: a few degrees short of 180 still
    passes (S0's "slightly lower"), a clear sag warns, a top that stops well short fails.
    Side views measure the angle in the image; other views use the model's 3-D landmarks,
    which a plate or bar hiding the hips can throw off by 10-20°.
    """

    name: ClassVar[str] = "full_lockout"
    title: ClassVar[str] = "Full lockout"
    source: ClassVar[str] = "S3, S4 (S0, S1 more lenient)"
    unit: ClassVar[str] = "deg"
    quantity: ClassVar[str] = "hip extension at the top"  # what `value` is, in words (every output names it)
    weight: ClassVar[float] = 2.0
    order: ClassVar[int] = 10  # place in reports and `formcheck rules`
    ladder = Ladder.below("pass_min_deg", "fail_below_deg")
    landmarks = (L_HIP, R_HIP)

    @dataclass(frozen=True)
    class Params:
        # Hip extension at the top, degrees (180 = straight line; HIP_RANGE as the arch rule).
        pass_min_deg: float = field(default=165.0, metadata={"range": HIP_RANGE})
        fail_below_deg: float = field(default=150.0, metadata={"range": HIP_RANGE, "at_most": "pass_min_deg"})

    def measure(self, ctx: RepContext) -> CheckResult:
        value, reason = hip_at_top(ctx)
        if reason:
            return self.not_visible(reason)
        verdict = self.grade(value)
        detail = f"hip extension at the top {value:.0f}° (180° = straight line)"
        return self.judged(verdict, value, detail, CUES.get(verdict, ""))

