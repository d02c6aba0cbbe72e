"""`formcheck live`: count and coach in real time from a camera, a video file or a stream.

A thin shell: the options, then each rep and the set-up check's advice on stderr, and the
outputs when the set ends. The session, the window, the recording are `formcheck.apps.live`;
what the window shows is drawn by `formcheck.report.live_overlay`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from formcheck.cli.common import (
    ConfigOption,
    DbOption,
    DebugOption,
    LifterOption,
    LoadOption,
    ModelOption,
    NoteOption,
    QuietOption,
    RpeOption,
    err,
    escape,
    out,
    quiet_native_stderr,
    user_errors,
    write_stdout,
)
from formcheck.errors import ExitCode, FormcheckError

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command(
    help=(
        "Count and coach a set in real time. Reads a camera (--camera N, default 0), a video file "
        "played in real time, or a network stream (--source PATH|URL); processes the newest frame and "
        "drops stale ones. A set-up check over the first seconds says what to fix (feet out of frame, "
        "camera not side-on, too far, too dark). Window keys: q quit, r reset the set, space pause, "
        "f full screen. The set ends on q, when the "
        "source ends, or after --idle seconds without a rep; then the same JSON/HTML report as "
        "`formcheck VIDEO` is written if asked. Exit codes: 0 set recorded; 2 bad options or no display "
        "(use --no-window); 3 file missing; 4 not a readable video; 5 pose model missing or damaged; "
        "6 no hip thrust found (report still written); 7 an output could not be written; 8 the camera "
        "or stream could not be opened; 1 internal error."
    )
)
def live(
    camera: Annotated[int | None, typer.Option("--camera", help="Camera index (default 0).", metavar="N")] = None,
    source: Annotated[
        str | None,
        typer.Option("--source", help="A video file or a stream URL instead of a camera.", metavar="PATH|URL"),
    ] = None,
    no_window: Annotated[bool, typer.Option("--no-window", help="Headless: no window, reps on stderr.")] = False,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the JSON report here ('-' = stdout).", metavar="PATH")
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write a one-file HTML report.", metavar="PATH")] = None,
    voice: Annotated[bool, typer.Option("--voice", help="Speak each rep's cue (offline: pyttsx3, espeak-ng).")] = False,
    stats: Annotated[bool, typer.Option("--stats", help="Show processing fps and latency.")] = False,
    idle: Annotated[
        float,
        typer.Option("--idle", min=0, help="End the set after this many seconds without a rep (0 = never).",
                     metavar="SECONDS"),
    ] = 20.0,
    no_pacing: Annotated[
        bool, typer.Option("--no-pacing", help="Files only: every frame, as fast as possible (not in real time).")
    ] = False,
    old_fast: Annotated[bool, typer.Option("--fast", hidden=True, help="The old name of --no-pacing.")] = False,
    lifter: LifterOption = None,
    load: LoadOption = None,
    rpe: RpeOption = None,
    note: NoteOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    model: ModelOption = None,
    quiet: QuietOption = False,
    debug: DebugOption = False,
    fullscreen: Annotated[
        bool, typer.Option("--fullscreen", help="Open the window full screen (key f toggles).")
    ] = False,
    no_setup_check: Annotated[
        bool, typer.Option("--no-setup-check", help="Skip the set-up check (framing, view, distance, light).")
    ] = False,
    record: Annotated[
        Path | None,
        typer.Option("--record", help="Save the session's video (.mp4), to re-score with `formcheck PATH` or share.",
                     metavar="PATH"),
    ] = None,
    record_overlay: Annotated[
        bool, typer.Option("--record-overlay", help="Record what the window shows (default: the camera's frames).")
    ] = False,
    snapshot: Annotated[Path | None, typer.Option("--snapshot", hidden=True, help="Save the last overlay.")] = None,
) -> None:
    with user_errors(debug), quiet_native_stderr(not debug):
        if camera is not None and source is not None:
            raise FormcheckError("give either --camera or --source, not both", ExitCode.USAGE)
        if old_fast:  # 0.1's name; `formcheck VIDEO --fast` now means the model at 10 Hz
            err.print("formcheck: live --fast is now --no-pacing (--fast is the 10 Hz model of formcheck VIDEO)")
        fast = no_pacing or old_fast
        if fast and source is None:
            raise FormcheckError("--no-pacing needs --source (a camera cannot go faster than real time)",
                                 ExitCode.USAGE)
        from formcheck.apps.history import check_history
        from formcheck.apps.history.record import now

        history: dict[str, Any] = {"lifter": lifter, "db": db, "load_kg": load, "rpe": rpe, "note": note}
        keep = check_history(**history)  # before the camera opens: a bad database is known now
        if record_overlay and record is None:
            raise FormcheckError("--record-overlay needs --record PATH", ExitCode.USAGE)
        if record is not None:
            from formcheck.apps.live.recorder import check_path

            check_path(record)  # before the camera opens: a name that cannot be written is known now
        screen = Screen(not no_window, fullscreen, not no_setup_check, record, record_overlay, snapshot)
        code = _run(camera, source, screen, json_out, html, voice, stats, idle, fast, config, model, quiet,
                    history | {"recorded_at": now()} if keep else None)  # fmt: skip
    if code:
        raise typer.Exit(code)


@dataclass(frozen=True)
class Screen:
    """What the session shows and keeps besides the report."""

    window: bool
    fullscreen: bool = False
    setup_check: bool = True
    record: Path | None = None
    record_overlay: bool = False
    snapshot: Path | None = None


def _run(camera: int | None, source: str | None, screen: Screen, json_out: str | None, html: Path | None,
         voice: bool, stats: bool, idle: float, fast: bool, config: Path | None, model: Path | None,
         quiet: bool, history: dict[str, Any] | None = None) -> int:  # fmt: skip
    """The session, then its outputs; the exit code (NOTHING_TO_SCORE when no thrust was found)."""
    from formcheck.apps.live import LiveConfig, LiveSession, open_source, run
    from formcheck.apps.live.recorder import Recorder
    from formcheck.apps.live.window import Window
    from formcheck.config import load_config
    from formcheck.pose.model import PoseEstimator
    from formcheck.report.live_overlay import LiveView

    cfg = load_config(config)
    v = cfg.video
    src = open_source(camera, source, v.max_side, pace=not fast)
    speaker = _voice() if voice else None
    win = Window(src, screen.fullscreen) if screen.window else None  # before the model: no display, no wait
    info = src.info
    session = LiveSession(cfg, LiveConfig(idle_s=idle), info.width, info.height, info.name, info.fps,
                          setup_check=screen.setup_check)  # fmt: skip
    view = LiveView(info.width) if win is not None or screen.record_overlay or screen.snapshot else None
    last: list[Any] = [None, None, None]  # frame, state, stats: for --snapshot
    said: list[Any] = [None]  # the set-up advice last said
    rec = Recorder(screen.record, info.fps) if screen.record is not None else None

    def on_frame(frame: Any, state: Any, st: Any) -> str | None:
        for e in state.new:
            if not quiet:
                _say_rep(e)
            if speaker is not None:
                from formcheck.apps.live.voice import rep_phrase

                speaker.say(rep_phrase(e.number, e.cue))
        session.see(frame.image)  # the light, for the set-up check
        said[0], news = _setup_news(state.setup, said[0])
        for line in news:  # the set-up advice, on stderr and (with --voice) aloud: the lifter is at the bench
            if not quiet:
                err.print(f"[yellow]set-up:[/] {escape(line)}", soft_wrap=True)
            if speaker is not None:
                speaker.say(line)
        last[:] = [frame, state, st]
        shown = st if stats else None
        if view is not None:
            view.remember(frame.image, state)
        if rec is not None:
            rec.write(frame.t, view.draw(frame.image, state, None, shown) if screen.record_overlay and view
                      else frame.image)  # fmt: skip
        if win is None or view is None:
            return None
        cmd = win.show(view.draw(frame.image, state, win.size_for(frame.image.shape), shown))
        if cmd == "pause":
            cmd = win.pause(lambda: view.draw(frame.image, state, win.size_for(frame.image.shape), shown, True))
        return cmd

    with rec if rec is not None else contextlib.nullcontext():  # the recording is renamed once all is written
        try:
            with PoseEstimator(model, v.num_poses, v.min_detection_confidence, v.min_tracking_confidence) as est:
                result = run(src, est, session, on_frame)  # starts the source once the model is ready
        finally:
            if win is not None:
                win.close()
            if speaker is not None:
                speaker.close()
        if screen.snapshot is not None and last[0] is not None and view is not None:
            _snapshot(screen.snapshot, view.draw(last[0].image, last[1], None, last[2] if stats else None))
        report = result.report()
        report["live"]["setup"] = session.setup.state.to_dict() if session.setup.state is not None else None
        _write_outputs(report, result, json_out, html, source, history, quiet, stats)
    if rec is not None and not quiet:
        err.print(f"recorded {escape(str(screen.record))} ({rec.frames / rec.fps:.1f} s at {rec.fps:g} fps)",
                  soft_wrap=True)  # fmt: skip
    return int(ExitCode.NOTHING_TO_SCORE) if report["exercise"] == "none" else 0


def _write_outputs(report: dict[str, Any], result: Any, json_out: str | None, html: Path | None,
                   source: str | None, history: dict[str, Any] | None, quiet: bool, stats: bool) -> None:  # fmt: skip
    from formcheck.cli.analyze import print_report
    from formcheck.report.export import to_json, write_json

    info = result.source
    if json_out == "-":
        write_stdout(to_json(report))  # UTF-8; a full disk or closed pipe: one line, exit 7
    elif json_out:
        write_json(report, json_out)
    if html is not None and result.analysis is not None:
        from formcheck.report import html_page as html_report

        # Thumbnails need frame i of the file to be row i of the track: every frame processed.
        whole = info.kind == "file" and result.stats.frames_dropped == 0
        html_report.write_html(result.analysis, report, html, Path(source) if whole and source else None)
    if history is not None:  # a file: the same set as `formcheck FILE --lifter`; a camera: one set per session
        from formcheck.apps.history import record_run

        when, video = history.pop("recorded_at"), Path(source) if info.kind == "file" and source else None
        record_run(video, result.analysis, report, report_path=json_out, say=None if quiet else err.print,
                   identity=None if video else f"live:{info.name}|{when}", recorded_at=None if video else when,
                   **history)
    if not quiet:
        print_report(report, to_stderr=json_out == "-")
    if stats:
        (err if json_out == "-" else out).print(result.stats_line())  # waits excluded; how far behind real time


def _voice() -> Any:
    from formcheck.apps.live.voice import Voice, VoiceUnavailable

    try:
        return Voice()
    except VoiceUnavailable as exc:
        err.print(f"[yellow]formcheck:[/] voice cues off: {escape(str(exc))}", soft_wrap=True)
        return None


def _say_rep(e: Any) -> None:
    r = e.rep
    if r.partial:
        err.print(f"[dim]partial rep at {r.top_s:.1f} s ({escape(r.reason)}), not counted[/]", soft_wrap=True)
        return
    score = f" · score {e.score:.0f}" if e.score is not None else ""
    fix = f" · fix: {escape(e.cue)}" if e.cue else " · good rep"
    err.print(f"[bold]rep {e.number}[/] at {r.top_s:.1f} s{score}{fix}", soft_wrap=True)


def _setup_news(setup: Any, said: tuple[str, ...] | None) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    """What the set-up check has to say that it has not said yet: (now said, new lines).

    Each advice once; "OK" once it is fine after advice (a set-up fine at once says nothing)."""
    if setup is None or setup.verdict is None:
        return said, ()
    now = tuple(p.message for p in setup.problems)
    if now == (said or ()):
        return now, ()
    if not now:
        return now, ("OK, counting",)
    return now, tuple(m for m in now if m not in (said or ()))


def _snapshot(path: Path, img: Any) -> None:
    import cv2

    from formcheck.errors import OutputError
    from formcheck.util.atomic import atomic_path

    with atomic_path(path, ".png") as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
            raise OutputError(f"cannot write {path}")
