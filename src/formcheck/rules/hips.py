"""Hips level: no dropping or rotating to one side."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from formcheck.pose.track import L_HIP, R_HIP
from formcheck.rules.base import (
    FRONT_ONLY_MAX_YAW_DEG,
    CheckResult,
    RepContext,
    bottom_frame,
    grade,
    judged,
    median_near,
    needs_front,
    not_visible,
)

CUE = "Keep your hips level: drive evenly through both feet so neither side drops or twists."


class HipsLevel:
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
    weight: ClassVar[float] = 1.0
    order: ClassVar[int] = 70  # place in reports and `formcheck rules`

    @dataclass(frozen=True)
    class Params:
        warn_above_deg: float = 5.0  # hip line tilt, relative to the rep's bottom
        fail_above_deg: float = 10.0
        max_yaw_deg: float = FRONT_ONLY_MAX_YAW_DEG  # camera at most this far round from the front

    def __init__(self, params: Params | None = None) -> None:
        self.params = params or self.Params()

    def check(self, ctx: RepContext) -> CheckResult:
        p, k, rep = self.params, ctx.k, ctx.rep
        reason = needs_front(k, p.max_yaw_deg, "a front view")
        if reason:
            return not_visible(self, reason)
        bottom = bottom_frame(ctx)
        ref = median_near(k.hip_tilt, bottom) if bottom is not None else float("nan")
        w = ctx.window("hip_tilt", rep.start, rep.end)
        if not (len(w) and math.isfinite(ref)):
            return not_visible(self, "the hips were not tracked during the rep")
        value = float(np.percentile(np.abs(w - ref), 90))
        verdict = grade(value, p.warn_above_deg, p.fail_above_deg)
        detail = f"hip line tilted up to {value:.0f}° from where it was at the bottom"
        return judged(self, verdict, value, CUE, detail, (L_HIP, R_HIP))


RULE = HipsLevel
