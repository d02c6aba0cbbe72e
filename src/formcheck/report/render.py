"""The annotated video and each rep's key frame, drawn from an `Analysis`.

Drawing never computes: every angle, rep, phase and verdict comes from the Analysis (the
phase of a frame is read off its rep's start/hold/end frames); this module only places it,
with the annotators in `formcheck.report.annotators`. Sizes scale with the frame, so text stays
readable on a phone for landscape and portrait clips alike. Frame i of the video is row i
of the pose track; the output keeps the source's size, rate, orientation and frame count. A rep's
faults are ringed on the pose that has them: the frames around its top; while its card shows
afterwards, an inset of that top frame keeps them in view. Videos are written by `encode`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
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
from formcheck.report import encode
from formcheck.report.annotators import RGB, BadgeCard, InsetAnnotator, SkeletonAnnotator, text_size
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
RING_S = 0.3  # a rep's faults are ringed this long either side of its top (and through its top hold)
INSET_SCALE = 0.3  # the top-frame inset beside the card, as a fraction of the frame's width and height
INSET_MIN_PX = 64  # narrower than this the inset shows nothing: no inset
CLIP_BEFORE_S = 0.5  # a per-rep clip starts this long before the rep
CLIP_AFTER_S = BADGE_S  # and ends this long after it: its card is shown in full
UNIFORM_S = 0.001  # frame intervals this close to each other are a constant rate
Box = tuple[int, int, int, int]  # x, y, width, height
Progress = Callable[[int, int], None]  # (frames done, frames in all)


@dataclass(frozen=True)
class FrameState:
    """What the overlay says at one frame: rep count, phase, and whose verdicts are on screen."""

    done: int  # full reps finished by this frame
    total: int  # full reps in the set
    rep: int | None  # index of the rep in progress
    phase: str  # bottom / ascent / top hold / descent, "" when no lifter or no exercise
    badges: int | None  # index of the rep whose verdicts are shown
    rings: int | None = None  # index of the rep whose faults are ringed on this frame's pose (near its top)


def phase_of(rep: Rep, i: int) -> str:
    if i < rep.hold_start:
        return "ascent"
    return "top hold" if i <= rep.hold_end else "descent"


def at_top(rep: Rep, t: np.ndarray, i: int, ring_s: float = RING_S) -> bool:
    """Frame i is in the rep's top hold or within ring_s of its top (and inside the rep)."""
    return rep.start <= i <= rep.end and (rep.hold_start <= i <= rep.hold_end or abs(t[i] - t[rep.top]) <= ring_s)


def timeline(a: Analysis, badge_s: float = BADGE_S, ring_s: float = RING_S) -> list[FrameState]:
    """One FrameState per frame of the track, read off the reps' frames."""
    t, seen = a.smoothed.t, a.smoothed.detected
    total, active = len(a.full_reps), a.exercise != Exercise.NONE
    out = []
    for i in range(len(t)):
        done = sum(1 for r in a.reps if r.full and r.end <= i)
        rep = next((j for j, r in enumerate(a.reps) if r.start <= i <= r.end), None)
        phase = phase_of(a.reps[rep], i) if rep is not None else ("bottom" if active and seen[i] else "")
        shown = [j for j, r in enumerate(a.reps) if r.end <= i and t[i] - t[r.end] < badge_s]
        rings = rep if rep is not None and at_top(a.reps[rep], t, i, ring_s) else None
        out.append(FrameState(done, total, rep, phase, shown[-1] if shown else None, rings))
    return out

