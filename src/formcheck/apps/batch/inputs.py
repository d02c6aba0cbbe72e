"""Batch inputs: files, folders (recursive) and globs, named so outputs never overwrite each other."""

from __future__ import annotations

import glob
import hashlib
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from formcheck.errors import ExitCode, FormcheckError, InputNotFound

VIDEO_EXTS = frozenset({".mp4", ".mov", ".avi", ".webm", ".mkv", ".gif", ".m4v"})
TRACK_EXTS = frozenset({".npz"})
RESERVED = frozenset({"summary", "index"})  # top-level names taken by the batch's own files


@dataclass(frozen=True)
class Job:
    path: Path  # the input file
    name: str  # output stem relative to the output folder, posix ("week1/clip")


def discover(inputs: Sequence[str | os.PathLike[str]], out: Path | None = None) -> list[Path]:
    """Files as given, folders walked recursively (videos and .npz tracks), globs expanded here.

    Files under `out` are skipped when found by a walk or glob (earlier results are not inputs)
    and refused when named explicitly (an annotated copy could overwrite its own input).
    """
    seen: dict[Path, Path] = {}
    outr = out.resolve() if out is not None else None

    def inside_out(p: Path) -> bool:
        return outr is not None and p.resolve().is_relative_to(outr)

    def add(p: Path) -> None:
        seen.setdefault(p.resolve(), p)

    for arg in map(str, inputs):
        p = Path(arg)
        if p.is_dir():
            for f in _walk(p):
                if not inside_out(f):
                    add(f)
        elif p.exists():
            if inside_out(p):
                raise FormcheckError(f"{p}: is inside the output folder {out}; choose another --out", ExitCode.USAGE)
            add(p)
        elif glob.has_magic(arg):
            matches = [Path(m) for m in sorted(glob.glob(arg, recursive=True))]
            if not matches:
                raise InputNotFound(f"{arg}: matches no file")
            for m in matches:
                for f in _walk(m) if m.is_dir() else [m]:
                    if not inside_out(f):
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
    names = [r.as_posix() if clash[s.lower()] > 1 or s.lower() in RESERVED else s
             for r, s in zip(rel, stems, strict=True)]
    used: set[str] = set()
    for i, n in enumerate(names):  # last resort, for names that clash even with their extension
        k = 2
        while names[i].lower() in used:
            names[i] = f"{n}~{k}"
            k += 1
        used.add(names[i].lower())
    return [Job(p, n) for p, n in zip(paths, names, strict=True)]


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except FileNotFoundError as exc:
        raise InputNotFound(f"{path}: no such file") from exc
    except OSError as exc:
        raise InputNotFound(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    return h.hexdigest()
