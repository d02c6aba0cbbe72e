"""What every command shares: the console, quiet native logs, and errors as one line."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import re
import signal
import sys
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console

from formcheck.errors import ExitCode, FormcheckError, OutputError, Terminated
from formcheck.pose.settings import FAST_HZ
from formcheck.util.atomic import Stage, identities, staged
from formcheck.util.text import printable

if TYPE_CHECKING:
    from formcheck.config import Config

# Options every command shares, declared once.
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML file overriding thresholds and options.", metavar="PATH")
]
ModelOption = Annotated[
    Path | None, typer.Option("--model", help="Another PoseLandmarker .task bundle (lite/full/heavy).", metavar="PATH")
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
DebugOption = Annotated[bool, typer.Option("--debug", help="Show tracebacks and native library logs.")]
# Saving a set to the training history (formcheck VIDEO and formcheck live).
LifterOption = Annotated[str | None, typer.Option("--lifter", help="Save the set to this lifter's training history "
                                                  "(formcheck history).", metavar="NAME")]
LoadOption = Annotated[float | None, typer.Option("--load", help="With --lifter: the load, kg.", metavar="KG")]
RpeOption = Annotated[float | None, typer.Option("--rpe", help="With --lifter: effort, RPE 1-10.", metavar="RPE")]
NoteOption = Annotated[str | None, typer.Option("--note", help="With --lifter: a note on the set.", metavar="TEXT")]
DbOption = Annotated[Path | None, typer.Option("--db", help="With --lifter: the history db.", metavar="PATH")]
# How often the pose model looks (formcheck VIDEO and formcheck batch); see docs/speed.md.
FastOption = Annotated[bool | None, typer.Option(
    "--fast/--every-frame",
    help=f"--fast: the pose model about {FAST_HZ:g} times a second, the frames between filled in (2-3x "
         "quicker; same reps). --every-frame: the model on every frame. Default: [video] model_hz "
         "in --config (0 = every frame).")]


def with_model_rate(cfg: Config, fast: bool | None) -> Config:
    """The config with --fast / --every-frame applied over its `[video] model_hz` (None: as it is)."""
    if fast is None:
        return cfg
    return dataclasses.replace(cfg, video=dataclasses.replace(cfg.video, model_hz=FAST_HZ if fast else 0.0))

class _SafeConsole(Console):
    """A rich Console that never passes a control character through (rich strips only a few)."""

    def render_str(self, text: str, **kwargs: Any) -> Any:
        return super().render_str(printable(text, keep_lines=True), **kwargs)


err = _SafeConsole(stderr=True, highlight=False, emoji=False)  # ":v:" in a name is not an emoji
out = _SafeConsole(highlight=False, emoji=False)


@contextlib.contextmanager
def quiet_native_stderr(enabled: bool = True) -> Iterator[None]:
    """Send what native code (glog, FFmpeg, TFLite) writes to fd 2 to /dev/null.

    Python's own stderr keeps working: if it is the real fd 2, it is re-pointed at a copy
    of it first, so formcheck's messages still reach the user. Python warnings (numpy's
    "Mean of empty slice" on frames without a person) are silenced here too; --debug shows them.
    """
    if not enabled:
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with _native_stderr_to_devnull():
            yield


@contextlib.contextmanager
def _native_stderr_to_devnull() -> Iterator[None]:
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


_KEYFRAME = re.compile(r"^rep\d{2,}_top\.png$")  # render.write_keyframes' names
# The names a folder option writes in its folder: render.write_keyframes', render.write_clips'.
FOLDER_NAMES = {"--keyframes": _KEYFRAME, "--clips": re.compile(r"^rep\d{2,}\.(mp4|webm)$")}
# The kinds of file an option can write, by extension (any case); options not named take any name.
# The first two are the ones suggested (report/encode writes H.264 in .mp4/.m4v/.mov, VP9 in .webm).
OUTPUT_KINDS = {"--annotate": ((".mp4", ".webm", ".m4v", ".mov"), "an MP4 video"),
                "--save-poses": ((".npz",), "a .npz pose track")}
NAME_MAX = 255  # bytes in one file name (Linux, macOS, Windows)


def check_outputs(source: Path, files: dict[str, Any], folders: dict[str, Any] | None = None,
                  inputs: dict[str, Any] | None = None) -> None:
    """Before any work, refuse outputs that would replace an input or each other, or cannot be written.

    Failing after minutes of tracking, or after some outputs were already written, would waste
    the run and leave half a set of files. `files`/`folders` map an option name to its path (or
    None); `inputs` maps what each other input is ("the --config file") to its path (or None), the
    video being one always. Paths are compared resolved (symlinks) and by inode (hard links, a
    case-insensitive filesystem), so no other spelling of an input gets past.
    """
    protected: dict[object, str] = {}
    kind = "the input pose track" if str(source).lower().endswith(".npz") else "the input video"
    named = {kind: source, **(inputs or {})}
    for what, p in named.items():
        for key in identities(p) if p is not None else ():
            protected.setdefault(key, what)
    seen: dict[object, str] = {}
    wanted = [(flag, Path(v), False) for flag, v in files.items() if v not in (None, "-")]
    wanted += [(flag, Path(v), True) for flag, v in (folders or {}).items() if v is not None]
    for flag, path, is_folder in wanted:
        keys = identities(path)
        hit = next((protected[k] for k in keys if k in protected), None)
        if hit is not None:
            raise FormcheckError(f"{flag} {path} would overwrite {hit}; choose another name", ExitCode.USAGE)
        twin = next((seen[k] for k in keys if k in seen), None)
        if twin is not None:
            raise FormcheckError(f"{twin} and {flag} both write to {path}; choose two names", ExitCode.USAGE)
        seen.update(dict.fromkeys(keys, flag))
        if flag in OUTPUT_KINDS and path.suffix.lower() not in OUTPUT_KINDS[flag][0]:
            exts, what = OUTPUT_KINDS[flag]
            raise FormcheckError(f"{flag} {path}: formcheck writes {what} here, not "
                                 f"{repr(path.suffix) if path.suffix else 'a file without extension'}; "
                                 f"choose a name ending in {' or '.join(exts[:2])}", ExitCode.USAGE)
        if not _is_utf8(str(path)):  # OpenCV's writers crash (SIGSEGV) on such names
            raise OutputError(f"cannot write {flag} {path}: the name is not valid UTF-8; choose another name")
        _check_reachable(flag, path)
        where = Path(os.path.realpath(path))
        if path.exists() and not (path.is_file() or path.is_dir()):  # replacing /dev/stdout would be bad
            raise OutputError(f"cannot write {flag} {path}: not a regular file (for the terminal, use --json -)")
        if path.is_dir() != is_folder and path.exists():
            kind = "a file" if is_folder else "a folder"
            raise OutputError(f"cannot write {flag} {path}: it is {kind}")
        parent = next(a for a in where.parents if a.exists())
        if not parent.is_dir():
            raise OutputError(f"cannot write {flag} {path}: {parent} is a file, not a folder")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write {flag} {path}: no permission to write in {parent}")
        if is_folder:  # the PNGs it will hold, by their names
            _check_keyframes(flag, where, named, files)


def _check_reachable(flag: str, path: Path) -> None:
    """Names too long, symlink loops, a file where a folder must be: found now, not at write time."""
    for part in path.parts:
        if len(part.encode("utf-8", "surrogateescape")) > NAME_MAX:
            raise OutputError(f"cannot write {flag} {path}: a name in it is longer than {NAME_MAX} bytes; "
                              "choose a shorter name")
    for p in (*reversed(path.parents), path):  # from the top: name the first link that loops
        try:
            os.stat(p)
        except (FileNotFoundError, NotADirectoryError):  # made later / "is a file, not a folder" below
            return
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OutputError(f"cannot write {flag} {path}: {p} is a symlink loop; choose another path") from None
            raise OutputError(f"cannot write {flag} {path}: {exc.strerror}") from None


def _check_keyframes(flag: str, folder: Path, inputs: dict[str, Any], files: dict[str, Any]) -> None:
    def inside(p: Any) -> bool:
        real = Path(os.path.realpath(p))
        return real.parent == folder and bool(FOLDER_NAMES.get(flag, _KEYFRAME).match(real.name))

    for what, p in inputs.items():
        if p is not None and inside(p):
            kind = "a clip's" if flag == "--clips" else "a keyframe's"
            raise FormcheckError(f"{flag} {folder} would overwrite {what} {p} ({kind} name); "
                                 "choose another folder", ExitCode.USAGE)
    for other, p in files.items():
        if p not in (None, "-") and inside(p):
            raise FormcheckError(f"{flag} and {other} both write to {p}; choose two names", ExitCode.USAGE)


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes of a file name, kept as surrogates
        return False
    return True


@contextlib.contextmanager
def no_outputs_on_failure() -> Iterator[None]:
    """On a failure, remove the output files this run created (an exit code 6 keeps them).

    Each file is written atomically; this makes the set atomic too: a run that fails at its
    last output does not leave the first ones behind. Only files this run wrote where nothing
    was before are removed, and only while they are still the file it wrote (same inode): a
    file that existed before the run, or that someone else put there since, is never deleted.
    """
    created: list[tuple[Path, tuple[int, int]]] = []

    def note(tmp: Path, dest: Path) -> None:
        if not os.path.lexists(dest):
            st = os.stat(tmp)
            created.append((dest, (st.st_dev, st.st_ino)))

    try:
        with staged(Stage(before_replace=note)):
            yield
    except typer.Exit:
        raise
    except BaseException:
        for p, ident in created:
            with contextlib.suppress(OSError):
                st = os.lstat(p)
                if (st.st_dev, st.st_ino) == ident:
                    p.unlink()
        raise


_STREAM_ERRNOS = {errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.ECONNRESET}


def write_stdout(text: str) -> None:
    """`--json -`: UTF-8 bytes to stdout, flushed now, so a full disk or a closed pipe is an
    OutputError (exit 7) here rather than a crash at exit."""
    try:
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.buffer.flush()
    except AttributeError:  # a stream without bytes (tests capture text)
        sys.stdout.write(text)
    except OSError as exc:
        _stdout_to_devnull()
        raise OutputError(f"cannot write --json -: {exc.strerror or exc}") from None


def flush_stdout() -> None:
    """At exit: what is still buffered for stdout goes out now; if it cannot, one line, exit 7."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError) as exc:
        stdout_failed(exc)


