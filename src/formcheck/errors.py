"""Errors a user can cause, each with the exit code the CLI documents (docs/exit-codes.md).

Library code raises these; only `cli` turns them into a message and an exit code. A message
is one line: the file, what is wrong with it, and (after a ';') what to do.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1  # a bug: please report it (run with --debug for the traceback)
    USAGE = 2  # bad command-line options
    NOT_FOUND = 3  # the path is missing, a folder, a pipe or device, a web address, or unreadable
    NOT_A_VIDEO = 4  # the file cannot be decoded as video (empty, image, text, audio, cut before any frame)
    MODEL = 5  # the pose model is missing or damaged
    NOTHING_TO_SCORE = 6  # valid video, but no person or no hip thrust in it (report still written)
    OUTPUT = 7  # an output file could not be written
    CAMERA = 8  # live mode: the camera or stream could not be opened
    SOME_FAILED = 9  # batch: at least one file failed (the others were scored)
    INTERRUPTED = 130  # Ctrl-C
    TERMINATED = 143  # SIGTERM (timeout, docker stop, a service manager): handled as Ctrl-C


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so it unwinds like Ctrl-C (temp files and half outputs removed)."""


class FormcheckError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, code: ExitCode | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class ConfigError(FormcheckError):
    """A bad option or config file (exit 2)."""

    code = ExitCode.USAGE


class InputNotFound(FormcheckError):
    code = ExitCode.NOT_FOUND


class NotAVideo(FormcheckError):
    code = ExitCode.NOT_A_VIDEO


class ModelError(FormcheckError):
    code = ExitCode.MODEL


class OutputError(FormcheckError):
    code = ExitCode.OUTPUT


class CameraError(FormcheckError):
    code = ExitCode.CAMERA
