"""The second round of hostile input (issue 18): classes of attack, each with a generated case.

Every case asserts the exit code, the one-line message, and the files left (none, or whole);
where a case is about a bomb or a hang, also a bound on time or memory. Nothing binary is
committed: every input is made here (corpus.py builds the videos).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

import corpus
from conftest import SHIPPED
from formcheck.cli.analyze import app
from formcheck.config import RepsConfig, SmoothingConfig, VideoConfig
from formcheck.errors import ExitCode
from formcheck.rules import rule_classes
from formcheck.util.params import value_range

runner = CliRunner()
TRACK = SHIPPED / "hip_thrust_isaiahwong_Wong-Fit.npz"


def one_line(r, code: int, *says: str) -> str:
    assert r.exit_code == code, r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("formcheck: "), r.stderr
    assert "Traceback" not in r.output and "this is a bug" not in r.output
    for s in says:
        assert s in lines[0], lines[0]
    return lines[0]


# --- config values: every value range-checked at load, exit 2, before any tracking -----------

BIG = "9" * 4000
HUGE = "9" * 5000
CONFIG_CASES = {
    "nan-confidence": ("[video]\nmin_tracking_confidence = nan", "min_tracking_confidence = nan", "0 to 1"),
    "confidence-2": ("[video]\nmin_detection_confidence = 2", "min_detection_confidence = 2.0", "0 to 1"),
    "negative-confidence": ("[video]\nmin_detection_confidence = -0.1", "-0.1", "0 to 1"),
    "chunks-runaway": ("[video]\nchunks = 1000000", "chunks = 1000000", "1 to 64"),
    "chunks-4000-digits": (f"[video]\nchunks = {BIG}", "a 4000-digit number", "1 to 64"),
    "chunks-5000-digits": (f"[video]\nchunks = {HUGE}", "too large", ""),
    "max-side-negative": ("[video]\nmax_side = -1", "max_side = -1", "16 to 8,192"),
    "workers-bool": ("[video]\nworkers = true", "workers: expected int", ""),
    "nan-rom": ("[reps]\nmin_rom_deg = nan", "min_rom_deg = nan", "0 to 180"),
    "inf-period": ("[reps]\nmin_period_s = inf", "min_period_s = inf", "0 to 3,600"),
    "quantile-over-1": ("[reps]\nbest_quantile = 1.5", "best_quantile = 1.5", "0 to 1"),
    "filter-order-0": ("[smoothing]\norder = 0", "order = 0", "1 to 8"),
    "filter-order-huge": ("[smoothing]\norder = 400", "order = 400", "1 to 8"),
    "cutoff-negative": ("[smoothing]\ncutoff_hz = -6", "cutoff_hz = -6.0", "0.1 to 100"),
    "rule-negative": ("[rules.knees_out]\npass_min_ratio = -1", "[rules.knees_out] pass_min_ratio = -1.0", "0 to 10"),
    "rule-pct": ("[rules.consistent_rom]\npass_min_pct = 500", "pass_min_pct = 500.0", "0 to 100"),
    "rule-nan-deg": ("[rules.full_lockout]\npass_min_deg = nan", "pass_min_deg = nan", "0 to 360"),
    "deep-nesting": ("x = " + "[" * 3000 + "]" * 3000, "nested too deeply", ""),
    "deep-tables": ("[video]\nchunks = " + "{a=" * 2000 + "1" + "}" * 2000, "nested too deeply", ""),
    "table-not-a-table": ("video = 3", "[video]: expected a table", ""),
    "rules-not-tables": ("rules = 3", "[rules] holds one table per rule", ""),
    "rule-not-a-table": ("[rules]\nknees_out = 3", "[rules] holds one table per rule", ""),
}


@pytest.mark.parametrize("case", CONFIG_CASES.values(), ids=CONFIG_CASES.keys())
def test_config_values_are_range_checked_before_any_work(case, tmp_path: Path):
    text, *says = case
    cfg = tmp_path / "c.toml"
    cfg.write_text(text + "\n")
    video = corpus.write_video(tmp_path / "room.mp4", corpus.solid_frames(5))
    r = runner.invoke(app, [str(video), "--config", str(cfg), "--json", str(tmp_path / "o" / "r.json")])
    one_line(r, ExitCode.USAGE, str(cfg), *[s for s in says if s])
    assert not (tmp_path / "o").exists()


TABLES = {"video": VideoConfig, "smoothing": SmoothingConfig, "reps": RepsConfig,
          **{f"rules.{k}": v.Params for k, v in rule_classes().items()}}


@pytest.mark.parametrize("table", TABLES, ids=TABLES.keys())
def test_every_numeric_setting_has_a_range_holding_its_default_and_refuses_nan(table: str, tmp_path: Path):
    from formcheck.config import config_from_dict
    from formcheck.errors import ConfigError

    cls = TABLES[table]
    for f in dataclasses.fields(cls):
        default = getattr(cls(), f.name)
        rng = value_range(f, default)
        assert rng is not None and rng[0] <= default <= rng[1], (table, f.name, rng)
        head, _, rule = table.partition(".")
        for bad in (math.nan, rng[1] * 2 + 1, -1 - rng[0])[isinstance(default, int):]:
            values = {f.name: type(default)(bad)}
            data = {head: {rule: values}} if rule else {head: values}
            with pytest.raises(ConfigError, match=f"{f.name} = .* out of range; allowed"):
                config_from_dict(data)


def test_a_valid_config_still_scores(tmp_path: Path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[video]\nchunks = 64\nmin_detection_confidence = 1\n[reps]\nbest_quantile = 1\n")
    r = runner.invoke(app, [str(TRACK), "--config", str(cfg), "--json", str(tmp_path / "r.json"), "-q"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["reps"] > 0
