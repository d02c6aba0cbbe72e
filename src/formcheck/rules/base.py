"""The rule interface: every checkpoint is one small, pure unit with the same shape (`Rule`).

A rule reads a rep's measurements (`RepContext`) and returns a `CheckResult`: the measured
value with its unit, the thresholds it was judged against, a verdict, one cue a coach
would say, and the seed text it comes from. Thresholds live in a frozen `Params`
dataclass per rule (defaults in code, overridable from a TOML table `[rules.<name>]`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np

from formcheck.analysis.confidence import Confidence, Level, seen_reasons
from formcheck.analysis.exercise import Exercise
from formcheck.analysis.kinematics import FREE_LEG_MIN_RISE, PROFILE_MIN_YAW_DEG, Kinematics, View
from formcheck.analysis.reps import Rep

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
    detail: str = ""  # why not visible, or the judged value named in words ("knee 131° at the top")
    landmarks: tuple[int, ...] = ()  # body part to highlight when it is a fault
    # How sure the verdict is (Rule.qualify): near a threshold, an oblique view, a rep poorly seen.
    confidence: Confidence = field(default_factory=lambda: Confidence(Level.HIGH))
    quantity: str = ""  # what `value` is, in words: "knee at the top"

    @property
    def label(self) -> str:
        """The judged value, named and with its unit: "knee at the top 131°" ("" if not visible)."""
        if self.value is None:
            return ""
        return f"{self.quantity} {fmt_value(self.value, self.unit)}".strip()

    @property
    def sure(self) -> bool:
        return self.confidence.level == Level.HIGH

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
            "confidence": None if self.verdict == Verdict.NOT_VISIBLE else self.confidence.to_dict(),
            "quantity": self.quantity,
            "label": self.label,
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


def grade(value: float, warn: float, fail: float) -> Verdict:
    """Higher is worse: pass up to `warn`, warn up to `fail`, fail beyond."""
    if value > fail:
        return Verdict.FAIL
    if value > warn:
        return Verdict.WARN
    return Verdict.PASS


def grade_below(value: float, pass_min: float, fail_below: float) -> Verdict:
    """Lower is worse: pass from `pass_min` up, warn down to `fail_below`, fail under it."""
    if value >= pass_min:
        return Verdict.PASS
    if value >= fail_below:
        return Verdict.WARN
    return Verdict.FAIL


@dataclass(frozen=True)
class Ladder:
    """A rule's grade ladder: two thresholds, named by their fields in the rule's `Params`.

    `Ladder.above("warn_above_deg", "fail_above_deg")`: higher is worse (`grade`);
    `Ladder.below("pass_min_pct", "fail_below_pct")`: lower is worse (`grade_below`).
    """

    pass_limit: str
    fail_limit: str
    higher_is_worse: bool = True

    @classmethod
    def above(cls, warn_above: str, fail_above: str) -> Ladder:
        return cls(warn_above, fail_above, True)

    @classmethod
    def below(cls, pass_min: str, fail_below: str) -> Ladder:
        return cls(pass_min, fail_below, False)

    def verdict(self, value: float, params: Any) -> Verdict:
        a, b = float(getattr(params, self.pass_limit)), float(getattr(params, self.fail_limit))
        return grade(value, a, b) if self.higher_is_worse else grade_below(value, a, b)


class ViewNeed(StrEnum):
    """The camera views a rule can judge (checked before the rule measures anything)."""

    ANY = "any"
    SIDE = "side"  # a side view (View.is_side)
    PROFILE = "profile"  # side-on within PROFILE_MIN_YAW_DEG (`needs_profile`)
    FRONT = "front"  # front or oblique, within the rule's `max_yaw_deg` param (`needs_front`)


class Rule(ABC):
    """One checkpoint. A subclass declares what differs and implements `measure`.

    The base owns the constructor (thresholds from `Params`, defaults in code), the view
    requirement (`view`: a rule that cannot be judged from this camera view is not visible,
    with the reason), the grade ladder (`ladder`, used by `grade`) and the result types
    (`judged`, `not_visible`). Subclasses register themselves by `name` (`registered`).
    """

    name: ClassVar[str]  # machine name: config table and JSON key
    title: ClassVar[str]
    source: ClassVar[str]
    unit: ClassVar[str]
    quantity: ClassVar[str] = ""  # what the judged value is, in words ("knee at the top")
    weight: ClassVar[float]  # share in the rep score
    order: ClassVar[int] = 1000  # place in reports and `formcheck rules` (setup and the top first)
    Params: ClassVar[type[Any]]  # a frozen dataclass of thresholds, all with defaults
    view: ClassVar[ViewNeed] = ViewNeed.ANY
    view_why: ClassVar[str] = ""  # SIDE: why only a profile shows it; FRONT: the view it needs
    ladder: ClassVar[Ladder | None] = None
    cue: ClassVar[str] = ""  # the cue for a fault, unless `judged` is given another
    landmarks: ClassVar[tuple[int, ...]] = ()  # body part to highlight when it is a fault

    _registry: ClassVar[dict[str, type[Rule]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "__abstractmethods__", None):
            return
        other = Rule._registry.get(cls.name)
        if other is not None and other.__qualname__ != cls.__qualname__:
            raise TypeError(f"two rules named {cls.name!r}: {other.__qualname__} and {cls.__qualname__}")
        Rule._registry[cls.name] = cls

    @staticmethod
    def registered() -> dict[str, type[Rule]]:
        """Every rule class defined so far, by name (rules/__init__ imports the modules)."""
        return dict(Rule._registry)

    def __init__(self, params: Any = None) -> None:
        self.params: Any = params if params is not None else self.Params()

    def check(self, ctx: RepContext) -> CheckResult:
        reason = self.view_problem(ctx.k) or self.rep_view_problem(ctx)
        if reason:
            return self.not_visible(reason)
        result = self.measure(ctx)
        return result if result.verdict == Verdict.NOT_VISIBLE else self.qualify(ctx, result)

    def qualify(self, ctx: RepContext, result: CheckResult) -> CheckResult:
        """The verdict's confidence, with the reasons in words: the value within the measure's
        noise of a threshold (another run could land on the other side), a profile angle read
        in an oblique view (foreshortened), or a rep the camera saw poorly."""
        medium, low = seen_reasons(ctx.k, ctx.rep)
        near = self.near(ctx, result.value)
        if near:
            medium.insert(0, near)
        edge = self.view_edge(ctx.k)
        if edge:
            low.insert(0, edge)
        if self.view in (ViewNeed.SIDE, ViewNeed.PROFILE) and not ctx.k.view.is_side:
            yaw = ctx.k.yaw_deg
            medium.append(f"oblique view (camera {yaw:.0f}° round from the front): the angle is foreshortened")
        return replace(result, confidence=Confidence.of(medium, low))

    def near(self, ctx: RepContext, value: float | None) -> str:
        """Why the verdict sits within the noise of where it would change ("" if it does not): the
        ladder's thresholds; a rule whose verdict turns on something else too says so here."""
        return self.near_threshold(value)

    def near_threshold(self, value: float | None) -> str:
        """"" unless `value` is within the measure's noise (NOISE by unit) of a ladder threshold."""
        noise = NOISE.get(self.unit)
        if self.ladder is None or value is None or noise is None or not math.isfinite(value):
            return ""
        for limit in (self.ladder.pass_limit, self.ladder.fail_limit):
            at = float(getattr(self.params, limit))
            if abs(value - at) < noise:
                u = self.unit
                return f"{fmt_value(value, u)} is within {fmt_value(noise, u)} of the threshold {fmt_value(at, u)}"
        return ""

    @abstractmethod
    def measure(self, ctx: RepContext) -> CheckResult:
        """Judge a rep the camera view can show."""

    def view_problem(self, k: Kinematics) -> str:
        """Why this camera view cannot show the checkpoint; "" if it can. A profile or front
        view within VIEW_BAND_DEG past the rule's limit is judged, at low confidence
        (`view_edge`): the camera's angle is read to within ~10° from run to run, and a
        checkpoint that appeared in one run and vanished in the next at the limit was a knife
        edge. A side view is not banded: off it the hip angle is read in 3-D, unsigned, and
        cannot show the hips past straight at all."""
        if self.view == ViewNeed.SIDE:
            return "" if k.view.is_side else f"needs a side view ({self.view_why})"
        if self.view == ViewNeed.PROFILE:
            return needs_profile(k, PROFILE_MIN_YAW_DEG - VIEW_BAND_DEG)
        if self.view == ViewNeed.FRONT:
            return needs_front(k, self.params.max_yaw_deg + VIEW_BAND_DEG, self.view_why or "a front or oblique view")
        return ""

    def view_edge(self, k: Kinematics) -> str:
        """Why a view the rule judges is at the edge of what it can show ("" if it is not): within
        VIEW_BAND_DEG past its limit."""
        yaw = k.yaw_deg
        if not np.isfinite(yaw):
            return ""
        if self.view == ViewNeed.PROFILE and yaw < PROFILE_MIN_YAW_DEG:
            limit, past = PROFILE_MIN_YAW_DEG, "short of"
        elif self.view == ViewNeed.FRONT and yaw > self.params.max_yaw_deg:
            limit, past = float(self.params.max_yaw_deg), "past"
        else:
            return ""
        return (f"camera {yaw:.0f}° round from the front, just {past} the {limit:.0f}° this checkpoint needs: "
                "the angle is foreshortened")

    def rep_view_problem(self, ctx: RepContext) -> str:
        """Why this rep cannot show a profile checkpoint in a side set whose camera moved: its
        top was seen from the front (kinematics.profile_frames); "" if it can."""
        profile = ctx.k.profile
        if self.view not in (ViewNeed.SIDE, ViewNeed.PROFILE) or profile is None:
            return ""
        top = profile[ctx.rep.hold_start : ctx.rep.hold_end + 1]
        if len(top) and float(np.mean(top)) < 0.5:
            return "the camera had moved round to the front for this rep: it needs a side view"
        return ""

    def grade(self, value: float) -> Verdict:
        if self.ladder is None:
            raise TypeError(f"{type(self).__name__} has no grade ladder")
        return self.ladder.verdict(value, self.params)

    def not_visible(self, reason: str) -> CheckResult:
        return CheckResult(
            rule=self.name,
            title=self.title,
            verdict=Verdict.NOT_VISIBLE,
            value=None,
            unit=self.unit,
            threshold=describe_params(self.params),
            cue="",
            source=self.source,
            detail=reason,
        )

    def judged(self, verdict: Verdict, value: float, detail: str, cue: str | None = None) -> CheckResult:
        """A visible check: the cue (the class's, unless given) is dropped when the check passed."""
        return CheckResult(
            rule=self.name,
            title=self.title,
            verdict=verdict,
            value=float(value),
            unit=self.unit,
            threshold=describe_params(self.params),
            cue="" if verdict == Verdict.PASS else (self.cue if cue is None else cue),
            source=self.source,
            detail=detail,
            landmarks=self.landmarks,
            quantity=self.quantity,
        )


