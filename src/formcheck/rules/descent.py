"""Controlled descent: the hips are lowered, not dropped."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from formcheck.analysis.reps import tempo
from formcheck.pose.track import L_HIP, R_HIP
from formcheck.rules.base import NOISE, CheckResult, RepContext, Rule, Verdict, came_down, fmt_value, went_up

CUE = "Lower your hips under control, at least as slowly as you lift them; don't drop."


class ControlledDescent(Rule):
    """The lowering (eccentric) is slow and controlled, never a drop.

    S3: "lower your hips back down to the starting position in a controlled manner"; S4:
    "control the descent by slowly lowering your hips"; S1: lower back down without touching
    the floor. No seed gives a tempo. Measured from the end of the hold at the top to the
    rep's end (20 % of the way up from the bottom), i.e. over some 70 % of the range. We
    call it controlled when it takes at least `pass_min_s` (about 1 s over the whole range),
    or when it is no faster than the lift (`min_ratio` × the ascent time, the common "lower
    at least as slowly as you lift"); under `fail_below_s` the hips were dropped.
    """

    name: ClassVar[str] = "controlled_descent"
    title: ClassVar[str] = "Controlled descent"
    source: ClassVar[str] = "S4, S3, S1"
    unit: ClassVar[str] = "s"
    quantity: ClassVar[str] = "lowering"  # what `value` is, in words (every output names it)
    weight: ClassVar[float] = 0.5
    order: ClassVar[int] = 90  # place in reports and `formcheck rules`
    cue = CUE
    landmarks = (L_HIP, R_HIP)

    @dataclass(frozen=True)
    class Params:
        # Seconds: lowering this long is controlled whatever the lift took ...
        pass_min_s: float = field(default=0.6, metadata={"range": (0, 60)})
        # ... or no faster than this × the ascent time (a ratio of two durations).
        min_ratio: float = field(default=0.8, metadata={"range": (0, 10)})
        # Seconds: lowering faster than this is a drop.
        fail_below_s: float = field(default=0.3, metadata={"range": (0, 60), "at_most": "pass_min_s"})

    def _ascent(self, ctx: RepContext) -> float:
        return tempo(ctx.rep, ctx.k.t)[0] if went_up(ctx) else float("nan")

    def near(self, ctx: RepContext, value: float | None) -> str:
        """Within the timing noise of a drop, or of the pass line: the lower of `pass_min_s` and
        `min_ratio` × the lift (the lift's own timing noise counted too)."""
        if value is None or not math.isfinite(value):
            return ""
        p, noise = self.params, NOISE["s"]
        ascent = self._ascent(ctx)
        limits = [(p.fail_below_s, noise, f"a drop, {fmt_value(p.fail_below_s, 's')}")]
        if math.isfinite(ascent) and p.min_ratio * ascent < p.pass_min_s:
            spread = noise * math.hypot(1.0, p.min_ratio)
            limits.append((p.min_ratio * ascent, spread, f"{p.min_ratio:g} × the lift ({fmt_value(ascent, 's')})"))
        else:
            limits.append((p.pass_min_s, noise, f"the threshold {fmt_value(p.pass_min_s, 's')}"))
        for at, spread, what in limits:
            if abs(value - at) < spread:
                return f"{fmt_value(value, 's')} is within {fmt_value(spread, 's')} of {what}"
        return ""

    def measure(self, ctx: RepContext) -> CheckResult:
        p, rep, t = self.params, ctx.rep, ctx.k.t
        if not came_down(ctx):
            return self.not_visible("the clip ends before the descent")
        descent = tempo(rep, t)[1]
        ascent = self._ascent(ctx)
        as_slow = math.isfinite(ascent) and descent >= p.min_ratio * ascent
        if descent < p.fail_below_s:
            verdict = Verdict.FAIL
        elif descent >= p.pass_min_s or as_slow:
            verdict = Verdict.PASS
        else:
            verdict = Verdict.WARN
        lift = f"; the lift took {ascent:.1f} s" if math.isfinite(ascent) else ""
        detail = f"lowering took {descent:.1f} s{lift}"
        return self.judged(verdict, descent, detail)

