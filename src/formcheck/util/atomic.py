"""Atomic output: write to a temp name, rename onto the destination when complete.

A crash, a Ctrl-C or a full disk leaves either the old file or nothing, never half a file.

A caller that must know exactly which files it wrote (the batch, a single-file run that removes
its outputs when it fails) wraps its writes in `with staged(Stage(...))`: every write inside puts
its temp file in the stage's folder instead of beside the destination, and the stage is told
about each file just before it replaces its destination (and may refuse it by raising).
A `Ledger` is such a stage that remembers what it wrote (sha256 of each version), so that its
owner replaces or deletes only files it can prove it wrote.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from formcheck.errors import OutputError

# The temp names made here: ".<stem>.<8 random chars><suffix>" (tempfile.mkstemp's alphabet).
TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.[A-Za-z0-9]+$")
_MAX_STEM_BYTES = 100  # so the temp name of a long (but valid) file name stays under 255 bytes
_MAX_SUFFIX_BYTES = 16


@dataclass(frozen=True)
class Stage:
    """Where temp files go (None: beside the destination) and who hears of each (temp, dest)."""

    temp_dir: Path | None = None
    before_replace: Callable[[Path, Path], None] | None = None


_STAGE: ContextVar[Stage | None] = ContextVar("formcheck_atomic_stage", default=None)


@contextlib.contextmanager
def staged(stage: Stage) -> Iterator[None]:
    """Every atomic write in this block (this thread or task) goes through `stage`."""
    token = _STAGE.set(stage)
    try:
        yield
    finally:
        _STAGE.reset(token)


@contextlib.contextmanager
def atomic_path(
    dest: str | os.PathLike[str], suffix: str | None = None, *, temp_dir: Path | None = None
) -> Iterator[Path]:
    """Yield a temp path; on success it replaces dest, on error it is removed.

    The temp name keeps dest's extension (writers such as OpenCV's choose the format by it).
    It lies in `temp_dir` (or the stage's) when that is on dest's filesystem, else beside dest.
    """
    dest = Path(dest)
    stage = _STAGE.get()
    folder = dest.parent
    name = ""
    # One `finally` from the moment the temp file exists: a worker told to stop (SIGTERM raises
    # SystemExit at the next call, engines._exit_on_term) between creating it and writing it
    # left it behind (a Ctrl-C'd batch, once in many runs).
    try:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            where = _temp_folder(folder, temp_dir or (stage.temp_dir if stage else None))
            stem = dest.stem.encode("utf-8", "surrogateescape")[:_MAX_STEM_BYTES].decode("utf-8", "ignore")
            prefix = "." + stem + "."
            ext = suffix or dest.suffix
            if not ext or len(ext.encode("utf-8", "surrogateescape")) > _MAX_SUFFIX_BYTES:
                ext = ".tmp"  # a long "extension" is part of a name, not a format (so the temp name fits)
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=ext, dir=where)
            os.close(fd)
        except OSError as exc:
            raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from exc
        tmp = Path(name)
        try:
            yield tmp
            # mkstemp makes the file private (0600); give it the usual permissions a new file gets.
            os.chmod(tmp, 0o666 & ~_umask())
            if stage is not None and stage.before_replace is not None:
                token = _STAGE.set(None)  # what the stage writes itself (its own records) is not staged
                try:
                    stage.before_replace(tmp, dest)
                finally:
                    _STAGE.reset(token)
            os.replace(tmp, dest)
        except OSError as exc:
            raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from exc
    finally:
        if name:
            Path(name).unlink(missing_ok=True)


def _temp_folder(folder: Path, temp_dir: Path | None) -> Path:
    if temp_dir is None:
        return folder
    temp_dir.mkdir(parents=True, exist_ok=True)
    if os.stat(temp_dir).st_dev != os.stat(folder).st_dev:  # a rename cannot cross filesystems
        return folder
    return temp_dir


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(dest: str | os.PathLike[str], text: str, *, temp_dir: Path | None = None) -> None:
    with atomic_path(dest, temp_dir=temp_dir) as tmp:
        tmp.write_text(text, encoding="utf-8")


def identities(path: str | os.PathLike[str]) -> set[object]:
    """Keys under which two paths name the same file: the resolved path (symlinks) and, for a
    file that exists, its device and inode (hard links, case-insensitive filesystems)."""
    keys: set[object] = {os.path.realpath(path)}
    with contextlib.suppress(OSError, ValueError):
        st = os.stat(path)
        keys.add((st.st_dev, st.st_ino))
    return keys


def sha256_of(path: str | os.PathLike[str]) -> str | None:
    """The file's sha256, or None if it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
    except OSError:
        return None
    return h.hexdigest()


class Ledger:
    """Files written below `root`, each (a posix path relative to root) with the sha256 of every
    version written there, noted just before that version replaced its destination.

    Its owner replaces or deletes a file below root only while the file's content is one of
    those: proof that it wrote the file and nobody changed it since. `save(ledger)` persists it;
    writing through `stage()` calls it before each new version appears under its name, so a
    kill at any moment leaves a ledger that names whatever is on disk.
    """

    KEEP = 8  # versions kept per file between settles (one per interrupted attempt)

    def __init__(self, root: Path, pairs: Iterable[Iterable[str]] = (), save: Callable[[Ledger], None] | None = None,
                 temp_dir: Path | None = None) -> None:
        self.root, self._save, self.temp_dir = Path(root), save, temp_dir
        self.shas: dict[str, list[str]] = {}
        for rel, sha in pairs:
            self.shas.setdefault(rel, []).append(sha)
        self.written: dict[str, str] = {}  # the versions written through this object

    def pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple((rel, sha) for rel, shas in sorted(self.shas.items()) for sha in shas)

    def save(self) -> None:
        if self._save is not None:
            self._save(self)

    def state(self, rel: str) -> str:
        """'free' (nothing there), 'ours' (a version written here, unchanged) or 'other'."""
        p = self.root / rel
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            return "free"
        except OSError:
            return "other"
        if not stat.S_ISREG(st.st_mode) or rel not in self.shas:
            return "other"
        return "ours" if sha256_of(p) in self.shas[rel] else "other"

    def check(self, rels: Iterable[str]) -> None:
        """Raise OutputError for a path held by a file this ledger did not write."""
        for rel in rels:
            if self.state(rel) != "other":
                continue
            p = self.root / rel
            what = "formcheck did not write this file (or it was changed since)"
            if p.is_symlink() or not p.is_file():
                what = "is a folder or a link, not a file formcheck wrote"
            raise OutputError(f"{p}: {what}, so it is not replaced; move it away and rerun")

    def stage(self) -> Stage:
        return Stage(self.temp_dir, self._before_replace)

    def _before_replace(self, tmp: Path, dest: Path) -> None:
        rel = Path(os.path.relpath(os.path.abspath(dest), os.path.abspath(self.root))).as_posix()
        self.check([rel])  # again, at the last moment
        sha = sha256_of(tmp)
        if sha is None:
            raise OutputError(f"cannot write {dest}: its temp file cannot be read back")
        self.written[rel] = sha
        self.shas[rel] = [*self.shas.get(rel, [])[1 - self.KEEP:], sha]
        self.save()

    def discard(self, keep: Iterable[str] = ()) -> list[str]:
        """Delete the files of this ledger not in `keep` that are still as written; forget them."""
        keep = set(keep)
        gone = []
        for rel in sorted(set(self.shas) - keep):
            if self.state(rel) == "ours":
                with contextlib.suppress(FileNotFoundError):
                    (self.root / rel).unlink()
                gone.append(rel)
            del self.shas[rel]
        return gone

    def settle(self, rels: Iterable[str]) -> None:
        """After a complete write: exactly `rels` are this ledger's, each in the version just written."""
        self.shas = {rel: [self.written[rel]] for rel in rels if rel in self.written}
