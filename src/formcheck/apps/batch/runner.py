"""Batch scoring: many recorded sets into one output folder, resumable, nothing lost.

Layout of the output folder DIR:
    DIR/<name>.json (+ .csv / .html / .mp4)   the same report as `formcheck VIDEO`
    DIR/summary.csv, DIR/index.html           one row per input with its status
    DIR/.formcheck-batch/<name>.json          the record of a name: what was written, complete or not
    DIR/.formcheck-batch/overview.sha256      the same for summary.csv and index.html
    DIR/.formcheck-batch/tmp/                 temp files while writing (removed by the next run)

A result counts as complete only once its record is written (last, atomically) with status ok
and names the sha256 of the input and the settings key; a rerun skips exactly those, so a kill
at any moment costs at most the files in flight. The per-file function is the same for every
engine (`batch_engines`: local processes or Ray tasks), so their reports are identical. Inputs
and names: `batch_inputs`; summary.csv and index.html: `batch_summary`; one file's analysis and
outputs: `files`, from the pose track cached in STATE_DIR/tracks when there is one (`tracks`: new
outputs or thresholds on a finished batch never re-run the model).

Delete policy: the batch writes only into a folder that is new, empty or made by a batch
(`check_out`), and it replaces or deletes a file there only while the file's content is one it
wrote: each output's sha256 is in its record (`atomic.Ledger`) before the output gets its name.
Its temp files live in its own folder; nothing else in DIR is ever touched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from formcheck.apps.batch.engines import get_engine
from formcheck.apps.batch.files import analyse, faults_of, planned, write_outputs
from formcheck.apps.batch.inputs import (
    STATE_DIR,
    TRACK_EXTS,
    Job,
    check_out,
    check_overlap,
    clean_temps,
    discover,
    locked,
    make_jobs,
    own_files,
    sha256_file,
)
from formcheck.apps.batch.records import BatchResult, OnResult, Record, Settings
from formcheck.apps.batch.summary import OVERVIEW, overview_ledger, write_summary
from formcheck.errors import ExitCode, FormcheckError, OutputError
from formcheck.util.atomic import Ledger, staged, write_text

__all__ = ["STATE_DIR", "BatchResult", "Job", "Record", "Settings", "discover", "make_jobs", "run_batch", "run_job"]

DONE = frozenset({"ok", "nothing_to_score"})

# ---- one file --------------------------------------------------------------------------------


def run_job(job: Job, s: Settings) -> Record:
    """Score one input and write its outputs, then its record; never raises for the file's faults."""
    from formcheck.report.export import build

    t0 = time.perf_counter()
    base: dict[str, Any] = {"name": job.name, "source": str(job.path), "settings": s.key}
    digest = ""
    ledger = _job_ledger(job, s)
    try:
        ledger.check(planned(job, s))  # a file of someone else's in the way: fail now, before any work
        digest = sha256_file(job.path)
        analysis, cached = analyse(job, s, digest)
        report = build(analysis)
        with staged(ledger.stage()):
            outputs, notes, thumb = write_outputs(job, s, analysis, report)
        ledger.discard(keep=outputs)  # this name's own outputs from other settings (a CSV no longer asked for)
        ledger.settle(outputs)
        unsaved = _to_history(job, s, report, digest, analysis) if s.records_history else []
        nothing = report["exercise"] == "none"
        summary = report["summary"]
        rec = Record(
            **base, status="nothing_to_score" if nothing else "ok",
            code=int(ExitCode.NOTHING_TO_SCORE if nothing else ExitCode.OK),
            message="; ".join([*report["warnings"], *notes]), sha256=digest, outputs=tuple(outputs),
            exercise=report["exercise"], reps=summary["reps"],
            mean_score=summary["mean_score"], frames=report["frames"], owned=ledger.pairs(),
            focus_title=(summary["most_frequent_fault"] or {}).get("title", "") if summary["focus_cue"] else "",
            focus_cue=summary["focus_cue"] or "", faults=faults_of(report), thumb=thumb, from_cache=cached,
        )
        _write_record(s, rec)  # without the history note: a rerun saves the set again (it is reused)
        return dataclasses.replace(rec, message="; ".join(m for m in (rec.message, *unsaved) if m),
                                   seconds=round(time.perf_counter() - t0, 3))
    except FormcheckError as exc:
        rec = Record(**base, status="error", code=int(exc.code), message=str(exc), sha256=digest)
    except Exception as exc:
        rec = Record(**base, status="error", code=int(ExitCode.INTERNAL), sha256=digest,
                     message=f"internal error: {type(exc).__name__}: {exc}", detail=traceback.format_exc())
    with contextlib.suppress(OSError, FormcheckError):
        _forget(job, s, ledger)  # what is there describes other content or settings
    return dataclasses.replace(rec, seconds=round(time.perf_counter() - t0, 3))


