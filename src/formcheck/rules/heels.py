"""Heels down: the feet stay flat, the heels do not lift."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from formcheck.pose.track import L_HEEL, R_HEEL
from formcheck.rules.base import (
    CheckResult,
    Ladder,
    RepContext,
    Rule,
    ViewNeed,
    bottom_in_view,
    median_near,
    near_leg_free,
    top_median,
)

CUE = "Keep your feet flat and drive through your heels; don't come up onto your toes."


class HeelsDown(Rule):
    """The heels stay on the floor as the hips rise.

    S1: "keep your feet flat on the ground. Don't raise your heels"; S0: "feel how your
    heels rest on the floor"; S3 and S4: "drive through your heels". The seeds agree.
    Measured as how much the heel rises above the toe from the bottom of the rep to the
    top, in shin lengths (a per-frame scale that survives zoom), side views only. The foot
    points are the model's weakest: on a dev clip with flat dark shoes the heel point
    crept up the heel counter by 0.15-0.17 shin lengths, so only a clear lift (0.25 shin
    lengths, some 10 cm on a 40 cm shin: up on the toes) warns; a small lift goes unseen.
    """

    name: ClassVar[str] = "heels_down"
    title: ClassVar[str] = "Heels down"
    source: ClassVar[str] = "S1, S0, S3, S4"
    unit: ClassVar[str] = "shin lengths"
    quantity: ClassVar[str] = "heel rise"  # what `value` is, in words (every output names it)
    weight: ClassVar[float] = 1.0
    order: ClassVar[int] = 50  # place in reports and `formcheck rules`
    view = ViewNeed.PROFILE
    ladder = Ladder.above("warn_above_shin", "fail_above_shin")
    cue = CUE
    landmarks = (L_HEEL, R_HEEL)

    @dataclass(frozen=True)
    class Params:
        # Heel rise from bottom to top, in shin lengths (a heel cannot rise a whole shin).
        warn_above_shin: float = field(default=0.25, metadata={"range": (0, 1), "at_most": "fail_above_shin"})
        fail_above_shin: float = field(default=0.4, metadata={"range": (0, 1)})

    def measure(self, ctx: RepContext) -> CheckResult:
        k, rep = ctx.k, ctx.rep
        if near_leg_free(ctx):
            return self.not_visible("the leg nearest the camera is the raised one (single-leg)")
        if k.heel_height is None:
            return self.not_visible("heel height was not measured")
        bottom, reason = bottom_in_view(ctx, k.feet_in_view, "the feet are")
        if reason:
            return self.not_visible(reason)
        value = top_median(k.heel_height, rep) - median_near(k.heel_height, bottom)
        if not math.isfinite(value):
            return self.not_visible("the feet were not tracked")
        detail = f"heel rose {value:+.2f} shin lengths above the toe from the bottom to the top"
        return self.judged(self.grade(value), value, detail)

