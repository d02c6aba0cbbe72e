"""Hips level: no dropping or rotating to one side."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from formcheck.pose.track import L_HIP, R_HIP
from formcheck.rules.base import (
    FRONT_ONLY_MAX_YAW_DEG,
    CheckResult,
    Ladder,
    RepContext,
    Rule,
    ViewNeed,
    bottom_frame,
    median_near,
)

CUE = "Keep your hips level: drive evenly through both feet so neither side drops or twists."


class HipsLevel(Rule):
    """The hips rise and lower level, without one side dropping or the pelvis rotating.

    S2: "don't allow the hips to drop or rotate as you bridge the hips up". The other seeds
    say nothing against it. Measured in a front view as the tilt of the
    left-right hip line in the image, relative to its tilt at the bottom of the same rep (so
    a crooked camera does not count), at the most tilted moment of the rep (90th
    percentile). 5° is about 3 cm of drop across a 35 cm pelvis. A side view cannot see it,
    and in an oblique view perspective tilts the hip line as the hips rise (a dev clip at
    43° showed 13-17° of tilt on a level pelvis), so only views within 30° of the front count.
    """

    name: ClassVar[str] = "hips_level"
    title: ClassVar[str] = "Hips level"
    source: ClassVar[str] = "S2"
    unit: ClassVar[str] = "deg"
    quantity: ClassVar[str] = "hip-line tilt"  # what `value` is, in words (every output names it)
    weight: ClassVar[float] = 1.0
    order: ClassVar[int] = 70  # place in reports and `formcheck rules`
    view = ViewNeed.FRONT
    view_why = "a front view"
    ladder = Ladder.above("warn_above_deg", "fail_above_deg")
    cue = CUE
    landmarks = (L_HIP, R_HIP)

    @dataclass(frozen=True)
    class Params:
        # Hip line tilt relative to the rep's bottom, degrees.
        warn_above_deg: float = field(default=5.0, metadata={"range": (0, 90), "at_most": "fail_above_deg"})
        fail_above_deg: float = field(default=10.0, metadata={"range": (0, 90)})
        # Camera at most this far round from the front, degrees (90 = side-on).
        max_yaw_deg: float = field(default=FRONT_ONLY_MAX_YAW_DEG, metadata={"range": (0, 90)})

    def measure(self, ctx: RepContext) -> CheckResult:
        k, rep = ctx.k, ctx.rep
        bottom = bottom_frame(ctx)
        ref = median_near(k.hip_tilt, bottom) if bottom is not None else float("nan")
        w = ctx.window("hip_tilt", rep.start, rep.end)
        if not (len(w) and math.isfinite(ref)):
            return self.not_visible("the hips were not tracked during the rep")
        value = float(np.percentile(np.abs(w - ref), 90))
        detail = f"hip line tilted up to {value:.0f}° from where it was at the bottom"
        return self.judged(self.grade(value), value, detail)

