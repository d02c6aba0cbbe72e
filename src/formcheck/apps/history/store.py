"""The training history: one SQLite file, a versioned schema, every write one transaction.

Safety, in order of what can go wrong:
- Several writers at once (a batch's workers, a live session): WAL journal, `BEGIN IMMEDIATE`
  (a writer takes the lock up front, so two writers never deadlock), SQLite's busy timeout,
  then a few retries; still locked, one line (`FormcheckError`, exit 7).
- A kill at any moment: a set (its row, reps and checks) is written in one transaction, so it is
  all there or not at all; what was committed before stays.
- A file that is not ours (another program's SQLite, a text file, a damaged copy): refused in
  one line *before anything is written to it*: the header, `PRAGMA application_id` and
  `quick_check` are read first, and WAL is switched on only after they pass.
- A database from a newer formcheck (`user_version` above ours): refused, left as it is.

Schema versions live in `MIGRATIONS`: entry i takes a database from version i to i + 1, so a
database made by the first formcheck with a history (version 1) is brought up to date on open.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from formcheck.errors import ExitCode, FormcheckError

APPLICATION_ID = 0x46434B48  # "FCKH": marks a formcheck history database
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 5.0  # SQLite's own wait for a lock, per attempt
LOCK_RETRIES = 3  # attempts after the busy timeout, with a growing pause between them
RETRY_PAUSE_S = 0.5
ENV_VAR = "FORMCHECK_DB"

T = TypeVar("T")

# Version 1: the first schema. Kept as it shipped: migrations start from it.
SCHEMA_V1 = """
CREATE TABLE lifters (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE sets (
    id INTEGER PRIMARY KEY,
    lifter_id INTEGER NOT NULL REFERENCES lifters(id) ON DELETE CASCADE,
    identity TEXT NOT NULL UNIQUE,      -- sha256 of the source, or source|duration|frames
    sha256 TEXT,
    recorded_at TEXT NOT NULL,          -- ISO 8601, when the set was filmed (file time or given)
    scored_at TEXT NOT NULL,
    source TEXT NOT NULL,
    source_path TEXT,
    report_path TEXT,                   -- a report of this set on disk, if known (linked from HTML)
    exercise TEXT NOT NULL,
    view TEXT,
    reps INTEGER NOT NULL,
    partial_reps INTEGER NOT NULL,
    mean_score REAL,
    mean_rom REAL,
    mean_hold_s REAL,
    lockout_deg REAL,                   -- mean hip extension at the top, full reps
    focus_rule TEXT,
    focus_title TEXT,
    focus_cue TEXT,
    load_kg REAL,
    rpe REAL,
    note TEXT,
    report_json TEXT NOT NULL           -- the whole report: everything else can be rebuilt from it
);
CREATE INDEX sets_by_lifter ON sets(lifter_id, recorded_at);
CREATE TABLE reps (
    set_id INTEGER NOT NULL REFERENCES sets(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    partial INTEGER NOT NULL,
    start_s REAL, top_s REAL, end_s REAL, hold_s REAL, rom REAL,
    ascent_s REAL, descent_s REAL, hip_ext_deg REAL, score REAL,
    PRIMARY KEY (set_id, idx)
);
CREATE TABLE checks (
    set_id INTEGER NOT NULL REFERENCES sets(id) ON DELETE CASCADE,
    rep_idx INTEGER NOT NULL,
    rule TEXT NOT NULL,
    title TEXT NOT NULL,
    verdict TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (set_id, rep_idx, rule)
);
"""

# Version 2: reports carry how sure each call is, and a set keeps its hip-extension curve.
SCHEMA_V2 = """
ALTER TABLE sets ADD COLUMN exercise_confidence TEXT;
ALTER TABLE sets ADD COLUMN curve_json TEXT;         -- [[t_s, hip_ext_deg], ...], downsampled
ALTER TABLE sets ADD COLUMN curve_kind TEXT;         -- 'measured' (from the track) or 'from_reps'
ALTER TABLE reps ADD COLUMN confidence TEXT;
"""

MIGRATIONS: tuple[str, ...] = (SCHEMA_V1, SCHEMA_V2)
SCHEMA_VERSION = len(MIGRATIONS)


def default_path() -> Path:
    """`$FORMCHECK_DB`, else `history.sqlite` in the user's data folder (platformdirs)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path("formcheck", appauthor=False) / "history.sqlite"


def _err(path: Path, what: str, code: ExitCode = ExitCode.OUTPUT) -> FormcheckError:
    return FormcheckError(f"history database {path}: {what}", code)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class Store:
    """An open history database. Use as a context manager, or call `close()`."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, create: bool = True) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        self._check_file(create)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.cx = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise _err(self.path, f"cannot be opened ({exc}); check the folder and its permissions") from exc
        self.cx.row_factory = sqlite3.Row
        try:
            self._retry(self._open)
        except BaseException:
            self.cx.close()
            raise

    # -- opening -------------------------------------------------------------------------------

    def _check_file(self, create: bool) -> None:
        p = self.path
        if p.exists() and not p.is_file():
            raise _err(p, "is a folder or a device, not a database file; pass --db a file path", ExitCode.USAGE)
        if not p.exists():
            if not create:
                raise _err(p, "does not exist (nothing recorded yet?)", ExitCode.NOT_FOUND)
            return
        try:
            with open(p, "rb") as fh:
                head = fh.read(len(SQLITE_MAGIC))
        except OSError as exc:
            raise _err(p, f"cannot be read ({exc.strerror or exc})", ExitCode.NOT_FOUND) from exc
        if head and head != SQLITE_MAGIC:
            raise _err(p, "is not a SQLite database (foreign or damaged file); it is left as it is: "
                          "move it away, or pass --db another path")

    def _open(self) -> None:
        cx = self.cx
        try:
            # One read transaction, so one snapshot: read statement by statement, another process
            # creating the file could commit between them (no id yet, then its tables: "another
            # program's database", once in many runs of two writers starting together).
            cx.execute("BEGIN")
            try:
                app_id = cx.execute("PRAGMA application_id").fetchone()[0]
                version = cx.execute("PRAGMA user_version").fetchone()[0]
                tables = cx.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                ok = cx.execute("PRAGMA quick_check").fetchone()[0] if tables else "ok"
            finally:
                cx.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise
            raise _err(self.path, f"cannot be read ({exc}); it is left as it is") from exc
        except sqlite3.DatabaseError as exc:
            raise _err(self.path, f"is damaged or not a database ({exc}); it is left as it is: "
                                  "move it away, or pass --db another path") from exc
        if ok != "ok":
            raise _err(self.path, f"is damaged (integrity check: {ok}); it is left as it is: "
                                  "restore a copy or `formcheck history export` from one, or pass --db another path")
        if app_id != APPLICATION_ID and (tables or app_id):
            raise _err(self.path, "is a SQLite database of another program, not a formcheck history; "
                                  "it is left as it is: pass --db another path")
        if version > SCHEMA_VERSION:
            raise _err(self.path, f"was written by a newer formcheck (schema {version}; this one reads up to "
                                  f"{SCHEMA_VERSION}); upgrade formcheck, it is left as it is", ExitCode.USAGE)
        cx.execute("PRAGMA journal_mode=WAL")
        cx.execute("PRAGMA foreign_keys=ON")
        cx.execute("PRAGMA synchronous=NORMAL")  # in WAL: a power cut may lose the last commit, never corrupt
        if version < SCHEMA_VERSION:
            self._migrate()

    def _migrate(self) -> None:
        with self.transaction() as cx:
            # Read again inside the write lock: another process may have migrated meanwhile.
            version = cx.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise _err(self.path, f"was written by a newer formcheck (schema {version})", ExitCode.USAGE)
            for script in MIGRATIONS[version:]:
                for statement in (s.strip() for s in script.split(";")):
                    if statement:
                        cx.execute(statement)
            cx.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            cx.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- transactions --------------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: all of it is committed, or none of it (also on a kill)."""
        self.cx.execute("BEGIN IMMEDIATE")
        try:
            yield self.cx
        except BaseException:
            self.cx.execute("ROLLBACK")
            raise
        self.cx.execute("COMMIT")

    def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run fn(connection) in one transaction, retried while another writer holds the lock."""

        def attempt() -> T:
            with self.transaction() as cx:
                return fn(cx)

        return self._retry(attempt)

    def _retry(self, fn: Callable[[], T]) -> T:
        for attempt in range(LOCK_RETRIES + 1):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise _err(self.path, f"cannot be written ({exc})") from exc
                if attempt == LOCK_RETRIES:
                    waited = (LOCK_RETRIES + 1) * BUSY_TIMEOUT_S + RETRY_PAUSE_S * LOCK_RETRIES * (LOCK_RETRIES + 1) / 2
                    raise _err(self.path, f"is locked by another formcheck (still busy after {waited:.0f} s); "
                                          "try again when it has finished") from exc
                time.sleep(RETRY_PAUSE_S * (attempt + 1))
            except sqlite3.DatabaseError as exc:
                raise _err(self.path, f"is damaged ({exc}); it is left as it is") from exc
        raise AssertionError("unreachable")

    def query(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        return self._retry(lambda: self.cx.execute(sql, params).fetchall())

    @property
    def version(self) -> int:
        return int(self.cx.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.cx.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