def _lifter_of(job: Job, s: Settings) -> str | None:
    """--lifter-from-folder: the input's parent folder name (`clients/ana/week3.mp4` -> ana)."""
    if s.lifter_from_folder:
        from formcheck.apps.history.record import clean_name

        folder = Path(os.path.abspath(job.path)).parent.name
        if folder:
            return clean_name(folder, "--lifter-from-folder")
    return s.lifter


def _to_history(job: Job, s: Settings, report: dict[str, Any], digest: str, analysis: Any = None,
                store: Any = None) -> list[str]:
    """Save the set to the training history (the same set again = updated, not added): [] or one
    note. A locked, damaged or foreign database costs the note, never the file's result."""
    if report.get("exercise") == "none":
        return []
    import sqlite3

    from formcheck.apps.history import record_report
    from formcheck.apps.history.record import adapt, from_report
    from formcheck.apps.history.sets import save

    try:
        lifter = _lifter_of(job, s)
        json_report = s.out / f"{job.name}.json"
        if store is None:
            curve = adapt(analysis=analysis)[1] if analysis is not None else None
            record_report(report, db=s.db, lifter=lifter, source_path=job.path, sha256=digest or None,
                          report_path=json_report, curve=curve)
        else:
            save(store, from_report(report, sha256=digest or None, source_path=job.path, report_path=json_report,
                                    lifter=lifter))
    except (FormcheckError, OSError, sqlite3.Error) as exc:
        return [f"not saved to the history: {exc}"]
    return []


