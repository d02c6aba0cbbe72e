"""Range of motion kept across the set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from formcheck.pose.track import L_HIP, R_HIP
from formcheck.rules.base import HIP_EXT_MAX_PLAUSIBLE_DEG, CheckResult, Ladder, RepContext, Rule

# The set's best range: this quantile of its full reps' ranges (as reps.mark_short), not the
# largest: one rep whose bottom the tracker over-reads must not mark every other rep down.
BEST_QUANTILE = 0.75
CUE = "Use the full range every rep: lower all the way and drive all the way up, as on your best rep."


class ConsistentRange(Rule):
    """Every rep travels (nearly) as far as the set's best rep.

    S4: "ensure your body forms a straight line ... at the top of every repetition"; S3:
    "focus on maintaining proper form ... throughout"; S1: lower back down (all the way,
    short of the floor). Reps that shrink as the set goes on (fatigue, cutting the bottom
    or the top) lose stimulus. Measured as the rep's hip-extension range (top minus the
    lower bottom) as a percentage of the set's best range: the 0.75 quantile of its full reps'
    ranges, so one over-read rep cannot mark the rest down. A rep the clip cuts is still
    compared (its range is that of the half cycle the clip shows); reps whose top is an
    impossible pose (a hip angle over 250°, from a cut) are left out of the reference.
    """

    name: ClassVar[str] = "consistent_rom"
    title: ClassVar[str] = "Range of motion kept"
    source: ClassVar[str] = "S4, S3, S1"
    unit: ClassVar[str] = "%"
    quantity: ClassVar[str] = "range vs the set's best"  # what `value` is, in words (every output names it)
    weight: ClassVar[float] = 1.0
    order: ClassVar[int] = 110  # place in reports and `formcheck rules`
    ladder = Ladder.below("pass_min_pct", "fail_below_pct")
    cue = CUE
    landmarks = (L_HIP, R_HIP)

    @dataclass(frozen=True)
    class Params:
        # Rep range as a share of the set's best range, percent.
        pass_min_pct: float = field(default=85.0, metadata={"range": (0, 100)})
        fail_below_pct: float = field(default=70.0, metadata={"range": (0, 100), "at_most": "pass_min_pct"})

    def measure(self, ctx: RepContext) -> CheckResult:
        rep = ctx.rep
        sane = [r for r in ctx.set_reps if not ctx.at("hip_ext", r.top) > HIP_EXT_MAX_PLAUSIBLE_DEG]
        pool = [r for r in sane if r.full] or sane
        if len(ctx.set_reps) < 2 or not pool:
            return self.not_visible("a single rep: nothing to compare it with")
        best = float(np.quantile([r.rom_deg for r in pool], BEST_QUANTILE))
        if best <= 0:
            return self.not_visible("no rep with a measurable range")
        value = 100.0 * rep.rom_deg / best
        detail = f"range {rep.rom_deg:.0f}° = {value:.0f} % of the set's best ({best:.0f}°)"
        return self.judged(self.grade(value), value, detail)

