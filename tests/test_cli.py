"""The main command end to end: output, files written, and one documented exit code per outcome."""

from __future__ import annotations

import csv
import io
import json
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
