"""The annotated video and each rep's key frame, drawn from an `Analysis`.

Drawing never computes: every angle, rep, phase and verdict comes from the Analysis (the
phase of a frame is read off its rep's start/hold/end frames); this module only places it,
with the annotators in `formcheck.report.annotators`. Sizes scale with the frame, so text stays
readable on a phone for landscape and portrait clips alike. Frame i of the video is row i
of the pose track; the output keeps the source's size, rate, orientation and frame count.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from formcheck.analysis.exercise import Exercise
from formcheck.analysis.kinematics import LEFT, RIGHT, View
from formcheck.analysis.reps import Rep
from formcheck.errors import OutputError
from formcheck.inputs.video import iter_frames, probe
from formcheck.pipeline.analyze import Analysis
from formcheck.pose.track import SKELETON
from formcheck.report.annotators import RGB, BadgeCard
from formcheck.report.overlay import Overlay, far_side, highlight
from formcheck.util.atomic import atomic_path

# Angles drawn at their joints: (kinematics series, label, index into kinematics.LEFT/RIGHT
# = shoulder, hip, knee, ankle, heel, foot, ear). These are the measures the rules read.
ANGLES: tuple[tuple[str, str, int], ...] = (
    ("hip_ext", "hip", 1),
    ("knee", "knee", 2),
    ("shin", "shin", 3),
    ("neck", "neck", 0),
)
BADGE_S = 1.75  # how long a rep's verdicts stay on screen after it ends


@dataclass(frozen=True)
class FrameState:
    """What the overlay says at one frame: rep count, phase, and whose verdicts are on screen."""

    done: int  # full reps finished by this frame
    total: int  # full reps in the set
    rep: int | None  # index of the rep in progress
    phase: str  # bottom / ascent / top hold / descent, "" when no lifter or no exercise
    badges: int | None  # index of the rep whose verdicts are shown


def phase_of(rep: Rep, i: int) -> str:
    if i < rep.hold_start:
        return "ascent"
    return "top hold" if i <= rep.hold_end else "descent"


def timeline(a: Analysis, badge_s: float = BADGE_S) -> list[FrameState]:
    """One FrameState per frame of the track, read off the reps' frames."""
    t, seen = a.smoothed.t, a.smoothed.detected
    total, active = len(a.full_reps), a.exercise != Exercise.NONE
    out = []
    for i in range(len(t)):
        done = sum(1 for r in a.reps if r.full and r.end <= i)
        rep = next((j for j, r in enumerate(a.reps) if r.start <= i <= r.end), None)
        phase = phase_of(a.reps[rep], i) if rep is not None else ("bottom" if active and seen[i] else "")
        shown = [j for j, r in enumerate(a.reps) if r.end <= i and t[i] - t[r.end] < badge_s]
        out.append(FrameState(done, total, rep, phase, shown[-1] if shown else None))
    return out

class ClipOverlay(Overlay):
    """The overlay for one clip's frames, from its Analysis: `annotate(scene, i, state)`.

    A rep's verdict card goes in the corner that covers the fewest body joints over the
    `card_frames` frames it is shown for, chosen once per rep so it does not jump around.
    """

    def __init__(self, a: Analysis, width: int, height: int, card_frames: int = 1,
                 angles: Sequence[tuple[str, str, int]] = ANGLES) -> None:
        super().__init__(width, height)
        self.a, self.card_frames = a, max(1, card_frames)
        sx, sy = width / (a.smoothed.width or width), height / (a.smoothed.height or height)
        self.pose = a.smoothed.image[..., :2] * np.array([sx, sy])
        near = RIGHT if a.k.view == View.SIDE_RIGHT else LEFT
        vis = a.smoothed.visibility
        if not a.k.view.is_side and len(vis) and np.nanmean(vis[:, RIGHT[1]]) > np.nanmean(vis[:, LEFT[1]]):
            near = RIGHT
        self.far = far_side(a.k.view)
        self.angles = [(near[j], label, getattr(a.k, name)) for name, label, j in angles]
        self._cards: dict[int, tuple[BadgeCard, tuple[int, int]]] = {}

    def highlight(self, rep: int) -> dict[int, RGB]:
        """Body parts of the rep's faults, fail over warn (none for a partial rep: not judged)."""
        return {} if self.a.reps[rep].partial else highlight(self.a.checks[rep])

    def card(self, j: int, i: int) -> tuple[BadgeCard, tuple[int, int]]:
        if j not in self._cards:
            rep = self.a.reps[j]
            card = self.rep_card(self.a.checks[j], j + 1, self.a.scores[j], rep.reason if rep.partial else None)
            self._cards[j] = card, self._place(card, i)
        return self._cards[j]

    def _place(self, card: BadgeCard, i: int) -> tuple[int, int]:
        m, w, h = self.margin // 2, card.width, card.height
        below_hud = self.margin + self.counter.height()
        right, bottom = self.width - m - w, self.height - m - h
        top_right = m if right > self.margin * 14 else below_hud  # beside the counter if there is room
        corners = [(right, top_right), (right, bottom), (m, below_hud), (m, bottom)]
        joints = [j for bone in SKELETON for j in bone]
        pts = self.pose[i : i + self.card_frames][:, joints].reshape(-1, 2)
        pts = pts[np.isfinite(pts).all(axis=1)]

        def covered(xy: tuple[int, int]) -> int:
            x, y = xy
            inside = (pts[:, 0] >= x) & (pts[:, 0] <= x + w) & (pts[:, 1] >= y) & (pts[:, 1] <= y + h)
            return int(inside.sum())

        return min(corners, key=covered)  # ties: the first, top right

    def annotate(self, scene: np.ndarray, i: int, s: FrameState | None) -> np.ndarray:
        if i < len(self.pose):
            shown = s.badges if s is not None else None
            checks = self.a.checks[shown] if shown is not None and not self.a.reps[shown].partial else ()
            labels = [(j, f"{label} {v[i]:.0f}°") for j, label, v in self.angles if np.isfinite(v[i])]
            self.draw_pose(scene, self.pose[i], checks, self.far, labels)
        if s is None:
            return scene
        rep = "" if s.rep is None else "partial" if self.a.reps[s.rep].partial else f"rep {s.rep + 1}"
        self.draw_counter(scene, f"REPS {s.done}/{s.total}", s.phase, before=rep)
        if s.badges is not None:
            self.badges.annotate(scene, *self.card(s.badges, i))
        return scene


