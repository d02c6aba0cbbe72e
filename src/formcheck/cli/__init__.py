"""Command line: `formcheck VIDEO`, `formcheck batch`, `formcheck live`, `formcheck rules`.

The only package that knows about the terminal. `main` dispatches on the first word so
that the everyday command stays `formcheck my_set.mp4` while subcommands keep their names.
"""

from __future__ import annotations

import os

# Native libraries read these once, when they load: set before anything imports cv2/mediapipe.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_VIDEOIO_DEBUG", "0")
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import contextlib
import importlib
import sys

# subcommand -> module exposing a typer `app`
SUBCOMMANDS = {"batch": "batch", "live": "live", "rules": "rules", "history": "history", "compare": "compare"}


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):  # an ASCII-only terminal gets '?' for '°', never a crash
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    from formcheck.cli.common import flush_stdout, stdout_failed

    try:
        _dispatch(args)
    except OSError as exc:  # help or usage text to a full disk or a closed pipe
        stdout_failed(exc)
    finally:
        flush_stdout()


def _dispatch(args: list[str]) -> None:
    if args[:1] == ["help"]:  # `formcheck help [COMMAND...]`: its --help (a video named help: ./help)
        args = [*args[1:], "--help"]
        if args[0] not in (*SUBCOMMANDS, "--help"):
            from formcheck.cli.common import fail
            from formcheck.errors import ExitCode

            message = (f"help: no command {args[0]!r}; formcheck help shows how to score a video, "
                       f"formcheck help {'|'.join(SUBCOMMANDS)} the other commands")
            raise SystemExit(fail(message, ExitCode.USAGE).exit_code)
    if args and args[0] in SUBCOMMANDS:
        from formcheck.cli.app import readable

        module = importlib.import_module(f"formcheck.cli.{SUBCOMMANDS[args[0]]}")
        readable(module.app)(args=args[1:], prog_name=f"formcheck {args[0]}")
    else:
        from formcheck.cli.analyze import app

        app(args=args, prog_name="formcheck")
