"""What the history shows, as plain data: the table rows, a set's fatigue line, two sets compared.

No drawing here (plots.py) and no HTML (page.py); every function takes the set dicts of
`sets.list_sets` / `sets.get_set`, or a bare report wrapped by `loose_set`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

# Fatigue: the last FATIGUE_REPS full reps against the first FATIGUE_REPS; a set needs
# 2 * FATIGUE_REPS full reps to say anything.
FATIGUE_REPS = 2
SLOWDOWN_RATIO = 0.25  # ascent (or descent) 25 % longer at the end = "slowing down"
ROM_LOSS_RATIO = 0.10  # ROM 10 % smaller at the end = "shortening"

TABLE_FIELDS = ("id", "date", "lifter", "exercise", "reps", "score", "hold_s", "rom", "lockout_deg", "focus",
                "load_kg", "rpe", "note", "source")


def table_rows(sets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{
        "id": s["id"], "date": s["recorded_at"][:10], "lifter": s["lifter"], "exercise": s["exercise"],
        "reps": s["reps"], "score": s["mean_score"], "hold_s": s["mean_hold_s"], "rom": s["mean_rom"],
        "lockout_deg": s["lockout_deg"], "focus": s["focus_title"], "load_kg": s["load_kg"], "rpe": s["rpe"],
        "note": s["note"], "source": s["source"],
    } for s in sets]


def to_json(sets: list[dict[str, Any]]) -> str:
    rows = table_rows(sets)
    for row, s in zip(rows, sets, strict=True):
        row["recorded_at"], row["focus_cue"], row["report_path"] = s["recorded_at"], s["focus_cue"], s["report_path"]
    return json.dumps({"schema": "formcheck.history.sets", "sets": rows}, indent=2, ensure_ascii=False) + "\n"


def to_csv(sets: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=TABLE_FIELDS, lineterminator="\n")
    w.writeheader()
    for row in table_rows(sets):
        w.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def loose_set(report: dict[str, Any], curve: list[list[float]], label: str) -> dict[str, Any]:
    """A set dict for a report that is not in the database (compare two files)."""
    s = report["summary"]
    fault = s.get("most_frequent_fault") or {}
    return {"id": None, "label": label, "lifter": None, "recorded_at": "", "source": report["source"],
            "exercise": report["exercise"], "reps": s.get("reps"), "mean_score": s.get("mean_score"),
            "mean_hold_s": s.get("mean_hold_s"), "mean_rom": s.get("mean_rom"), "focus_title": fault.get("title"),
            "focus_cue": s.get("focus_cue"), "load_kg": None, "rpe": None, "note": None, "report_path": None,
            "report": report, "curve": curve}


def label(s: dict[str, Any]) -> str:
    if s.get("label"):
        return str(s["label"])
    return f"set {s['id']} · {s['recorded_at'][:10]}" + (f" · {s['lifter']}" if s.get("lifter") else "")


@dataclass(frozen=True)
class Fatigue:
    """Per full rep: ascent, descent (s) and ROM (deg); `notes` says when the end of the set slows or shortens."""

    index: tuple[int, ...]
    ascent_s: tuple[float | None, ...]
    descent_s: tuple[float | None, ...]
    rom: tuple[float | None, ...]
    notes: tuple[str, ...]


def _avg(xs: tuple[float | None, ...]) -> float | None:
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals else None


def fatigue(report: dict[str, Any]) -> Fatigue:
    full = [r for r in report["reps"] if not r.get("partial")]
    f = Fatigue(tuple(r["index"] for r in full), tuple(r.get("ascent_s") for r in full),
                tuple(r.get("descent_s") for r in full), tuple(r.get("rom") for r in full), ())
    n = FATIGUE_REPS
    if len(full) < 2 * n:
        return f
    notes = []
    for name, xs in (("ascent", f.ascent_s), ("descent", f.descent_s)):
        first, last = _avg(xs[:n]), _avg(xs[-n:])
        if first and last is not None and last > first * (1 + SLOWDOWN_RATIO):
            notes.append(f"the last {n} reps' {name} slowed by {100 * (last / first - 1):.0f}% "
                         f"({first:.2f} s → {last:.2f} s)")
    first, last = _avg(f.rom[:n]), _avg(f.rom[-n:])
    if first and last is not None and last < first * (1 - ROM_LOSS_RATIO):
        notes.append(f"the last {n} reps' ROM shortened by {100 * (1 - last / first):.0f}% "
                     f"({first:.0f}° → {last:.0f}°)")
    return Fatigue(f.index, f.ascent_s, f.descent_s, f.rom, tuple(notes))


def fatigue_line(report: dict[str, Any]) -> str:
    f = fatigue(report)
    if not f.index:
        return "fatigue: no full reps"

    def seq(xs: tuple[float | None, ...], spec: str) -> str:
        return " ".join("–" if x is None else format(x, spec) for x in xs)

    line = f"ascent {seq(f.ascent_s, '.1f')} s · descent {seq(f.descent_s, '.1f')} s · ROM {seq(f.rom, '.0f')}°"
    if len(f.index) < 2 * FATIGUE_REPS:
        return line + f" (fewer than {2 * FATIGUE_REPS} full reps: no fatigue note)"
    return line + (" — fatigue: " + "; ".join(f.notes) if f.notes else " — no slowdown or shortening")


def faults_by_rule(report: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """rule -> (title, full reps with a warn or fail)."""
    out: dict[str, tuple[str, int]] = {}
    for r in report["reps"]:
        if r.get("partial"):
            continue
        for c in r.get("checks", []):
            title, n = out.get(c["rule"], (c.get("title", c["rule"]), 0))
            out[c["rule"]] = (title, n + (c["verdict"] in ("warn", "fail")))
    return out


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Side by side: the summary lines, each rep's score, each rule's fault count, the deltas."""
    def num(x: Any) -> float | None:
        return float(x) if isinstance(x, int | float) else None

    rows = []
    for key, name in (("reps", "reps"), ("mean_score", "score"), ("mean_hold_s", "hold (s)"),
                      ("mean_rom", "ROM (°)")):
        va, vb = num(a.get(key)), num(b.get(key))
        rows.append((name, va, vb, None if va is None or vb is None else round(vb - va, 2)))
    la, lb = _lockout(a["report"]), _lockout(b["report"])
    rows.append(("lockout (°)", la, lb, None if la is None or lb is None else round(lb - la, 1)))
    fa, fb = faults_by_rule(a["report"]), faults_by_rule(b["report"])
    faults = [(rule, (fa.get(rule) or fb[rule])[0], fa.get(rule, ("", 0))[1], fb.get(rule, ("", 0))[1])
              for rule in dict.fromkeys([*fa, *fb])]
    scores = ([r.get("score") for r in a["report"]["reps"] if not r.get("partial")],
              [r.get("score") for r in b["report"]["reps"] if not r.get("partial")])
    return {"labels": (label(a), label(b)), "summary": rows, "faults": faults, "rep_scores": scores,
            "fatigue": (fatigue_line(a["report"]), fatigue_line(b["report"]))}


