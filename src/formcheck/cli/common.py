"""What every command shares: the console, quiet native logs, and errors as one line."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator

import typer
from rich.console import Console

from formcheck.errors import ExitCode, FormcheckError

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


@contextlib.contextmanager
def quiet_native_stderr(enabled: bool = True) -> Iterator[None]:
    """Send what native code (glog, FFmpeg, TFLite) writes to fd 2 to /dev/null.

    Python's own stderr keeps working: if it is the real fd 2, it is re-pointed at a copy
    of it first, so formcheck's messages still reach the user.
    """
    if not enabled:
        yield
        return
    try:
        real_fd2 = sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        real_fd2 = False
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    old_stderr = sys.stderr
    replacement = None
    if real_fd2:
        replacement = os.fdopen(os.dup(saved), "w", buffering=1, encoding=old_stderr.encoding, errors="replace")
        sys.stderr = replacement
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr = old_stderr
        if replacement is not None:
            replacement.close()


def fail(message: str, code: ExitCode) -> typer.Exit:
    err.print(f"[bold red]formcheck:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(int(code))


def escape(text: str) -> str:
    from rich.markup import escape as _escape

    return _escape(text)


@contextlib.contextmanager
def user_errors(debug: bool) -> Iterator[None]:
    """Turn every failure into one line and a documented exit code (a traceback with --debug)."""
    try:
        yield
    except typer.Exit:
        raise
    except FormcheckError as exc:
        if debug:
            traceback.print_exc()
        raise fail(str(exc), exc.code) from None
    except KeyboardInterrupt:
        raise fail("interrupted", ExitCode.INTERRUPTED) from None
    except MemoryError:
        raise fail("out of memory", ExitCode.INTERNAL) from None
    except Exception as exc:
        if debug:
            traceback.print_exc()
        raise fail(
            f"internal error: {type(exc).__name__}: {exc} (this is a bug; rerun with --debug for details)",
            ExitCode.INTERNAL,
        ) from None
