"""Neutral neck: the head stays with the body through the rep, not thrown back, not cranked."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

from formcheck.pose.track import L_EAR, NOSE, R_EAR
from formcheck.rules.base import (
    CheckResult,
    RepContext,
    Rule,
    Verdict,
    ViewNeed,
    bottom_in_view,
    median_near,
    top_median,
)

THROWN_BACK = "Keep your chin tucked and your eyes on one point ahead as the hips rise; don't throw your head back."
EXTENDED = "Your neck arches back at the top: tuck your chin and keep head and torso moving as one."
CRANKED = "Don't crank your chin to your chest: keep a neutral neck, eyes forward or towards your knees."


def _wrap(deg: float) -> float:
    return (deg + 180.0) % 360.0 - 180.0


class NeutralNeck(Rule):
    """The head keeps its place through the rep: it does not tip back (or crank forward) as the hips rise.

    The seeds agree on the aim (a neutral cervical spine, S1; the neck "aligned with the
    rest of your spine", S4; keep the head's position at the top, S0) and disagree on where
    to look: S0 fixes the gaze 45° up, S1 says looking at the ceiling helps, S4 wants the
    chin tucked and the gaze forward or down to the knees. So we do not judge where the
    lifter looks, only how the head moves: how far the face tips back (up) from the bottom
    of the rep to the top, in the room. S0 ("do not take your eyes off this point throughout
    the entire movement") and S4 keep the head still; S1's "head, neck and tailbone in the
    same line" lets it follow the torso, which tips back 25-40° from the bottom to the top on
    the dev clips. Middle: up to `warn_tip_deg` (20°, about half the torso's tip) passes;
    more warns; and when the head also tips back further
    than the torso itself (by `fail_neck_ext_deg`), the neck is extending: every seed calls
    that a fault, so it fails. A chin driven to the chest (face tipping down by more than
    `tuck_warn_deg`) warns (S1: "try not to tilt your neck down"; S4 allows the gaze
    "slightly down", hence no fail).

    Limits: a 2-D pose gives no spine, only ears, eyes, nose and shoulders, so the static
    head-on-torso angle cannot be judged reliably (the shoulder point sits on the joint, not
    the spine, and it did not separate the dev clips); the change over a rep did, with a
    small margin: head thrown back 27-30°, gaze kept forward 12-18°. Side views only.
    """

    name: ClassVar[str] = "neutral_neck"
    title: ClassVar[str] = "Neutral neck"
    source: ClassVar[str] = "S1, S4, S0"
    unit: ClassVar[str] = "deg"
    quantity: ClassVar[str] = "head tip, bottom to top"  # what `value` is, in words (every output names it)
    weight: ClassVar[float] = 1.0
    order: ClassVar[int] = 80  # place in reports and `formcheck rules`
    view = ViewNeed.PROFILE
    landmarks = (NOSE, L_EAR, R_EAR)

    @dataclass(frozen=True)
    class Params:
        # Degrees. Face tips back (up) more than this from bottom to top ...
        warn_tip_deg: float = field(default=20.0, metadata={"range": (0, 180)})
        # ... and more than the torso tips back, by this (a different angle: no order with the above).
        fail_neck_ext_deg: float = field(default=10.0, metadata={"range": (0, 180)})
        # Face tips down (chin to chest) more than this.
        tuck_warn_deg: float = field(default=25.0, metadata={"range": (0, 180)})

    def measure(self, ctx: RepContext) -> CheckResult:
        p, k, rep = self.params, ctx.k, ctx.rep
        if k.head_pitch is None:
            return self.not_visible("head pitch was not measured")
        bottom, reason = bottom_in_view(ctx, k.head_in_view, "the head is")
        if reason:
            return self.not_visible(reason)
        head = _wrap(top_median(k.head_pitch, rep) - median_near(k.head_pitch, bottom))
        torso = median_near(k.torso, bottom) - top_median(k.torso, rep)  # tips back = shoulders drop
        if not (math.isfinite(head) and math.isfinite(torso)):
            return self.not_visible("the head or torso was not tracked")
        neck_ext = head - torso
        if head > p.warn_tip_deg and neck_ext > p.fail_neck_ext_deg:
            verdict, cue = Verdict.FAIL, EXTENDED
        elif head > p.warn_tip_deg:
            verdict, cue = Verdict.WARN, THROWN_BACK
        elif head < -p.tuck_warn_deg:
            verdict, cue = Verdict.WARN, CRANKED
        else:
            verdict, cue = Verdict.PASS, ""
        way = "back (face up)" if head >= 0 else "forward (chin down)"
        detail = f"head tipped {abs(head):.0f}° {way} from the bottom to the top; torso tipped back {torso:.0f}°"
        return self.judged(verdict, head, detail, cue)

