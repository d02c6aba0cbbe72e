"""Reading and writing sets: save (re-score = update), list, lifters, rename, delete, export/import.

Every value from a user or a report goes in as an SQL parameter, never into the SQL text.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from typing import Any

from formcheck.apps.history.record import SetRecord, check_report, clean_name, from_report
from formcheck.apps.history.store import Store
from formcheck.errors import ExitCode, FormcheckError

EXPORT_SCHEMA = "formcheck.history"
EXPORT_VERSION = 1
DEFAULT_LIFTER = "me"  # the lifter of a set recorded or imported without one
FAULTS = ("warn", "fail")

SET_COLUMNS = (
    "sha256", "recorded_at", "scored_at", "source", "source_path", "report_path", "exercise", "view", "reps",
    "partial_reps", "mean_score", "mean_rom", "mean_hold_s", "lockout_deg", "focus_rule", "focus_title",
    "focus_cue", "report_json", "exercise_confidence", "curve_json", "curve_kind",
)


def _mean(xs: list[Any]) -> float | None:
    xs = [x for x in xs if isinstance(x, int | float)]
    return round(sum(xs) / len(xs), 1) if xs else None


def columns(rec: SetRecord) -> dict[str, Any]:
    """The set's row, from its report."""
    r, s = rec.report, rec.report["summary"]
    fault = s.get("most_frequent_fault") or {}
    full = [x for x in r["reps"] if not x.get("partial")]
    return {
        "sha256": rec.sha256, "recorded_at": rec.recorded_at, "scored_at": _now(), "source": r["source"],
        "source_path": rec.source_path, "report_path": rec.report_path, "exercise": r["exercise"],
        "view": r.get("view"), "reps": int(s.get("reps") or 0), "partial_reps": int(s.get("partial_reps") or 0),
        "mean_score": s.get("mean_score"), "mean_rom": s.get("mean_rom"), "mean_hold_s": s.get("mean_hold_s"),
        "lockout_deg": _mean([(x.get("measurements") or {}).get("hip_ext_deg") for x in full]),
        "focus_rule": fault.get("rule"), "focus_title": fault.get("title"), "focus_cue": s.get("focus_cue"),
        "report_json": json.dumps(r, ensure_ascii=False, separators=(",", ":")),
        "exercise_confidence": json.dumps(r.get("exercise_confidence")),
        "curve_json": json.dumps(rec.curve, separators=(",", ":")), "curve_kind": rec.curve_kind,
    }


def _now() -> str:
    from formcheck.apps.history.record import now

    return now()


def _lifter_id(cx: sqlite3.Connection, name: str) -> int:
    cx.execute("INSERT OR IGNORE INTO lifters(name) VALUES (?)", (name,))
    return int(cx.execute("SELECT id FROM lifters WHERE name = ?", (name,)).fetchone()[0])


