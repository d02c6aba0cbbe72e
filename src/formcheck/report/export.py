"""The per-set report as plain data: JSON (versioned schema, docs/report-schema.md), the per-rep
CSV and the per-frame CSV (every measure on every frame, with its phase and rep).

Built from an `Analysis`; knows nothing of terminals or files beyond writing them atomically.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import Any

import numpy as np

from formcheck import __version__
from formcheck.analysis.reps import Rep, tempo
from formcheck.pipeline.analyze import Analysis
from formcheck.util.atomic import write_text

SCHEMA = "formcheck.report"
SCHEMA_VERSION = 1

# Per-rep measurements at the top of the rep (name in JSON -> kinematics series, unit).
TOP_MEASURES = {
    "hip_ext_deg": "hip_ext",
    "knee_deg": "knee",
    "shin_deg": "shin",
    "torso_deg": "torso",
    "neck_deg": "neck",
    "lift": "lift",
}


def _num(x: float | None, nd: int = 3) -> float | None:
    if x is None:
        return None
    x = float(x)
    return round(x, nd) if math.isfinite(x) else None


def rep_dict(a: Analysis, i: int, rep: Rep) -> dict[str, Any]:
    k = a.k
    return {
        "index": i + 1,
        "partial": rep.partial,
        "partial_reason": rep.reason,
        "start_s": _num(rep.start_s),
        "top_s": _num(rep.top_s),
        "end_s": _num(rep.end_s),
        "hold_s": _num(rep.hold_s),
        "rom": _num(rep.rom_deg, 1),
        "rom_unit": "deg",
        "lift": _num(rep.lift),
        "ascent_s": _num(tempo(rep, k.t)[0]),
        "descent_s": _num(tempo(rep, k.t)[1]),
        "frames": {"start": rep.start, "top": rep.top, "end": rep.end},
        "measurements": {name: _num(getattr(k, series)[rep.top], 2) for name, series in TOP_MEASURES.items()},
        "score": a.scores[i],
        "confidence": a.rep_confidence[i].to_dict() if i < len(a.rep_confidence) else None,
        "angles": a.angles[i].to_dict() if i < len(a.angles) else None,
        "checks": [c.to_dict() for c in a.checks[i]],
    }


def build(a: Analysis) -> dict[str, Any]:
    tr = a.track
    full = [i for i, r in enumerate(a.reps) if r.full]
    scores = [s for i in full if (s := a.scores[i]) is not None]
    summary: dict[str, Any] = {
        "reps": len(full),
        "partial_reps": len(a.reps) - len(full),
        "mean_score": _num(float(np.mean(scores)), 1) if scores else None,
        "mean_rom": _num(float(np.mean([a.reps[i].rom_deg for i in full])), 1) if full else None,
        "mean_hold_s": _num(float(np.mean([a.reps[i].hold_s for i in full]))) if full else None,
        "most_frequent_fault": None,
        "focus_cue": None,
    }
    if a.focus is not None:
        summary["most_frequent_fault"] = {"rule": a.focus.rule, "title": a.focus.title, "reps": a.focus.count}
        summary["focus_cue"] = a.focus.cue
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "formcheck_version": __version__,
        "source": tr.source,
        "fps": _num(tr.fps, 3),
        "frames": len(tr),
        "frames_modelled": int(tr.modelled.sum()),  # fewer than frames with [video] model_hz / --fast
        "frames_expected": tr.frames_expected or None,
        "duration_s": _num(tr.duration_s),
        "width": tr.width,
        "height": tr.height,
        "person_detected_fraction": _num(tr.found_fraction),
        "exercise": a.exercise.value,
        "exercise_confidence": a.exercise_confidence.to_dict(),
        "view": a.k.view.value,
        "reps": [rep_dict(a, i, r) for i, r in enumerate(a.reps)],
        "summary": summary,
        "warnings": list(a.warnings),
    }


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def write_json(report: dict[str, Any], path: str | os.PathLike[str]) -> None:
    write_text(path, to_json(report))


CSV_FIELDS = [
    "source",
    "exercise",
    "view",
    "index",
    "partial",
    "start_s",
    "top_s",
    "end_s",
    "hold_s",
    "rom",
    "lift",
    "ascent_s",
    "descent_s",
    "score",
    "confidence",
]


def _cell(r: dict[str, Any], f: str) -> Any:
    return (r.get(f) or {}).get("level", "") if f == "confidence" else r[f]


def to_csv(report: dict[str, Any]) -> str:
    """One row per rep; per rule its verdict, the value it judged (unit in the header) and how
    sure the verdict is: the same quantity the terminal, HTML and overlay show."""
    rules: dict[str, str] = {}  # rule -> unit
    for r in report["reps"]:
        for c in r["checks"]:
            rules.setdefault(c["rule"], c["unit"])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    per_rule = [col for name, unit in rules.items()
                for col in (name, f"{name}_value_{unit.replace(' ', '_')}", f"{name}_confidence")]
    w.writerow(CSV_FIELDS + per_rule)
    for r in report["reps"]:
        checks = {c["rule"]: c for c in r["checks"]}
        row = [report["source"], report["exercise"], report["view"]]
        row += [_cell(r, f) for f in CSV_FIELDS[3:]]
        for name in rules:
            c = checks.get(name)
            conf = (c.get("confidence") or {}).get("level", "") if c and c["verdict"] != "not_visible" else ""
            row += [c["verdict"], "" if c["value"] is None else c["value"], conf] if c else ["", "", ""]
        w.writerow(row)
    return buf.getvalue()


def write_csv(report: dict[str, Any], path: str | os.PathLike[str]) -> None:
    write_text(path, to_csv(report))


# Per-frame CSV (--frames-csv): column (unit in the name) -> Kinematics series, decimals kept.
FRAME_SERIES = {
    "hip_ext_deg": ("hip_ext", 2),
    "knee_deg": ("knee", 2),
    "shin_deg": ("shin", 2),
    "torso_deg": ("torso", 2),
    "neck_deg": ("neck", 2),
    "head_pitch_deg": ("head_pitch", 2),
    "hip_tilt_deg": ("hip_tilt", 2),
    "incline_deg": ("incline", 2),
    "lift_torso": ("lift", 4),  # hip height over the planted ankle, torso lengths
    "heel_height_shin": ("heel_height", 4),  # heel above toe, shin lengths
    "knee_width_ratio": ("knee_width", 4),  # knee gap / ankle gap (front views)
}
FRAME_FIELDS = ["frame", "t_s", *FRAME_SERIES, "phase", "rep"]
# Outside a rep, within this long of one the lifter is at the bottom between reps; further away, at rest.
BOTTOM_S = 1.5


def frame_phases(a: Analysis) -> tuple[list[str], list[int | None]]:
    """Per frame: its phase (ascent, top, descent, bottom, rest; "" where the lifter is not seen)
    and the 1-based index of the rep it belongs to (None between reps), as the JSON numbers reps."""
    t, seen = a.k.t, a.smoothed.detected
    phases = ["rest" if ok else "" for ok in seen]
    owner: list[int | None] = [None] * len(t)
    bounds = []
    for j, r in enumerate(a.reps):
        bounds += [t[r.start], t[r.end]]
        for i in range(r.start, r.end + 1):
            if owner[i] is None:  # a frame shared by two reps stays with the first
                owner[i] = j + 1
                phases[i] = "ascent" if i < r.hold_start else "top" if i <= r.hold_end else "descent"
    if bounds:
        edges = np.asarray(bounds)
        for i in range(len(t)):
            if owner[i] is None and phases[i] and np.min(np.abs(edges - t[i])) <= BOTTOM_S:
                phases[i] = "bottom"
    return phases, owner


def to_frames_csv(a: Analysis) -> str:
    """One row per frame of the track: time, every angle and height kinematics computes (empty
    where the lifter was not seen), the phase and the rep (empty between reps). The smoothed
    series the reps and rules are read from, so a threshold can be tuned against them."""
    k = a.k
    phases, owner = frame_phases(a)
    columns = []
    for attr, nd in FRAME_SERIES.values():
        series = getattr(k, attr)
        columns.append(np.full(len(k), np.nan) if series is None else np.round(np.asarray(series, float), nd))
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FRAME_FIELDS)
    for i in range(len(k)):
        row: list[Any] = [i, f"{k.t[i]:.4f}"]
        row += ["" if not math.isfinite(c[i]) else float(c[i]) for c in columns]
        row += [phases[i], "" if owner[i] is None else owner[i]]
        w.writerow(row)
    return buf.getvalue()


def write_frames_csv(a: Analysis, path: str | os.PathLike[str]) -> None:
    write_text(path, to_frames_csv(a))
