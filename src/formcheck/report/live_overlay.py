"""The live window's overlay, drawn at the window's size so it reads from the bench 2-3 m away.

The rep count and the one cue large, the last rep's verdicts and its top frame (the faulty
joints ringed) top right, the set-up check's advice in the middle until the set-up is fine.
Drawing never computes: the state comes from formcheck.apps.live, already judged.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import cv2
import numpy as np

from formcheck.report.annotators import (
    BLACK,
    VERDICT_COLOR,
    WHITE,
    BadgeAnnotator,
    CounterAnnotator,
    SkeletonAnnotator,
    _wrap,
    put_text,
    text_size,
)
from formcheck.report.overlay import PHASE_LABEL, Overlay, far_side, highlight
from formcheck.rules.base import Verdict

# The live window's sizes, as fractions of the frame's short side (the window's, when drawn at
# its size): on a 1080-px full screen the count's capitals are ~90 px tall and the cue's ~50 px
# (8-9 mm on a 15-inch laptop), readable from a bench 3 m away.
COUNTER_FRAC = 0.055  # the count's size is twice this; the phase line under it this
CUE_FRAC = 0.065
CUE_MAX_LINES = 2
SETUP_FRAC = 0.05
SETUP_MAX_SHOWN = 2  # set-up problems shown at once (the most basic first)
SETUP_OK_SHOW_S = 2.0  # "set-up OK" stays this long
CARD_TEXT_FRAC = 0.028
CARD_WIDTH_FRAC = 0.42
STATUS_FRAC = 0.026
MARGIN_FRAC = 0.022
PANEL_RGB = (18, 18, 22)  # the panels' dark grey (annotators.panel's)
PANEL_ALPHA = 0.8
SPRITES_KEPT = 64  # drawn panels cached (a count, a card, a status line each); then the cache starts over
INSET_WIDTH_FRAC = 0.3  # the last rep's top frame, under its card
INSET_HEIGHT_FRAC = 0.34
INSET_STORE_PX = 320  # frames are kept this wide, ...
INSET_STORE_HZ = 10.0  # ... at most this often, ...
INSET_KEEP_S = 10.0  # ... for this long (a rep with a long hold is announced seconds after its top)
INSET_MAX_OFF_S = 0.2  # no inset when the nearest frame kept is further than this from the top


Sprite = tuple[np.ndarray, tuple[int, int]]  # an opaque picture on the panel colour, and where it goes


def blit(scene: np.ndarray, sprite: np.ndarray, xy: tuple[int, int], alpha: float = PANEL_ALPHA) -> None:
    """Lay a pre-drawn panel over the scene, `alpha` opaque, in one uint8 pass (clipped)."""
    x, y = xy
    h, w = sprite.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, scene.shape[1]), min(y + h, scene.shape[0])
    if x0 < x1 and y0 < y1:
        part = sprite[y0 - y : y1 - y, x0 - x : x1 - x]
        scene[y0:y1, x0:x1] = cv2.addWeighted(scene[y0:y1, x0:x1], 1.0 - alpha, part, alpha, 0.0)


def event_key(event: Any) -> tuple[Any, ...]:
    """A rep's identity for the caches: its id alone could be a freed one's (after a reset)."""
    return id(event), event.number, event.rep.top_s, event.reported_at_s


def _canvas(w: int, h: int) -> np.ndarray:
    return np.full((max(h, 1), max(w, 1), 3), PANEL_RGB, np.uint8)


class LiveOverlay(Overlay):
    """Draws a live session's state (apps.live.LiveState) at the window's size, to be read from
    the bench 2-3 m away: the rep count and the one cue large, the last rep's verdicts and its
    top pose (faulty joints ringed) top right, the set-up advice in the middle until it is fine.

    Sizes are fractions of the frame's short side, so a full-screen window gets big text. Each
    panel is drawn once (text on the panel colour) and laid over every frame it is shown on:
    blending text with float arrays on each frame cost ~40 ms at 1067×800 on a busy 2-core
    machine, the pose model's whole budget.
    """

    def __init__(self, width: int, height: int, source_width: int) -> None:
        short = min(width, height)
        super().__init__(width, height, badge_scale=2.0, badge_width=round(width * CARD_WIDTH_FRAC))
        self.margin = m = max(6, round(MARGIN_FRAC * short))
        self.counter = CounterAnnotator(max(10, round(COUNTER_FRAC * short)), m)
        self.badges = BadgeAnnotator(max(10, round(CARD_TEXT_FRAC * short)), m, round(width * CARD_WIDTH_FRAC))
        self.cue_size = max(12, round(CUE_FRAC * short))
        self.setup_size = max(12, round(SETUP_FRAC * short))
        self.text_size = max(10, round(STATUS_FRAC * short))
        self.scale = width / (source_width or width)
        self._sprites: dict[tuple[Any, ...], Sprite] = {}

    def annotate(self, scene: np.ndarray, state: Any, stats: Any = None, paused: bool = False,
                 inset: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """Draw on `scene` (the frame at this overlay's size); `inset`: the last rep's top frame."""
        last = state.last
        if state.pose is not None:
            checks = last.checks if last is not None and last.rep.full else ()
            self.draw_pose(scene, state.pose.image[:, :2] * self.scale, checks, far_side(state.view))
        setup = state.setup
        advising = setup is not None and not setup.done and setup.verdict is not None
        shown: list[Sprite] = []
        inset_img = None
        if not advising:  # the count shows once the set-up is fine (or given up on); the reps count from the start
            sub = PHASE_LABEL.get(state.phase.value, state.phase.value)
            sub += f" · {state.partial} partial" if state.partial else ""
            shown.append(self._sprite(("counter", state.reps, sub), lambda: self._counter(f"REPS {state.reps}", sub)))
        lines, above = [], 0
        if last is not None and not advising:
            card = self._sprite(("card", *event_key(last)), lambda: self._card(last))
            cue = self._sprite(("cue", *event_key(last)), lambda: self._cue(last))
            shown += [card, cue]
            above = cue[0].shape[0]
            if inset is not None:  # opaque: a picture, not a panel
                y = card[1][1] + card[0].shape[0] + self.margin // 2
                shown.append(self._sprite(("inset", *event_key(last), y), lambda: self._inset(inset, y)))
                inset_img = shown[-1][0]
        if setup is not None:
            if advising:
                left = max(0, math.ceil(setup.max_s - (state.t - setup.since_s)))
                shown.append(self._sprite(("setup", setup.problems, left), lambda: self._setup(setup.problems, left)))
            else:
                lines += self._setup_line(setup, state.t)
        if stats is not None:
            lines.append(f"{stats.fps:.1f} fps · latency {stats.latency_ms:.0f} ms (p95 {stats.latency_p95_ms:.0f})"
                         f" · dropped {stats.frames_dropped}")
        if paused:
            lines.append("PAUSED — space to resume, r to reset, f full screen, q to quit")
        if lines:
            shown.append(self._sprite(("lines", tuple(lines), above), lambda: self._lines(lines, above)))
        for img, xy in shown:
            blit(scene, img, xy, 1.0 if img is inset_img else PANEL_ALPHA)
        return scene

    def _sprite(self, key: tuple[Any, ...], make: Any) -> Sprite:
        got = self._sprites.get(key)
        if got is None:
            if len(self._sprites) > SPRITES_KEPT:
                self._sprites.clear()
            got = self._sprites[key] = make()
        return got

    def _counter(self, head: str, sub: str) -> Sprite:
        c, m = self.counter, self.margin
        w = max(text_size(head, c.size * 2, True)[0], text_size(sub, c.size)[0]) + m
        canvas = _canvas(w + m, c.height() + m)
        c.annotate(canvas, head, sub)
        return canvas[m // 2 : m // 2 + c.height(), m // 2 : m // 2 + w], (m // 2, m // 2)

    def _card(self, event: Any) -> Sprite:
        """The last rep's verdicts, the fault that matters most on top (its cue is the big one below)."""
        checks = [replace(c, cue="") for c in sorted(event.checks, key=lambda c: c.rule != event.fault)]
        card = self.rep_card(checks, event.number, event.score, event.rep.reason if event.rep.partial else None)
        canvas = _canvas(card.width, card.height)
        self.badges.annotate(canvas, card, (0, 0))
        return canvas, (self.width - card.width - self.margin // 2, self.margin // 2)

    def _cue(self, event: Any) -> Sprite:
        """The one cue, large, in a band along the bottom: the fault's colour, green for a good rep."""
        text = event.cue if event.rep.full else f"not counted: {event.rep.reason}"
        if event.rep.full and not text:
            text = f"Rep {event.number} · good rep"
        size, width = self.cue_size, round((self.width - 3 * self.margin) * 0.92)
        lines = _wrap(text, size, width)
        while len(lines) > CUE_MAX_LINES and size > self.text_size:  # a long cue on a narrow window: smaller, whole
            size = max(self.text_size, round(size * 0.85))
            lines = _wrap(text, size, width)
        fault = next((c for c in event.checks if c.rule == event.fault), None)
        color = VERDICT_COLOR[fault.verdict] if fault is not None else VERDICT_COLOR[Verdict.PASS]
        if not event.rep.full:
            color = (200, 200, 200)
        line_h = round(size * 1.25)
        canvas = _canvas(self.width, len(lines) * line_h + self.margin)
        for i, line in enumerate(lines):
            put_text(canvas, line, (self.margin, self.margin // 2 + i * line_h), size, color, True)
        return canvas, (0, self.height - canvas.shape[0])

    def _setup(self, problems: Sequence[Any], left: int) -> Sprite:
        """The set-up check's advice in a panel in the middle of the picture."""
        size, m = self.setup_size, self.margin
        width = round(self.width * 0.86)
        body = [ln for p in problems[:SETUP_MAX_SHOWN] for ln in _wrap(p.message, size, width)]
        small = round(size * 0.7)
        foot = _wrap(f"counting starts when this is fixed, or in {left} s", small, width)
        line_h, foot_h = round(size * 1.3), round(small * 1.3)
        canvas = _canvas(width + 2 * m, line_h * (1 + len(body)) + foot_h * len(foot) + 2 * m)
        put_text(canvas, "SET-UP CHECK", (m, m), size, VERDICT_COLOR[Verdict.WARN], True)
        for i, text in enumerate(body):
            put_text(canvas, text, (m, m + (i + 1) * line_h), size, WHITE, True)
        for i, text in enumerate(foot):
            put_text(canvas, text, (m, m + (len(body) + 1) * line_h + i * foot_h), small, (200, 200, 200))
        h, w = canvas.shape[:2]
        return canvas, ((self.width - w) // 2, max(0, (self.height - h) // 2))

    @staticmethod
    def _setup_line(setup: Any, t: float) -> list[str]:
        if setup.phase.value == "checking":
            return ["checking the set-up…"]
        if setup.phase.value == "ok":
            return ["set-up OK · go"] if setup.done_s is not None and t - setup.done_s < SETUP_OK_SHOW_S else []
        return [f"set-up: {p.message}" for p in setup.problems]

    def _lines(self, lines: Sequence[str], above: int) -> Sprite:
        """Status lines (set-up, processing rate, paused) at the bottom left, above the cue band."""
        line_h, m = round(self.text_size * 1.4), self.margin
        w = max(text_size(t, self.text_size, True)[0] for t in lines) + m
        canvas = _canvas(w, line_h * len(lines) + m // 2)
        for i, text in enumerate(lines):
            put_text(canvas, text, (m // 2, m // 4 + i * line_h), self.text_size, WHITE, True)
        return canvas, (m // 2, self.height - above - canvas.shape[0] - m // 2)

    def _inset(self, inset: np.ndarray, y: int) -> Sprite:
        """The last rep's top frame, right-aligned under its card, in a white frame."""
        w = round(self.width * INSET_WIDTH_FRAC)
        h = round(w * inset.shape[0] / inset.shape[1])
        if h > self.height * INSET_HEIGHT_FRAC:
            h = round(self.height * INSET_HEIGHT_FRAC)
            w = round(h * inset.shape[1] / inset.shape[0])
        img = cv2.resize(inset, (max(w, 1), max(h, 1)), interpolation=cv2.INTER_AREA)
        cv2.rectangle(img, (0, 0), (img.shape[1] - 1, img.shape[0] - 1), WHITE, max(1, self.margin // 6))
        return img, (self.width - w - self.margin // 2, y)


class RepInset:
    """Small copies of the last seconds' frames, so a rep's top frame can be shown (with its
    faults ringed) once the rep is announced, which is after its descent."""

    def __init__(self, source_width: int, width: int = INSET_STORE_PX, keep_s: float = INSET_KEEP_S,
                 hz: float = INSET_STORE_HZ) -> None:  # fmt: skip
        self.source_width, self.width, self.keep_s, self.step = source_width, width, keep_s, 1.0 / hz
        self._frames: deque[tuple[float, np.ndarray, np.ndarray | None]] = deque()
        self._made: tuple[tuple[Any, ...], np.ndarray | None] | None = None

    def add(self, t: float, rgb: np.ndarray, pose: np.ndarray | None) -> None:
        """A frame (RGB, any size) and its pose (33, 2+) in source pixels, or None."""
        if self._frames and t - self._frames[-1][0] < self.step:
            return
        h, w = rgb.shape[:2]
        small = cv2.resize(rgb, (self.width, max(1, round(h * self.width / w))), interpolation=cv2.INTER_AREA)
        self._frames.append((t, small, None if pose is None else pose[:, :2].copy()))
        while self._frames and self._frames[0][0] < t - self.keep_s:
            self._frames.popleft()

    def for_event(self, event: Any) -> np.ndarray | None:
        """The top frame of a full rep with a fault, drawn once; None for good or partial reps."""
        if event is None or not event.rep.full or not event.fault:
            return None
        if self._made is None or self._made[0] != event_key(event):
            self._made = (event_key(event), self._draw(event))
        return self._made[1]

    def _draw(self, event: Any) -> np.ndarray | None:
        near = [(t, small, pose) for t, small, pose in self._frames if pose is not None]
        if not near:
            return None
        t, small, pose = min(near, key=lambda f: abs(f[0] - event.rep.top_s))
        if abs(t - event.rep.top_s) > 2 * self.step + INSET_MAX_OFF_S:
            return None  # that frame is gone (a long rep) or was never seen
        img, u = small.copy(), (small.shape[0] + small.shape[1]) / 200.0
        skeleton = SkeletonAnnotator(max(1, round(0.35 * u)), max(2, round(0.5 * u)))
        marks = {c.rule: c for c in event.checks}
        worst = marks.get(event.fault)
        skeleton.annotate(img, pose * (self.width / (self.source_width or self.width)),
                          highlight([worst] if worst is not None else event.checks))  # fmt: skip
        put_text(img, f"rep {event.number} · top", (4, 2), max(10, round(2.6 * u)), WHITE, True, BLACK)
        return img


class LiveView:
    """The live picture: the frame scaled to the window's size, the overlay drawn at that size
    (not scaled up after drawing: text stays sharp), and the last rep's top frame inset."""

    def __init__(self, source_width: int) -> None:
        self.source_width = source_width
        self.inset = RepInset(source_width)
        self._overlay: LiveOverlay | None = None

    def remember(self, rgb: np.ndarray, state: Any) -> None:
        """Keep a small copy of each frame for the inset of a rep announced later."""
        self.inset.add(state.t, rgb, None if state.pose is None else state.pose.image)

    def draw(self, rgb: np.ndarray, state: Any, size: tuple[int, int] | None = None, stats: Any = None,
             paused: bool = False) -> np.ndarray:  # fmt: skip
        """A new image of `size` (w, h; default the frame's) with the state drawn on it."""
        h, w = rgb.shape[:2]
        size = size or (w, h)
        if size == (w, h):
            scene = rgb.copy()
        else:
            up = size[0] > w
            scene = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR if up else cv2.INTER_AREA)
        o = self._overlay
        if o is None or (o.width, o.height) != size:
            o = self._overlay = LiveOverlay(size[0], size[1], self.source_width)
        return o.annotate(scene, state, stats, paused, self.inset.for_event(state.last))
