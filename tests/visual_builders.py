"""Builders for the drawing tests: a stick-figure Analysis with hand-placed reps and checks,
and a small synthetic video to pair it with (no pose model needed)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from formcheck.analysis.exercise import Exercise
from formcheck.analysis.kinematics import compute
from formcheck.analysis.reps import Rep
from formcheck.pipeline.analyze import Analysis
from formcheck.pose.track import (
    L_ANKLE,
    L_EAR,
    L_FOOT,
    L_HEEL,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    N_LANDMARKS,
    R_ANKLE,
    R_EAR,
    R_FOOT,
    R_HEEL,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    PoseTrack,
)
from formcheck.rules.base import CheckResult, Verdict

# A lifter lying on her back, head at the image left, feet at the right; (x, y) as a
# fraction of the frame. The hips rise and fall with `lift` in [0, 1].
BODY = {
    L_EAR: (0.18, 0.62), L_SHOULDER: (0.25, 0.68), L_HIP: (0.50, 0.72), L_KNEE: (0.68, 0.50),
    L_ANKLE: (0.74, 0.74), L_HEEL: (0.72, 0.76), L_FOOT: (0.80, 0.76),
}  # fmt: skip
RIGHT_OF = {L_EAR: R_EAR, L_SHOULDER: R_SHOULDER, L_HIP: R_HIP, L_KNEE: R_KNEE, L_ANKLE: R_ANKLE,
            L_HEEL: R_HEEL, L_FOOT: R_FOOT}


def stick_track(n: int, width: int, height: int, fps: float = 15.0, source: str = "clip.mp4") -> PoseTrack:
    t = np.arange(n) / fps
    lift = 0.5 * (1 - np.cos(2 * np.pi * t / (n / fps / 2)))  # two up-down cycles
    image = np.zeros((n, N_LANDMARKS, 3))
    world = np.zeros((n, N_LANDMARKS, 3))
    for j in range(N_LANDMARKS):  # face and hands: near the shoulder
        image[:, j, :2] = (0.22 * width, 0.64 * height)
    for j, (x, y) in BODY.items():
        for side, dz in ((j, -0.1), (RIGHT_OF[j], 0.1)):
            image[:, side, 0] = x * width + (4 if dz > 0 else 0)
            image[:, side, 1] = y * height - (0.2 * height * lift if j == L_HIP else 0)
            world[:, side] = (x, y, dz)  # hips and shoulders across the image: a side view
    return PoseTrack(t=t, image=image, world=world, visibility=np.ones((n, N_LANDMARKS)), width=width,
                     height=height, source=source, fps=fps, frames_expected=n)


def rep(start: int, top: int, end: int, fps: float = 15.0, hold: int = 2, partial: bool = False) -> Rep:
    return Rep(start=start, top=top, end=end, hold_start=top - hold, hold_end=top + hold, start_s=start / fps,
               top_s=top / fps, end_s=end / fps, hold_s=2 * hold / fps, rom_deg=60.0, lift=0.5, partial=partial,
               reason="the clip ends mid-rep" if partial else "")


def check(rule: str, verdict: Verdict, landmarks: tuple[int, ...] = (), cue: str = "", title: str = "") -> CheckResult:
    return CheckResult(rule=rule, title=title or rule.replace("_", " ").capitalize(), verdict=verdict,
                       value=None if verdict == Verdict.NOT_VISIBLE else 12.5, unit="deg",
                       threshold="pass ≤ 10°, fail > 20°", cue=cue, source="S4", landmarks=landmarks)


DEFAULT_CHECKS = (
    check("full_lockout", Verdict.PASS),
    check("vertical_shins", Verdict.FAIL, (L_KNEE, L_ANKLE), "Bring your feet in: knees over ankles."),
    check("neck", Verdict.WARN, (L_EAR,), "Tuck your chin."),
    check("knees_out", Verdict.NOT_VISIBLE),
)


def analysis(n: int = 40, width: int = 320, height: int = 180, fps: float = 15.0,
             reps: tuple[Rep, ...] | None = None, checks: tuple[CheckResult, ...] = DEFAULT_CHECKS,
             source: str = "clip.mp4") -> Analysis:
    track = stick_track(n, width, height, fps, source)
    reps = reps if reps is not None else (rep(2, 10, 18, fps), rep(22, 30, 38, fps))
    return Analysis(track=track, smoothed=track, k=compute(track), reps=reps, exercise=Exercise.GLUTE_BRIDGE,
                    checks=tuple(checks for _ in reps), scores=tuple(50.0 for _ in reps), focus=None, warnings=())


def video(path: Path, n: int = 40, width: int = 320, height: int = 180, fps: float = 15.0) -> Path:
    """A small mp4 with a moving gradient (so frames differ), n frames at fps."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    assert w.isOpened()
    yy, xx = np.mgrid[0:height, 0:width]
    for i in range(n):
        g = ((xx + 3 * i) % 256).astype(np.uint8)
        w.write(np.dstack([g, (yy % 256).astype(np.uint8), np.full_like(g, 60)]))
    w.release()
    return path