def write_set(cx: sqlite3.Connection, rec: SetRecord) -> tuple[int, bool]:
    """Inside a transaction: insert the set, or update the one with the same identity. (id, created)."""
    cols = columns(rec)
    old = cx.execute("SELECT id, recorded_at FROM sets WHERE identity = ?", (rec.identity,)).fetchone()
    if old is None:
        cols |= {"identity": rec.identity, "lifter_id": _lifter_id(cx, rec.lifter or DEFAULT_LIFTER),
                 "load_kg": rec.load_kg, "rpe": rec.rpe, "note": rec.note}
        names = ", ".join(cols)
        marks = ", ".join(f":{k}" for k in cols)
        set_id = int(cx.execute(f"INSERT INTO sets ({names}) VALUES ({marks})", cols).lastrowid or 0)
        created = True
    else:
        set_id, created = int(old[0]), False
        if not rec.date_given:
            cols["recorded_at"] = min(old[1], rec.recorded_at)
        for key in ("source_path", "report_path", "sha256"):  # a re-score from a bare report keeps them
            if cols[key] is None:
                del cols[key]
        assign = ", ".join(f"{k} = :{k}" for k in cols if k not in ("curve_json", "curve_kind"))
        # a curve drawn from the report's reps never replaces one measured on the track
        keep = "curve_kind = 'measured' AND :curve_kind = 'from_reps'"
        assign += (f", curve_json = CASE WHEN {keep} THEN curve_json ELSE :curve_json END"
                   f", curve_kind = CASE WHEN {keep} THEN curve_kind ELSE :curve_kind END")
        extras = ", ".join(f"{k} = coalesce(:{k}, {k})" for k in ("load_kg", "rpe", "note"))
        lifter = ", lifter_id = :lifter_id" if rec.lifter else ""
        params = cols | {"id": set_id, "load_kg": rec.load_kg, "rpe": rec.rpe, "note": rec.note}
        if rec.lifter:
            params["lifter_id"] = _lifter_id(cx, rec.lifter)
        cx.execute(f"UPDATE sets SET {assign}, {extras}{lifter} WHERE id = :id", params)
        cx.execute("DELETE FROM checks WHERE set_id = ?", (set_id,))
        cx.execute("DELETE FROM reps WHERE set_id = ?", (set_id,))
    for r in rec.report["reps"]:
        m = r.get("measurements") or {}
        cx.execute(
            "INSERT INTO reps (set_id, idx, partial, start_s, top_s, end_s, hold_s, rom, ascent_s, descent_s, "
            "hip_ext_deg, score, confidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (set_id, r["index"], int(bool(r.get("partial"))), r.get("start_s"), r.get("top_s"), r.get("end_s"),
             r.get("hold_s"), r.get("rom"), r.get("ascent_s"), r.get("descent_s"), m.get("hip_ext_deg"),
             r.get("score"), json.dumps(r.get("confidence"))),
        )
        cx.executemany(
            "INSERT OR REPLACE INTO checks (set_id, rep_idx, rule, title, verdict, value) VALUES (?, ?, ?, ?, ?, ?)",
            [(set_id, r["index"], c["rule"], c.get("title", c["rule"]), c["verdict"], c.get("value"))
             for c in r.get("checks", [])],
        )
    cx.execute("DELETE FROM lifters WHERE id NOT IN (SELECT lifter_id FROM sets)")  # a set moved away
    return set_id, created


def save(store: Store, rec: SetRecord) -> tuple[int, bool]:
    return store.write(lambda cx: write_set(cx, rec))


_SELECT = "SELECT s.*, l.name AS lifter FROM sets s JOIN lifters l ON l.id = s.lifter_id"


def _row(row: sqlite3.Row) -> dict[str, Any]:
    d = dict(row)
    d["report"] = json.loads(d.pop("report_json"))
    d["curve"] = json.loads(d.pop("curve_json") or "[]")
    d["exercise_confidence"] = json.loads(d["exercise_confidence"] or "null")
    return d


def list_sets(store: Store, lifter: str | None = None) -> list[dict[str, Any]]:
    """Every set (of one lifter), oldest first, each with its report and curve."""
    if lifter is None:
        rows = store.query(f"{_SELECT} ORDER BY s.recorded_at, s.id")
    else:
        rows = store.query(f"{_SELECT} WHERE l.name = ? ORDER BY s.recorded_at, s.id", (_known(store, lifter),))
    return [_row(r) for r in rows]


def get_set(store: Store, set_id: int) -> dict[str, Any]:
    rows = store.query(f"{_SELECT} WHERE s.id = ?", (set_id,))
    if not rows:
        raise FormcheckError(f"no set {set_id} in {store.path}; `formcheck history` lists them", ExitCode.USAGE)
    return _row(rows[0])


def lifters(store: Store) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT l.name, count(s.id) AS sets, min(s.recorded_at) AS first, max(s.recorded_at) AS last "
        "FROM lifters l LEFT JOIN sets s ON s.lifter_id = l.id GROUP BY l.id ORDER BY l.name")
    return [dict(r) for r in rows]


def _known(store: Store, name: str) -> str:
    name = clean_name(name) or ""
    if not store.query("SELECT 1 FROM lifters WHERE name = ?", (name,)):
        known = ", ".join(x["name"] for x in lifters(store)) or "none yet"
        raise FormcheckError(f"no lifter {name!r} in {store.path} (lifters: {known})", ExitCode.USAGE)
    return name


