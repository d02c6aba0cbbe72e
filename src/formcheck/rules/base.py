"""The rule interface: every checkpoint is one small, pure unit with the same shape.

A rule reads a rep's measurements (`RepContext`) and returns a `CheckResult`: the measured
value with its unit, the thresholds it was judged against, a verdict, one cue a coach
would say, and the seed text it comes from. Thresholds live in a frozen `Params`
dataclass per rule (defaults in code, overridable from a TOML table `[rules.<name>]`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

import numpy as np

from formcheck.exercise import Exercise
from formcheck.kinematics import Kinematics
from formcheck.reps import Rep

# The five seed texts the rules cite (../shared/seeds/), by short name.
SOURCES = {
    "S0": "seeds/000: 'Hip thrust exercise' (how-to with barbell; gaze 45° up, knees out)",
    "S1": "seeds/001: hip thrust vs hip bridge (neutral cervical spine, heels down, back parallel)",
    "S2": "seeds/002: exercise profile 'Hip Thrust' (no lumbar arch, hips do not drop or rotate)",
    "S3": "seeds/003: 'Unlocking the Power of the Hip Thrust' (straight line shoulders-knees, tempo)",
    "S4": "seeds/004: hip thrust technique and flaws (vertical shins, rib flare, chin tucked, lockout)",
}


class Verdict(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    NOT_VISIBLE = "not_visible"  # the camera view (or the track) cannot show it


@dataclass(frozen=True)
class CheckResult:
    rule: str
    title: str
    verdict: Verdict
    value: float | None  # the measured value, in `unit`; None when not visible
    unit: str
    threshold: str  # human-readable thresholds, e.g. "pass ≤ 15°, fail > 25°"
    cue: str  # one sentence for the lifter ("" when the check passed)
    source: str  # seed ids, e.g. "S4, S3"
    detail: str = ""  # why not visible, or what exactly was measured
    landmarks: tuple[int, ...] = ()  # body part to highlight when it is a fault

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "verdict": self.verdict.value,
            "value": None if self.value is None else round(float(self.value), 3),
            "unit": self.unit,
            "threshold": self.threshold,
            "cue": self.cue,
            "source": self.source,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class RepContext:
    """Everything a rule may look at: one rep, the set it belongs to, and the measures."""

    rep: Rep
    k: Kinematics
    exercise: Exercise
    set_reps: tuple[Rep, ...] = field(default=())

    def at(self, name: str, frame: int) -> float:
        return float(getattr(self.k, name)[frame])

    def window(self, name: str, a: int, b: int) -> np.ndarray:
        """Finite values of measure `name` over frames a..b inclusive."""
        x = np.asarray(getattr(self.k, name)[a : b + 1], dtype=float)
        return x[np.isfinite(x)]


class Rule(Protocol):
    name: ClassVar[str]  # machine name: config table and JSON key
    title: ClassVar[str]
    source: ClassVar[str]
    unit: ClassVar[str]
    weight: ClassVar[float]  # share in the rep score
    Params: ClassVar[type]

    params: Any

    def check(self, ctx: RepContext) -> CheckResult: ...


def grade(value: float, warn: float, fail: float) -> Verdict:
    """Higher is worse: pass up to `warn`, warn up to `fail`, fail beyond."""
    if value > fail:
        return Verdict.FAIL
    if value > warn:
        return Verdict.WARN
    return Verdict.PASS


def not_visible(rule: Rule, reason: str) -> CheckResult:
    return CheckResult(
        rule=rule.name,
        title=rule.title,
        verdict=Verdict.NOT_VISIBLE,
        value=None,
        unit=rule.unit,
        threshold=describe_params(rule.params),
        cue="",
        source=rule.source,
        detail=reason,
    )


def describe_params(params: Any) -> str:
    return ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in vars(params).items())
