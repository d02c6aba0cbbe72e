"""Scores a user can trace back to verdicts, and the one thing to fix next set.

Rep score = 100 × weighted mean of the visible checks, with pass = 1, warn = 0.5, fail = 0
(each rule's weight is its `weight`); checks that are not visible do not count. So a rep
with every visible check passing scores 100 however little the camera shows, and each
fault costs its rule's share: `breakdown` lists those shares.

Focus for the next set = the fault on the most reps (then the most severe, then the
heaviest rule), with the cue it got most often (a rule can have several, e.g. feet too
far out or too close).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from formcheck.rules.base import CheckResult, Verdict

VERDICT_POINTS = {Verdict.PASS: 1.0, Verdict.WARN: 0.5, Verdict.FAIL: 0.0}


def rep_score(checks: Sequence[CheckResult], weights: dict[str, float]) -> float | None:
    num = den = 0.0
    for c in checks:
        if c.verdict in VERDICT_POINTS:
            w = weights.get(c.rule, 1.0)
            num += w * VERDICT_POINTS[c.verdict]
            den += w
    return round(100.0 * num / den, 1) if den else None


def breakdown(checks: Sequence[CheckResult], weights: dict[str, float]) -> dict[str, float]:
    """Points each visible fault cost the rep, rule -> points out of 100 (sums to 100 - score)."""
    visible = [c for c in checks if c.verdict in VERDICT_POINTS]
    den = sum(weights.get(c.rule, 1.0) for c in visible)
    if not den:
        return {}
    return {
        c.rule: round(100.0 * weights.get(c.rule, 1.0) * (1.0 - VERDICT_POINTS[c.verdict]) / den, 1)
        for c in visible
        if c.verdict != Verdict.PASS
    }


@dataclass(frozen=True)
class Focus:
    rule: str
    title: str
    count: int  # reps with this fault (warn or fail)
    cue: str


def focus(per_rep: Sequence[Sequence[CheckResult]], weights: dict[str, float]) -> Focus | None:
    """The most frequent fault across the set (fails count double, then rule weight)."""
    counts: Counter[str] = Counter()
    severity: Counter[str] = Counter()
    cues: dict[str, Counter[str]] = {}
    titles: dict[str, str] = {}
    for checks in per_rep:
        for c in checks:
            if c.verdict in (Verdict.WARN, Verdict.FAIL):
                counts[c.rule] += 1
                severity[c.rule] += 2 if c.verdict == Verdict.FAIL else 1
                cues.setdefault(c.rule, Counter())[c.cue] += 1
                titles[c.rule] = c.title
    if not counts:
        return None
    rule = max(counts, key=lambda r: (counts[r], severity[r], weights.get(r, 1.0)))
    cue = cues[rule].most_common(1)[0][0]
    return Focus(rule=rule, title=titles[rule], count=counts[rule], cue=cue)
