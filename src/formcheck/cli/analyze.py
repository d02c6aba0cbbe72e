"""`formcheck VIDEO`: score one recorded set and print the per-rep report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from formcheck.cli.common import (
    ConfigOption,
    DbOption,
    DebugOption,
    FastOption,
    LifterOption,
    LoadOption,
    ModelOption,
    NoteOption,
    QuietOption,
    RpeOption,
    check_outputs,
    err,
    escape,
    no_outputs_on_failure,
    out,
    quiet_native_stderr,
    user_errors,
    with_model_rate,
    write_stdout,
)
from formcheck.errors import ExitCode

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)

VERDICT_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "not_visible": "dim"}


@app.command(
    help=(
        "Score a recorded set of hip thrusts or glute bridges, rep by rep. VIDEO is a video file "
        "(mp4, mov, avi, webm, mkv, gif) or a pose track saved with --save-poses (.npz). "
        "Exit codes: 0 scored; 2 bad options (or an output that would replace an input, the config, "
        "the model or another output); 3 file missing or a directory; 4 not a readable "
        "video; 5 pose model missing or damaged; 6 no person or no hip thrust found (report still "
        "written); 7 an output could not be written; 130 Ctrl-C, 143 SIGTERM (nothing left); 1 internal error. "
        "Subcommands: formcheck batch | live | rules (each has --help)."
    )
)
def analyze(
    video: Annotated[Path, typer.Argument(help="Video file, or a saved pose track (.npz).", show_default=False)],
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the JSON report here ('-' = stdout).", metavar="PATH")
    ] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write one CSV row per rep.", metavar="PATH")] = None,
    save_poses: Annotated[
        Path | None, typer.Option("--save-poses", help="Save the pose track (.npz) to re-score later without video.")
    ] = None,
    annotate: Annotated[
        Path | None, typer.Option("--annotate", help="Write an annotated copy of the video (.mp4).", metavar="PATH")
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write a one-file HTML report.", metavar="PATH")] = None,
    keyframes: Annotated[
        Path | None, typer.Option("--keyframes", help="Write a PNG of each rep's top to this folder.", metavar="DIR")
    ] = None,
    fast: FastOption = None,
    config: ConfigOption = None,
    model: ModelOption = None,
    lifter: LifterOption = None,
    load: LoadOption = None,
    rpe: RpeOption = None,
    note: NoteOption = None,
    db: DbOption = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
) -> None:
    from formcheck.config import load_config
    from formcheck.pipeline.analyze import analyze_path
    from formcheck.pose.model import default_model_path
    from formcheck.report.export import build, to_json, write_csv, write_json

    outputs = {"--json": json_out, "--csv": csv_out, "--save-poses": save_poses, "--annotate": annotate, "--html": html}
    inputs = {"the --config file": config,
              **({"the --model file": model} if model is not None else {"the pose model": default_model_path()})}
    with user_errors(debug), quiet_native_stderr(not debug), no_outputs_on_failure():
        check_outputs(video, outputs, {"--keyframes": keyframes}, inputs)  # before anything is read or written
        from formcheck.apps.history import check_history, record_run

        check_history(lifter, db, load, rpe, note)  # the database opens before minutes of tracking, not after
        cfg = with_model_rate(load_config(config), fast)
        with _progress(quiet) as progress:
            analysis = analyze_path(video, cfg, model, progress)
        report = build(analysis)
        record_run(video, analysis, report, lifter=lifter, db=db, load_kg=load, rpe=rpe, note=note,
                   report_path=json_out, say=None if quiet else err.print)
        if save_poses is not None:
            analysis.track.save(save_poses)
        if json_out == "-":
            write_stdout(to_json(report))  # UTF-8, as JSON is (RFC 8259), whatever the terminal's encoding
        elif json_out:
            write_json(report, json_out)
        if csv_out is not None:
            write_csv(report, csv_out)
        if annotate is not None or keyframes is not None or html is not None:
            _visuals(video, analysis, report, annotate, keyframes, html)
        if not quiet:
            print_report(report, to_stderr=json_out == "-")
        if report["exercise"] == "none":
            raise typer.Exit(int(ExitCode.NOTHING_TO_SCORE))


def _visuals(
    video: Path, analysis: Any, report: dict[str, Any], annotate: Path | None, keyframes: Path | None, html: Path | None
) -> None:
    from formcheck.errors import FormcheckError
    from formcheck.pose.track import is_track_file

    has_video = not is_track_file(video)
    if (annotate is not None or keyframes is not None) and not has_video:
        raise FormcheckError("--annotate and --keyframes need the video, not a saved pose track", ExitCode.USAGE)
    from formcheck.report import render

    if annotate is not None:
        render.annotate_video(video, analysis, annotate)
    if keyframes is not None:
        render.write_keyframes(video, analysis, keyframes)
    if html is not None:
        from formcheck.report import html_page as html_report

        html_report.write_html(analysis, report, html, video if has_video else None, annotated=annotate)


class _progress:
    """A progress bar on a terminal; on a pipe, a line now and then for long videos."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._bar: Any = None
        self._task: Any = None
        self._last_pct = -1

    def __enter__(self) -> Any:
        if self.quiet:
            return None
        if err.is_terminal:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn("tracking"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total} frames"),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("pose", total=None)
        return self.update

    def update(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total or None)
        elif total >= 3000:
            pct = int(100 * done / total) // 25 * 25
            if pct > self._last_pct and pct < 100:
                self._last_pct = pct
                err.print(f"formcheck: tracking… {done}/{total} frames")

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)


