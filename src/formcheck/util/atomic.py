"""Atomic output: write to a temp name beside the destination, rename when complete.

A crash, a Ctrl-C or a full disk leaves either the old file or nothing, never half a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from formcheck.errors import OutputError


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temp path in dest's folder; on success it replaces dest, on error it is removed.

    The temp name keeps dest's extension (writers such as OpenCV's choose the format by it).
    """
    dest = Path(dest)
    folder = dest.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=suffix or dest.suffix or ".tmp", dir=folder)
        os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from exc
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp makes the file private (0600); give it the usual permissions a new file gets.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, dest)
    except OSError as exc:
        raise OutputError(f"cannot write {dest}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(dest: str | os.PathLike[str], text: str) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_text(text, encoding="utf-8")