# A measure's noise from one run to the next (tracker jitter, which frames were seen, the
# smoothing): a value closer than this to a threshold is a medium-confidence verdict. From the
# stability harness (bench/stability.py): hip angles at the top move 1-3° between perturbed runs.
NOISE = {"deg": 3.0, "s": 0.1, "ratio": 0.05, "shin lengths": 0.03, "%": 5.0}
UNIT_WORDS = {"deg": "°", "s": " s", "ratio": "×", "shin lengths": " shin lengths", "%": " %"}


def fmt_value(x: float, unit: str) -> str:
    """A value with its unit, as every output prints it: 131°, 0.3 s, 0.85×."""
    return f"{x:.3g}{UNIT_WORDS.get(unit, ' ' + unit)}"



def describe_params(params: Any) -> str:
    return ", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in vars(params).items())


# --- Helpers shared by the rules (added with the rule set; the interface above is unchanged).

# A rule's view limit (kinematics.PROFILE_MIN_YAW_DEG 60° for profile angles: within cos 30° =
# 87 %; FRONT_MAX_YAW_DEG below for left-right ones) is kept with a band: up to this far past it
# the rule is still judged, at low confidence (Rule.view_edge), since the camera's angle moves by
# 5-15° between two runs of one clip (a mirror: 57° -> 71°).
VIEW_BAND_DEG = 10.0
# Knee widths need the camera within this of straight in front (or behind) ...
FRONT_MAX_YAW_DEG = 50.0
# ... and the hip line's tilt within this (beyond it, perspective tilts the line as the hips rise).
FRONT_ONLY_MAX_YAW_DEG = 30.0