def _fmt(x: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "–" if x is None else f"{x:{spec}}{suffix}"


def _fault(c: dict[str, Any]) -> str:
    """A fault with the value its rule judged, named ("knee 131° at the top ..."); one the tool
    is not sure of is marked "(unsure)"."""
    level = (c.get("confidence") or {}).get("level", "high")
    unsure = " [dim](unsure)[/]" if level != "high" else ""
    detail = f" [dim]— {escape(c['detail'])}[/]" if c.get("detail") else ""
    return f"[{VERDICT_STYLE[c['verdict']]}]{escape(c['title'])}[/]{detail}{unsure}"


def print_report(report: dict[str, Any], to_stderr: bool = False) -> None:
    console = err if to_stderr else out
    title = (
        f"{escape(report['source'])} · {report['exercise'].replace('_', ' ')} · {report['view'].replace('_', ' ')} view"
    )
    table = Table(show_lines=False)
    for col, just in (
        ("rep", "right"),
        ("start", "right"),
        ("top", "right"),
        ("end", "right"),
        ("hold", "right"),
        ("ROM", "right"),
        ("score", "right"),
        ("to fix", "left"),
    ):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in report["reps"]:
        faults = [c for c in r["checks"] if c["verdict"] in ("warn", "fail")]
        fix = ", ".join(_fault(c) for c in faults) or "[green]all good[/]"
        if r["partial"]:
            fix = f"[dim]partial: {escape(r['partial_reason'])}[/]"
        table.add_row(
            f"{r['index']}" + ("*" if r["partial"] else ""),
            _fmt(r["start_s"], ".1f", "s"),
            _fmt(r["top_s"], ".1f", "s"),
            _fmt(r["end_s"], ".1f", "s"),
            _fmt(r["hold_s"], ".1f", "s"),
            _fmt(r["rom"], ".0f", "°"),
            _fmt(r["score"], ".0f"),
            fix,
            style="dim" if r["partial"] else None,
        )
    s = report["summary"]
    console.print(f"[bold]{title}[/]", soft_wrap=True)
    if report["reps"]:
        console.print(table)
    for r in report["reps"]:
        for c in r["checks"]:
            conf = c.get("confidence") or {}
            if not r["partial"] and c["verdict"] in ("warn", "fail") and conf.get("level", "high") != "high":
                why = "; ".join(conf.get("reasons", []))
                console.print(f"[dim]unsure: rep {r['index']} {escape(c['title'])} — {escape(why)}[/]", soft_wrap=True)
    conf = report.get("exercise_confidence") or {}
    if report["exercise"] != "none" and conf.get("level", "high") != "high":
        why = "; ".join(conf.get("reasons", []))
        console.print(f"[dim]exercise call {conf['level']} confidence: {escape(why)}[/]", soft_wrap=True)
    for w in report["warnings"]:
        console.print(f"[yellow]note:[/] {escape(w)}", soft_wrap=True)  # one line: greppable
    if report["exercise"] == "none":
        console.print("No hip thrust or glute bridge reps found.")
        return
    line = f"[bold]{s['reps']} rep{'s' if s['reps'] != 1 else ''}[/]"
    if s["partial_reps"]:
        line += f" (+{s['partial_reps']} partial, marked *)"
    line += f" · mean score {_fmt(s['mean_score'], '.0f')}/100 · mean hold {_fmt(s['mean_hold_s'], '.1f', ' s')}"
    console.print(line)
    if s["focus_cue"]:
        fault = s["most_frequent_fault"]
        console.print(
            f"[bold]Next set, focus on:[/] {escape(fault['title'])} ({fault['reps']} reps) — {escape(s['focus_cue'])}"
        )
    elif s["reps"]:
        console.print("[green]Clean set: every visible checkpoint passed.[/]")
