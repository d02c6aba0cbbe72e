"""Tension kept at the bottom: the hips touch down and go, they do not rest on the floor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from formcheck.analysis.smoothing import runs
from formcheck.pose.track import L_HIP, R_HIP
from formcheck.rules.base import CheckResult, Ladder, RepContext, Rule

CUE = "Keep the tension at the bottom: touch down lightly and go straight into the next rep, don't rest."


class TensionAtBottom(Rule):
    """Between two reps the hips do not park at the bottom (touch and go, no rest).

    S1: "lower back down without touching the floor"; S4: "maintain tension and avoid
    resting your hips completely on the ground before the next repetition"; S3 and S2 only
    say to lower to the start. S1 forbids even a touch, S4 only a rest; middle: S4's rest.
    What a 2-D pose cannot see is the floor contact itself: the ankle is the only floor
    reference, and camera height, the thickness of the buttocks and (on the dev clips)
    hidden feet make "hips on the floor" a guess. What it can see is the hips staying at
    their lowest: how long the hip height stays within `band_lift` (or `band_frac` of the
    rep's lift) of its lowest point between this rep and the next. Touch-and-go turns on
    the dev clips take 0.3-1.0 s; longer is resting. The last rep of a set is not judged.
    """

    name: ClassVar[str] = "tension_at_bottom"
    title: ClassVar[str] = "Tension kept at the bottom"
    source: ClassVar[str] = "S4, S1"
    unit: ClassVar[str] = "s"
    quantity: ClassVar[str] = "time at the bottom"  # what `value` is, in words (every output names it)
    weight: ClassVar[float] = 0.5
    order: ClassVar[int] = 100  # place in reports and `formcheck rules`
    ladder = Ladder.above("warn_above_s", "fail_above_s")
    cue = CUE
    landmarks = (L_HIP, R_HIP)

    @dataclass(frozen=True)
    class Params:
        # Seconds the hips stay at their lowest between reps.
        warn_above_s: float = field(default=1.5, metadata={"range": (0, 60), "at_most": "fail_above_s"})
        fail_above_s: float = field(default=3.0, metadata={"range": (0, 60)})
        # "At the lowest" = within this many torso lengths ...
        band_lift: float = field(default=0.05, metadata={"range": (0, 1)})
        # ... or this fraction of the rep's hip rise, whichever is larger.
        band_frac: float = field(default=0.1, metadata={"range": (0, 1)})

    def measure(self, ctx: RepContext) -> CheckResult:
        p, rep, k = self.params, ctx.rep, ctx.k
        nxt = next((r for r in ctx.set_reps if r.top > rep.top), None)
        if nxt is None:
            return self.not_visible("last rep of the set: no next rep to judge the bottom against")
        a, b = rep.end, max(rep.end, nxt.start)
        lift = np.asarray(k.lift[a : b + 1], dtype=float)
        if not len(lift) or not np.isfinite(lift).all():
            return self.not_visible("the hips were not tracked between this rep and the next")
        low = int(np.argmin(lift))
        near = lift <= lift[low] + max(p.band_lift, p.band_frac * rep.lift)
        i, j = next((i, j) for i, j in runs(near) if i <= low < j)
        dt = float(np.median(np.diff(k.t))) if len(k.t) > 1 else 0.0
        value = (j - i) * dt
        detail = f"hips stayed at their lowest for {value:.1f} s before the next rep"
        return self.judged(self.grade(value), value, detail)

