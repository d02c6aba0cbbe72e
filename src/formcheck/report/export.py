"""The per-set report as plain data: JSON (versioned schema, docs/report-schema.md) and CSV.

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