def needs_profile(k: Kinematics, min_yaw_deg: float = PROFILE_MIN_YAW_DEG) -> str:
    """Why a profile (side) measure cannot be judged from this camera view; "" if it can."""
    if k.view == View.UNKNOWN or not np.isfinite(k.yaw_deg):
        return "the camera view could not be determined"
    if k.yaw_deg < min_yaw_deg:
        return f"needs a side view (camera {k.yaw_deg:.0f}° round from the front, 90° = side-on)"
    return ""


def needs_front(k: Kinematics, max_yaw_deg: float = FRONT_MAX_YAW_DEG, need: str = "a front or oblique view") -> str:
    """Why a left-right measure cannot be judged from this camera view; "" if it can."""
    if k.view == View.UNKNOWN or not np.isfinite(k.yaw_deg):
        return "the camera view could not be determined"
    if k.view.is_side:
        return f"needs {need}"
    if k.yaw_deg > max_yaw_deg:
        return f"needs a view closer to the front (camera {k.yaw_deg:.0f}° round from it, at most {max_yaw_deg:g}°)"
    return ""


def all_in_view(mask: np.ndarray | None, a: int, b: int) -> bool:
    """True when `mask` (e.g. feet_in_view) holds on most of frames a..b (None = unknown: trust it)."""
    if mask is None:
        return True
    m = np.asarray(mask[a : b + 1], dtype=bool)
    return bool(len(m)) and float(m.mean()) >= 0.8


def went_up(ctx: RepContext) -> bool:
    """The rep's ascent is in the clip (it did not start at the top)."""
    s = ctx.k.hip_ext
    return bool(s[ctx.rep.top] - s[ctx.rep.start] >= 0.5 * ctx.rep.rom_deg)


def came_down(ctx: RepContext) -> bool:
    """The rep's descent is in the clip (it did not end at or near the top)."""
    s = ctx.k.hip_ext
    return bool(s[ctx.rep.top] - s[ctx.rep.end] >= 0.5 * ctx.rep.rom_deg)


def bottom_frame(ctx: RepContext) -> int | None:
    """The lowest frame before the rep's top (after it, if the clip began at the top); None if neither shows.

    A rep starts and ends 20 % of the way up (reps.py); from there, walk down to the trough.
    """
    s = ctx.k.hip_ext
    if went_up(ctx):
        i = ctx.rep.start
        while i > 0 and np.isfinite(s[i - 1]) and s[i - 1] <= s[i]:
            i -= 1
        return int(i)
    if came_down(ctx):
        i = ctx.rep.end
        while i < len(s) - 1 and np.isfinite(s[i + 1]) and s[i + 1] <= s[i]:
            i += 1
        return int(i)
    return None


def median_near(x: np.ndarray | None, frame: int, half: int = 2) -> float:
    """Median of the finite values of a series within `half` frames of `frame` (NaN if none)."""
    if x is None:
        return float("nan")
    w = np.asarray(x[max(0, frame - half) : frame + half + 1], dtype=float)
    w = w[np.isfinite(w)]
    return float(np.median(w)) if len(w) else float("nan")


def top_median(x: np.ndarray | None, rep: Rep) -> float:
    """Median of a series over the rep's hold at the top (the top frame if there is no hold)."""
    if x is None:
        return float("nan")
    w = np.asarray(x[rep.hold_start : rep.hold_end + 1], dtype=float)
    w = w[np.isfinite(w)]
    return float(np.median(w)) if len(w) else float(x[rep.top])


def seen_around(x: np.ndarray, a: int, b: int) -> bool:
    """Frames a..b are framed by tracked frames on both sides (neither the clip nor a gap cuts them)."""
    return bool(a > 0 and b < len(x) - 1 and np.isfinite(x[a - 1]) and np.isfinite(x[b + 1]))


# Hip angles beyond this are not a lifter but a wrong pose (a cut, a close-up of one body part).
HIP_EXT_MAX_PLAUSIBLE_DEG = 250.0
# The range a hip-angle threshold may take (a config setting, degrees): none beyond what is judged.
HIP_RANGE = (0.0, HIP_EXT_MAX_PLAUSIBLE_DEG)


def hip_at_top(ctx: RepContext) -> tuple[float, str]:
    """The hip angle at the rep's top, and why it cannot be judged (not tracked, or no human pose; "" if it can)."""
    value = ctx.at("hip_ext", ctx.rep.top)
    if not math.isfinite(value):
        return value, "the hips were not tracked at the top of the rep"
    if value > HIP_EXT_MAX_PLAUSIBLE_DEG:
        return value, f"hip angle {value:.0f}° is not humanly possible: the pose is wrong here"
    return value, ""


def bottom_in_view(ctx: RepContext, mask: np.ndarray | None, part: str) -> tuple[int, str]:
    """The rep's bottom frame (`bottom_frame`), and why bottom-to-top cannot be judged ("" if it can).

    `mask` says where `part` ("the feet are", "the head is") is in the picture.
    """
    bottom = bottom_frame(ctx)
    if bottom is None:
        return -1, "the clip shows neither the bottom before nor after this top"
    if not all_in_view(mask, min(bottom, ctx.rep.top), max(bottom, ctx.rep.top)):
        return bottom, f"{part} out of the picture"
    return bottom, ""




def single_leg(ex: Exercise) -> bool:
    return ex in (Exercise.SINGLE_LEG_HIP_THRUST, Exercise.SINGLE_LEG_GLUTE_BRIDGE)


def near_leg_free(ctx: RepContext) -> bool:
    """Single-leg set where the leg nearest the camera (the one measured) is the raised one."""
    up = ctx.k.near_foot_up
    return single_leg(ctx.exercise) and up is not None and median_near(up, ctx.rep.top) > FREE_LEG_MIN_RISE