def _reused_to_history(jobs: Sequence[Job], records: dict[str, Record], s: Settings) -> None:
    """Results complete from an earlier run go to the history too (a batch rerun with --lifter
    after one without); saving is idempotent, so a rerun adds nothing twice. The measured curve
    of a set already saved is kept (the report alone only gives a curve through the reps)."""
    from formcheck.apps.history import Store

    by_name = {j.name: j for j in jobs}
    todo = [r for r in records.values() if r.status == "ok" and r.outputs]
    if not todo:
        return
    store: Any = None
    failed = ""
    try:
        store = Store(s.db)
    except FormcheckError as exc:
        failed = f"not saved to the history: {exc}"
    try:
        for rec in todo:
            notes = [failed] if failed else []
            if not failed:
                try:
                    report = json.loads((s.out / rec.outputs[0]).read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    notes = [f"not saved to the history: its report cannot be read ({exc})"]
                else:
                    notes = _to_history(by_name[rec.name], s, report, rec.sha256, store=store)
                    if notes and "locked" in notes[0]:
                        failed = notes[0]  # do not wait again for every remaining file
            if notes:
                records[rec.name] = dataclasses.replace(rec, message="; ".join(m for m in (rec.message, *notes) if m))
    finally:
        if store is not None:
            store.close()


def _record_path(out: Path, name: str) -> Path:
    return out / STATE_DIR / f"{name}.json"


def _read_record(path: Path) -> Record | None:
    try:
        rec = Record(**json.loads(path.read_text(encoding="utf-8")))
        return dataclasses.replace(rec, outputs=tuple(rec.outputs), owned=tuple((str(a), str(b)) for a, b in rec.owned))
    except (OSError, ValueError, TypeError):
        return None


def _write_record(s: Settings, rec: Record) -> None:
    write_text(_record_path(s.out, rec.name), json.dumps(dataclasses.asdict(rec), indent=1) + "\n",
               temp_dir=s.temp_dir)


def _job_ledger(job: Job, s: Settings) -> Ledger:
    """What earlier runs wrote for this name; saved as a `writing` record before each new output."""
    prev = _read_record(_record_path(s.out, job.name))

    def save(ledger: Ledger) -> None:
        _write_record(s, Record(job.name, str(job.path), "writing", int(ExitCode.INTERRUPTED),
                                "being written, or interrupted", settings=s.key, owned=ledger.pairs()))

    return Ledger(s.out, prev.owned if prev else (), save, s.temp_dir)


def _forget(job: Job, s: Settings, ledger: Ledger) -> None:
    """A failed name: mark its record incomplete, delete the outputs the batch wrote for it (only
    those, and only while unchanged), then drop the record."""
    if ledger.shas:
        ledger.save()
        ledger.discard()
    _record_path(s.out, job.name).unlink(missing_ok=True)



def completed(jobs: Sequence[Job], s: Settings, workers: int = 4) -> dict[str, Record]:
    """Records of the jobs whose result is complete for the same input content and settings."""
    candidates: list[tuple[Job, Record]] = []
    for job in jobs:
        rec = _read_record(_record_path(s.out, job.name))
        if (rec is not None and rec.status in DONE and rec.settings == s.key
                and all((s.out / o).is_file() for o in rec.outputs)):
            candidates.append((job, rec))

    def digest(job: Job) -> str:
        try:
            return sha256_file(job.path)
        except FormcheckError:
            return ""

    with ThreadPoolExecutor(max(1, workers)) as pool:  # hashlib releases the GIL
        digests = list(pool.map(digest, [j for j, _ in candidates]))
    return {
        job.name: dataclasses.replace(rec, source=str(job.path), reused=True, seconds=0.0)
        for (job, rec), d in zip(candidates, digests, strict=True) if d == rec.sha256
    }


def _protected(jobs: Sequence[Job], s: Settings) -> list[tuple[str, Path]]:
    from formcheck.pose.model import default_model_path

    files = [("the input", j.path) for j in jobs]
    if s.config_file is not None:
        files.append(("the --config file", s.config_file))
    files.append(("the model", s.model if s.model is not None else default_model_path()))
    return files


# ---- the batch -------------------------------------------------------------------------------


def run_batch(
    inputs: Sequence[str | os.PathLike[str]],
    s: Settings,
    engine: str = "local",
    workers: int | None = None,
    address: str | None = None,
    on_plan: Callable[[int, int], None] | None = None,  # (already complete, to run)
    on_result: OnResult | None = None,
    job_fn: Callable[[Job, Settings], Record] = run_job,
) -> BatchResult:
    """Discover, skip what is complete, run the rest on `engine`, write summary.csv and index.html.

    KeyboardInterrupt propagates after the summary is written (unfinished files: `not_done`).
    """
    run = get_engine(engine)  # an unknown or missing engine fails before any work
    workers = max(1, workers or os.cpu_count() or 1)
    check_out(s.out)  # a folder of other files (`.`, `~`, the videos' own) is refused
    jobs = make_jobs(discover(inputs, s.out, own_files(s.out)))
    check_overlap(s.out, [*(o for j in jobs for o in planned(j, s)), *OVERVIEW], _protected(jobs, s))
    with locked(s.out):
        clean_temps(s.out)
        overview = overview_ledger(s.out, s.temp_dir)
        try:
            overview.check(OVERVIEW)
        except OutputError as exc:
            raise FormcheckError(str(exc), ExitCode.USAGE) from None
        records = completed(jobs, s, workers)
        todo = [j for j in jobs if j.name not in records]
        if any(j.path.suffix.lower() not in TRACK_EXTS for j in todo):
            from formcheck.pose.model import check_model

            check_model(s.model)  # one clear error, not one per video
        _check_writers(s)
        if s.records_history:
            from formcheck.apps.history import Store

            Store(s.db).close()  # a foreign, damaged or newer database: one error before any work
            _reused_to_history(jobs, records, s)
        if on_plan is not None:
            on_plan(len(records), len(todo))
        if on_result is not None:
            for rec in records.values():
                on_result(rec)

        def done(rec: Record) -> None:
            records[rec.name] = rec
            if on_result is not None:
                on_result(rec)

        interrupted = False
        try:
            if todo:  # (a Ray start costs seconds: not for nothing)
                run(_largest_first(todo), s, job_fn, done, workers=workers, address=address)
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            rows = tuple(records.get(j.name) or Record(j.name, str(j.path), "not_done", int(ExitCode.INTERRUPTED),
                                                       "interrupted before this file was scored") for j in jobs)
            result = BatchResult(rows, s.out, interrupted)
            write_summary(result, overview)
    return result


def _largest_first(jobs: list[Job]) -> list[Job]:
    """Start the biggest files first, so no worker is left with a long one while the others idle."""

    def size(job: Job) -> int:
        try:
            return job.path.stat().st_size
        except OSError:
            return 0

    return sorted(jobs, key=size, reverse=True)


def _check_writers(s: Settings) -> None:
    """Import the optional writers once, here, so a broken install is one error, not one per file."""
    import importlib

    for flag, module in ((s.html, "formcheck.report.html_page"), (s.annotate, "formcheck.report.render")):
        if flag:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                raise FormcheckError(f"{module} cannot be loaded ({exc})", ExitCode.INTERNAL) from exc
