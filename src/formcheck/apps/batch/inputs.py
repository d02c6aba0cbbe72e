"""Batch inputs: files, folders (recursive) and globs, named so outputs never overwrite each other;
and the output folder checked against them before any work, so the batch replaces nothing of yours.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import stat
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from formcheck.errors import ExitCode, FormcheckError, InputNotFound, OutputError
from formcheck.util.atomic import TEMP_NAME, identities

VIDEO_EXTS = frozenset({".mp4", ".mov", ".avi", ".webm", ".mkv", ".gif", ".m4v"})
TRACK_EXTS = frozenset({".npz"})
RESERVED = frozenset({"summary", "index"})  # top-level names taken by the batch's own files
STATE_DIR = ".formcheck-batch"  # the batch's own folder inside the output folder
# What a folder may hold and still count as empty (the desktop's own bookkeeping).
_IGNORABLE = frozenset({".DS_Store", "Thumbs.db", "desktop.ini", ".localized"})


@dataclass(frozen=True)
class Job:
    path: Path  # the input file
    name: str  # output stem relative to the output folder, posix ("week1/clip")


def discover(inputs: Sequence[str | os.PathLike[str]], out: Path | None = None,
             own: Collection[str] = frozenset()) -> list[Path]:
    """Files as given, folders walked recursively (videos and .npz tracks), globs expanded here.

    The batch's own files are never inputs: its state folder in `out` and `own` (the outputs
    its records name, as real paths). They are skipped when a walk or glob finds them and
    refused when named. Anything else is an input wherever it lies, inside `out` too.
    """
    seen: dict[Path, Path] = {}
    state = os.path.realpath(out / STATE_DIR) if out is not None else None

    def ours(p: Path) -> bool:
        real = os.path.realpath(p)
        return real in own or (state is not None and Path(real).is_relative_to(state))

    def add(p: Path) -> None:
        seen.setdefault(Path(os.path.realpath(p)), p)

    for arg in map(str, inputs):
        p = Path(arg)
        if p.is_dir():
            for f in _walk(p):
                if not ours(f):
                    add(f)
        elif p.exists() or (os.path.lexists(p) and not glob.has_magic(arg)):  # a looping link: an input that fails
            if ours(p):
                raise FormcheckError(f"{p}: is an output of formcheck batch in {out}, not an input; "
                                     "name the original file", ExitCode.USAGE)
            add(p)
        elif glob.has_magic(arg):
            matches = [Path(m) for m in sorted(glob.glob(arg, recursive=True))]
            if not matches:
                raise InputNotFound(f"{arg}: matches no file")
            for m in matches:
                for f in _walk(m) if m.is_dir() else [m]:
                    if not ours(f):
                        add(f)
        else:
            raise InputNotFound(f"{arg}: no such file or folder")
    if not seen:
        exts = ", ".join(sorted(e.lstrip(".") for e in VIDEO_EXTS | TRACK_EXTS))
        raise InputNotFound(f"no video or pose track ({exts}) found in {', '.join(map(str, inputs))}")
    return list(seen.values())


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))  # also skips our state folder
        for f in sorted(files):
            if not f.startswith(".") and Path(f).suffix.lower() in VIDEO_EXTS | TRACK_EXTS:
                yield Path(root) / f


def make_jobs(paths: Sequence[Path]) -> list[Job]:
    """Name each output by its path below the inputs' common folder, so equal stems never clash."""
    absolute = [Path(os.path.abspath(p)) for p in paths]
    root = Path(os.path.commonpath([p.parent for p in absolute]))
    rel = [p.relative_to(root) for p in absolute]
    stems = [r.with_suffix("").as_posix() for r in rel]
    clash = Counter(s.lower() for s in stems)  # lower: macOS and Windows ignore case
    names = [_fit_name(r.as_posix() if clash[s.lower()] > 1 or s.lower() in RESERVED else s)
             for r, s in zip(rel, stems, strict=True)]
    used: set[str] = set()
    for i, n in enumerate(names):  # last resort, for names that clash even with their extension
        k = 2
        while names[i].lower() in used:
            names[i] = f"{n}~{k}"
            k += 1
        used.add(names[i].lower())
    return [Job(p, n) for p, n in zip(paths, names, strict=True)]


