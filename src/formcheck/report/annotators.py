"""Annotators: small drawing units for RGB uint8 frames, in supervision's shape.

Settings go in `__init__`, data in `annotate(scene, data) -> scene` (drawn in place). They
draw what they are given and compute nothing about the lift. Text is DejaVu Sans (shipped
with matplotlib, so ✓ ✗ ° and accents render), each string rasterised once and cached.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from formcheck.pose.track import SKELETON
from formcheck.rules.base import CheckResult, Verdict

RGB = tuple[int, int, int]
VERDICT_COLOR: dict[Verdict, RGB] = {
    Verdict.PASS: (46, 204, 113),
    Verdict.WARN: (255, 176, 0),
    Verdict.FAIL: (240, 62, 50),
    Verdict.NOT_VISIBLE: (150, 150, 150),
}
VERDICT_ICON = {Verdict.PASS: "✓", Verdict.WARN: "!", Verdict.FAIL: "✗", Verdict.NOT_VISIBLE: "–"}
WHITE, BLACK, GREY = (255, 255, 255), (0, 0, 0), (120, 120, 120)


@functools.lru_cache(maxsize=16)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name), size)
    except OSError:  # a matplotlib without its fonts: Pillow's own scalable font
        return ImageFont.load_default(size)


def text_size(text: str, size: int, bold: bool = False) -> tuple[int, int]:
    font = _font(size, bold)
    ascent, descent = font.getmetrics()  # type: ignore[union-attr]
    return int(np.ceil(font.getlength(text))), ascent + descent


@functools.lru_cache(maxsize=4096)
def _mask(text: str, size: int, bold: bool, stroke: int) -> np.ndarray:
    """(h, w, 2) float32 alpha of the glyphs and of their outline."""
    w, h = text_size(text, size, bold)
    w, h = w + 2 * stroke, h + 2 * stroke
    out = np.zeros((h, w, 2), np.float32)
    for ch, width in ((0, 0), (1, stroke)):
        if ch and not stroke:
            break
        im = Image.new("L", (w, h))
        ImageDraw.Draw(im).text((stroke, stroke), text, font=_font(size, bold), fill=255, stroke_width=width)
        out[..., ch] = np.asarray(im, np.float32) / 255.0
    return out


def put_text(scene: np.ndarray, text: str, xy: tuple[float, float], size: int, color: RGB,
             bold: bool = False, outline: RGB | None = None) -> np.ndarray:
    """Draw `text` with its top-left corner at xy (clipped to the frame)."""
    stroke = max(1, size // 10) if outline else 0
    m = _mask(text, size, bold, stroke)
    x, y = round(xy[0]) - stroke, round(xy[1]) - stroke
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + m.shape[1], scene.shape[1]), min(y + m.shape[0], scene.shape[0])
    if x0 >= x1 or y0 >= y1:
        return scene
    a = m[y0 - y : y1 - y, x0 - x : x1 - x]
    roi = scene[y0:y1, x0:x1].astype(np.float32)
    if outline is not None:
        roi += (np.asarray(outline, np.float32) - roi) * a[..., 1:2]
    roi += (np.asarray(color, np.float32) - roi) * a[..., 0:1]
    scene[y0:y1, x0:x1] = (roi + 0.5).astype(np.uint8)
    return scene


def panel(scene: np.ndarray, box: tuple[int, int, int, int], color: RGB = (18, 18, 22), alpha: float = 0.7) -> None:
    x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], scene.shape[1]), min(box[3], scene.shape[0])
    if x0 < x1 and y0 < y1:  # roi + (color - roi) * alpha, in OpenCV's uint8 arithmetic (a 720p card: 1 ms, not 10)
        roi = scene[y0:y1, x0:x1]
        solid = np.empty_like(roi)
        solid[:] = color
        scene[y0:y1, x0:x1] = cv2.addWeighted(roi, 1.0 - alpha, solid, alpha, 0.0)


def _pt(p: np.ndarray) -> tuple[int, int]:
    return round(float(p[0])), round(float(p[1]))


class SkeletonAnnotator:
    """Bones and joints; the far side of a side view in grey; faulty joints ringed in colour."""

    def __init__(self, thickness: int, radius: int, color: RGB = WHITE, far_color: RGB = GREY) -> None:
        self.thickness, self.radius, self.color, self.far_color = thickness, radius, color, far_color

    def annotate(self, scene: np.ndarray, pose: np.ndarray, highlight: Mapping[int, RGB] | None = None,
                 far: frozenset[int] = frozenset()) -> np.ndarray:
        highlight = highlight or {}
        ok = np.isfinite(pose).all(axis=1)
        for a, b in SKELETON:
            if ok[a] and ok[b]:
                cv2.line(scene, _pt(pose[a]), _pt(pose[b]), BLACK, self.thickness + 2, cv2.LINE_AA)
        for a, b in SKELETON:
            if ok[a] and ok[b]:
                both = a in highlight and b in highlight  # a faulty segment, not just a joint
                color = highlight[b] if both else (self.far_color if a in far and b in far else self.color)
                thick = self.thickness * 2 if both else self.thickness
                cv2.line(scene, _pt(pose[a]), _pt(pose[b]), color, thick, cv2.LINE_AA)
        for j in {j for bone in SKELETON for j in bone}:
            if ok[j]:
                cv2.circle(scene, _pt(pose[j]), self.radius, BLACK if j in far else (0, 190, 255), -1, cv2.LINE_AA)
        groups: list[tuple[list[np.ndarray], RGB]] = []
        for j, color in highlight.items():  # one ring per body part: eyes, ears and nose make one head
            if not ok[j]:
                continue
            near = [g for g in groups if np.linalg.norm(np.mean(g[0], axis=0) - pose[j]) < self.radius * 8]
            if near:
                near[0][0].append(pose[j])
            else:
                groups.append(([pose[j]], color))
        for pts, color in groups:
            c = np.mean(pts, axis=0)
            r = self.radius * 3 + max(float(np.linalg.norm(p - c)) for p in pts)
            cv2.circle(scene, _pt(c), round(r), color, self.thickness + 1, cv2.LINE_AA)
        return scene


class AngleAnnotator:
    """Angle values beside their joints, pushed away from the body's centre."""

    def __init__(self, size: int, color: RGB = WHITE) -> None:
        self.size, self.color = size, color

    def annotate(self, scene: np.ndarray, pose: np.ndarray, labels: Sequence[tuple[int, str]]) -> np.ndarray:
        ok = np.isfinite(pose).all(axis=1)
        if not ok.any():
            return scene
        centre = pose[ok].mean(axis=0)
        for j, text in labels:
            if not ok[j]:
                continue
            d = pose[j] - centre
            d = d / (np.linalg.norm(d) or 1.0)
            w, h = text_size(text, self.size, True)
            c = pose[j] + d * 1.3 * self.size
            x = min(max(c[0] - w / 2 + d[0] * w / 2, 2), scene.shape[1] - w - 2)  # keep it in the frame
            y = min(max(c[1] - h / 2, 2), scene.shape[0] - h - 2)
            put_text(scene, text, (x, y), self.size, self.color, True, BLACK)
        return scene