def _fps(a: Analysis, info_fps: float) -> float:
    if info_fps > 0:
        return info_fps
    if a.track.fps > 0:
        return a.track.fps
    t = a.track.t
    return float(1.0 / np.median(np.diff(t))) if len(t) > 1 else 30.0


def annotate_video(video: Path, analysis: Analysis, out: Path, *, badge_s: float = BADGE_S) -> None:
    """The original video, every frame at its size and rate, with the overlay drawn on it."""
    info = probe(video)
    states = timeline(analysis, badge_s)
    fps = _fps(analysis, info.fps)
    overlay = ClipOverlay(analysis, info.width, info.height, card_frames=round(badge_s * fps))
    with atomic_path(out) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), fps,
                                 (info.width, info.height))
        try:
            if not writer.isOpened():
                raise OutputError(f"cannot write {out}: OpenCV could not open an MPEG-4 writer for it")
            written = 0
            for f in iter_frames(video, prefetch=2):
                img = _fit(f.image, info.width, info.height)
                overlay.annotate(img, f.index, states[f.index] if f.index < len(states) else None)
                writer.write(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
                written += 1
        finally:
            writer.release()
        check_video_whole(tmp, out, written)


def check_video_whole(tmp: Path, out: Path, frames: int) -> None:
    """OpenCV's writer reports no failed or short write (a full disk, a file size limit): read the
    file back; it must open and hold every frame written, or it is not given its name."""
    if tmp.stat().st_size == 0:
        raise OutputError(f"cannot write {out}: the video encoder wrote nothing (is the disk full?)")
    cap = cv2.VideoCapture(str(tmp), cv2.CAP_FFMPEG)
    try:
        got = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    finally:
        cap.release()
    if got != frames:
        raise OutputError(f"cannot write {out}: the video was cut short ({got} of {frames} frames readable); "
                          "is the disk full?")


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """A writable frame of the announced size (GIF frames are read-only; sizes rarely drift)."""
    if image.shape[:2] != (height, width):
        return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return image if image.flags.writeable else image.copy()


def annotated_tops(video: Path, analysis: Analysis) -> list[np.ndarray | None]:
    """Each rep's top frame (RGB) with its verdicts and faults drawn on it; None if undecodable."""
    tops = {r.top for r in analysis.reps}
    frames: dict[int, np.ndarray] = {}
    if tops:
        with contextlib.closing(iter_frames(video, prefetch=2)) as stream:  # type: ignore[type-var]  # a generator
            for f in stream:
                if f.index in tops:
                    frames[f.index] = f.image
                if f.index >= max(tops):
                    break
    states = timeline(analysis, 0.0)
    out: list[np.ndarray | None] = []
    for j, rep in enumerate(analysis.reps):
        img = frames.get(rep.top)
        if img is None:
            out.append(None)
            continue
        img = img.copy()
        ClipOverlay(analysis, img.shape[1], img.shape[0]).annotate(img, rep.top, replace(states[rep.top], badges=j))
        out.append(img)
    return out


def write_keyframes(video: Path, analysis: Analysis, out_dir: Path) -> list[Path]:
    """repNN_top.png per rep, each written atomically."""
    written = []
    for j, img in enumerate(annotated_tops(video, analysis)):
        if img is None:
            continue
        path = Path(out_dir) / f"rep{j + 1:02d}_top.png"
        with atomic_path(path) as tmp:
            if not cv2.imwrite(os.fspath(tmp), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
                raise OutputError(f"cannot write {path}: PNG encoding failed")
        written.append(path)
    return written
