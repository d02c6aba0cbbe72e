"""The main command end to end: output, files written, and one documented exit code per outcome."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import SHIPPED
from formcheck.cli.analyze import app
from formcheck.errors import ExitCode

runner = CliRunner()
BRIDGE = SHIPPED / "glute_bridge_BE-PROJECTS2018_GroupNo23.npz"
SQUAT = SHIPPED / "not_a_thrust_squat_BE-PROJECTS2018.npz"


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_scores_a_shipped_track():
    r = run(BRIDGE)
    assert r.exit_code == 0, r.output
    assert "5 reps" in r.output
    assert "glute bridge" in r.output


def test_json_to_stdout_follows_the_schema():
    r = run(BRIDGE, "--json", "-", "--quiet")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["schema"] == "formcheck.report" and rep["schema_version"] == 1
    for key in ("source", "fps", "frames", "duration_s", "exercise", "view", "reps", "summary"):
        assert key in rep
    assert rep["summary"]["reps"] == 5
    first = rep["reps"][0]
    for key in ("index", "start_s", "top_s", "end_s", "hold_s", "rom", "measurements", "checks", "score"):
        assert key in first
    assert first["start_s"] < first["top_s"] < first["end_s"]
    assert {"rule", "verdict", "value", "unit", "threshold", "cue"} <= set(first["checks"][0])


def test_json_csv_and_poses_files(tmp_path: Path):
    j, c, p = tmp_path / "r.json", tmp_path / "r.csv", tmp_path / "t.npz"
    r = run(BRIDGE, "--json", j, "--csv", c, "--save-poses", p, "--quiet")
    assert r.exit_code == 0, r.output
    assert json.loads(j.read_text())["summary"]["reps"] == 5
    rows = list(csv.DictReader(io.StringIO(c.read_text())))
    assert len(rows) == 5 and rows[0]["index"] == "1"
    again = run(p, "--json", "-", "--quiet")  # a saved track re-scores to the same report
    assert json.loads(again.stdout)["reps"] == json.loads(j.read_text())["reps"]
    assert sorted(x.name for x in tmp_path.iterdir()) == ["r.csv", "r.json", "t.npz"]  # no temp files


def test_other_exercise_is_nothing_to_score_but_still_reports(tmp_path: Path):
    j = tmp_path / "r.json"
    r = run(SQUAT, "--json", j)
    assert r.exit_code == ExitCode.NOTHING_TO_SCORE
    assert "No hip thrust" in r.output
    data = json.loads(j.read_text())
    assert data["exercise"] == "none" and data["reps"] == []


@pytest.mark.parametrize(
    ("make", "code", "text"),
    [
        (lambda d: d / "missing.mp4", ExitCode.NOT_FOUND, "no such file"),
        (lambda d: d, ExitCode.NOT_FOUND, "is a directory"),
        (lambda d: _write(d / "notes.mp4", b"hello, not a video\n"), ExitCode.NOT_A_VIDEO, "not a video"),
        (lambda d: _write(d / "empty.mp4", b""), ExitCode.NOT_A_VIDEO, "empty"),
        (lambda d: _write(d / "bad.npz", b"PK\x03\x04garbage"), ExitCode.NOT_A_VIDEO, "pose track"),
    ],
    ids=["missing", "directory", "text", "empty", "bad-track"],
)
def test_bad_input_exit_codes(tmp_path: Path, make, code, text):
    out = tmp_path / "out"
    out.mkdir()
    r = run(make(tmp_path), "--json", out / "r.json")
    assert r.exit_code == code, r.output
    assert text in r.output
    assert "Traceback" not in r.output
    assert list(out.iterdir()) == []


def test_bad_config_is_a_usage_error(tmp_path: Path):
    cfg = _write(tmp_path / "f.toml", b"[reps]\nmin_rom = 3\n")
    r = run(BRIDGE, "--config", cfg)
    assert r.exit_code == ExitCode.USAGE
    assert "min_rom_deg" in r.output  # the valid names are listed


def test_config_overrides_thresholds(tmp_path: Path):
    cfg = _write(tmp_path / "f.toml", b"[reps]\nmin_rom_deg = 80.0\n")
    r = run(BRIDGE, "--config", cfg, "--json", "-", "--quiet")
    assert json.loads(r.stdout)["summary"]["reps"] == 0


@pytest.mark.parametrize("content", [b"not a model", b"PK\x05\x06" + b"\x00" * 18], ids=["garbage", "empty-zip"])
def test_damaged_model_is_one_line(tmp_path: Path, content: bytes):
    model = _write(tmp_path / "m.task", content)
    r = run(_tiny_video(tmp_path / "v.mp4"), "--model", model)
    assert r.exit_code == ExitCode.MODEL, r.output
    assert "m.task" in r.output and "Traceback" not in r.output


def test_missing_model(tmp_path: Path):
    r = run(_tiny_video(tmp_path / "v.mp4"), "--model", tmp_path / "nope.task")
    assert r.exit_code == ExitCode.MODEL and "not found" in r.output


def _tiny_video(path: Path, n: int = 5) -> Path:
    import cv2
    import numpy as np

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    for i in range(n):
        w.write(np.full((48, 64, 3), 40 * i % 255, np.uint8))
    w.release()
    return path


def test_unwritable_output(tmp_path: Path):
    blocker = _write(tmp_path / "file", b"x")
    r = run(BRIDGE, "--json", blocker / "r.json")
    assert r.exit_code == ExitCode.OUTPUT, r.output
    assert "cannot write" in r.output


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- per-frame CSV, and the per-rep CSV's tempo columns (issue 19) -------------------------------

THRUST7 = SHIPPED / "hip_thrust_palFitness_WORKOUT-HOME.npz"  # 7 reps, side view
ONE_REP = SHIPPED / "hip_thrust_isaiahwong_Wong-Fit.npz"  # 1 full rep, 2 partial


def test_frames_csv_has_a_row_per_frame_and_the_reps_of_the_json(tmp_path: Path):
    j, f = tmp_path / "r.json", tmp_path / "frames.csv"
    r = run(ONE_REP, "--json", j, "--frames-csv", f, "--quiet")
    assert r.exit_code == 0, r.output
    report = json.loads(j.read_text())
    rows = list(csv.DictReader(io.StringIO(f.read_text())))
    assert len(rows) == report["frames"]
    assert {"frame", "t_s", "hip_ext_deg", "knee_deg", "shin_deg", "torso_deg", "neck_deg", "phase", "rep"} <= set(
        rows[0])
    assert [int(x["frame"]) for x in rows] == list(range(len(rows)))
    assert {x["phase"] for x in rows} <= {"ascent", "top", "descent", "bottom", "rest", ""}
    for rep in report["reps"]:  # full and partial, numbered as in the JSON
        fr = rep["frames"]
        mine = [int(x["frame"]) for x in rows if x["rep"] == str(rep["index"])]
        assert mine == list(range(fr["start"], fr["end"] + 1)), rep["index"]
        assert rows[fr["top"]]["phase"] == "top"
        assert float(rows[fr["top"]]["hip_ext_deg"]) == pytest.approx(rep["measurements"]["hip_ext_deg"], abs=0.01)
        # top_s is the hold's middle in time; the top frame is the frame nearest it
        step = float(rows[1]["t_s"]) - float(rows[0]["t_s"])
        assert float(rows[fr["top"]]["t_s"]) == pytest.approx(rep["top_s"], abs=step / 2 + 1e-3)
    in_reps = {int(x["frame"]) for x in rows if x["rep"]}
    between = [x for x in rows if int(x["frame"]) not in in_reps]
    assert between and all(x["phase"] in ("bottom", "rest", "") for x in between)


def test_per_rep_csv_tempo_is_the_json_and_the_verdicts_values(tmp_path: Path):
    j, c = tmp_path / "r.json", tmp_path / "reps.csv"
    assert run(THRUST7, "--json", j, "--csv", c, "--quiet").exit_code == 0
    reps = json.loads(j.read_text())["reps"]
    rows = list(csv.DictReader(io.StringIO(c.read_text())))
    assert len(rows) == len(reps) == 7
    for rep, row in zip(reps, rows, strict=True):
        for col in ("ascent_s", "descent_s", "hold_s"):
            assert float(row[col]) == rep[col] and rep[col] > 0
        checks = {x["rule"]: x for x in rep["checks"]}
        assert checks["pause_at_top"]["value"] == pytest.approx(rep["hold_s"], abs=1e-3)
        assert checks["controlled_descent"]["value"] == pytest.approx(rep["descent_s"], abs=1e-3)


def test_frames_csv_is_checked_before_the_model_loads(tmp_path: Path):
    blocker = _write(tmp_path / "file", b"x")
    video = _tiny_video(tmp_path / "v.mp4")
    r = run(video, "--frames-csv", blocker / "f.csv", "--model", tmp_path / "missing.task")
    assert r.exit_code == ExitCode.OUTPUT and "--frames-csv" in r.output, r.output  # not 5: the model never loaded
    r = run(video, "--frames-csv", video)
    assert r.exit_code == ExitCode.USAGE and "would overwrite the input video" in r.output, r.output


# --- the terminal: version, help, usage lines, plurals, the table ---------------------------------

def main_output(capsys, *argv: str) -> tuple[int, str, str]:
    from formcheck.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    got = capsys.readouterr()
    return int(exc.value.code or 0), got.out, got.err


def test_version():
    from formcheck import __version__

    r = run("--version")  # no VIDEO needed
    assert r.exit_code == 0 and r.stdout.strip() == f"formcheck {__version__}"


@pytest.mark.parametrize(("argv", "usage"), [
    (["help"], "Usage: formcheck [OPTIONS] VIDEO"),
    (["--help"], "Usage: formcheck [OPTIONS] VIDEO"),
    (["help", "rules"], "Usage: formcheck rules [OPTIONS]"),
    (["help", "history", "import"], "Usage: formcheck history import [OPTIONS] PATH..."),
    (["help", "compare"], "Usage: formcheck compare [OPTIONS] A B"),
    (["help", "batch"], "Usage: formcheck batch [OPTIONS] PATHS..."),
    (["live", "--help"], "Usage: formcheck live [OPTIONS]"),
], ids=["help", "--help", "help-rules", "help-history-import", "help-compare", "help-batch", "live"])
def test_help_shows_readable_usage(capsys, argv: list[str], usage: str):
    code, out, err = main_output(capsys, *argv)
    assert code == 0, err
    assert out.splitlines()[0].startswith(usage), out
    type_tag = r" <[a-z][a-z\[\] ]*>(  |$)|\{[a-z]"  # typer's "video <path>  ...", "--rpe <float>", "{video}"
    assert not re.search(type_tag, out, re.M), out
    assert "no such file" not in out + err


def test_help_for_an_unknown_command_is_one_line(capsys):
    code, out, err = main_output(capsys, "help", "nope")
    assert code == ExitCode.USAGE and out == ""
    assert len(err.strip().splitlines()) == 1 and "'nope'" in err and "Traceback" not in err


def test_one_rep_is_singular():
    r = run(ONE_REP)
    assert r.exit_code == 0, r.output
    assert "1 rep (+2 partial" in r.output and "(1 rep)" in r.output
    assert "1 reps" not in r.output


def test_table_fits_80_columns_one_line_per_rep(monkeypatch):
    from formcheck.cli import common

    monkeypatch.setattr(common.out, "_width", 80)  # what COLUMNS=80 (or an 80-column terminal) gives it
    r = run(THRUST7)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert all(len(x) <= 80 for x in lines), "\n".join(x for x in lines if len(x) > 80)
    rows = [x for x in lines if re.match(r"^\s+\d+\*?\s", x)]
    assert [int(x.split()[0]) for x in rows] == list(range(1, 8))  # one line per rep, in order
    assert all("Vertical shins at the top" in x for x in rows)  # each rep's worst fault, in full
    assert len(lines) <= 16, r.stdout  # was 60 lines at 80 columns


@pytest.fixture(scope="module")
def pwa_report() -> dict:
    return json.loads(run(SHIPPED / "glute_bridge_844247707_power-pwa.npz", "--json", "-", "-q").stdout)


@pytest.mark.parametrize("width", [40, 60, 140])
def test_table_has_one_line_per_rep_at_any_width(width: int, pwa_report: dict):
    from rich.console import Console

    from formcheck.cli.terminal_report import WIDE_COLS, faults, rep_table

    console = Console(width=width, file=io.StringIO(), color_system=None)
    console.print(rep_table(pwa_report, width))
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    reps = pwa_report["reps"]
    assert len(lines) == 2 + len(reps) and all(len(x) <= width for x in lines), "\n".join(lines)
    assert ("start" in lines[0]) == (width >= WIDE_COLS) and ("hold" in lines[0]) == (width >= 60)
    for rep, line in zip(reps, lines[2:], strict=True):
        if rep["partial"]:  # a partial rep says why, not its faults
            assert "partial" in line, line
            continue
        n = len(faults(rep))
        assert (f" +{n - 1}" in line) == (n > 1), line  # the count of the other faults is never cut


def test_progress_shows_the_total_from_the_start_and_each_stage(monkeypatch):
    from rich.console import Console

    from formcheck.cli import progress

    screen = Console(file=io.StringIO(), force_terminal=True, width=100, color_system=None)
    monkeypatch.setattr(progress, "err", screen)
    with progress.StageProgress(quiet=False) as tick:
        tick(0, 97)  # the pipeline's first call: the total, before any frame
        tick(50, 97)
        tick.stage("annotated video", 97)(10, 97)
    shown = screen.file.getvalue()  # type: ignore[attr-defined]
    assert "0/97 frames" in shown and "50/97 frames" in shown and "annotated video" in shown
    assert "None" not in shown


def test_progress_on_a_pipe_names_the_stage(capsys):
    from formcheck.cli.progress import StageProgress

    with StageProgress(quiet=False) as tick:
        tick.stage("annotated video", 4000)
        for done in range(0, 4001, 500):
            tick(done, 4000)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"formcheck: annotated video… {n}/4000 frames" for n in (0, 1000, 2000, 3000)]


def test_a_missing_video_is_named_as_the_usage_line_names_it():
    r = run()
    assert r.exit_code == ExitCode.USAGE
    assert "[OPTIONS] VIDEO" in r.output and "Missing argument 'VIDEO'" in r.output


@pytest.mark.parametrize("width", [50, 80])
def test_history_table_is_one_line_per_set(monkeypatch, capsys, width: int):
    from formcheck.cli import common
    from formcheck.cli.history import print_sets

    sets = [{"id": i, "recorded_at": "2026-12-02T10:00:00", "lifter": "Ana Maria", "exercise": "glute_bridge",
             "reps": 7, "mean_score": 91.0, "load_kg": 60.0, "focus_title": "Vertical shins at the top"}
            for i in range(1, 4)]
    monkeypatch.setattr(common.out, "_width", width)
    print_sets(sets)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + len(sets) and all(len(x) <= width for x in lines), "\n".join(lines)
    assert ("date" in lines[0]) == (width >= 80) and "focus" in lines[0] and "Ana Maria" in lines[2]