# An output's name is the job's name plus ".html" at most (and "~N" on a clash): kept under 255 bytes.
_MAX_NAME_BYTES = 255 - 16


def _fit_name(name: str) -> str:
    """A job name whose outputs' file names are valid: a long last part (a valid 251-byte input
    name) is cut, with a hash of the whole name so that two cut names never clash."""
    head, _, last = name.rpartition("/")
    raw = last.encode("utf-8", "surrogateescape")
    if len(raw) <= _MAX_NAME_BYTES:
        return name
    tag = hashlib.sha256(raw).hexdigest()[:8]
    cut = raw[: _MAX_NAME_BYTES - 9].decode("utf-8", "ignore")
    return f"{head}/{cut}~{tag}" if head else f"{cut}~{tag}"


def check_out(out: Path) -> None:
    """The output folder must be new, empty, or one a batch made (it holds STATE_DIR).

    So every file the batch finds there under one of its names is one it wrote, or a file it
    can tell it did not write; a folder of videos, `.` or `~` is refused (exit 2) before any work.
    """
    if not os.path.lexists(out):
        return
    if not out.is_dir():
        raise OutputError(f"cannot write to {out}: it is a file, not a folder")
    if (out / STATE_DIR).is_dir():
        return
    try:
        others = [e.name for e in os.scandir(out) if e.name not in _IGNORABLE]
    except OSError as exc:
        raise OutputError(f"cannot write to {out}: {exc.strerror or exc}") from exc
    if others:
        n = len(others)
        raise FormcheckError(
            f"--out {out}: the folder already holds {n} file{'s' if n > 1 else ''} or folder{'s' if n > 1 else ''} "
            "that formcheck batch did not write; it writes only into a new or empty folder, or one an earlier "
            f"batch made, so it never replaces or deletes your files: choose another, e.g. --out "
            f"{out / 'formcheck-results'}", ExitCode.USAGE)


def check_overlap(out: Path, outputs: Iterable[str], protected: Iterable[tuple[str, Path]]) -> None:
    """Refuse (exit 2, before any work) an output (relative to `out`) that is one of the `protected`
    files ((what, path): the inputs, the config, the model), compared by real path and inode."""
    keys: dict[object, tuple[str, Path]] = {}
    for what, p in protected:
        for k in identities(p):
            keys.setdefault(k, (what, p))
    for rel in outputs:
        dest = out / rel
        hit = next((keys[k] for k in identities(dest) if k in keys), None)
        if hit is not None:
            raise FormcheckError(f"--out {out}: {dest} would overwrite {hit[0]} {hit[1]}; choose another --out",
                                 ExitCode.USAGE)


def own_files(out: Path) -> set[str]:
    """Real paths of every output the records in `out` name: the batch's own, never inputs."""
    own: set[str] = set()
    for root, _dirs, files in os.walk(out / STATE_DIR):
        for f in (f for f in files if f.endswith(".json")):
            try:
                rec = json.loads((Path(root) / f).read_text(encoding="utf-8"))
                rels = {*rec.get("outputs", ()), *(pair[0] for pair in rec.get("owned", ()))}
            except (OSError, ValueError, TypeError, AttributeError, IndexError, KeyError):
                continue
            own.update(os.path.realpath(out / str(rel)) for rel in rels)
    return own


def clean_temps(out: Path) -> int:
    """Delete the temp files a killed run left in the batch's own folder, and nowhere else."""
    n = 0
    for root, _dirs, files in os.walk(out / STATE_DIR):
        for f in files:
            if TEMP_NAME.match(f):
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


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The input's sha256; its type is checked before a byte is read (a FIFO would block the
    batch forever, /dev/zero never ends): only a regular file (or a link to one) is hashed."""
    h = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))  # a FIFO opens at once
        with open(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise InputNotFound(f"{path}: not a regular file (a device or pipe?); pass a video file")
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except FileNotFoundError as exc:
        raise InputNotFound(f"{path}: no such file") from exc
    except OSError as exc:
        raise InputNotFound(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return h.hexdigest()