class ClipOverlay(Overlay):
    """The overlay for one clip's frames, from its Analysis: `annotate(scene, i, state)`.

    A rep's verdict card goes in the corner that covers the fewest body joints over the
    `card_frames` frames it is shown for, chosen once per rep so it does not jump around; the
    inset of its top frame (faults ringed) goes beside it the same way. Frames are drawn in order:
    the inset is taken as the top frame passes.
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
        self.inset_size = (round(width * INSET_SCALE), round(height * INSET_SCALE))
        u = sum(self.inset_size) / 200.0  # the inset's own unit, as Overlay's
        self.inset_skeleton = SkeletonAnnotator(max(2, round(0.35 * u)), max(2, round(0.5 * u)))
        self.inset = InsetAnnotator(self.text_size, max(1, round(0.3 * u)))
        self._top_of = {r.top: j for j, r in enumerate(a.reps)}
        self._insets: dict[int, np.ndarray] = {}
        self._inset_xy: dict[int, tuple[int, int] | None] = {}
        n, c = len(a.full_reps), self.counter  # the counter's widest lines: "REPS 7/7", "rep 7 · descent ↓"
        self.hud_width = c.margin + max(text_size(f"REPS {n}/{n}", 2 * c.size, True)[0],
                                        text_size(f"rep {len(a.reps)} · descent ↓", c.size)[0])

    def highlight(self, rep: int) -> dict[int, RGB]:
        """Body parts of the rep's faults, fail over warn (none for a partial rep: not judged)."""
        return {} if self.a.reps[rep].partial else highlight(self.a.checks[rep])

    def card(self, j: int, i: int) -> tuple[BadgeCard, tuple[int, int]]:
        if j not in self._cards:
            rep = self.a.reps[j]
            card = self.rep_card(self.a.checks[j], j + 1, self.a.scores[j], rep.reason if rep.partial else None)
            self._cards[j] = card, self._place(card, i)
        return self._cards[j]

    def _corners(self, w: int, h: int) -> list[tuple[int, int]]:
        m = self.margin // 2
        below_hud = self.margin + self.counter.height()
        right, bottom = self.width - m - w, self.height - m - h
        top_right = m if right > self.hud_width + m else below_hud  # beside the counter if there is room
        return [(right, top_right), (right, bottom), (m, below_hud), (m, bottom)]

    def _covered(self, box: Box, i: int) -> int:
        """Body joints inside box (x, y, w, h) over the frames from i that a card is shown for."""
        joints = [j for bone in SKELETON for j in bone]
        pts = self.pose[i : i + self.card_frames][:, joints].reshape(-1, 2)
        pts = pts[np.isfinite(pts).all(axis=1)]
        x, y, w, h = box
        return int(((pts[:, 0] >= x) & (pts[:, 0] <= x + w) & (pts[:, 1] >= y) & (pts[:, 1] <= y + h)).sum())

    def _place(self, card: BadgeCard, i: int) -> tuple[int, int]:
        w, h = card.width, card.height
        return min(self._corners(w, h), key=lambda xy: self._covered((*xy, w, h), i))  # ties: the first, top right

    def _place_inset(self, j: int, i: int) -> tuple[int, int] | None:
        """Beside the card (under or over it first), clear of it and of the counter; None if no room."""
        if j not in self._inset_xy:
            card, (cx, cy) = self.card(j, i)
            w, h = self.inset_size
            gap, m = self.margin // 2 + self.inset.border, self.margin // 2
            x = cx + card.width - w if cx > self.width // 2 else cx
            spots = [(x, cy + card.height + gap), (x, cy - gap - h), *self._corners(w + gap, h + gap)]
            taken = [(cx, cy, card.width, card.height), (0, 0, self.hud_width + m, self.margin + self.counter.height())]
            ok = [xy for xy in spots if self._fits((*xy, w, h), gap)
                  and not any(_overlap((*xy, w, h), box, gap) for box in taken)]
            self._inset_xy[j] = min(ok, key=lambda xy: self._covered((*xy, w, h), i)) if ok else None
        return self._inset_xy[j]

    def _fits(self, box: Box, gap: int) -> bool:
        x, y, w, h = box
        return x >= gap and y >= gap and x + w + gap <= self.width and y + h + gap <= self.height

    def _take_inset(self, scene: np.ndarray, i: int) -> None:
        """At a rep's top, before anything is drawn on it: the frame, small, its faults ringed."""
        j = self._top_of.get(i)
        if j is None or not self.highlight(j) or self.inset_size[0] < INSET_MIN_PX:
            return
        small = cv2.resize(scene, self.inset_size, interpolation=cv2.INTER_AREA)
        self.inset_skeleton.annotate(small, self.pose[i] * INSET_SCALE, self.highlight(j), self.far)
        self._insets[j] = small

    def annotate(self, scene: np.ndarray, i: int, s: FrameState | None) -> np.ndarray:
        if i < len(self.pose):
            self._take_inset(scene, i)
            ringed = s.rings if s is not None else None
            checks = self.a.checks[ringed] if ringed is not None and not self.a.reps[ringed].partial else ()
            labels = [(j, f"{label} {v[i]:.0f}°") for j, label, v in self.angles if np.isfinite(v[i])]
            self.draw_pose(scene, self.pose[i], checks, self.far, labels)
        if s is None:
            return scene
        rep = "" if s.rep is None else "partial" if self.a.reps[s.rep].partial else f"rep {s.rep + 1}"
        self.draw_counter(scene, f"REPS {s.done}/{s.total}", s.phase, before=rep)
        if s.badges is not None:
            self.badges.annotate(scene, *self.card(s.badges, i))
            inset = self._insets.get(s.badges)
            xy = self._place_inset(s.badges, i) if inset is not None and i > self.a.reps[s.badges].top else None
            if inset is not None and xy is not None:
                self.inset.annotate(scene, inset, xy, f"rep {s.badges + 1} · top")
        return scene


