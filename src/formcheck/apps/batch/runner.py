"""Batch scoring: many recorded sets into one output folder, resumable, nothing lost.

Layout of the output folder DIR:
    DIR/<name>.json (+ .csv / .html / .mp4)   the same report as `formcheck VIDEO`
    DIR/summary.csv, DIR/index.html           one row per input with its status
    DIR/.formcheck-batch/<name>.json          the record that makes a result complete

A result counts as complete only once its record is written (last, atomically) and names the
sha256 of the input and the settings key; a rerun skips exactly those, so a kill at any moment
costs at most the files in flight. The per-file function is the same for every engine
(`batch_engines`: local processes or Ray tasks), so their reports are identical. Inputs and
names: `batch_inputs`; summary.csv and index.html: `batch_summary`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from formcheck.apps.batch.engines import get_engine
from formcheck.apps.batch.inputs import TRACK_EXTS, Job, discover, make_jobs, sha256_file
from formcheck.apps.batch.records import BatchResult, OnResult, Record, Settings
from formcheck.apps.batch.summary import write_summary
from formcheck.errors import ExitCode, FormcheckError, OutputError
from formcheck.util.atomic import write_text

__all__ = ["BatchResult", "Job", "Record", "Settings", "discover", "make_jobs", "run_batch", "run_job"]

STATE_DIR = ".formcheck-batch"
DONE = frozenset({"ok", "nothing_to_score"})
# atomic_path's temp names: ".<stem>.<8 random chars><suffix>"
_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.[A-Za-z0-9]+$")

# ---- one file --------------------------------------------------------------------------------


def run_job(job: Job, s: Settings) -> Record:
    """Score one input and write its outputs, then its record; never raises for the file's faults."""
    from formcheck.pipeline.analyze import analyze_path
    from formcheck.report.export import build

    t0 = time.perf_counter()
    base: dict[str, Any] = {"name": job.name, "source": str(job.path), "settings": s.key}
    digest = ""
    try:
        digest = sha256_file(job.path)
        analysis = analyze_path(job.path, s.config, s.model)
        report = build(analysis)
        outputs, notes = _write_outputs(job, s, analysis, report)
        nothing = report["exercise"] == "none"
        rec = Record(
            **base, status="nothing_to_score" if nothing else "ok",
            code=int(ExitCode.NOTHING_TO_SCORE if nothing else ExitCode.OK),
            message="; ".join([*report["warnings"], *notes]), sha256=digest, outputs=tuple(outputs),
            exercise=report["exercise"], reps=report["summary"]["reps"],
            mean_score=report["summary"]["mean_score"], frames=report["frames"],
        )
        write_text(_record_path(s.out, job.name), json.dumps(dataclasses.asdict(rec), indent=1) + "\n")
        return dataclasses.replace(rec, seconds=round(time.perf_counter() - t0, 3))
    except FormcheckError as exc:
        rec = Record(**base, status="error", code=int(exc.code), message=str(exc), sha256=digest)
    except Exception as exc:
        rec = Record(**base, status="error", code=int(ExitCode.INTERNAL), sha256=digest,
                     message=f"internal error: {type(exc).__name__}: {exc}", detail=traceback.format_exc())
    forget(s.out, job.name)  # what is there describes other content or settings
    return dataclasses.replace(rec, seconds=round(time.perf_counter() - t0, 3))


def _write_outputs(job: Job, s: Settings, analysis: Any, report: dict[str, Any]) -> tuple[list[str], list[str]]:
    from formcheck.pose.track import is_track_file
    from formcheck.report.export import write_csv, write_json

    stem = s.out / job.name
    outputs, notes = [f"{job.name}.json"], []
    write_json(report, f"{stem}.json")
    if s.csv:
        write_csv(report, f"{stem}.csv")
        outputs.append(f"{job.name}.csv")
    video = None if is_track_file(job.path) else job.path
    if s.html:
        from formcheck.report import html_page as html_report

        html_report.write_html(analysis, report, Path(f"{stem}.html"), video)
        outputs.append(f"{job.name}.html")
    if s.annotate:
        if video is None:
            notes.append("no annotated video: the input is a pose track, not a video")
        else:
            from formcheck.report import render

            render.annotate_video(video, analysis, Path(f"{stem}.mp4"))
            outputs.append(f"{job.name}.mp4")
    return outputs, notes


def _record_path(out: Path, name: str) -> Path:
    return out / STATE_DIR / f"{name}.json"


def forget(out: Path, name: str) -> None:
    """Remove a name's record first (so it is no longer complete), then its outputs."""
    _record_path(out, name).unlink(missing_ok=True)
    for ext in (".json", ".csv", ".html", ".mp4"):
        Path(f"{out / name}{ext}").unlink(missing_ok=True)



def completed(jobs: Sequence[Job], s: Settings, workers: int = 4) -> dict[str, Record]:
    """Records of the jobs whose result is complete for the same input content and settings."""
    candidates: list[tuple[Job, Record]] = []
    for job in jobs:
        try:
            rec = Record(**json.loads(_record_path(s.out, job.name).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue
        rec = dataclasses.replace(rec, outputs=tuple(rec.outputs))
        if rec.status in DONE and rec.settings == s.key and all((s.out / o).is_file() for o in rec.outputs):
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


def clean_temps(out: Path) -> int:
    """Delete temp files a killed run left behind (complete results are never temp files)."""
    n = 0
    for root, _dirs, files in os.walk(out):
        for f in files:
            if _TEMP.match(f):
                (Path(root) / f).unlink(missing_ok=True)
                n += 1
    return n


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """One batch at a time per output folder (the lock dies with the process, even on kill -9)."""
    state = out / STATE_DIR
    try:
        state.mkdir(parents=True, exist_ok=True)
        fh = open(state / "lock", "a+")  # noqa: SIM115 (held for the whole batch)
    except OSError as exc:
        raise OutputError(f"cannot write to {out}: {exc.strerror or exc}") from exc
    try:
        try:
            import fcntl

            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # Windows: no advisory lock, run unguarded
            pass
        except OSError as exc:
            raise OutputError(f"another formcheck batch is writing to {out}; wait or choose another --out") from exc
        yield
    finally:
        fh.close()


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
    jobs = make_jobs(discover(inputs, s.out))
    with locked(s.out):
        clean_temps(s.out)
        records = completed(jobs, s, workers)
        todo = [j for j in jobs if j.name not in records]
        if any(j.path.suffix.lower() not in TRACK_EXTS for j in todo):
            from formcheck.pose.model import check_model

            check_model(s.model)  # one clear error, not one per video
        _check_writers(s)
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
            write_summary(result)
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
