"""`formcheck batch PATH... --out DIR`: score many recorded sets, in parallel, resumably."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from formcheck.cli.common import (
    ConfigOption,
    DebugOption,
    FastOption,
    ModelOption,
    QuietOption,
    err,
    escape,
    fail,
    quiet_native_stderr,
    sigterm_raises,
    user_errors,
    with_model_rate,
)
from formcheck.errors import ExitCode, Terminated
from formcheck.util.text import plural

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)

STATUS_STYLE = {"ok": "green", "nothing_to_score": "yellow", "error": "red"}


@app.command(
    help=(
        "Score every recorded set in PATHs (video files, pose tracks .npz, folders searched recursively, "
        "or globs) into DIR: a JSON report per file (plus CSV/HTML/annotated video on request), "
        "DIR/summary.csv and DIR/index.html. Rerunning the same command resumes: files already scored "
        "with the same content and settings are skipped. "
        "Exit codes: 0 every file scored (files with no person or no hip thrust count as scored); "
        "9 some files failed (see summary.csv; the others were scored); 2 bad options, --engine ray "
        "without Ray, or a DIR that holds files batch did not write (it writes only into a new or empty "
        "folder, or one it made, and never replaces or deletes other files), or an output on an input; "
        "3 no input found; 5 pose model missing or damaged; 7 DIR cannot be written; "
        "130 interrupted (rerun to resume); 1 internal error."
    )
)
def batch(
    paths: Annotated[list[str], typer.Argument(help="Videos, .npz tracks, folders or globs.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.", metavar="DIR", file_okay=False)],
    workers: Annotated[
        int | None, typer.Option("--workers", "-j", min=1, help="Files scored at once (default: the CPU cores).")
    ] = None,
    engine: Annotated[
        str | None, typer.Option("--engine", help="local (processes on this machine) or ray.", metavar="NAME")
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="Ray cluster to use (implies --engine ray); default: a local Ray.",
                     metavar="ADDR"),
    ] = None,
    csv: Annotated[bool, typer.Option("--csv", help="Also write DIR/<name>.csv (one row per rep).")] = False,
    html: Annotated[bool, typer.Option("--html", help="Also write DIR/<name>.html reports.")] = False,
    annotate: Annotated[bool, typer.Option("--annotate", help="Also write annotated videos DIR/<name>.mp4.")] = False,
    lifter: Annotated[str | None, typer.Option("--lifter", help="Save every scored set to this lifter's training "
                                               "history (formcheck history).", metavar="NAME")] = None,
    lifter_from_folder: Annotated[bool, typer.Option(
        "--lifter-from-folder", help="Save each set to the history, its lifter the input's folder name "
                                     "(clients/ana/week3.mp4 -> ana; --lifter for files without one).")] = False,
    db: Annotated[Path | None, typer.Option("--db", help="With --lifter/--lifter-from-folder: the history "
                                                         "database.", metavar="PATH")] = None,
    fast: FastOption = None,
    config: ConfigOption = None,
    model: ModelOption = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    from formcheck.apps.batch.runner import Settings, run_batch
    from formcheck.config import load_config

    engine = engine or ("ray" if ray_address else "local")
    view = _View(quiet, debug)
    with user_errors(debug), quiet_native_stderr(not debug):
        cfg = with_model_rate(load_config(config), fast)
        settings = Settings.create(out, cfg, model, csv, html, annotate, config_file=config,
                                   lifter=lifter, lifter_from_folder=lifter_from_folder, db=db)
        try:
            with sigterm_raises(), view:
                result = run_batch(paths, settings, engine, workers, ray_address, view.plan, view.result)
        except KeyboardInterrupt as exc:
            how, code = (("terminated (SIGTERM)", ExitCode.TERMINATED) if isinstance(exc, Terminated)
                         else ("interrupted", ExitCode.INTERRUPTED))
            raise fail(f"{how} after {view.done} of {view.todo} files; rerun the same command to resume "
                       f"(summary so far: {out / 'summary.csv'})", code) from None
    if not quiet:
        labels = {"ok": "scored", "nothing_to_score": "nothing to score", "error": "failed"}
        counts = [f"{result.count(s)} {label}" for s, label in labels.items()]
        reused = sum(r.reused for r in result.records)
        cached = sum(r.from_cache and not r.reused for r in result.records)
        err.print(f"{plural(len(result.records), 'file')}: {', '.join(c for c in counts if not c.startswith('0 '))}"
                  + (f" ({reused} already done, skipped)" if reused else "")
                  + (f" ({cached} from their cached pose tracks, without the model)" if cached else "")
                  + f" · {escape(str(out / 'summary.csv'))} · {escape(str(out / 'index.html'))}", soft_wrap=True)
        if settings.records_history:
            saved = [r for r in result.records if r.status == "ok" and "not saved to the history" not in r.message]
            missed = result.count("ok") - len(saved)
            err.print(f"formcheck: {len(saved)} sets saved to the history ({escape(str(settings.db))})"
                      + (f"; {missed} could not be (see summary.csv)" if missed else ""), soft_wrap=True)
    raise typer.Exit(int(result.exit_code))


class _View:
    """Progress bar with ETA on a terminal; on a pipe, one line per file. Failures always shown."""

    def __init__(self, quiet: bool, debug: bool) -> None:
        self.quiet, self.debug = quiet, debug
        self.todo = self.done = 0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _View:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def plan(self, reused: int, todo: int) -> None:
        self.todo = todo
        if self.quiet:
            return
        if reused:
            err.print(f"formcheck: {plural(reused, 'file')} already scored with these settings, skipped; {todo} to do")
        if err.is_terminal and todo:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TextColumn("files · ETA"),
                                 TimeRemainingColumn(), TextColumn("{task.description}"), console=err, transient=True)
            self._bar.start()
            self._task = self._bar.add_task("", total=todo)

    def result(self, rec: Any) -> None:
        if rec.reused:
            return
        self.done += 1
        if rec.failed or (not self.quiet and self._bar is None):
            style = STATUS_STYLE.get(rec.status, "")
            what = rec.message if rec.failed else _describe(rec)
            err.print(f"[{self.done}/{self.todo}] [{style}]{rec.status}[/] {escape(rec.name)}: {escape(what)}",
                      soft_wrap=True)
            if self.debug and rec.detail:
                err.print(escape(rec.detail), soft_wrap=True)
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=escape(rec.name))


def _describe(rec: Any) -> str:
    if rec.status == "nothing_to_score":
        return rec.message or "no hip thrust or glute bridge found"
    score = "" if rec.mean_score is None else f", mean score {rec.mean_score:.0f}"
    cached = " (from the cached pose track)" if rec.from_cache else ""
    return f"{rec.exercise.replace('_', ' ')}, {plural(rec.reps or 0, 'rep')}{score}{cached}"

