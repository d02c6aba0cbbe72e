"""Knees out: the knees track over the feet and do not cave in."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from formcheck.pose.track import L_KNEE, R_KNEE
from formcheck.rules.base import (
    FRONT_MAX_YAW_DEG,
    CheckResult,
    Ladder,
    RepContext,
    Rule,
    ViewNeed,
    all_in_view,
    single_leg,
)


class KneesOut(Rule):
    """Through the rep the knees stay at least as far apart as the ankles (no caving in).

    S0: "keep your knees apart to the sides. They should not wrap inside when you push up
    or down." S4 sets the feet shoulder-width with the toes slightly out (so knees that
    track the toes sit a little wider than the ankles); S1's banded variation pushes the
    thighs out. The seeds agree; none gives a number. Measured as the knee gap over the
    ankle gap across the image, in front or oblique views only (a side view stacks the two
    knees), on the narrowest moment of the rep (its 10th percentile, so one noisy frame
    does not decide).
    """

    name: ClassVar[str] = "knees_out"
    title: ClassVar[str] = "Knees out"
    source: ClassVar[str] = "S0, S4, S1"
    unit: ClassVar[str] = "ratio"
    quantity: ClassVar[str] = "knee/ankle width"  # what `value` is, in words (every output names it)
    weight: ClassVar[float] = 1.5
    order: ClassVar[int] = 60  # place in reports and `formcheck rules`
    view = ViewNeed.FRONT
    ladder = Ladder.below("pass_min_ratio", "fail_below_ratio")
    cue = "Push your knees out over your toes as you drive up and lower down; don't let them cave in."
    landmarks = (L_KNEE, R_KNEE)

    @dataclass(frozen=True)
    class Params:
        # Knee gap / ankle gap: 1 = knees right over the ankles.
        pass_min_ratio: float = field(default=0.9, metadata={"range": (0, 3)})
        fail_below_ratio: float = field(default=0.75, metadata={"range": (0, 3), "at_most": "pass_min_ratio"})
        # Camera at most this far round from the front, degrees (90 = side-on).
        max_yaw_deg: float = field(default=FRONT_MAX_YAW_DEG, metadata={"range": (0, 90)})

    def measure(self, ctx: RepContext) -> CheckResult:
        k, rep = ctx.k, ctx.rep
        if single_leg(ctx.exercise):
            return self.not_visible("single-leg set: the knee gap needs both feet on the floor")
        if not all_in_view(k.feet_in_view, rep.start, rep.end):
            return self.not_visible("the feet are out of the picture")
        w = ctx.window("knee_width", rep.start, rep.end)
        if not len(w):
            return self.not_visible("the knees were not tracked during the rep")
        value = float(np.percentile(w, 10))
        if not math.isfinite(value):
            return self.not_visible("the knees were not tracked during the rep")
        detail = f"knees {value:.2f} × as far apart as the ankles at their narrowest (1 = over the ankles)"
        return self.judged(self.grade(value), value, detail)

