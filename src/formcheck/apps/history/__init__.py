"""Training history: every set remembered in one SQLite file; progress pages; two sets compared.

Built on the JSON report dict (docs/report-schema.md); formcheck's analysis is reached only
through `record.adapt`. The entry points the other commands call:

- `record_report(report, ...)`: save one scored set (batch, live, anything with a report dict);
- `record_run(video, analysis, report, ...)`: what `formcheck VIDEO --lifter NAME` calls.

See docs/history.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from formcheck.apps.history.record import Curve, adapt, check_extras, clean_name, from_report
from formcheck.apps.history.sets import save
from formcheck.apps.history.store import Store, default_path
from formcheck.errors import ExitCode, FormcheckError

__all__ = ["Store", "check_history", "record_report", "record_run"]


def record_report(
    report: dict[str, Any], *, db: str | os.PathLike[str] | None = None, lifter: str | None = None,
    source_path: str | os.PathLike[str] | None = None, sha256: str | None = None,
    report_path: str | os.PathLike[str] | None = None, curve: Curve | None = None,
    load_kg: float | None = None, rpe: float | None = None, note: str | None = None,
    recorded_at: str | None = None, identity: str | None = None,
) -> tuple[int, bool]:
    """Save one set; the same source content (sha256) or, without it, the same report source,
    duration and frames updates that set. Returns (set id, created). Raises FormcheckError."""
    if sha256 is None and source_path is not None and os.path.isfile(source_path):
        from formcheck.util.atomic import sha256_of

        sha256 = sha256_of(source_path)
    rec = from_report(report, sha256=sha256, recorded_at=recorded_at, source_path=source_path,
                      report_path=report_path, curve=curve, lifter=lifter, load_kg=load_kg, rpe=rpe, note=note)
    if identity is not None:
        rec = replace(rec, identity=identity)
    with Store(db) as store:
        return save(store, rec)


def check_history(lifter: str | None, db: str | os.PathLike[str] | None = None, load_kg: float | None = None,
                  rpe: float | None = None, note: str | None = None) -> bool:
    """Before any work: the history options make sense and the database opens (made if missing,
    migrated; a foreign, damaged, newer or locked file fails here, not after minutes of tracking).
    False when nothing is to be recorded. Raises FormcheckError."""
    if lifter is None:
        if any(x is not None for x in (db, load_kg, rpe, note)):
            raise FormcheckError("--db, --load, --rpe and --note save the set to the history: "
                                 "they need --lifter NAME", ExitCode.USAGE)
        return False
    clean_name(lifter)
    check_extras(load_kg, rpe, note)
    Store(db).close()
    return True


def record_run(
    video: Path | None, analysis: Any, report: dict[str, Any], *, lifter: str | None, db: Path | None = None,
    load_kg: float | None = None, rpe: float | None = None, note: str | None = None,
    report_path: str | None = None, say: Callable[[str], None] | None = None, identity: str | None = None,
    recorded_at: str | None = None,
) -> int | None:
    """`formcheck VIDEO|live --lifter NAME [--load --rpe --note --db]`: save the set just scored.

    Does nothing without any of those options; the others without --lifter are a usage error.
    A clip with no hip thrust is not saved (it would only clutter the trends). `video` None (a
    camera): pass `identity` (one per session) and `recorded_at`.
    """
    if lifter is None:
        if any(x is not None for x in (db, load_kg, rpe, note)):
            raise FormcheckError("--db, --load, --rpe and --note save the set to the history: "
                                 "they need --lifter NAME", ExitCode.USAGE)
        return None
    lifter = clean_name(lifter)
    check_extras(load_kg, rpe, note)
    if report["exercise"] == "none":
        if say:
            say("formcheck: not saved to the history: no hip thrust or glute bridge in this clip")
        return None
    curve = adapt(analysis=analysis)[1] if analysis is not None else None
    set_id, created = record_report(report, db=db, lifter=lifter, source_path=video, curve=curve,
                                    report_path=report_path if report_path not in (None, "-") else None,
                                    load_kg=load_kg, rpe=rpe, note=note, identity=identity, recorded_at=recorded_at)
    if say:
        where = db if db is not None else default_path()
        say(f"formcheck: {'saved' if created else 'updated'} set {set_id} for {lifter} in the history ({where})")
    return set_id