def _lockout(report: dict[str, Any]) -> float | None:
    xs: list[Any] = [(r.get("measurements") or {}).get("hip_ext_deg") for r in report["reps"] if not r.get("partial")]
    xs = [x for x in xs if x is not None]
    return round(sum(xs) / len(xs), 1) if xs else None


def aligned(curve: list[list[float]], report: dict[str, Any]) -> tuple[list[float], list[float]]:
    """A curve's times from the start of its first full rep (so two sets overlay rep on rep)."""
    full = [r for r in report["reps"] if not r.get("partial") and r.get("start_s") is not None]
    t0 = full[0]["start_s"] if full else (curve[0][0] if curve else 0.0)
    return [p[0] - t0 for p in curve], [p[1] for p in curve]


def text_overlay(curves: list[tuple[list[float], list[float]]], width: int = 64, height: int = 10) -> list[str]:
    """Curves as a character plot (A, B…; * where two meet), with the degree and time range."""
    pts = [(t, y) for t, y in curves if t]
    if not pts:
        return ["(no curve)"]
    t0, t1 = min(min(t) for t, _ in pts), max(max(t) for t, _ in pts)
    y0, y1 = min(min(y) for _, y in pts), max(max(y) for _, y in pts)
    span_y = (y1 - y0) or 1.0
    grid = [[" "] * width for _ in range(height)]
    for i, (t, y) in enumerate(curves):
        mark = "ABCDEFGH"[i % 8]
        xs = np.linspace(t0, t1, width)
        vs = np.interp(xs, t, y, left=np.nan, right=np.nan) if t else np.full(width, np.nan)
        for col, v in enumerate(vs):
            if not np.isfinite(v):
                continue
            row = height - 1 - round((v - y0) / span_y * (height - 1))
            grid[row][col] = mark if grid[row][col] in (" ", mark) else "*"
    lines = [f"{y1:5.0f}° |" + "".join(grid[0])]
    lines += ["       |" + "".join(r) for r in grid[1:-1]]
    lines += [f"{y0:5.0f}° |" + "".join(grid[-1]), "       +" + "-" * width,
              f"        {t0:.1f} s" + " " * max(1, width - 16) + f"{t1:.1f} s"]
    return lines