def stdout_failed(exc: BaseException) -> NoReturn:
    if isinstance(exc, OSError) and exc.errno not in _STREAM_ERRNOS:
        raise exc
    _stdout_to_devnull()
    why = getattr(exc, "strerror", None) or str(exc)
    with contextlib.suppress(OSError, ValueError):
        err.print(f"[bold red]formcheck:[/] cannot write to stdout: {escape(why)}")
    raise SystemExit(int(ExitCode.OUTPUT)) from None


def _stdout_to_devnull() -> None:
    """Point fd 1 at /dev/null so what stdout still buffers flushes harmlessly at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def fail(message: str, code: ExitCode) -> typer.Exit:
    err.print(f"[bold red]formcheck:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(int(code))


def escape(text: str) -> str:
    """An outside string (a name, a message) for rich: markup escaped, control characters and
    line breaks shown as escapes, so it prints as one plain line."""
    from rich.markup import escape as _escape

    return _escape(printable(str(text)))


@contextlib.contextmanager
def user_errors(debug: bool) -> Iterator[None]:
    """Turn every failure into one line and a documented exit code (a traceback with --debug).

    SIGTERM is raised as `Terminated` (a KeyboardInterrupt): the run unwinds as on Ctrl-C,
    removing its temp files and the outputs it wrote, and ends with 143.
    """
    try:
        with sigterm_raises():
            yield
    except typer.Exit:
        raise
    except FormcheckError as exc:
        if debug:
            traceback.print_exc()
        raise fail(str(exc), exc.code) from None
    except Terminated:
        raise fail("terminated (SIGTERM)", ExitCode.TERMINATED) from None
    except KeyboardInterrupt:
        raise fail("interrupted", ExitCode.INTERRUPTED) from None
    except OSError as exc:
        if exc.errno not in _STREAM_ERRNOS:  # outputs to files are OutputErrors already: this is stdout
            raise fail(f"internal error: OSError: {exc} (this is a bug; rerun with --debug for details)",
                       ExitCode.INTERNAL) from None
        _stdout_to_devnull()
        raise fail(f"cannot write to stdout: {exc.strerror}", ExitCode.OUTPUT) from None
    except MemoryError:
        raise fail("out of memory", ExitCode.INTERNAL) from None
    except Exception as exc:
        if debug:
            traceback.print_exc()
        raise fail(
            f"internal error: {type(exc).__name__}: {exc} (this is a bug; rerun with --debug for details)",
            ExitCode.INTERNAL,
        ) from None


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """SIGTERM (`kill`, `timeout`, `docker stop`) unwinds like Ctrl-C: ends with 143, nothing left."""
    def handler(_signum: int, _frame: object) -> None:
        raise Terminated

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