class CounterAnnotator:
    """Top left: a big headline (the rep count) over a small line (the phase)."""

    def __init__(self, size: int, margin: int) -> None:
        self.size, self.margin = size, margin

    def height(self) -> int:
        return text_size("R", self.size * 2, True)[1] + text_size("R", self.size)[1] + self.margin

    def annotate(self, scene: np.ndarray, head: str, sub: str) -> np.ndarray:
        big, small, m = self.size * 2, self.size, self.margin
        w = max(text_size(head, big, True)[0], text_size(sub, small)[0]) + m
        panel(scene, (m // 2, m // 2, m // 2 + w, m // 2 + self.height()))
        put_text(scene, head, (m, m * 3 // 4), big, WHITE, True)
        put_text(scene, sub, (m, m * 3 // 4 + text_size("R", big, True)[1]), small, (200, 220, 255))
        return scene


@dataclass(frozen=True)
class BadgeCard:
    """A rep's verdict card, measured: rows of (verdict, title), then notes and the cue."""

    header: str
    rows: tuple[tuple[Verdict, str], ...]
    notes: tuple[str, ...]  # greyed: what could not be seen
    cue: tuple[str, ...]  # wrapped lines
    size: int
    width: int
    height: int


def _row(c: CheckResult) -> str:
    """A verdict row: a fault names the value its rule judged, and a doubtful one is marked "?"."""
    if c.verdict == Verdict.PASS or not c.label:
        return c.title
    return f"{c.title}: {c.label}" + ("" if c.sure else " (?)")


class BadgeAnnotator:
    """A rep's verdicts as coloured badges, and the cue for its worst fault."""

    def __init__(self, size: int, margin: int, max_width: int) -> None:
        self.size, self.margin, self.max_width = size, margin, max_width

    def card(self, checks: Sequence[CheckResult], header: str, note: str = "") -> BadgeCard:
        visible = [c for c in checks if c.verdict != Verdict.NOT_VISIBLE]
        hidden = len(checks) - len(visible)
        faults = sorted((c for c in visible if c.verdict != Verdict.PASS), key=lambda c: c.verdict != Verdict.FAIL)
        cue = note or (faults[0].cue if faults else "")
        rows = () if note else tuple((c.verdict, _row(c)) for c in visible)
        notes = (f"{hidden} not visible from this angle",) if hidden and not note else ()
        size, m = self.size, self.margin
        width = max([text_size(t, size)[0] + 2 * size for _, t in rows] + [text_size(header, size, True)[0]])
        if width + 2 * m > self.max_width:  # long titles on a narrow frame: shrink to fit
            size = max(8, int(size * (self.max_width - 2 * m) / width))
            width = self.max_width - 2 * m
        small = max(8, int(size * 0.85))
        lines = tuple(_wrap(cue, small, max(width, 14 * small))) if cue else ()
        width = max([width] + [text_size(x, small)[0] for x in lines + notes])
        line_h, small_h = self._line_h(size), text_size("R", small)[1]
        height = line_h * (1 + len(rows)) + small_h * (len(lines) + len(notes)) + (m // 3 if lines else 0)
        return BadgeCard(header, rows, notes, lines, size, width + m, height + m)

    @staticmethod
    def _line_h(size: int) -> int:
        return int(text_size("R", size)[1] * 1.35)

    def annotate(self, scene: np.ndarray, card: BadgeCard, xy: tuple[int, int]) -> np.ndarray:
        x, y = xy
        panel(scene, (x, y, x + card.width, y + card.height), alpha=0.78)
        size, line_h = card.size, self._line_h(card.size)
        small = max(8, int(size * 0.85))
        px, py = x + self.margin // 2, y + self.margin // 2
        put_text(scene, card.header, (px, py), size, WHITE, True)
        py += line_h
        r, icon_size = size * 0.55, int(size * 0.8)
        for verdict, title in card.rows:
            color = VERDICT_COLOR[verdict]
            cy = py + line_h * 0.4
            cv2.circle(scene, (round(px + r), round(cy)), round(r), color, -1, cv2.LINE_AA)
            iw, ih = text_size(VERDICT_ICON[verdict], icon_size, True)
            put_text(scene, VERDICT_ICON[verdict], (px + r - iw / 2, cy - ih / 2), icon_size, BLACK, True)
            put_text(scene, title, (px + 2 * size, py), size, color)
            py += line_h
        for text in card.notes:
            put_text(scene, text, (px, py), small, (175, 175, 175))
            py += text_size(text, small)[1]
        py += self.margin // 3
        for text in card.cue:
            put_text(scene, text, (px, py), small, WHITE)
            py += text_size(text, small)[1]
        return scene


class InsetAnnotator:
    """A small picture (a rep's top frame, its faults ringed) in a white frame, with a caption."""

    def __init__(self, size: int, border: int) -> None:
        self.size, self.border = size, border

    def annotate(self, scene: np.ndarray, image: np.ndarray, xy: tuple[int, int], caption: str = "") -> np.ndarray:
        x, y = xy
        h, w = image.shape[:2]
        b = self.border
        x0, y0 = max(x - b, 0), max(y - b, 0)
        scene[y0 : min(y + h + b, scene.shape[0]), x0 : min(x + w + b, scene.shape[1])] = WHITE
        hh, ww = min(h, scene.shape[0] - y), min(w, scene.shape[1] - x)  # clipped to the frame
        if hh > 0 and ww > 0:
            scene[y : y + hh, x : x + ww] = image[:hh, :ww]
        if caption:
            put_text(scene, caption, (x + b, y + b), self.size, WHITE, True, BLACK)
        return scene


def _wrap(text: str, size: int, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and text_size(f"{lines[-1]} {word}", size)[0] <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines

