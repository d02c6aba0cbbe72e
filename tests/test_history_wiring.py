"""The training history wired into `formcheck batch`, `formcheck live` and `formcheck VIDEO`:
real SQLite files in tmp_path, the shipped pose tracks (no pose model), and for live a tiny
video played through a stand-in estimator (tests/test_live.py's TrackEstimator)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import struct
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import SHIPPED
from formcheck.apps.batch.runner import Job, Settings, run_batch, run_job
from formcheck.apps.history import Store, sets, store
from formcheck.apps.history.record import container_time, filmed_at
from formcheck.cli.batch import app as batch_app
from formcheck.errors import ExitCode

runner = CliRunner()
THRUST = SHIPPED / "hip_thrust_palFitness_WORKOUT-HOME.npz"
BRIDGE = SHIPPED / "glute_bridge_BE-PROJECTS2018_GroupNo23.npz"
OTHER = SHIPPED / "glute_bridge_isaiahwong_Wong-Fit.npz"
NOTHING = SHIPPED / "not_a_thrust_dead_bug_lenagalanova8.npz"
LIVE_TRACK = SHIPPED / "synthetic_glute_bridge_anvoxfit.npz"


@pytest.fixture(autouse=True)
def _no_user_db(tmp_path, monkeypatch):
    monkeypatch.setenv("FORMCHECK_DB", str(tmp_path / "default.sqlite"))  # never the user's own history


def clients(root: Path, files: dict[str, list[Path]]) -> Path:
    for who, tracks in files.items():
        (root / who).mkdir(parents=True, exist_ok=True)
        for t in tracks:
            (root / who / t.name).write_bytes(t.read_bytes())
    return root


def saved(db: Path) -> list[dict]:
    with Store(db) as st:
        return sets.list_sets(st)


def batch(*args: object):
    return runner.invoke(batch_app, [str(a) for a in args])


# -- batch ---------------------------------------------------------------------------------------


def test_batch_lifter_from_folder_records_every_set_and_a_rerun_adds_none(tmp_path):
    src = clients(tmp_path / "in", {"ana": [THRUST], "bo": [BRIDGE, NOTHING]})
    db, out = tmp_path / "h.sqlite", tmp_path / "out"
    r = batch(src, "--out", out, "--lifter-from-folder", "--db", db, "-j", "2")
    assert r.exit_code == 0, r.output
    assert "2 sets saved to the history" in r.output
    first = saved(db)
    assert {(s["lifter"], s["exercise"]) for s in first} == {("ana", "hip_thrust"), ("bo", "glute_bridge")}
    assert all(s["sha256"] and s["curve_kind"] == "measured" for s in first)  # the dead bug is not saved
    assert {Path(s["report_path"]).name for s in first} == {f"{THRUST.stem}.json", f"{BRIDGE.stem}.json"}

    r = batch(src, "--out", out, "--lifter-from-folder", "--db", db)  # every file reused
    assert r.exit_code == 0 and "already scored" in r.output, r.output
    again = saved(db)
    assert [(s["id"], s["lifter"], s["curve_kind"]) for s in again] == [(s["id"], s["lifter"], "measured")
                                                                        for s in first]
    # a new file beside them: only it is scored, and it is one more set
    clients(src, {"bo": [OTHER]})
    r = batch(src, "--out", out, "--lifter-from-folder", "--db", db)
    assert r.exit_code == 0, r.output
    assert len(saved(db)) == 3


def test_recording_does_not_change_the_settings_key_so_reused_results_are_recorded(tmp_path):
    base = Settings.create(tmp_path / "out")
    assert Settings.create(tmp_path / "out", lifter="ana", db=tmp_path / "h.sqlite").key == base.key
    assert Settings.create(tmp_path / "out", lifter_from_folder=True).key == base.key
    src = clients(tmp_path / "in", {"ana": [THRUST]})
    out, db = tmp_path / "out", tmp_path / "h.sqlite"
    assert batch(src, "--out", out, "-q").exit_code == 0  # first without the history
    assert not db.exists()
    r = batch(src, "--out", out, "--lifter", "Ana", "--db", db)
    assert r.exit_code == 0 and "0 to do" in r.output, r.output  # nothing re-scored
    (s,) = saved(db)
    assert s["lifter"] == "Ana" and s["curve_kind"] == "from_reps"  # from the report on disk
    assert batch(src, "--out", out, "--lifter", "Ana", "--db", db, "-q").exit_code == 0
    assert len(saved(db)) == 1


def test_a_locked_database_is_a_note_not_a_failed_file(tmp_path, monkeypatch):
    db = tmp_path / "h.sqlite"
    Store(db).close()
    monkeypatch.setattr(store, "BUSY_TIMEOUT_S", 0.1)
    monkeypatch.setattr(store, "RETRY_PAUSE_S", 0.05)
    s = Settings.create(tmp_path / "out", lifter="ana", db=db)
    (tmp_path / "out").mkdir()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        rec = run_job(Job(THRUST, THRUST.stem), s)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert rec.status == "ok" and rec.code == ExitCode.OK, rec
    assert "not saved to the history" in rec.message and "locked" in rec.message
    assert (tmp_path / "out" / f"{THRUST.stem}.json").is_file()
    assert saved(db) == []
    result = run_batch([THRUST], s)  # free again: the rerun reuses the result and saves the set
    (rec,) = result.records
    assert rec.reused and "not saved" not in rec.message
    assert [x["lifter"] for x in saved(db)] == ["ana"]


def test_a_foreign_database_fails_the_batch_before_any_work(tmp_path):
    src = clients(tmp_path / "in", {"ana": [THRUST]})
    db = tmp_path / "h.sqlite"
    db.write_text("my shopping list\n")
    r = batch(src, "--out", tmp_path / "out", "--lifter", "ana", "--db", db)
    assert r.exit_code == ExitCode.OUTPUT and "not a SQLite database" in r.output, r.output
    assert db.read_text() == "my shopping list\n"
    assert not (tmp_path / "out" / f"{THRUST.stem}.json").exists()


@pytest.mark.parametrize("args, says", [
    (["--db", "h.sqlite"], "needs --lifter"),
    (["--lifter", " "], "1 to 80 printable"),
], ids=["db-without-lifter", "blank-name"])
def test_bad_batch_history_options_are_usage_errors(tmp_path, args, says):
    r = batch(clients(tmp_path / "in", {"ana": [THRUST]}), "--out", tmp_path / "out", *args)
    assert r.exit_code == ExitCode.USAGE and says in r.output, r.output


# -- formcheck VIDEO: the database first -----------------------------------------------------------


def test_file_mode_checks_the_database_before_tracking(tmp_path, monkeypatch):
    import formcheck.pipeline.analyze as pipeline
    from formcheck.cli.analyze import app as analyze_app

    def never(*_a: object, **_k: object) -> None:
        raise AssertionError("tracked before the database was checked")

    monkeypatch.setattr(pipeline, "analyze_path", never)
    db = tmp_path / "h.sqlite"
    db.write_text("not a database\n")
    r = runner.invoke(analyze_app, [str(THRUST), "--lifter", "ana", "--db", str(db), "-q"])
    assert r.exit_code == ExitCode.OUTPUT and "not a SQLite database" in r.output, r.output


# -- live ----------------------------------------------------------------------------------------


@pytest.fixture
def live_on_a_file(tmp_path, monkeypatch):
    """`formcheck live --source FILE --no-pacing` with the pose model replaced by a saved track."""
    import cv2

    import formcheck.pose.model as pose_model
    from formcheck.pose.track import PoseTrack

    sys.path.insert(0, str(Path(__file__).parent))
    from test_live import TrackEstimator

    track = PoseTrack.load(LIVE_TRACK)

    class Replayed:
        def __init__(self, *_a: object, **_k: object) -> None: ...
        def __enter__(self) -> TrackEstimator:
            return TrackEstimator(track)
        def __exit__(self, *_exc: object) -> None: ...

    monkeypatch.setattr(pose_model, "PoseEstimator", Replayed)
    video = tmp_path / "set.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 24.0, (160, 90))
    for _ in range(len(track)):
        w.write(np.full((90, 160, 3), 60, np.uint8))
    w.release()
    from formcheck.cli.live import app

    return video, lambda *a: runner.invoke(app, ["--source", str(video), "--no-window", "--no-pacing", *map(str, a)])


def test_live_lifter_records_the_set_and_a_rerun_updates_it(tmp_path, live_on_a_file):
    video, live = live_on_a_file
    db = tmp_path / "h.sqlite"
    r = live("--lifter", "ana", "--load", "50", "--rpe", "7", "--note", "live", "--db", db,
             "--json", tmp_path / "r.json")
    assert r.exit_code == 0, r.output
    assert "saved set 1 for ana" in r.output
    (s,) = saved(db)
    assert (s["lifter"], s["exercise"], s["reps"], s["load_kg"], s["rpe"], s["note"]) == (
        "ana", "glute_bridge", 1, 50, 7, "live")
    assert s["curve_kind"] == "measured" and s["report"]["live"]["reps_counted"] == 1
    assert s["report_path"] == str(tmp_path / "r.json") and s["source_path"] == str(video)
    r = live("--lifter", "ana", "--db", db, "-q")
    assert r.exit_code == 0, r.output
    (again,) = saved(db)
    assert again["id"] == s["id"] and again["load_kg"] == 50  # the same file: the same set


def test_live_refuses_bad_history_options_before_the_source_opens(tmp_path, live_on_a_file):
    _, live = live_on_a_file
    r = live("--load", "60")
    assert r.exit_code == ExitCode.USAGE and "need --lifter" in r.output
    db = tmp_path / "h.sqlite"
    db.write_text("not a database\n")
    r = live("--lifter", "ana", "--db", db)
    assert r.exit_code == ExitCode.OUTPUT and "not a SQLite database" in r.output, r.output
    assert db.read_text() == "not a database\n"


# -- the recording date ----------------------------------------------------------------------------


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _mp4(path: Path, created: int, version: int = 0, moov_last: bool = True) -> None:
    times = struct.pack(">QQ", created, created) if version else struct.pack(">II", created, created)
    mvhd = _box(b"mvhd", bytes([version, 0, 0, 0]) + times + b"\0" * 80)
    parts = [_box(b"ftyp", b"isom\0\0\2\0isom"), _box(b"mdat", b"\0" * 5000)]
    # a 64-bit size box before the movie box, as big files have
    parts.append(struct.pack(">I", 1) + b"free" + struct.pack(">Q", 16 + 64) + b"\0" * 64)
    moov = _box(b"moov", mvhd)
    path.write_bytes(b"".join([*parts, moov] if moov_last else [parts[0], moov, *parts[1:]]))


EPOCH_1904 = 2082844800  # seconds from 1904-01-01 to 1970-01-01


@pytest.mark.parametrize("version, moov_last", [(0, True), (1, True), (0, False)],
                         ids=["v0-index-at-end", "v1-64-bit", "index-first"])
def test_the_recording_date_is_the_containers_creation_time(tmp_path, version, moov_last):
    when = dt.datetime(2025, 3, 14, 18, 30, 5, tzinfo=dt.UTC)
    clip = tmp_path / "clip.mov"
    _mp4(clip, int(when.timestamp()) + EPOCH_1904, version, moov_last)
    assert container_time(clip) == when
    assert filmed_at(clip) == "2025-03-14T18:30:05Z"


def test_without_a_creation_time_the_file_time_is_the_date(tmp_path):
    clip = tmp_path / "clip.mp4"
    _mp4(clip, 0)  # phones that do not set it write 0
    mtime = time.time() - 86400 * 3
    import os

    os.utime(clip, (mtime, mtime))
    assert container_time(clip) is None
    assert filmed_at(clip) == dt.datetime.fromtimestamp(mtime, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\xff" * 100)
    assert container_time(junk) is None and filmed_at(junk) is not None
    assert container_time(tmp_path / "missing.mp4") is None


def test_a_recorded_video_gets_its_creation_date(tmp_path):
    from conftest import SAMPLES

    clip = SAMPLES / "glute_bridge_BE-PROJECTS2018_GroupNo23.mp4"
    if not clip.is_file():
        pytest.skip("dev videos not found")
    assert filmed_at(clip) == "2016-08-12T13:24:50Z"
