"""Training history on a real SQLite file: record, re-score, import, manage, migrate, export.

Reports come from the shipped pose tracks (samples/*.npz), scored once per module; every
database is a file in tmp_path, opened the way the CLI opens it.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import SHIPPED
from formcheck.apps.history import Store, record_report, sets, store, views
from formcheck.apps.history.importer import import_paths
from formcheck.apps.history.record import adapt, curve_from_reps, from_report
from formcheck.cli.analyze import app as analyze_app
from formcheck.cli.history import app as history_app
from formcheck.errors import ExitCode, FormcheckError

runner = CliRunner()
THRUST = SHIPPED / "hip_thrust_palFitness_WORKOUT-HOME.npz"
BRIDGE = SHIPPED / "glute_bridge_BE-PROJECTS2018_GroupNo23.npz"
SQUAT = SHIPPED / "not_a_thrust_squat_BE-PROJECTS2018.npz"


@pytest.fixture(autouse=True)
def _no_user_db(tmp_path, monkeypatch):
    monkeypatch.setenv("FORMCHECK_DB", str(tmp_path / "default.sqlite"))  # never the user's own history


@pytest.fixture(scope="module")
def scored():
    """name -> (report, measured curve), each shipped track scored once."""
    return {p.stem: adapt(p) for p in (THRUST, BRIDGE, SQUAT)}


@pytest.fixture
def db(tmp_path):
    return tmp_path / "history.sqlite"


def thrust(scored):
    return copy.deepcopy(scored[THRUST.stem][0])


def count(db: Path, table: str = "sets") -> int:
    with sqlite3.connect(db) as cx:
        return cx.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


# -- record and re-score -----------------------------------------------------------------------


def test_record_keeps_the_set_its_reps_and_checks(scored, db):
    report, curve = scored[THRUST.stem]
    set_id, created = record_report(report, db=db, lifter="ana", source_path=THRUST, curve=curve, load_kg=60,
                                    rpe=8, note="felt good")
    assert created and set_id == 1
    with Store(db) as st:
        (s,) = sets.list_sets(st)
        assert st.version == store.SCHEMA_VERSION
    assert (s["lifter"], s["exercise"], s["reps"], s["load_kg"], s["rpe"], s["note"]) == (
        "ana", "hip_thrust", 7, 60, 8, "felt good")
    assert s["sha256"] and s["curve_kind"] == "measured" and 50 < len(s["curve"]) <= 240
    assert s["report"] == report  # the whole report comes back as it went in
    assert s["lockout_deg"] == pytest.approx(191.9, abs=0.5)
    assert count(db, "reps") == len(report["reps"])
    assert count(db, "checks") == sum(len(r["checks"]) for r in report["reps"])


@dataclass(frozen=True)
class Rescore:
    id: str
    sha256: str | None  # None: identified by the report's source + duration + frames
    change: str  # how the second report differs


RESCORES = [
    Rescore("same-video-content", "ab" * 32, "score"),
    Rescore("report-without-video", None, "score"),
    Rescore("same-video-renamed-report", "cd" * 32, "source"),
]


@pytest.mark.parametrize("case", RESCORES, ids=lambda c: c.id)
def test_rescoring_the_same_video_updates_the_set(scored, db, case):
    first = thrust(scored)
    record_report(first, db=db, lifter="ana", sha256=case.sha256, load_kg=60, note="week 1")
    second = thrust(scored)
    if case.change == "score":
        second["summary"]["mean_score"] = 99.0
        second["reps"] = second["reps"][:5]
    elif case.change == "source" and case.sha256:
        second["source"] = "renamed.mp4"  # same content: still the same set
    set_id, created = record_report(second, db=db, sha256=case.sha256, rpe=7)
    assert (set_id, created) == (1, False)
    with Store(db) as st:
        (s,) = sets.list_sets(st)
    assert s["lifter"] == "ana" and s["load_kg"] == 60 and s["note"] == "week 1" and s["rpe"] == 7  # kept + added
    assert s["report"] == second
    assert count(db, "reps") == len(second["reps"])  # the old reps replaced, not added to


def test_different_content_is_another_set(scored, db):
    record_report(thrust(scored), db=db, lifter="ana", sha256="a" * 64)
    record_report(thrust(scored), db=db, lifter="ana", sha256="b" * 64)
    assert count(db) == 2


def test_cli_lifter_records_and_a_rerun_updates(db, tmp_path):
    args = [str(THRUST), "--db", str(db), "--lifter", "Ana", "--load", "60", "--json", str(tmp_path / "r.json")]
    r = runner.invoke(analyze_app, args)
    assert r.exit_code == 0, r.output
    assert "saved set 1 for Ana" in r.output
    r = runner.invoke(analyze_app, [str(THRUST), "--db", str(db), "--lifter", "Ana", "--quiet"])
    assert r.exit_code == 0, r.output
    with Store(db) as st:
        (s,) = sets.list_sets(st)
    assert s["load_kg"] == 60 and s["report_path"] == str(tmp_path / "r.json")
    r = runner.invoke(history_app, ["--db", str(db)])
    assert r.exit_code == 0 and "Ana" in r.output and "hip thrust" in r.output and "60 kg" in r.output


@pytest.mark.parametrize("args, message", [
    (["--load", "60"], "need --lifter"),
    (["--lifter", "ana", "--rpe", "11"], "RPE is 1 to 10"),
    (["--lifter", " "], "1 to 80 printable"),
], ids=["load-without-lifter", "rpe-out-of-range", "blank-name"])
def test_cli_refuses_bad_history_options(db, args, message):
    r = runner.invoke(analyze_app, [str(THRUST), "--db", str(db), "--quiet", *args])
    assert r.exit_code == ExitCode.USAGE, r.output
    assert message in r.output
    assert not db.exists()


def test_no_hip_thrust_is_not_saved(db):
    r = runner.invoke(analyze_app, [str(SQUAT), "--db", str(db), "--lifter", "ana"])
    assert r.exit_code == ExitCode.NOTHING_TO_SCORE
    assert "not saved" in r.output
    assert not db.exists() or count(db) == 0


# -- import ------------------------------------------------------------------------------------


def test_import_a_real_batch_folder_with_lifters_from_folders(tmp_path, db):
    for who, track in (("ana", THRUST), ("bo", BRIDGE), ("bo", SQUAT)):
        (tmp_path / "in" / who).mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / who / track.name).write_bytes(track.read_bytes())
    from formcheck.cli.batch import app as batch_app

    r = runner.invoke(batch_app, [str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--workers", "1", "-q"])
    assert r.exit_code == 0, r.output
    args = ["import", str(tmp_path / "out"), "--lifter-from-folder", "--db", str(db)]
    r = runner.invoke(history_app, args)
    assert r.exit_code == 0, r.output
    assert "imported 2 new sets, updated 0" in r.output and "nothing_to_score" in r.output  # the squat skipped
    with Store(db) as st:
        got = {(s["lifter"], s["exercise"]) for s in sets.list_sets(st)}
        assert got == {("ana", "hip_thrust"), ("bo", "glute_bridge")}
        assert all(s["sha256"] for s in sets.list_sets(st))  # from summary.csv: a later --lifter run matches
    r = runner.invoke(history_app, args)
    assert "imported 0 new sets, updated 2" in r.output
    # The same video scored by hand later is the same set (same content sha256).
    r = runner.invoke(analyze_app, [str(tmp_path / "in" / "ana" / THRUST.name), "--db", str(db), "--lifter", "ana",
                                    "-q"])
    assert r.exit_code == 0 and count(db) == 2


def test_import_json_reports_and_refuse_foreign_json(scored, tmp_path, db):
    (tmp_path / "r.json").write_text(json.dumps(thrust(scored)))
    (tmp_path / "other.json").write_text('{"hello": 1}')
    with Store(db) as st:
        done = import_paths(st, [tmp_path / "r.json"], lifter="ana")
        assert (done.added, done.updated) == (1, 0)
        with pytest.raises(FormcheckError, match="not a formcheck JSON report"):
            import_paths(st, [tmp_path / "other.json"])
        done = import_paths(st, [tmp_path])  # a folder: the foreign JSON is skipped, the report updated
        assert (done.added, done.updated) == (0, 1) and any("other.json" in x for x in done.skipped)
        (s,) = sets.list_sets(st)
        assert s["lifter"] == "ana" and s["curve_kind"] == "from_reps" and s["curve"]


# -- manage: lifters, rename, delete, export ---------------------------------------------------


def test_rename_delete_ask_first(scored, db):
    record_report(thrust(scored), db=db, lifter="ana", sha256="a" * 64)
    record_report(thrust(scored), db=db, lifter="bo", sha256="b" * 64)
    record_report(thrust(scored), db=db, lifter="bo", sha256="c" * 64)
    h = ["--db", str(db)]
    r = runner.invoke(history_app, ["rename", "ana", "bo", *h])
    assert r.exit_code == ExitCode.USAGE and "exists already" in r.output
    assert runner.invoke(history_app, ["rename", "ana", "Ana Lopez", *h]).exit_code == 0
    r = runner.invoke(history_app, ["lifters", *h])
    assert "Ana Lopez" in r.output and "bo" in r.output
    r = runner.invoke(history_app, ["delete", "--lifter", "bo", *h], input="n\n")
    assert r.exit_code == 0 and "nothing deleted" in r.output and count(db) == 3
    r = runner.invoke(history_app, ["delete", "--lifter", "bo", *h], input="")  # no answer: a script without --yes
    assert r.exit_code == ExitCode.USAGE and "--yes" in r.output and count(db) == 3
    r = runner.invoke(history_app, ["delete", "--set", "2", *h], input="y\n")
    assert r.exit_code == 0 and count(db) == 2
    r = runner.invoke(history_app, ["delete", "--lifter", "bo", "--yes", *h])
    assert r.exit_code == 0 and count(db) == 1 and count(db, "lifters") == 1 and count(db, "reps") == 7
    r = runner.invoke(history_app, ["delete", "--set", "99", "--yes", *h])
    assert r.exit_code == ExitCode.USAGE and "no set 99" in r.output


def test_export_and_import_db_round_trip(scored, tmp_path, db):
    report, curve = scored[THRUST.stem]
    record_report(report, db=db, lifter="ana", sha256="a" * 64, curve=curve, load_kg=60, note='a "quoted" note')
    record_report(scored[BRIDGE.stem][0], db=db, lifter="bo", recorded_at="2026-01-05T10:00:00Z")
    dump = tmp_path / "all.json"
    assert runner.invoke(history_app, ["export", str(dump), "--db", str(db)]).exit_code == 0
    other = tmp_path / "other.sqlite"
    for expect in ("imported 2 new sets, updated 0", "imported 0 new sets, updated 2"):
        r = runner.invoke(history_app, ["import-db", str(dump), "--db", str(other)])
        assert r.exit_code == 0 and expect in r.output, r.output

    def strip(s):
        return {k: v for k, v in s.items() if k not in ("id", "scored_at", "lifter_id")}

    with Store(db) as a, Store(other) as b:
        assert sorted(map(json.dumps, map(strip, sets.list_sets(a)))) == sorted(
            map(json.dumps, map(strip, sets.list_sets(b))))


def test_table_json_and_csv(scored, tmp_path, db):
    report = thrust(scored)
    score = round(report["summary"]["mean_score"], 1)  # the set's score, as the report has it
    record_report(report, db=db, lifter="ana", sha256="a" * 64, load_kg=60)
    r = runner.invoke(history_app, ["--db", str(db), "--json", "-", "--csv", str(tmp_path / "s.csv")])
    assert r.exit_code == 0, r.output
    (row,) = json.loads(r.stdout)["sets"]
    assert (row["lifter"], row["reps"], row["score"], row["load_kg"]) == ("ana", 7, score, 60)
    assert row["focus"] == "Vertical shins at the top"
    head, line = (tmp_path / "s.csv").read_text().splitlines()
    assert head.startswith("id,date,lifter,exercise,reps,score") and f",ana,hip_thrust,7,{score}," in line


def test_listing_an_absent_database_does_not_create_it(db):
    r = runner.invoke(history_app, ["--db", str(db)])
    assert r.exit_code == 0 and "No sets" in r.output and not db.exists()


# -- schema migration --------------------------------------------------------------------------


def test_a_version_1_database_is_migrated_and_keeps_its_sets(scored, db):
    report = thrust(scored)
    cx = sqlite3.connect(db)
    cx.executescript(store.SCHEMA_V1)
    cx.execute(f"PRAGMA application_id = {store.APPLICATION_ID}")
    cx.execute("PRAGMA user_version = 1")
    cx.execute("INSERT INTO lifters(name) VALUES ('ana')")
    cx.execute("INSERT INTO sets (lifter_id, identity, recorded_at, scored_at, source, exercise, reps, partial_reps, "
               "mean_score, report_json) VALUES (1, 'sha256:' || ?, '2025-06-01T08:00:00Z', '2025-06-01T08:01:00Z', "
               "?, 'hip_thrust', 7, 0, 81.1, ?)", ("e" * 64, report["source"], json.dumps(report)))
    cx.execute("INSERT INTO reps (set_id, idx, partial, rom) VALUES (1, 1, 0, 80.0)")
    cx.commit()
    cx.close()
    with Store(db) as st:
        assert st.version == store.SCHEMA_VERSION == 2
        (s,) = sets.list_sets(st)
        assert (s["lifter"], s["recorded_at"], s["mean_score"], s["curve"]) == ("ana", "2025-06-01T08:00:00Z", 81.1, [])
        cols = {r[1] for r in st.cx.execute("PRAGMA table_info(sets)")}
        assert {"curve_json", "curve_kind", "exercise_confidence"} <= cols
    set_id, created = record_report(report, db=db, sha256="e" * 64, curve=scored[THRUST.stem][1])
    assert (set_id, created) == (1, False)
    with Store(db) as st:
        (s,) = sets.list_sets(st)
    assert s["curve_kind"] == "measured" and s["recorded_at"] == "2025-06-01T08:00:00Z"  # the earlier date kept


# -- within a set: the fatigue line ------------------------------------------------------------


def _reps(ascent, rom):
    return {"reps": [{"index": i + 1, "partial": False, "ascent_s": a, "descent_s": 0.8, "rom": r}
                     for i, (a, r) in enumerate(zip(ascent, rom, strict=True))]}


@pytest.mark.parametrize("ascent, rom, notes", [
    ([0.5, 0.5, 0.5, 0.5, 0.5, 0.5], [80] * 6, []),
    ([0.5, 0.5, 0.5, 0.5, 0.6, 0.62], [80] * 6, []),  # 22 % slower: under the threshold
    ([0.5, 0.5, 0.5, 0.5, 0.65, 0.65], [80] * 6, ["ascent slowed by 30%"]),
    ([0.5] * 6, [80, 80, 78, 76, 70, 70], ["ROM shortened by 12%"]),
    ([0.5] * 6, [80, 80, 78, 76, 74, 73], []),  # 9 % shorter
    ([0.5, 0.5, 0.9], [80, 80, 60], []),  # too few reps to say
], ids=["steady", "slower-under-threshold", "slower", "shorter", "shorter-under-threshold", "too-few-reps"])
def test_fatigue_notes(ascent, rom, notes):
    got = views.fatigue(_reps(ascent, rom)).notes
    assert len(got) == len(notes) and all(n in g for n, g in zip(notes, got, strict=True))


def test_curve_from_reps_follows_each_rep(scored):
    report = scored[THRUST.stem][0]
    curve = curve_from_reps(report)
    assert len(curve) == 4 * len(report["reps"])
    assert max(p[1] for p in curve) == pytest.approx(max(r["measurements"]["hip_ext_deg"] for r in report["reps"]))
    assert [p[0] for p in curve] == sorted(p[0] for p in curve)


def test_user_text_is_stored_as_parameters(scored, db):
    name = "Robert'); DROP TABLE sets;--"
    record_report(thrust(scored), db=db, lifter=name, note="'; DELETE FROM reps; --")
    with Store(db) as st:
        (s,) = sets.list_sets(st, name)
    assert s["lifter"] == name and count(db, "reps") == 7
    assert from_report(thrust(scored), lifter="  two   spaces ").lifter == "two spaces"
