"""Live mode: the file pipeline, one frame at a time, on the newest frame of a camera or stream.

Each stage keeps its state and exposes `update(x) -> x`; its offline twin is the pure
function over the whole series: One Euro smoothing (signal.smooth_track), per-frame
kinematics from a short trailing window (kinematics.compute), and `OnlineReps`
(reps.segment). The online rep detector only decides WHEN a cycle is over (hysteresis on
hip extension relative to the last bottom and top); WHAT it is, start/top/end, the lift,
incline and knee gates, comes from running `reps.segment` on that cycle's window. The same
rules and scoring then judge it. When the set ends, `analyze_track` on the recorded raw
track gives the same report as file mode. Differences from file mode: docs/live.md.
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from formcheck.config import Config
from formcheck.errors import CameraError
from formcheck.exercise import Exercise, classify
from formcheck.kinematics import Kinematics, View, compute
from formcheck.pipeline import Analysis, analyze_track
from formcheck.pose import PoseSample
from formcheck.reps import Rep, RepsConfig, _mark_short, segment
from formcheck.rules import RepContext, all_rules
from formcheck.rules.base import CheckResult
from formcheck.scoring import focus, rep_score
from formcheck.signal import OneEuroFilter, fill_gaps
from formcheck.track import L_HIP, L_SHOULDER, N_LANDMARKS, R_HIP, R_SHOULDER, PoseTrack
from formcheck.video import Frame, _scale, iter_frames, probe

# Per-frame measures of a Kinematics, in order (the rest are per-set scalars).
SERIES = tuple(f.name for f in fields(Kinematics) if f.name not in ("t", "view", "yaw_deg", "scale_px"))


@dataclass(frozen=True)
class LiveConfig:
    """Knobs of the online stages (the file-mode ones come from Config)."""

    context_s: float = 3.0  # trailing window for per-frame kinematics (view, body scale)
    rebound_deg: float = 5.0  # a rise this far off the low after a top proves the bottom was reached
    settle_s: float = 0.3  # ... or the descent has stalled this long
    settle_band_deg: float = 3.0  # "stalled": no new low by more than this
    idle_s: float = 20.0  # after a counted rep, this long without motion ends the set (0 = never)
    min_cutoff_hz: float = 1.5  # One Euro filter on landmarks (pixels); world landmarks alike
    beta: float = 0.3
    world_beta: float = 100.0  # metres move ~500x less than pixels; same responsiveness


# --- frame sources --------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceInfo:
    name: str
    width: int
    height: int
    fps: float  # nominal; 0 when unknown
    frame_count: int  # announced by a file; 0 for cameras and streams
    kind: str  # "camera", "file" or "stream"


@dataclass(frozen=True)
class Grabbed:
    frame: Frame
    arrived: float  # time.monotonic() when the grabber handed it over


class LatestFrameSource:
    """A grabber thread that keeps only the newest frame, so processing never lags behind.

    `pace`: hand frames over at their timestamps (a file played in real time; cameras pace
    themselves); a frame not taken before the next one arrives is dropped. Without `pace`
    every frame is handed over, as fast as the consumer takes them (tests, evaluation).
    """

    def __init__(self, frames: Iterator[Frame], info: SourceInfo, pace: bool = True) -> None:
        self.info, self.pace = info, pace
        self.frames_read = self.frames_dropped = 0
        self.lost: str | None = None  # why the source stopped early, if it did
        self._frames = frames
        self._cond = threading.Condition()
        self._slot: Grabbed | None = None
        self._ended = self._stop = False
        self._wall0: float | None = None  # monotonic time of stream time `_t0`
        self._t0 = 0.0
        self._paused_at: float | None = None
        self._last_t = 0.0
        self._thread = threading.Thread(target=self._work, name="formcheck-grab", daemon=True)

    def __enter__(self) -> LatestFrameSource:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=5.0)

    def clock(self) -> float:
        """Stream time now: the playback clock when paced, else the newest frame handed over."""
        with self._cond:
            if not self.pace or self._wall0 is None:
                return self._last_t
            now = self._paused_at if self._paused_at is not None else time.monotonic()
            return self._t0 + now - self._wall0

    def pause(self, on: bool) -> None:
        """Stop the playback clock of a file (a camera's world does not stop)."""
        with self._cond:
            if on and self._paused_at is None:
                self._paused_at = time.monotonic()
            elif not on and self._paused_at is not None:
                if self._wall0 is not None:
                    self._wall0 += time.monotonic() - self._paused_at
                self._paused_at = None
            self._cond.notify_all()

    def read(self, timeout: float | None = None) -> Grabbed | None:
        """The newest frame (waiting for one); None once the source has ended."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._slot is not None or self._ended, timeout):
                return None
            g, self._slot = self._slot, None
            if g is not None:
                self._last_t = g.frame.t
            self._cond.notify_all()
            return g

    @property
    def ended(self) -> bool:
        with self._cond:
            return self._ended and self._slot is None

    def _wait_due(self, t: float) -> bool:
        """Sleep until frame time t is due on the playback clock; False if stopped."""
        with self._cond:
            if self._wall0 is None:
                self._wall0, self._t0 = time.monotonic(), t
            while not self._stop:
                due = self._paused_at is None and time.monotonic() >= self._wall0 + (t - self._t0)
                if due:
                    return True
                wait = 0.05 if self._paused_at is not None else self._wall0 + (t - self._t0) - time.monotonic()
                self._cond.wait(max(0.0, min(wait, 0.05)))
            return False

    def _work(self) -> None:
        try:
            for f in self._frames:
                if self.pace and not self._wait_due(f.t):
                    break
                with self._cond:
                    if not self.pace:  # hand over every frame: wait until the last one was taken
                        self._cond.wait_for(lambda: self._slot is None or self._stop)
                    if self._stop:
                        break
                    if self._slot is not None:
                        self.frames_dropped += 1
                    self._slot = Grabbed(f, time.monotonic())
                    self.frames_read += 1
                    self._cond.notify_all()
            else:
                n, want = self.frames_read, self.info.frame_count
                if want and n < want - max(2, 0.02 * want):
                    self.lost = f"the video stopped after {n} of {want} frames (truncated or damaged)"
        except Exception as exc:  # a camera unplugged or a stream lost: end cleanly, keep the set
            self.lost = f"the source stopped after {self.frames_read} frames ({exc})"
        finally:
            if hasattr(self._frames, "close"):
                self._frames.close()  # type: ignore[attr-defined]
            with self._cond:
                self._ended = True
                self._cond.notify_all()


class SourceLost(RuntimeError):
    """A camera or stream stopped delivering frames."""


def _capture_frames(cap: Any, max_side: int | None, what: str) -> Iterator[Frame]:
    """Frames of a camera or stream, timed by arrival (their own clocks are not trusted)."""
    try:
        t0: float | None = None
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                raise SourceLost(f"{what} stopped delivering frames")
            now = time.monotonic()
            t0 = now if t0 is None else t0
            yield Frame(i, now - t0, cv2.cvtColor(_scale(bgr, max_side), cv2.COLOR_BGR2RGB))
            i += 1
    finally:
        cap.release()


def open_source(camera: int | None, source: str | None, max_side: int | None, pace: bool = True) -> LatestFrameSource:
    """A camera index, a video file or a URL; CameraError (exit 8) if a camera/stream won't open."""
    if source is not None and "://" not in source:
        info = probe(source)  # same checks and errors as file mode
        return LatestFrameSource(
            iter_frames(source, max_side),
            SourceInfo(Path(source).name, info.width, info.height, info.fps, info.frame_count, "file"),
            pace,
        )
    what = f"camera {camera}" if source is None else f"stream {source}"
    cap = cv2.VideoCapture(int(camera or 0)) if source is None else cv2.VideoCapture(source, cv2.CAP_FFMPEG)
    ok, first = (cap.read() if cap.isOpened() else (False, None))
    if not ok or first is None:
        cap.release()
        hint = "no such device, or another program is using it" if source is None else "unreachable or not a video"
        raise CameraError(f"{what} could not be opened ({hint})")
    h, w = first.shape[:2]
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    info = SourceInfo(what, w, h, fps if 0 < fps < 1000 else 0.0, 0, "camera" if source is None else "stream")
    return LatestFrameSource(_capture_frames(cap, max_side, what), info, pace=True)


# --- online stages ---------------------------------------------------------------------------


class _Columns:
    """Growing arrays (capacity doubles), so the whole session stays plain numpy."""

    def __init__(self, shapes: dict[str, tuple[int, ...]]) -> None:
        self._shapes = shapes
        self.n = 0
        self.a = {k: np.full((64, *s), np.nan) for k, s in shapes.items()}

    def append(self, **row: Any) -> None:
        if self.n == len(self.a["t"]):
            self.a = {k: np.concatenate([v, np.full_like(v, np.nan)]) for k, v in self.a.items()}
        for k, v in row.items():
            self.a[k][self.n] = v
        self.n += 1

    def __getitem__(self, key: str) -> np.ndarray:
        return self.a[key][: self.n]


class OnlineKinematics:
    """Per-frame twin of `kinematics.compute`: the newest frame's measures, from a trailing window.

    The window (a few seconds) gives the view and body scale the per-set medians give offline.
    """

    def __init__(self, context_s: float = 3.0) -> None:
        self.context_s = context_s
        self.view, self.yaw, self.scale = View.UNKNOWN, float("nan"), float("nan")
        self.flags: set[str] = set()  # bool series (e.g. feet_in_view): stored as 1/0, NaN = False

    def update(self, window: PoseTrack) -> np.ndarray:
        """Measures of window's last frame, in SERIES order (NaN when nobody is there)."""
        if not np.isfinite(window.image[-1, :, :2]).any():
            return np.full(len(SERIES), np.nan)
        with warnings.catch_warnings():  # frames without a person are NaN rows: expected here
            warnings.simplefilter("ignore", RuntimeWarning)
            k = compute(window)
        self.view, self.yaw = k.view, k.yaw_deg
        self.scale = k.scale_px if math.isfinite(k.scale_px) else self.scale
        cols = {name: getattr(k, name) for name in SERIES}
        self.flags |= {name for name, x in cols.items() if x is not None and x.dtype == bool}
        return np.array([np.nan if x is None else float(x[-1]) for x in cols.values()])

    def series(self, t: np.ndarray, rows: np.ndarray) -> Kinematics:
        """Every frame's measures so far as a Kinematics, with the newest view and body scale."""
        cols = {name: rows[:, j] > 0.5 if name in self.flags else rows[:, j] for j, name in enumerate(SERIES)}
        return Kinematics(t=t, view=self.view, yaw_deg=self.yaw, scale_px=self.scale, **cols)


def slice_kinematics(k: Kinematics, a: int, b: int, max_gap_s: float = 0.0) -> Kinematics:
    """Frames a..b-1 of k; gaps up to max_gap_s filled as the offline smoother fills them."""
    t = k.t[a:b]
    cols = {name: None if (x := getattr(k, name)) is None else x[a:b] for name in SERIES}
    if max_gap_s > 0:
        cols = {name: fill_gaps(t, x, max_gap_s) if x is not None and x.dtype != bool else x
                for name, x in cols.items()}  # fmt: skip
    return replace(k, t=t, **cols)


def _shift(rep: Rep, d: int) -> Rep:
    return replace(rep, start=rep.start + d, top=rep.top + d, end=rep.end + d,
                   hold_start=rep.hold_start + d, hold_end=rep.hold_end + d)  # fmt: skip


class Phase(StrEnum):
    WAITING = "waiting"  # no person, or not moving yet
    BOTTOM = "bottom"
    RISING = "rising"
    TOP = "top"
    LOWERING = "lowering"


class OnlineReps:
    """Per-frame twin of `reps.segment`: `update(k_so_far) -> reps confirmed on this frame`.

    A cycle is over once hip extension has risen `min_rom_deg` off a bottom, fallen
    `min_rom_deg` from the top with the hips `min_lift` lower, and is back down: at the
    level file mode calls the end (`edge_frac` of the way up from the previous bottom),
    or rebounding off a new low, or stalled there. `segment` on the window from the previous
    bottom to now then says whether it is a rep, and where it starts, peaks and ends.
    """

    def __init__(self, cfg: RepsConfig | None = None, live: LiveConfig | None = None, max_gap_s: float = 0.3) -> None:
        self.cfg, self.live, self.max_gap_s = cfg or RepsConfig(), live or LiveConfig(), max_gap_s
        self.reps: list[Rep] = []
        self.reset()

    def reset(self) -> None:
        self.state = "start"
        self._a = -1  # window start: the bottom before the current cycle
        self._lo: tuple[float, int] = (math.inf, -1)
        self._hi: tuple[float, int] = (-math.inf, -1)  # the top (or, at the start, the first high)
        self._post: tuple[float, int] = (math.inf, -1)  # lowest since the top
        self._post_t, self._anchor = 0.0, math.inf  # when (and at what) the last clearly new low was made
        self._from_bottom = False  # the cycle rose from a bottom we saw (not a clip starting mid-rep)
        self._last_t: float | None = None
        self.phase = Phase.WAITING
        self.last_motion_t: float | None = None

    def update(self, k: Kinematics) -> list[Rep]:
        i = len(k) - 1
        s, t = float(k.hip_ext[i]), float(k.t[i])
        if not math.isfinite(s):
            if self._last_t is not None and t - self._last_t > self.max_gap_s:
                self.reset()  # a long gap splits the series, as offline
            self.phase = Phase.WAITING
            return []
        if self._last_t is None:
            self._a = i
        self._last_t = t
        c, found = self.cfg, []
        if self.state in ("start", "bottom"):
            if s < self._lo[0]:
                self._lo = (s, i)
            if self.state == "start" and s > self._hi[0]:
                self._hi = (s, i)
            if s - self._lo[0] >= c.min_rom_deg:
                self.state, self._a, self._hi, self._from_bottom = "up", self._lo[1], (s, i), True
            elif self.state == "start" and self._hi[0] - s >= c.min_rom_deg:
                self.state, self._post, self._post_t, self._anchor = "down", (s, i), t, s  # clip starts mid-rep
        elif self.state == "up":
            if s > self._hi[0]:
                self._hi = (s, i)
            elif self._hi[0] - s >= c.min_rom_deg:
                self.state, self._post, self._post_t, self._anchor = "down", (s, i), t, s
        elif self.state == "down":
            if s > self._hi[0]:
                self.state, self._hi = "up", (s, i)  # a wobble in the hold: one rep, as offline
            else:
                if s < self._anchor - self.live.settle_band_deg:
                    self._anchor, self._post_t = s, t
                if s < self._post[0]:
                    self._post = (s, i)
                over = self._over(k, s, t)
                if over:
                    found = self._confirm(k, i, over == "back_down")
        self.phase = self._phase(s)
        if self.phase in (Phase.RISING, Phase.TOP, Phase.LOWERING):
            self.last_motion_t = t
        return found

    def flush(self, k: Kinematics) -> list[Rep]:
        """The stream ended: a rep on its way down (already `min_rom_deg` below the top) ends here."""
        if self.state != "down" or self._last_t is None:
            return []
        i = int(np.flatnonzero(np.isfinite(k.hip_ext))[-1])
        return self._confirm(k, i, False) if self._lift_drop(k) >= self.cfg.min_lift else []

    def _lift_drop(self, k: Kinematics) -> float:
        after = k.lift[self._hi[1] :]
        return float(k.lift[self._hi[1]] - np.nanmin(after)) if np.isfinite(after).any() else 0.0

    def _over(self, k: Kinematics, s: float, t: float) -> str:
        """Why the cycle is over ("" = not yet)."""
        c, lv = self.cfg, self.live
        if not self._lift_drop(k) >= c.min_lift:
            return ""
        lo = float(k.hip_ext[self._a])
        back_down = self._from_bottom and s <= lo + c.edge_frac * (self._hi[0] - lo)
        rebound = s - self._post[0] >= lv.rebound_deg
        stalled = t - self._post_t >= lv.settle_s
        return "back_down" if back_down else "rebound" if rebound else "stalled" if stalled else ""

    def _confirm(self, k: Kinematics, i: int, back_down: bool) -> list[Rep]:
        a, last_top = self._a, self.reps[-1].top if self.reps else -1
        window = slice_kinematics(k, a, i + 1, self.max_gap_s)
        new = [_shift(r, a) for r in segment(window, self.cfg)]
        new = [r for r in new if r.top > last_top and "ends mid-rep" not in r.reason]
        if back_down and new and new[-1].end < i:
            # Back at the previous bottom's end level: file mode's end (which it measures from
            # the next bottom, not seen yet). Window-based, segment would put it mid-descent.
            new[-1] = replace(new[-1], end=i, end_s=float(k.t[i]))
        if new:  # a rep short of the set's usual range so far is partial; earlier reps stay as told
            new = _mark_short(self.reps + new, self.cfg)[len(self.reps) :]
            self.reps += new
        self.state, self._lo, self._hi, self._from_bottom = "bottom", self._post, (-math.inf, -1), False
        return new

    def _phase(self, s: float) -> Phase:
        if self.state == "up":
            band = max(self.cfg.hold_band_deg, self.cfg.hold_band_frac * (self._hi[0] - self._lo[0]))
            return Phase.TOP if self._hi[0] - s <= band else Phase.RISING
        if self.state == "down":
            return Phase.LOWERING
        if self.state == "bottom" or self._lo[1] >= 0:
            return Phase.RISING if s - self._lo[0] >= self.cfg.min_rom_deg / 2 else Phase.BOTTOM
        return Phase.WAITING


# --- the session -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RepEvent:
    """A rep as announced live: the same Rep, checks and score file mode computes for it."""

    number: int | None  # counted reps so far, None for a partial rep
    rep: Rep
    exercise: Exercise
    checks: tuple[CheckResult, ...]
    score: float | None
    fault: str  # the rule that matters most in this rep ("" = all good)
    cue: str
    reported_at_s: float  # stream time when it was announced

    @property
    def latency_s(self) -> float:
        return self.reported_at_s - self.rep.end_s

    def to_dict(self) -> dict[str, Any]:
        r = self.rep
        return {
            "number": self.number,
            "partial": r.partial,
            "partial_reason": r.reason,
            "start_s": round(r.start_s, 3),
            "top_s": round(r.top_s, 3),
            "end_s": round(r.end_s, 3),
            "reported_at_s": round(self.reported_at_s, 3),
            "latency_s": round(self.latency_s, 3),
            "rom": round(r.rom_deg, 1),
            "score": self.score,
            "fault": self.fault or None,
            "cue": self.cue or None,
            "verdicts": {c.rule: c.verdict.value for c in self.checks},
        }


@dataclass(frozen=True)
class LiveState:
    """What the window shows after one frame."""

    t: float
    index: int  # frame index in the recorded track
    pose: PoseSample | None  # smoothed, in source pixels
    phase: Phase
    hip_ext: float
    reps: int  # counted (full) reps
    partial: int
    last: RepEvent | None
    new: tuple[RepEvent, ...]  # announced on this frame
    idle: bool
    view: View


class LiveSession:
    """One set, frame by frame: `update(t, sample) -> LiveState`; `finish()` -> file-mode Analysis."""

    def __init__(self, cfg: Config | None = None, live: LiveConfig | None = None, width: int = 0,
                 height: int = 0, source: str = "", fps: float = 0.0) -> None:  # fmt: skip
        self.cfg, self.live = cfg or Config(), live or LiveConfig()
        self.width, self.height, self.source, self.fps = width, height, source, fps
        self.rules = all_rules(self.cfg.rules)
        self.weights = {r.name: r.weight for r in self.rules}
        self.reset()

    def reset(self) -> None:
        """Start the set over (key r): nothing recorded so far is kept."""
        p, v = (N_LANDMARKS, 3), (N_LANDMARKS,)
        shapes = {"t": (), "image": p, "world": p, "vis": v, "s_image": p, "s_world": p, "kin": (len(SERIES),)}
        self.cols = _Columns(shapes)
        lv = self.live
        self._f_image = OneEuroFilter(lv.min_cutoff_hz, lv.beta)
        self._f_world = OneEuroFilter(lv.min_cutoff_hz, lv.world_beta)
        self.kin = OnlineKinematics(lv.context_s)
        self.detector = OnlineReps(self.cfg.reps, lv, self.cfg.smoothing.max_gap_s)
        self.events: list[RepEvent] = []
        self._last_seen: float | None = None
        self._centre: np.ndarray | None = None
        self._torso = float("nan")
        self._cut = 0

    def _is_cut(self, sample: PoseSample) -> bool:
        """The torso jumps implausibly far in one frame: an edit cut (signal.cut_points, online)."""
        im = sample.image[:, :2]
        centre = im[[L_SHOULDER, R_SHOULDER, L_HIP, R_HIP]].mean(axis=0)
        torso = float(np.linalg.norm(im[[L_SHOULDER, R_SHOULDER]].mean(axis=0) - im[[L_HIP, R_HIP]].mean(axis=0)))
        prev, self._centre = self._centre, centre
        self._torso = torso if not math.isfinite(self._torso) else 0.9 * self._torso + 0.1 * torso
        if prev is None or not self._torso > 0:
            return False
        return bool(np.linalg.norm(centre - prev) / self._torso > self.cfg.smoothing.max_jump)

    def update(self, t: float, sample: PoseSample | None, clock: Callable[[], float] | None = None) -> LiveState:
        c = self.cols
        if c.n and t <= c["t"][-1]:
            t = float(c["t"][-1]) + 1e-3  # timestamps must increase (camera clocks can repeat)
        nan = np.full((N_LANDMARKS, 3), np.nan)
        smooth: PoseSample | None = None
        if sample is None:
            if self._last_seen is not None and t - self._last_seen > self.cfg.smoothing.max_gap_s:
                self._f_image.reset()
                self._f_world.reset()
            c.append(t=t, image=nan, world=nan, vis=np.full(N_LANDMARKS, np.nan), s_image=nan, s_world=nan)
        else:
            if self._is_cut(sample):
                self._f_image.reset()
                self._f_world.reset()
                self.detector.reset()
                self._cut = c.n  # nothing before an edit cut is mixed with what follows
            self._last_seen = t
            smooth = PoseSample(self._f_image.update(t, sample.image), self._f_world.update(t, sample.world),
                                sample.visibility)  # fmt: skip
            c.append(t=t, image=sample.image, world=sample.world, vis=sample.visibility,
                     s_image=smooth.image, s_world=smooth.world)  # fmt: skip
        n = c.n
        a = max(int(np.searchsorted(c["t"], t - self.live.context_s)), self._cut)
        window = PoseTrack(c["t"][a:], c["s_image"][a:], c["s_world"][a:], c["vis"][a:], self.width, self.height)
        c.a["kin"][n - 1] = self.kin.update(window)
        k = self.kinematics()
        new = tuple(self._announce(r, k, clock() if clock is not None else t) for r in self.detector.update(k))
        self.events += new
        counted = sum(e.rep.full for e in self.events)
        moved = max(self.detector.last_motion_t or -math.inf, self.events[-1].rep.end_s if self.events else -math.inf)
        idle = counted > 0 and self.live.idle_s > 0 and t - moved >= self.live.idle_s
        return LiveState(t=t, index=n - 1, pose=smooth, phase=self.detector.phase, hip_ext=float(k.hip_ext[-1]),
                         reps=counted, partial=len(self.events) - counted,
                         last=self.events[-1] if self.events else None, new=new, idle=idle, view=k.view)  # fmt: skip

    def kinematics(self) -> Kinematics:
        """The online measures of every frame so far (what the detector and the rules see)."""
        return self.kin.series(self.cols["t"], self.cols["kin"])

    def _announce(self, rep: Rep, k: Kinematics, now: float) -> RepEvent:
        reps = self.detector.reps
        exercise = classify(k, reps)
        checks = tuple(rule.check(RepContext(rep, k, exercise, tuple(reps))) for rule in self.rules)
        worst = focus([checks], self.weights) if rep.full else None
        number = sum(r.full for r in reps) if rep.full else None
        return RepEvent(number, rep, exercise, checks, rep_score(checks, self.weights),
                        worst.rule if worst else "", worst.cue if worst else "", now)  # fmt: skip

    def track(self) -> PoseTrack:
        """The raw track recorded so far, as file mode would have tracked it."""
        c = self.cols
        return PoseTrack(t=c["t"].copy(), image=c["image"].copy(), world=c["world"].copy(),
                         visibility=c["vis"].copy(), width=self.width, height=self.height, source=self.source,
                         fps=self.fps, meta={"live": True})  # fmt: skip

    def finish(self, warnings: tuple[str, ...] = ()) -> Analysis | None:
        """The file-mode analysis of everything recorded since the last reset (None if nothing)."""
        if self.cols.n == 0:
            return None
        k = self.kinematics()
        self.events += [self._announce(r, k, float(k.t[-1])) for r in self.detector.flush(k)]
        a = analyze_track(self.track(), self.cfg)
        return replace(a, warnings=a.warnings + warnings)


# --- the loop --------------------------------------------------------------------------------


class Estimator(Protocol):
    def detect(self, rgb: np.ndarray, t_s: float) -> PoseSample | None: ...


class Ended(StrEnum):
    SOURCE_END = "source_end"
    SOURCE_LOST = "source_lost"
    QUIT = "quit"
    IDLE = "idle"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class LiveStats:
    frames_read: int
    frames_processed: int
    frames_dropped: int
    fps: float  # frames processed per second (recent, or over the session at the end)
    latency_ms: float  # frame handed over -> result ready (mean of recent frames / of all)
    latency_p95_ms: float
    wall_s: float


@dataclass
class _Meter:
    start: float = field(default_factory=time.monotonic)
    done: deque[float] = field(default_factory=lambda: deque(maxlen=30))
    lat: list[float] = field(default_factory=list)

    def tick(self, arrived: float) -> None:
        now = time.monotonic()
        self.done.append(now)
        self.lat.append(now - arrived)

    def stats(self, src: LatestFrameSource, final: bool = False) -> LiveStats:
        wall = time.monotonic() - self.start
        d, lat = self.done, (self.lat if final else self.lat[-30:])
        if final:
            fps = len(self.lat) / wall if wall > 0 else 0.0
        else:
            fps = (len(d) - 1) / (d[-1] - d[0]) if len(d) > 1 and d[-1] > d[0] else 0.0
        ms = 1000 * np.asarray(lat) if lat else np.zeros(1)
        return LiveStats(src.frames_read, len(self.lat), src.frames_dropped, fps, float(ms.mean()),
                         float(np.percentile(ms, 95)), wall)  # fmt: skip


@dataclass(frozen=True)
class LiveResult:
    analysis: Analysis | None  # file-mode analysis of the recorded set; None if no frame was seen
    events: tuple[RepEvent, ...]
    stats: LiveStats
    ended: Ended
    message: str  # why the source stopped early ("" if it did not)
    source: SourceInfo
    paced: bool

    def report(self) -> dict[str, Any]:
        """The file-mode report plus a `live` section: each rep as announced, and the stream stats."""
        from formcheck.report import build

        if self.analysis is None:
            raise CameraError(f"{self.source.name}: no frame was received, nothing to report")
        out = build(self.analysis)
        s = self.stats
        out["live"] = {
            "source_kind": self.source.kind,
            "paced": self.paced,
            "ended": self.ended.value,
            "message": self.message or None,
            "frames_read": s.frames_read,
            "frames_processed": s.frames_processed,
            "frames_dropped": s.frames_dropped,
            "processing_fps": round(s.fps, 2),
            "latency_ms_mean": round(s.latency_ms, 1),
            "latency_ms_p95": round(s.latency_p95_ms, 1),
            "reps_counted": sum(e.rep.full for e in self.events),
            "reps": [e.to_dict() for e in self.events],
        }
        return out


OnFrame = Callable[[Frame, LiveState, LiveStats], str | None]  # returns "quit", "reset" or None


def run(
    src: LatestFrameSource, estimator: Estimator, session: LiveSession, on_frame: OnFrame | None = None
) -> LiveResult:
    """Start `src` and process its newest frame until it ends, the user quits, or the lifter idles.

    The model is warmed up first: its first frame costs several normal ones, and a paced
    source would drop the start of the set meanwhile.
    """
    sx = src.info.width  # landmarks are reported in source pixels, as in file mode
    estimator.detect(np.zeros((min(src.info.height, 720) or 1, min(sx, 1280) or 1, 3), np.uint8), 0.0)
    meter, ended = _Meter(), Ended.SOURCE_END
    with src:
        try:
            while True:
                g = src.read(timeout=0.5)
                if g is None:
                    if src.ended:
                        break
                    continue
                f = g.frame
                sample = estimator.detect(f.image, f.t)
                w = f.image.shape[1]
                if sample is not None and w != sx:
                    sample = PoseSample(sample.image * (sx / w), sample.world, sample.visibility)
                state = session.update(f.t, sample, src.clock)
                meter.tick(g.arrived)
                cmd = on_frame(f, state, meter.stats(src)) if on_frame is not None else None
                if cmd == "quit":
                    ended = Ended.QUIT
                    break
                if cmd == "reset":
                    session.reset()
                elif state.idle:
                    ended = Ended.IDLE
                    break
        except KeyboardInterrupt:
            ended = Ended.INTERRUPTED
    message = src.lost or ""
    if ended == Ended.SOURCE_END and message:
        ended = Ended.SOURCE_LOST
    warnings = (f"live: {message}; the report covers what was recorded",) if ended == Ended.SOURCE_LOST else ()
    return LiveResult(session.finish(warnings), tuple(session.events), meter.stats(src, final=True), ended,
                      message, src.info, src.pace)  # fmt: skip
