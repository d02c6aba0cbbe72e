"""The one overlay, for the annotated video (report/render) and the live window (report/live_overlay).

Drawing never computes: what is drawn (pose, angles, phase, the rep's checks and score) is
handed in, already measured and judged. Sizes scale with the frame, so text stays readable
on a phone for landscape and portrait frames alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from formcheck.analysis.kinematics import LEFT, RIGHT, View
from formcheck.report.annotators import (
    RGB,
    VERDICT_COLOR,
    AngleAnnotator,
    BadgeAnnotator,
    BadgeCard,
    CounterAnnotator,
    SkeletonAnnotator,
    put_text,
)
from formcheck.rules.base import CheckResult, Verdict

# The phase under the rep counter: the file's phases (render.phase_of) and live's (online.Phase).
PHASE_LABEL = {
    "ascent": "ascent ↑",
    "rising": "ascent ↑",
    "descent": "descent ↓",
    "lowering": "descent ↓",
    "top hold": "top hold",
    "top": "top hold",
    "bottom": "bottom",
    "waiting": "waiting for the lifter",
}


def highlight(checks: Sequence[CheckResult]) -> dict[int, RGB]:
    """Body parts of a rep's faults, in their verdict's colour (fail over warn)."""
    out: dict[int, RGB] = {}
    for c in sorted(checks, key=lambda c: c.verdict == Verdict.FAIL):
        if c.verdict in (Verdict.WARN, Verdict.FAIL):
            out.update(dict.fromkeys(c.landmarks, VERDICT_COLOR[c.verdict]))
    return out


def far_side(view: View) -> frozenset[int]:
    """The joints of the side turned away from the camera (drawn dimmer); none unless a side view."""
    if not view.is_side:
        return frozenset()
    return frozenset(LEFT if view == View.SIDE_RIGHT else RIGHT)


class Overlay:
    """Skeleton, joint angles, rep counter, a rep's verdict card and status lines, sized to a frame."""

    def __init__(self, width: int, height: int, badge_scale: float = 2.4, badge_width: int | None = None) -> None:
        u = (width + height) / 200.0  # text scales with the frame, landscape or portrait
        self.width, self.height = width, height
        self.margin = m = max(6, round(1.6 * u))
        self.skeleton = SkeletonAnnotator(max(2, round(0.35 * u)), max(2, round(0.5 * u)))
        self.angle = AngleAnnotator(max(10, round(2.3 * u)))
        self.counter = CounterAnnotator(max(10, round(2.4 * u)), m)
        badge_width = width - m if badge_width is None else badge_width
        self.badges = BadgeAnnotator(max(10, round(badge_scale * u)), m, badge_width)
        self.text_size = max(10, round(1.8 * u))

    def draw_pose(self, scene: np.ndarray, pose: np.ndarray, checks: Sequence[CheckResult] = (),
                  far: frozenset[int] = frozenset(), labels: Sequence[tuple[int, str]] = ()) -> None:  # fmt: skip
        """The skeleton (a rep's faults highlighted, the far side dimmer) and angle labels at joints."""
        self.skeleton.annotate(scene, pose, highlight(checks), far)
        if labels:
            self.angle.annotate(scene, pose, labels)

    def draw_counter(self, scene: np.ndarray, head: str, phase: str, before: str = "", after: str = "") -> None:
        """Top left: the rep count over the phase (e.g. "rep 2 · ascent ↑")."""
        sub = PHASE_LABEL.get(phase, phase)
        self.counter.annotate(scene, head, f"{before} · {sub}" if before else sub + after)

    def rep_card(self, checks: Sequence[CheckResult], number: int | None, score: float | None,
                 partial_reason: str | None = None) -> BadgeCard:  # fmt: skip
        """A rep's verdicts under "Rep N · score/100"; a partial rep only says why it was not counted."""
        if partial_reason is not None:
            return self.badges.card((), "Partial rep (not counted)", partial_reason)
        head = f"Rep {number}" + (f" · {score:.0f}/100" if score is not None else "")
        return self.badges.card(checks, head)

    def draw_lines(self, scene: np.ndarray, lines: Sequence[str]) -> None:
        """Status lines at the bottom left (processing rate, paused)."""
        y = self.height - self.margin
        for text in reversed(lines):
            y -= round(self.text_size * 1.4)
            put_text(scene, text, (self.margin, y), self.text_size, (255, 255, 255), True, (0, 0, 0))
