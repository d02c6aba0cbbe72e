"""The set-up check: is the camera placed so that the set can be judged?

Run over the first second or so of a live session, before the lifter starts: the whole body
in frame (head, shoulders, hips, knees, feet), a side view (lockout, shins and most rules need
it), the lifter neither a speck nor filling the frame, enough light. Each failed check is a
`Problem` with one line the lifter can act on ("step back: your feet are out of frame").

`check_setup` judges a window of frames (pure); `SetupCheck.update` is its per-frame twin,
judging the last `window_s` seconds until the set-up is fine, a rep is counted, or `max_s` have
passed (the advice is then kept as a warning for the report).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from formcheck.analysis.kinematics import View, view_of
from formcheck.pose.track import (
    L_ANKLE,
    L_EAR,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    NOSE,
    R_ANKLE,
    R_EAR,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    PoseTrack,
)

# A body part is in frame on a frame when one of its landmarks is (either side: a side view
# hides the far one), visible and inside the picture. Order: how the advice lists them.
PARTS: dict[str, tuple[int, ...]] = {
    "head": (NOSE, L_EAR, R_EAR),
    "shoulders": (L_SHOULDER, R_SHOULDER),
    "hips": (L_HIP, R_HIP),
    "knees": (L_KNEE, R_KNEE),
    "feet": (L_ANKLE, R_ANKLE),
}
BODY = tuple(j for ix in PARTS.values() for j in ix)
MIN_VISIBILITY = 0.5  # MediaPipe visibility under this: the landmark is a guess
MIN_SEEN_FRAC = 0.5  # a person (a part) must be found on at least half the window's frames
MIN_SPAN = 0.30  # body extent / frame side under this: too far away for the model's detail
MAX_SPAN = 0.97  # over this (all parts in): no room left to move, the lockout leaves the frame
# The rules' side view starts at kinematics.SIDE_VIEW_MIN_YAW_DEG (78°); MediaPipe's world yaw
# wanders ±8° on a side-on camera (77° on a dev clip filmed side-on), so the advice asks for a
# turn only under this.
MIN_SIDE_YAW_DEG = 70.0
MIN_LUMA = 40.0  # mean brightness (0-255) under this: too dark for the model to hold the pose
LUMA_STEP = 8  # brightness is sampled on every 8th pixel of every 8th row (cheap, and enough)

WINDOW_S = 1.0  # the check judges the last second of frames
MIN_FRAMES = 5  # ... and at least this many
MAX_S = 10.0  # after this long without a fine set-up, the advice becomes a warning
JUDGE_EVERY_S = 0.2  # the window is judged this often (each judgement costs ~1 ms), not on every frame


def frame_luma(rgb: np.ndarray) -> float:
    """Mean brightness (Rec. 601 luma, 0-255) of an RGB uint8 frame, on a sparse grid."""
    px = rgb[::LUMA_STEP, ::LUMA_STEP, :3].astype(np.float32)
    return float((px @ np.array([0.299, 0.587, 0.114], np.float32)).mean()) if px.size else float("nan")


@dataclass(frozen=True)
class Problem:
    code: str  # no_person, too_dark, out_of_frame, too_close, too_far, not_side_on
    message: str


@dataclass(frozen=True)
class SetupVerdict:
    """What a window of frames says about the set-up, and what was measured to say it."""

    problems: tuple[Problem, ...]
    seen_frac: float  # frames with a person
    in_frame: dict[str, float]  # part -> fraction of the frames with a person where it is in frame
    span: float  # body extent / frame side (median); NaN if no person
    view: View
    yaw_deg: float
    luma: float  # mean brightness 0-255; NaN if not measured

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def messages(self) -> tuple[str, ...]:
        return tuple(p.message for p in self.problems)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def check_setup(image: np.ndarray, world: np.ndarray, visibility: np.ndarray, width: int, height: int,
                luma: np.ndarray | None = None) -> SetupVerdict:  # fmt: skip
    """Judge a window of frames: image (N, 33, 3) pixels, world (N, 33, 3), visibility (N, 33),
    NaN rows where no person was found; luma (N,) each frame's brightness (NaN: not measured).
    Problems come most basic first: nobody seen, too dark, parts out of frame, distance, view."""
    n = len(image)
    seen = np.isfinite(image[:, :, 0]).any(axis=1)
    lum = float(np.nanmean(luma)) if luma is not None and np.isfinite(luma).any() else float("nan")
    problems: list[Problem] = []
    if lum < MIN_LUMA:
        problems.append(Problem("too_dark", "too dark: turn on a light in front of you (not behind you)"))
    seen_frac = float(seen.mean()) if n else 0.0
    if seen_frac < MIN_SEEN_FRAC:
        problems.insert(0, Problem("no_person", "no one in view: lie down side-on to the camera, whole body in frame"))
        return SetupVerdict(tuple(problems), seen_frac, {}, float("nan"), View.UNKNOWN, float("nan"), lum)
    im, vis = image[seen], visibility[seen]
    with np.errstate(invalid="ignore"):
        inside = ((vis >= MIN_VISIBILITY) & (im[..., 0] >= 0) & (im[..., 0] < width)
                  & (im[..., 1] >= 0) & (im[..., 1] < height))  # fmt: skip
    in_frame = {part: float(inside[:, list(ix)].any(axis=1).mean()) for part, ix in PARTS.items()}
    out = [part for part, frac in in_frame.items() if frac < MIN_SEEN_FRAC]
    if out:
        verb = "is" if out == ["head"] else "are"
        problems.append(Problem("out_of_frame", f"step back: your {_and(out)} {verb} out of frame"))
    spans = []
    for pts, ok in zip(im[:, list(BODY), :2], inside[:, list(BODY)], strict=True):
        if ok.sum() >= 2:
            p = pts[ok]
            spans.append(max(float(np.ptp(p[:, 0])) / width, float(np.ptp(p[:, 1])) / height))
    span = float(np.median(spans)) if spans else float("nan")
    if not out and span >= MAX_SPAN:
        problems.append(Problem("too_close", "step back: you fill the whole frame, leave room to move"))
    elif span < MIN_SPAN:
        problems.append(Problem("too_far", f"come closer (or the camera): you fill only {100 * span:.0f} % of the "
                                           "frame"))  # fmt: skip
    view, yaw = view_of(PoseTrack(np.arange(len(im), dtype=float), im, world[seen], vis, width, height))
    if math.isfinite(yaw) and yaw < MIN_SIDE_YAW_DEG:
        seen_as = "front-on" if view == View.FRONT else f"at {yaw:.0f}° (90° is side-on)"
        problems.append(Problem("not_side_on", f"turn the camera side-on for lockout and shins: it sees you {seen_as}"))
    return SetupVerdict(tuple(problems), seen_frac, in_frame, span, view, yaw, lum)


class SetupPhase(StrEnum):
    CHECKING = "checking"  # the first window is not full yet
    ADVISING = "advising"  # the last window had problems: the window says what to fix
    OK = "ok"  # the set-up was fine (done)
    GAVE_UP = "gave_up"  # not fine after max_s (or by the end of the set): the advice becomes a warning
    STARTED = "started"  # a rep was counted before the set-up was fine: the advice becomes a warning
    OFF = "off"  # --no-setup-check


@dataclass(frozen=True)
class SetupState:
    """The set-up as the window shows it after one frame."""

    phase: SetupPhase
    verdict: SetupVerdict | None  # the last judged window (None until the first is full)
    since_s: float  # stream time the check started
    done_s: float | None  # stream time it ended (None while it runs)
    max_s: float

    @property
    def done(self) -> bool:
        return self.phase not in (SetupPhase.CHECKING, SetupPhase.ADVISING)

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.verdict.problems if self.verdict is not None and self.phase != SetupPhase.OK else ()

    def warnings(self) -> tuple[str, ...]:
        """Report warnings: the advice that was never followed."""
        if self.phase not in (SetupPhase.GAVE_UP, SetupPhase.STARTED):
            return ()
        return tuple(f"set-up check: {p.message} (not fixed when counting started)" for p in self.problems)

    def to_dict(self) -> dict[str, object]:
        v = self.verdict
        return {
            "result": self.phase.value,
            "checked_until_s": None if self.done_s is None else round(self.done_s - self.since_s, 2),
            "problems": [p.code for p in self.problems],
            "messages": [p.message for p in self.problems],
            "view": v.view.value if v is not None else None,
            "yaw_deg": round(v.yaw_deg, 1) if v is not None and math.isfinite(v.yaw_deg) else None,
            "body_span": round(v.span, 3) if v is not None and math.isfinite(v.span) else None,
            "luma": round(v.luma, 1) if v is not None and math.isfinite(v.luma) else None,
        }


@dataclass
class SetupCheck:
    """`update(t, image, world, visibility, luma) -> SetupState`, frame by frame, until done."""

    width: int
    height: int
    window_s: float = WINDOW_S
    max_s: float = MAX_S
    enabled: bool = True
    _rows: deque[tuple[float, np.ndarray, np.ndarray, np.ndarray, float]] = field(default_factory=deque)
    _state: SetupState | None = None
    _judged_s: float = -math.inf

    def __post_init__(self) -> None:
        if not self.enabled:
            self._state = SetupState(SetupPhase.OFF, None, 0.0, 0.0, self.max_s)

    @property
    def state(self) -> SetupState | None:
        return self._state

    def update(self, t: float, image: np.ndarray, world: np.ndarray, visibility: np.ndarray,
               luma: float = float("nan")) -> SetupState:  # fmt: skip
        """One frame (NaN rows when nobody was found); once done the state no longer changes."""
        s = self._state
        if s is None:
            s = self._state = SetupState(SetupPhase.CHECKING, None, t, None, self.max_s)
        if s.done:
            return s
        self._rows.append((t, image, world, visibility, luma))
        while self._rows and self._rows[0][0] < t - self.window_s:
            self._rows.popleft()
        if t - s.since_s < self.window_s or len(self._rows) < MIN_FRAMES or t - self._judged_s < JUDGE_EVERY_S:
            return s
        self._judged_s = t
        v = self._judge()
        phase = SetupPhase.OK if v.ok else SetupPhase.GAVE_UP if t - s.since_s >= self.max_s else SetupPhase.ADVISING
        self._state = SetupState(phase, v, s.since_s, t if phase != SetupPhase.ADVISING else None, self.max_s)
        if self._state.done:
            self._rows.clear()
        return self._state

    def started(self, t: float) -> None:
        """A rep was counted while the check ran: the lifter has begun; stop advising."""
        self._end(t, SetupPhase.STARTED)

    def close(self, t: float) -> None:
        """The set ended while the check still ran: its advice becomes a warning."""
        self._end(t, SetupPhase.GAVE_UP)

    def _end(self, t: float, unfixed: SetupPhase) -> None:
        s = self._state
        if s is not None and not s.done:
            v = s.verdict if s.verdict is not None or not self._rows else self._judge()
            self._state = SetupState(unfixed if v is not None and not v.ok else SetupPhase.OK, v, s.since_s, t,
                                     self.max_s)  # fmt: skip
            self._rows.clear()

    def _judge(self) -> SetupVerdict:
        cols = list(zip(*self._rows, strict=True))
        return check_setup(np.stack(cols[1]), np.stack(cols[2]), np.stack(cols[3]), self.width, self.height,
                           np.asarray(cols[4], float))  # fmt: skip
