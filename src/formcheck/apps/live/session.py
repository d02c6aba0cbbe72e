"""One set, frame by frame: pose sample in, what the window shows out.

One Euro smoothing (the online twin of signal.smooth_track), online kinematics and rep
detection (formcheck.apps.live.online), then the same rules and scoring as file mode for each
rep as it ends. The raw track is recorded so that, when the set ends, `analyze_track` gives
file mode's report of the frames that were processed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from formcheck.analysis.exercise import Exercise, classify
from formcheck.analysis.kinematics import Kinematics, View
from formcheck.analysis.reps import Rep
from formcheck.analysis.setup_check import SetupCheck, SetupState, frame_luma
from formcheck.analysis.smoothing import OneEuroFilter
from formcheck.apps.live.online import SERIES, LiveConfig, OnlineKinematics, OnlineReps, Phase
from formcheck.config import Config
from formcheck.pipeline.analyze import Analysis, analyze_track
from formcheck.pipeline.scoring import focus, score_rep, weights_of
from formcheck.pose.model import PoseSample
from formcheck.pose.track import L_HIP, L_SHOULDER, N_LANDMARKS, R_HIP, R_SHOULDER, PoseTrack
from formcheck.rules import all_rules
from formcheck.rules.base import CheckResult


class _Columns:
    """Growing arrays (capacity doubles), so the whole session stays plain numpy."""

    def __init__(self, shapes: dict[str, tuple[int, ...]]) -> None:
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
    setup: SetupState | None = None  # the set-up check (None before the first frame)


class LiveSession:
    """One set, frame by frame: `update(t, sample) -> LiveState`; `finish()` -> file-mode Analysis."""

    def __init__(self, cfg: Config | None = None, live: LiveConfig | None = None, width: int = 0,
                 height: int = 0, source: str = "", fps: float = 0.0, setup_check: bool = True) -> None:  # fmt: skip
        self.cfg, self.live = cfg or Config(), live or LiveConfig()
        self.width, self.height, self.source, self.fps = width, height, source, fps
        self.rules = all_rules(self.cfg.rules)
        self.weights = weights_of(self.rules)
        # The set-up check watches the first seconds beside the rep detector, which sees every
        # frame from the first: a set that starts at once keeps its first rep. It survives a reset.
        self.setup = SetupCheck(width, height, enabled=setup_check)
        self._luma = math.nan  # the last frame's brightness (see), for the set-up check
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

    def see(self, image: np.ndarray) -> None:
        """The frame just processed (RGB): its brightness goes into the set-up check's next update."""
        s = self.setup.state
        if self.setup.enabled and (s is None or not s.done):
            self._luma = frame_luma(image)

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
                         last=self.events[-1] if self.events else None, new=new, idle=idle, view=k.view,
                         setup=self._check_setup(t, sample, counted))  # fmt: skip

    def _check_setup(self, t: float, sample: PoseSample | None, counted: int) -> SetupState | None:
        s = self.setup.state
        if s is not None and s.done:
            return s
        if counted:
            self.setup.started(t)
            return self.setup.state
        nan = np.full((N_LANDMARKS, 3), np.nan)
        luma, self._luma = self._luma, math.nan
        if sample is None:
            return self.setup.update(t, nan, nan, np.full(N_LANDMARKS, np.nan), luma)
        return self.setup.update(t, sample.image, sample.world, sample.visibility, luma)

    def kinematics(self) -> Kinematics:
        """The online measures of every frame so far (what the detector and the rules see)."""
        return self.kin.series(self.cols["t"], self.cols["kin"])

    def _announce(self, rep: Rep, k: Kinematics, now: float) -> RepEvent:
        reps = self.detector.reps
        exercise = classify(k, reps)
        checks, score = score_rep(rep, k, exercise, reps, self.rules)
        worst = focus([checks], self.weights) if rep.full else None
        # Its place among the full reps (reps held back until the set shows a sure one come out together).
        number = sum(r.full for r in reps[: reps.index(rep) + 1]) if rep.full else None
        return RepEvent(number, rep, exercise, checks, score,
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
        self.setup.close(float(self.cols["t"][-1]))
        if self.setup.state is not None:
            warnings = self.setup.state.warnings() + warnings
        k = self.kinematics()
        self.events += [self._announce(r, k, float(k.t[-1])) for r in self.detector.flush(k)]
        a = analyze_track(self.track(), self.cfg)
        return replace(a, warnings=a.warnings + warnings)


