"""`formcheck history import PATH…`: JSON reports and batch output folders into the history.

A batch folder (it holds `summary.csv`) gives, per input, its report, the sha256 of the input's
content and the input's path (for the date, and for `--lifter-from-folder`: the input's parent
folder name). Any other folder is searched for JSON reports (hidden folders skipped). Everything
is read and checked first, then written in one transaction: an import lands whole or not at all.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from formcheck.apps.history.record import SetRecord, check_report, clean_name, from_report
from formcheck.apps.history.sets import write_set
from formcheck.apps.history.store import Store
from formcheck.errors import ExitCode, FormcheckError

SUMMARY = "summary.csv"


@dataclass(frozen=True)
class Found:
    report_path: Path
    sha256: str | None = None
    source_path: Path | None = None  # the video or track the report was made from, if known


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int
    skipped: tuple[str, ...]  # one line per file left out, and why


def _batch(folder: Path, skipped: list[str]) -> list[Found]:
    out = []
    try:
        with open(folder / SUMMARY, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise FormcheckError(f"{folder / SUMMARY}: cannot be read ({exc})", ExitCode.NOT_FOUND) from exc
    for row in rows:
        name = row.get("name") or row.get("source") or "?"
        if row.get("status") != "ok" or not row.get("report"):
            skipped.append(f"{name}: {row.get('status') or 'no status'} in {SUMMARY}")
            continue
        out.append(Found(folder / row["report"], row.get("sha256") or None,
                         Path(row["source"]) if row.get("source") else None))
    return out


def _walk(folder: Path) -> list[Found]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Found(Path(root) / f) for f in sorted(files) if f.lower().endswith(".json") and not f.startswith(".")]
    return found


def discover(paths: list[Path]) -> tuple[list[Found], list[str]]:
    skipped: list[str] = []
    found: list[Found] = []
    for p in paths:
        if p.is_dir():
            found += _batch(p, skipped) if (p / SUMMARY).is_file() else _walk(p)
        elif p.is_file():
            found.append(Found(p))
        else:
            raise FormcheckError(f"{p}: no such file or folder", ExitCode.NOT_FOUND)
    return found, skipped


def _load(f: Found, named: bool) -> dict | None:
    try:
        obj = json.loads(f.report_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if named:
            raise FormcheckError(f"{f.report_path}: not a readable JSON report ({exc})", ExitCode.USAGE) from exc
        return None
    try:
        return check_report(obj, str(f.report_path))
    except FormcheckError:
        if named:
            raise
        return None


def import_paths(store: Store, paths: list[Path], *, lifter: str | None = None, from_folder: bool = False,
                 recorded_at: str | None = None, load_kg: float | None = None, rpe: float | None = None,
                 note: str | None = None) -> Imported:
    found, skipped = discover(paths)
    named = {os.path.abspath(p) for p in paths if p.is_file()}
    recs: list[SetRecord] = []
    for f in found:
        report = _load(f, os.path.abspath(f.report_path) in named)
        if report is None:
            skipped.append(f"{f.report_path}: not a formcheck report")
            continue
        if report["exercise"] == "none":
            skipped.append(f"{f.report_path}: no hip thrust or glute bridge")
            continue
        who = lifter
        if from_folder:
            base = f.source_path or f.report_path
            folder = base.parent.name or Path(os.path.abspath(base)).parent.name
            who = clean_name(folder, "--lifter-from-folder") if folder else lifter
        source = f.source_path if f.source_path is not None and f.source_path.is_file() else None
        recs.append(from_report(report, sha256=f.sha256, recorded_at=recorded_at, source_path=source,
                                report_path=f.report_path, lifter=who, load_kg=load_kg, rpe=rpe, note=note))

    def run(cx: object) -> tuple[int, int]:
        made = [write_set(cx, r)[1] for r in recs]  # type: ignore[arg-type]
        return sum(made), len(made) - sum(made)

    added, updated = store.write(run) if recs else (0, 0)
    return Imported(added, updated, tuple(skipped))