def _overlap(a: Box, b: Box, gap: int = 0) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw + gap and bx < ax + aw + gap and ay < by + bh + gap and by < ay + ah + gap


def _fps(a: Analysis, info_fps: float) -> float:
    if info_fps > 0:
        return info_fps
    if a.track.fps > 0:
        return a.track.fps
    t = a.track.t
    return float(1.0 / np.median(np.diff(t))) if len(t) > 1 else 30.0


def frame_times(a: Analysis, is_picture: bool) -> np.ndarray | None:
    """Each frame's own time when frames are not evenly spaced (a GIF's last 100 and 500 ms), else None:
    written at a constant rate. A video file is always written at its container's rate."""
    t = a.track.t
    if not is_picture or len(t) < 2:
        return None
    d = np.diff(t)
    return None if np.all(np.abs(d - np.median(d)) <= UNIFORM_S) else t - t[0]


def clip_windows(a: Analysis) -> list[tuple[int, int, int]]:
    """(rep, first frame, last frame) of each rep's clip: CLIP_BEFORE_S before it to CLIP_AFTER_S after."""
    t = a.track.t
    out = []
    for j, r in enumerate(a.reps):
        first = int(np.searchsorted(t, t[r.start] - CLIP_BEFORE_S - 1e-9))
        last = int(np.searchsorted(t, t[r.end] + CLIP_AFTER_S + 1e-9, side="right")) - 1
        out.append((j, first, max(last, r.end)))
    return out


def annotate_video(video: Path, analysis: Analysis, out: Path, *, badge_s: float = BADGE_S,
                   progress: Progress | None = None) -> None:
    """The original video, every frame at its size and rate, with the overlay drawn on it."""
    render_videos(video, analysis, out, None, badge_s=badge_s, progress=progress)


def write_clips(video: Path, analysis: Analysis, out_dir: Path, *, badge_s: float = BADGE_S,
                progress: Progress | None = None) -> list[Path]:
    """repNN.mp4 per rep (.webm where this ffmpeg has no H.264 encoder), each written atomically."""
    return render_videos(video, analysis, None, out_dir, badge_s=badge_s, progress=progress)


def render_videos(video: Path, analysis: Analysis, out: Path | None, clips: Path | None, *,
                  badge_s: float = BADGE_S, progress: Progress | None = None) -> list[Path]:
    """The annotated video and/or one clip per rep, drawn in one pass over the frames; the clips written.
    `progress(done, total)` hears of each frame drawn."""
    info = probe(video)
    states = timeline(analysis, badge_s)
    fps = _fps(analysis, info.fps)
    times = frame_times(analysis, info.is_gif)
    overlay = ClipOverlay(analysis, info.width, info.height, card_frames=round(badge_s * fps))
    windows = clip_windows(analysis) if clips is not None else []
    suffix = encode.clip_suffix(clips) if windows else ""
    size = (info.width, info.height)
    written: list[Path] = []
    with contextlib.ExitStack() as stack:  # an error anywhere: every open sink's temp file goes
        whole = stack.enter_context(encode.VideoSink(out, *size, fps, times=times)) if out is not None else None
        open_clips: dict[int, tuple[encode.VideoSink, contextlib.ExitStack]] = {}
        last = max((w[2] for w in windows), default=-1)
        total = info.frame_count if whole is not None or not info.frame_count else min(info.frame_count, last + 1)
        if progress is not None:
            progress(0, total)
        with contextlib.closing(iter_frames(video, prefetch=2)) as stream:  # type: ignore[type-var]  # a generator
            for f in stream:
                img = _fit(f.image, *size)
                overlay.annotate(img, f.index, states[f.index] if f.index < len(states) else None)
                if whole is not None:
                    whole.write(img)
                if progress is not None:
                    progress(f.index + 1, total)
                for j, first, end in windows:
                    if f.index == first:
                        clip_t = None if times is None else times[first : end + 1] - times[first]
                        sink = encode.VideoSink(Path(str(clips)) / f"rep{j + 1:02d}{suffix}", *size, fps, times=clip_t)
                        sub = stack.enter_context(contextlib.ExitStack())
                        open_clips[j] = (sub.enter_context(sink), sub)
                    if j in open_clips:
                        open_clips[j][0].write(img)
                    if f.index == end and j in open_clips:
                        sink, sub = open_clips.pop(j)
                        sub.close()  # encoded: it takes its name now
                        written.append(sink.path)
                if whole is None and f.index >= last:
                    break
        for sink, sub in open_clips.values():  # the video ended inside a clip's margin
            sub.close()
            written.append(sink.path)
    return sorted(written)


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
