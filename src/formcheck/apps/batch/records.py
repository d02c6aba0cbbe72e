"""What a batch passes around: its settings, one input's record, the batch's result.

Shared by the runner, the engines and the summary (none of them imports another for these).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from formcheck import __version__
from formcheck.apps.batch.inputs import STATE_DIR, Job, sha256_file
from formcheck.apps.batch.tracks import track_settings_key
from formcheck.config import Config
from formcheck.errors import ExitCode, FormcheckError

OnResult = Callable[["Record"], None]
TEMP_DIR = "tmp"  # below STATE_DIR


@dataclass(frozen=True)
class Settings:
    """Everything that shapes a result; `key` hashes it (with the formcheck version) for resume."""

    out: Path
    config: Config = field(default_factory=Config)
    model: Path | None = None
    csv: bool = False
    html: bool = False
    annotate: bool = False
    key: str = ""
    config_file: Path | None = None  # where `config` was read from: never to be overwritten
    # The training history (docs/history.md): where each scored set is saved, and for whom. Not
    # in `key`: recording changes no result, so asking for it never forces a re-score.
    lifter: str | None = None  # every set's lifter; with lifter_from_folder, the fallback
    lifter_from_folder: bool = False  # each input's parent folder name is its lifter
    db: Path | None = None  # the history database (absolute); None with neither lifter option = no recording
    # What a pose track depends on (the [video] config, the model, the version: batch_tracks): a
    # rerun under other outputs or thresholds re-renders from the cached track, without the model.
    track_key: str = ""

    @property
    def records_history(self) -> bool:
        return self.lifter is not None or self.lifter_from_folder

    @classmethod
    def create(cls, out: str | os.PathLike[str], config: Config | None = None, model: Path | None = None,
               csv: bool = False, html: bool = False, annotate: bool = False,
               config_file: str | os.PathLike[str] | None = None, lifter: str | None = None,
               lifter_from_folder: bool = False, db: str | os.PathLike[str] | None = None) -> Settings:
        from formcheck.pose.model import MODEL_SHA256

        config = _one_worker(config or Config())
        model_id = f"shipped:{MODEL_SHA256}" if model is None else _model_id(Path(model))
        payload = {"config": dataclasses.asdict(config), "model": model_id, "csv": csv, "html": html,
                   "annotate": annotate, "formcheck": __version__}
        key = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
        if db is not None and lifter is None and not lifter_from_folder:
            raise FormcheckError("--db saves each set to the history: it needs --lifter NAME or "
                                 "--lifter-from-folder", ExitCode.USAGE)
        if lifter is not None or lifter_from_folder:
            from formcheck.apps.history.record import clean_name
            from formcheck.apps.history.store import default_path

            lifter = clean_name(lifter)
            db = Path(os.path.abspath(Path(db).expanduser() if db is not None else default_path()))
        return cls(Path(out), config, model, csv, html, annotate, key,
                   None if config_file is None else Path(config_file), lifter, lifter_from_folder,
                   None if db is None else Path(db), track_settings_key(config, model_id))

    @property
    def temp_dir(self) -> Path:
        return self.out / STATE_DIR / TEMP_DIR


def _one_worker(config: Config) -> Config:
    """Track each file's chunks one after another: the batch already keeps every core busy with
    whole files. The chunks are the same as `formcheck VIDEO` cuts, so the results are too."""
    return dataclasses.replace(config, video=dataclasses.replace(config.video, workers=1))


def _model_id(model: Path) -> str:
    try:
        return sha256_file(model)
    except FormcheckError:
        return str(model)  # missing: the model check fails the batch before any job runs


@dataclass(frozen=True)
class Record:
    """One input's outcome: what summary.csv shows, and (when complete) the resume record."""

    name: str
    source: str
    status: str  # ok | nothing_to_score | error | not_done; in a record file also `writing`
    code: int  # ExitCode of this file alone
    message: str = ""
    sha256: str = ""
    settings: str = ""
    outputs: tuple[str, ...] = ()  # relative to the output folder; the JSON report first
    exercise: str = ""
    reps: int | None = None
    mean_score: float | None = None
    frames: int = 0
    seconds: float = 0.0  # wall time of this file (kept out of the JSON report on purpose)
    reused: bool = False  # complete from an earlier run, skipped this time
    detail: str = ""  # traceback of an internal error, for --debug
    owned: tuple[tuple[str, str], ...] = ()  # (output, sha256 of what the batch wrote there): see Ledger
    # For index.html: the set's focus, the faults of its counted reps (rule titles), a small key frame.
    focus_title: str = ""
    focus_cue: str = ""
    faults: tuple[str, ...] = ()
    thumb: str = ""  # data URL of a small JPEG: the top of the best rep (the first if none is scored)
    from_cache: bool = False  # scored from the cached pose track: the model did not run this time

    @property
    def failed(self) -> bool:
        return self.status == "error"


@dataclass(frozen=True)
class BatchResult:
    records: tuple[Record, ...]  # in input order
    out: Path
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.records)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.SOME_FAILED if any(r.failed for r in self.records) else ExitCode.OK


def crash_record(job: Job, s: Settings, why: str) -> Record:
    return Record(job.name, str(job.path), "error", int(ExitCode.INTERNAL), why, settings=s.key)


# ---- resume ----------------------------------------------------------------------------------
