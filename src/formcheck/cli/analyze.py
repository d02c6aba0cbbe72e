"""`formcheck VIDEO`: score one recorded set and print the per-rep report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from formcheck.cli.app import App
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
    no_outputs_on_failure,
    out,
    quiet_native_stderr,
    user_errors,
    with_model_rate,
    write_stdout,
)
from formcheck.cli.progress import StageProgress
from formcheck.cli.terminal_report import print_report
from formcheck.errors import ExitCode

app = App()

_progress = StageProgress  # the name tests and older callers know


@app.command(
    help=(
        "Score a recorded set of hip thrusts or glute bridges, rep by rep. VIDEO is a video file "
        "(mp4, mov, avi, webm, mkv, gif) or a pose track saved with --save-poses (.npz). "
        "Exit codes: 0 scored; 2 bad options (or an output that would replace an input, the config, "
        "the model or another output); 3 file missing or a directory; 4 not a readable "
        "video; 5 pose model missing or damaged; 6 no person or no hip thrust found (report still "
        "written); 7 an output could not be written; 130 Ctrl-C, 143 SIGTERM (nothing left); 1 internal error. "
        "Other commands: formcheck batch | live | rules | history | compare (formcheck help COMMAND)."
    )
)
def analyze(
    video: Annotated[Path, typer.Argument(help="Video file, or a saved pose track (.npz).", show_default=False)],
    json_out: Annotated[
        str | None, typer.Option("--json", help="Write the JSON report here ('-' = stdout).", metavar="PATH")
    ] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write one CSV row per rep.", metavar="PATH")] = None,
    frames_csv: Annotated[Path | None, typer.Option(
        "--frames-csv", help="Write one CSV row per frame: time, every angle, phase and rep.", metavar="PATH")] = None,
    save_poses: Annotated[
        Path | None, typer.Option("--save-poses", help="Save the pose track (.npz) to re-score later without video.")
    ] = None,
    annotate: Annotated[
        Path | None, typer.Option("--annotate", help="Write an annotated copy of the video that plays in any browser "
                                  "(.mp4: H.264; .webm: VP9).", metavar="PATH")
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write a one-file HTML report.", metavar="PATH")] = None,
    keyframes: Annotated[
        Path | None, typer.Option("--keyframes", help="Write a PNG of each rep's top to this folder.", metavar="DIR")
    ] = None,
    clips: Annotated[
        Path | None, typer.Option("--clips", help="Write a short annotated clip of each rep to this folder "
                                  "(rep01.mp4, ...): one to send per rep.", metavar="DIR")
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
    version: Annotated[bool, typer.Option("--version", help="Print formcheck's version and exit.",
                                          callback=_print_version, is_eager=True)] = False,
) -> None:
    from formcheck.config import load_config
    from formcheck.pipeline.analyze import analyze_path
    from formcheck.pose.model import default_model_path
    from formcheck.report.export import build, to_json, write_csv, write_frames_csv, write_json

    outputs = {"--json": json_out, "--csv": csv_out, "--frames-csv": frames_csv, "--save-poses": save_poses,
               "--annotate": annotate, "--html": html}
    inputs = {"the --config file": config,
              **({"the --model file": model} if model is not None else {"the pose model": default_model_path()})}
    with user_errors(debug), quiet_native_stderr(not debug), no_outputs_on_failure():
        check_outputs(video, outputs, {"--keyframes": keyframes, "--clips": clips}, inputs)  # before anything is read
        _check_videos(video, annotate, keyframes, clips)  # or written: a name, a codec, a folder
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
            if frames_csv is not None:
                write_frames_csv(analysis, frames_csv)
            if annotate is not None or keyframes is not None or html is not None or clips is not None:
                _visuals(video, analysis, report, annotate, keyframes, html, progress, clips=clips)
        if not quiet:
            print_report(report, to_stderr=json_out == "-")
        if report["exercise"] == "none":
            raise typer.Exit(int(ExitCode.NOTHING_TO_SCORE))


def _print_version(value: bool) -> None:
    if value:
        from formcheck import __version__

        out.print(f"formcheck {__version__}")
        raise typer.Exit()


def _check_videos(video: Path, annotate: Path | None, keyframes: Path | None, clips: Path | None) -> None:
    """Before tracking: the drawn outputs need the video, and this ffmpeg an encoder for each video."""
    from formcheck.errors import FormcheckError
    from formcheck.pose.track import is_track_file

    wanted = [flag for flag, p in (("--annotate", annotate), ("--clips", clips), ("--keyframes", keyframes)) if p]
    if wanted and is_track_file(video):
        raise FormcheckError(f"{' and '.join(wanted)} need{'s' if len(wanted) == 1 else ''} the video, "
                             "not a saved pose track", ExitCode.USAGE)
    from formcheck.report import encode

    if annotate is not None:
        encode.plan(annotate, "--annotate")
    if clips is not None:
        encode.clip_suffix(clips)


def _visuals(
    video: Path, analysis: Any, report: dict[str, Any], annotate: Path | None, keyframes: Path | None,
    html: Path | None, progress: StageProgress, clips: Path | None = None,
) -> None:
    from formcheck.pose.track import is_track_file

    has_video = not is_track_file(video)
    from formcheck.report import render

    if clips is not None:  # the clips and the whole video in one pass over the frames
        progress.stage("annotated video and clips" if annotate is not None else "clips")
        render.render_videos(video, analysis, annotate, clips, progress=progress)
    elif annotate is not None:
        progress.stage("annotated video")
        render.annotate_video(video, analysis, annotate, progress=progress)
    if keyframes is not None:
        progress.stage("key frames")
        render.write_keyframes(video, analysis, keyframes)
    if html is not None:
        from formcheck.report import html_page as html_report

        progress.stage("HTML report")
        html_report.write_html(analysis, report, html, video if has_video else None, annotated=annotate)
