"""`formcheck live`: count and coach in real time from a camera, a video file or a stream.

The window is the only thing here that the library does not do: it draws the session's
state (skeleton, rep counter, phase, the last rep's verdicts and its one cue) and reads the
keys. Everything it shows comes from `formcheck.apps.live`.
"""

from __future__ import annotations

import os
import sys
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

WINDOW = "formcheck live"

class Window:
    """cv2.imshow and the keys: q quit, r reset the set, space pause."""

    def __init__(self, source: Any) -> None:
        import cv2

        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise FormcheckError("no display to open a window on (DISPLAY is not set); use --no-window",
                                 ExitCode.USAGE)  # fmt: skip
        self.cv2, self.source, self._sized = cv2, source, False
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)

    def show(self, rgb: Any) -> str | None:
        cv2 = self.cv2
        if not self._sized:  # frame size, within a laptop screen; the user may resize it
            h, w = rgb.shape[:2]
            s = min(1.0, 1280 / w, 800 / h)
            cv2.resizeWindow(WINDOW, round(w * s), round(h * s))
            self._sized = True
        cv2.imshow(WINDOW, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        return self._key(cv2.waitKey(1))

    def pause(self, redraw: Any) -> str | None:
        """Hold the picture until space (resume), r (reset) or q (quit)."""
        self.source.pause(True)
        try:
            self.cv2.imshow(WINDOW, self.cv2.cvtColor(redraw, self.cv2.COLOR_RGB2BGR))
            while True:
                cmd = self._key(self.cv2.waitKey(50))
                if cmd is not None:
                    return None if cmd == "pause" else cmd
        finally:
            self.source.pause(False)

    def _key(self, key: int) -> str | None:
        if self.cv2.getWindowProperty(WINDOW, self.cv2.WND_PROP_VISIBLE) < 1:
            return "quit"  # the window was closed
        return {ord("q"): "quit", 27: "quit", ord("r"): "reset", ord(" "): "pause"}.get(key & 0xFF)

    def close(self) -> None:
        self.cv2.destroyAllWindows()
        self.cv2.waitKey(1)


@app.command(
    help=(
        "Count and coach a set in real time. Reads a camera (--camera N, default 0), a video file "
        "played in real time, or a network stream (--source PATH|URL); processes the newest frame and "
        "drops stale ones. Window keys: q quit, r reset the set, space pause. The set ends on q, when the "
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
        _run(camera, source, not no_window, json_out, html, voice, stats, idle, fast, config, model, quiet, snapshot,
             history | {"recorded_at": now()} if keep else None)


def _run(camera: int | None, source: str | None, window: bool, json_out: str | None, html: Path | None,
         voice: bool, stats: bool, idle: float, fast: bool, config: Path | None, model: Path | None,
         quiet: bool, snapshot: Path | None, history: dict[str, Any] | None = None) -> None:  # fmt: skip
    from formcheck.apps.live import LiveConfig, LiveSession, open_source, run
    from formcheck.cli.analyze import print_report
    from formcheck.config import load_config
    from formcheck.pose.model import PoseEstimator

    cfg = load_config(config)
    v = cfg.video
    src = open_source(camera, source, v.max_side, pace=not fast)
    speaker = _voice() if voice else None
    win = Window(src) if window else None
    info = src.info
    session = LiveSession(cfg, LiveConfig(idle_s=idle), info.width, info.height, info.name, info.fps)
    last: list[Any] = [None, None, None]  # frame, state, stats: for --snapshot
    overlay: Any = None  # a LiveOverlay (formcheck.report.overlay), sized to the frames

    def on_frame(frame: Any, state: Any, st: Any) -> str | None:
        nonlocal overlay
        for e in state.new:
            if not quiet:
                _say_rep(e)
            if speaker is not None:
                from formcheck.apps.live.voice import rep_phrase

                speaker.say(rep_phrase(e.number, e.cue))
        last[:] = [frame, state, st]
        if win is None:
            return None
        h, w = frame.image.shape[:2]
        if overlay is None or (overlay.width, overlay.height) != (w, h):
            from formcheck.report.overlay import LiveOverlay

            overlay = LiveOverlay(w, h, info.width)
        img = overlay.annotate(frame.image.copy(), state, st if stats else None)
        cmd = win.show(img)
        if cmd == "pause":
            paused = overlay.annotate(frame.image.copy(), state, st if stats else None, paused=True)
            cmd = win.pause(paused)
        return cmd

    try:
        with PoseEstimator(model, v.num_poses, v.min_detection_confidence, v.min_tracking_confidence) as est:
            result = run(src, est, session, on_frame)  # starts the source once the model is ready
    finally:
        if win is not None:
            win.close()
        if speaker is not None:
            speaker.close()
    if snapshot is not None and last[0] is not None:
        _snapshot(snapshot, last[0], last[1], last[2], stats, info.width)
    report = result.report()
    from formcheck.report.export import to_json, write_json

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
        s = result.stats
        (err if json_out == "-" else out).print(
            f"stats: {s.frames_processed} frames processed at {s.fps:.1f} fps ({s.frames_dropped} of "
            f"{s.frames_read} dropped as stale); latency mean {s.latency_ms:.0f} ms, p95 {s.latency_p95_ms:.0f} ms"
        )
    if report["exercise"] == "none":
        raise typer.Exit(int(ExitCode.NOTHING_TO_SCORE))


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


def _snapshot(path: Path, frame: Any, state: Any, st: Any, stats: bool, source_width: int) -> None:
    import cv2

    from formcheck.errors import OutputError
    from formcheck.report.overlay import LiveOverlay
    from formcheck.util.atomic import atomic_path

    h, w = frame.image.shape[:2]
    img = LiveOverlay(w, h, source_width).annotate(frame.image.copy(), state, st if stats else None)
    with atomic_path(path, ".png") as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
            raise OutputError(f"cannot write {path}")
