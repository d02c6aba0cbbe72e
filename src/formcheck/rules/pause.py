"""Pause and squeeze at the top."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from formcheck.pose.track import L_HIP, R_HIP
from formcheck.rules.base import CheckResult, Ladder, RepContext, Rule, seen_around

CUE = "Pause at the top and squeeze your glutes for a second or two before lowering."


class PauseAtTop(Rule):
    """The lifter holds the top and squeezes before lowering.

    S0: "a five-second compression of the glutes at the top"; S1: "hold at the top for a
    couple of seconds"; S4: "a one to two-second pause at the top" (and "pause briefly ...
    to squeeze"); S2: pause "at the peak of contraction"; S3: "squeeze your glutes at the
    top". They agree on a pause and disagree on its length: 1-2 s (S4), ~2 s (S1), 5 s (S0,
    as a programme for a few reps). Middle: S4's lower bound, 1 s, passes; a shorter pause
    warns; no pause at all (the hips bounce off the top) fails. The hold is the time the hip
    angle stays within a few degrees of the top (reps.py: 5° or 10 % of the rep's range).
    """

    name: ClassVar[str] = "pause_at_top"
    title: ClassVar[str] = "Pause and squeeze at the top"
    source: ClassVar[str] = "S4, S1, S0, S2, S3"
    unit: ClassVar[str] = "s"
    quantity: ClassVar[str] = "hold at the top"  # what `value` is, in words (every output names it)
    weight: ClassVar[float] = 0.5
    order: ClassVar[int] = 30  # place in reports and `formcheck rules`
    ladder = Ladder.below("pass_min_s", "fail_below_s")
    cue = CUE
    landmarks = (L_HIP, R_HIP)

    @dataclass(frozen=True)
    class Params:
        # Seconds held at the top.
        pass_min_s: float = field(default=1.0, metadata={"range": (0, 60)})
        fail_below_s: float = field(default=0.3, metadata={"range": (0, 60), "at_most": "pass_min_s"})

    def measure(self, ctx: RepContext) -> CheckResult:
        rep = ctx.rep
        if not seen_around(ctx.k.hip_ext, rep.hold_start, rep.hold_end):
            return self.not_visible("the clip (or a tracking gap) cuts the hold at the top")
        value = rep.hold_s
        detail = f"held the top for {value:.1f} s"
        return self.judged(self.grade(value), value, detail)

