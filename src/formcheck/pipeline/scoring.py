"""Scores a user can trace back to verdicts, and the one thing to fix next set.

Rep score = 100 × weighted mean of the visible checks, with pass = 1, warn = 0.5, fail = 0
(each rule's weight is its `weight`); checks that are not visible do not count. So a rep
with every visible check passing scores 100 however little the camera shows, and each
fault costs its rule's share: `breakdown` lists those shares. A fault the tool is not sure
of costs less (`FAULT_WEIGHT`: half for medium confidence, a quarter for low), so a verdict
within the noise of its threshold or read in a poor view cannot sink a good rep.

Focus for the next set = the fault on the most reps (then the most severe, then the
heaviest rule), with the cue it got most often (a rule can have several, e.g. feet too
far out or too close).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from formcheck.analysis.confidence import Level
from formcheck.analysis.exercise import Exercise
from formcheck.analysis.kinematics import Kinematics
from formcheck.analysis.reps import Rep
from formcheck.rules.base import CheckResult, RepContext, Rule, Verdict

VERDICT_POINTS = {Verdict.PASS: 1.0, Verdict.WARN: 0.5, Verdict.FAIL: 0.0}
# Share of a fault's cost that counts, by the verdict's confidence.
FAULT_WEIGHT = {Level.HIGH: 1.0, Level.MEDIUM: 0.5, Level.LOW: 0.25}


def points(c: CheckResult) -> float:
    """A visible check's points: 1 for a pass, less for a fault, discounted by its doubt."""
    return 1.0 - FAULT_WEIGHT[c.confidence.level] * (1.0 - VERDICT_POINTS[c.verdict])


def weights_of(rules: Sequence[Rule]) -> dict[str, float]:
    """rule name -> its weight in a rep's score."""
    return {r.name: r.weight for r in rules}


def score_rep(
    rep: Rep, k: Kinematics, exercise: Exercise, set_reps: Sequence[Rep], rules: Sequence[Rule]
) -> tuple[tuple[CheckResult, ...], float | None]:
    """Every rule's check of one rep, and the rep's score: file mode and live mode both call this."""
    ctx = RepContext(rep, k, exercise, tuple(set_reps))
    checks = tuple(rule.check(ctx) for rule in rules)
    return checks, rep_score(checks, weights_of(rules))


def rep_score(checks: Sequence[CheckResult], weights: dict[str, float]) -> float | None:
    num = den = 0.0
    for c in checks:
        if c.verdict in VERDICT_POINTS:
            w = weights.get(c.rule, 1.0)
            num += w * points(c)
            den += w
    return round(100.0 * num / den, 1) if den else None


def breakdown(checks: Sequence[CheckResult], weights: dict[str, float]) -> dict[str, float]:
    """Points each visible fault cost the rep, rule -> points out of 100 (sums to 100 - score)."""
    visible = [c for c in checks if c.verdict in VERDICT_POINTS]
    den = sum(weights.get(c.rule, 1.0) for c in visible)
    if not den:
        return {}
    return {
        c.rule: round(100.0 * weights.get(c.rule, 1.0) * (1.0 - points(c)) / den, 1)
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
    """The most frequent fault across the set (fails count double, then rule weight); faults of
    low confidence are not a focus (the camera could not show them well enough)."""
    counts: Counter[str] = Counter()
    severity: Counter[str] = Counter()
    cues: dict[str, Counter[str]] = {}
    titles: dict[str, str] = {}
    for checks in per_rep:
        for c in checks:
            if c.verdict in (Verdict.WARN, Verdict.FAIL) and c.confidence.level != Level.LOW:
                counts[c.rule] += 1
                severity[c.rule] += 2 if c.verdict == Verdict.FAIL else 1
                cues.setdefault(c.rule, Counter())[c.cue] += 1
                titles[c.rule] = c.title
    if not counts:
        return None
    rule = max(counts, key=lambda r: (counts[r], severity[r], weights.get(r, 1.0)))
    cue = cues[rule].most_common(1)[0][0]
    return Focus(rule=rule, title=titles[rule], count=counts[rule], cue=cue)