def rename(store: Store, old: str, new: str) -> None:
    old, new = _known(store, old), clean_name(new, "NEW") or ""
    if old == new:
        return
    if store.query("SELECT 1 FROM lifters WHERE name = ?", (new,)):
        raise FormcheckError(f"lifter {new!r} exists already; delete or rename it first", ExitCode.USAGE)
    store.write(lambda cx: cx.execute("UPDATE lifters SET name = ? WHERE name = ?", (new, old)))


def delete_set(store: Store, set_id: int) -> None:
    get_set(store, set_id)

    def run(cx: sqlite3.Connection) -> None:
        cx.execute("DELETE FROM sets WHERE id = ?", (set_id,))
        cx.execute("DELETE FROM lifters WHERE id NOT IN (SELECT lifter_id FROM sets)")

    store.write(run)


def delete_lifter(store: Store, name: str) -> int:
    name = _known(store, name)

    def run(cx: sqlite3.Connection) -> int:
        n = cx.execute("DELETE FROM sets WHERE lifter_id = (SELECT id FROM lifters WHERE name = ?)", (name,)).rowcount
        cx.execute("DELETE FROM lifters WHERE name = ?", (name,))
        return int(n)

    return store.write(run)


_EXPORTED = ("id", "lifter", "identity", "sha256", "recorded_at", "source_path", "report_path", "load_kg", "rpe",
             "note", "curve", "curve_kind", "report")


def export(store: Store) -> dict[str, Any]:
    sets = [{k: s[k] for k in _EXPORTED} for s in list_sets(store)]
    return {"schema": EXPORT_SCHEMA, "schema_version": EXPORT_VERSION, "db_schema": store.version, "sets": sets}


def import_export(store: Store, data: Any, where: str) -> tuple[int, int]:
    """Merge an export into the store (same identity = the same set, updated). (added, updated)."""
    if not isinstance(data, dict) or data.get("schema") != EXPORT_SCHEMA or not isinstance(data.get("sets"), list):
        raise FormcheckError(f"{where}: not a formcheck history export (no \"schema\": \"{EXPORT_SCHEMA}\")",
                             ExitCode.USAGE)
    if data.get("schema_version") != EXPORT_VERSION:
        raise FormcheckError(f"{where}: export schema_version {data.get('schema_version')!r} is not "
                             f"{EXPORT_VERSION}; import it with the formcheck that wrote it", ExitCode.USAGE)
    recs = []
    for i, s in enumerate(data["sets"]):
        try:
            report = check_report(s.get("report"), f"{where}: set {i + 1}")
            rec = from_report(report, sha256=s.get("sha256"), recorded_at=s["recorded_at"], curve=s.get("curve"),
                              lifter=s.get("lifter"), load_kg=s.get("load_kg"), rpe=s.get("rpe"), note=s.get("note"))
        except (KeyError, TypeError, AttributeError) as exc:
            raise FormcheckError(f"{where}: set {i + 1} is incomplete ({exc})", ExitCode.USAGE) from exc
        recs.append(replace(rec, identity=s.get("identity") or rec.identity, source_path=s.get("source_path"),
                            report_path=s.get("report_path"), curve_kind=s.get("curve_kind") or rec.curve_kind))

    def run(cx: sqlite3.Connection) -> tuple[int, int]:  # all or nothing
        made = [write_set(cx, rec)[1] for rec in recs]
        return sum(made), len(made) - sum(made)

    return store.write(run)


def fault_counts(sets: list[dict[str, Any]]) -> dict[str, tuple[str, int, int]]:
    """rule -> (title, full reps with that fault, full reps where it was visible), over the sets."""
    out: dict[str, list[Any]] = {}
    for s in sets:
        for r in s["report"]["reps"]:
            if r.get("partial"):
                continue
            for c in r.get("checks", []):
                if c["verdict"] == "not_visible":
                    continue
                row = out.setdefault(c["rule"], [c.get("title", c["rule"]), 0, 0])
                row[1] += c["verdict"] in FAULTS
                row[2] += 1
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}
