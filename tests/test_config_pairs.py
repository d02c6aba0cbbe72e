"""Settings that only make sense together (issue 18): a contradictory pair fails at load, exit 2,
with one line naming both keys and their values; every rule threshold has an explicit range.

The pairs are declared on the lower field (`metadata={"at_most": ...}` or `{"below": ...}`,
formcheck.util.params); the cases below are generated from those declarations, so a new pair is
tested the day it is declared, and the rules' grade ladders must be among them.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import corpus
from formcheck.config import Config, RepsConfig, SmoothingConfig, VideoConfig, config_from_dict, load_config
from formcheck.errors import ConfigError, ExitCode
from formcheck.rules import all_rules, rule_classes
from formcheck.util.params import ORDER, check_order, ordered_pairs, value_range

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

TABLES: dict[str, type[Any]] = {"video": VideoConfig, "smoothing": SmoothingConfig, "reps": RepsConfig,
                                **{f"rules.{k}": v.Params for k, v in rule_classes().items()}}


@dataclasses.dataclass(frozen=True)
class Pair:
    table: str
    low: str  # the field that must stay at or under ...
    key: str  # "at_most" (<=) or "below" (<)
    high: str  # ... this one

    @property
    def words(self) -> str:
        return ORDER[self.key][1]

    def bounds(self, name: str) -> tuple[float, float]:
        f = next(f for f in dataclasses.fields(TABLES[self.table]) if f.name == name)
        rng = value_range(f, self.default(name))
        assert rng is not None
        return rng

    def default(self, name: str) -> Any:
        return getattr(TABLES[self.table](), name)

    def raised_low(self) -> dict[str, float]:
        """The lower setting moved above the other's default (both in range)."""
        hi_default, low_top = self.default(self.high), self.bounds(self.low)[1]
        assert low_top > hi_default, f"{self}: no value of {self.low} in range contradicts {self.high}"
        return {self.low: (hi_default + low_top) / 2}

    def lowered_high(self) -> dict[str, float]:
        """The higher setting moved under the other's default (both in range)."""
        low_default, high_bottom = self.default(self.low), self.bounds(self.high)[0]
        assert high_bottom < low_default, f"{self}: no value of {self.high} in range contradicts {self.low}"
        return {self.high: (low_default + high_bottom) / 2}

    def data(self, values: dict[str, float]) -> dict[str, Any]:
        head, _, rule = self.table.partition(".")
        return {head: {rule: values}} if rule else {head: values}

    def toml(self, values: dict[str, float]) -> str:
        return f"[{self.table}]\n" + "".join(f"{k} = {v!r}\n" for k, v in values.items())

    def message(self, values: dict[str, float]) -> str:
        a, b = (values.get(n, self.default(n)) for n in (self.low, self.high))
        return f"[{self.table}] {self.low} = {float(a)!r} {self.words} {self.high} = {float(b)!r}"


PAIRS = [Pair(table, low, key, high) for table, cls in TABLES.items() for low, key, high in ordered_pairs(cls)]
IDS = [f"{p.table}:{p.low}<{p.high}" for p in PAIRS]


def test_the_pairs_beside_the_grade_ladders():
    """Besides every ladder (next test): the shins' knee tolerances, the descent's times, min < max rom."""
    found = {(p.table, p.low, p.key, p.high) for p in PAIRS}
    assert {("rules.vertical_shins", "knee_tol_deg", "at_most", "knee_fail_deg"),
            ("rules.controlled_descent", "fail_below_s", "at_most", "pass_min_s"),
            ("reps", "min_rom_deg", "below", "max_rom_deg")} <= found  # fmt: skip


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_each_pair_names_two_numeric_fields_of_its_table(pair: Pair):
    names = {f.name for f in dataclasses.fields(TABLES[pair.table])}
    assert {pair.low, pair.high} <= names and pair.low != pair.high
    assert type(pair.default(pair.low)) is type(pair.default(pair.high)) is float
    assert ORDER[pair.key][0](pair.default(pair.low), pair.default(pair.high)), "the defaults are in order"


@pytest.mark.parametrize("name,cls", list(rule_classes().items()), ids=list(rule_classes()))
def test_every_grade_ladder_is_a_declared_pair(name: str, cls: Any):
    if cls.ladder is None:
        return
    a, b = cls.ladder.pass_limit, cls.ladder.fail_limit
    want = (a, "at_most", b) if cls.ladder.higher_is_worse else (b, "at_most", a)
    assert want in ordered_pairs(cls.Params), (name, want)


# --- contradictory pairs: ConfigError naming both keys and values, exit 2 ------------------------


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
@pytest.mark.parametrize("move", ["raised_low", "lowered_high", "both"])
def test_a_contradictory_pair_is_a_config_error_naming_both_keys(pair: Pair, move: str):
    values = {**pair.raised_low(), **pair.lowered_high()} if move == "both" else getattr(pair, move)()
    with pytest.raises(ConfigError) as exc:
        config_from_dict(pair.data(values))
    assert str(exc.value) == pair.message(values)


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_equal_thresholds_are_allowed_only_where_the_pair_says_at_most(pair: Pair):
    same = pair.default(pair.high)
    data = pair.data({pair.low: same})
    if pair.key == "at_most":  # warn = fail: no warn band, a valid choice
        all_rules(config_from_dict(data).rules)
    else:
        with pytest.raises(ConfigError, match=re.escape(pair.message({pair.low: same}))):
            config_from_dict(data)


def test_the_message_reads_as_the_issue_asks():
    with pytest.raises(ConfigError) as exc:
        config_from_dict({"rules": {"vertical_shins": {"knee_tol_deg": 40, "knee_fail_deg": 20}}})
    assert str(exc.value) == "[rules.vertical_shins] knee_tol_deg = 40.0 must be at most knee_fail_deg = 20.0"
    with pytest.raises(ConfigError, match=r"^\[reps\] min_rom_deg = 15.0 must be below max_rom_deg = 10.0$"):
        config_from_dict({"reps": {"max_rom_deg": 10}})


def test_the_rules_api_checks_pairs_too():
    with pytest.raises(ConfigError, match=re.escape("fail_below_s = 2.0 must be at most pass_min_s = 1.0")):
        all_rules({"pause_at_top": {"fail_below_s": 2.0}})


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return corpus.write_video(tmp_path_factory.mktemp("v") / "room.mp4", corpus.solid_frames(5, 64, 48))


def _one_line(r: Any, *says: str) -> str:
    assert r.exit_code == ExitCode.USAGE, r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("formcheck: "), r.stderr
    assert "Traceback" not in r.output
    for s in says:
        assert s in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("pair", PAIRS, ids=IDS)
def test_the_cli_refuses_a_contradictory_config_before_any_work(pair: Pair, video: Path, tmp_path: Path):
    from formcheck.cli.analyze import app

    cfg = tmp_path / "bad.toml"
    values = pair.raised_low()
    cfg.write_text(pair.toml(values))
    with pytest.raises(ConfigError, match=re.escape(f"{cfg}: {pair.message(values)}")):
        load_config(cfg)
    r = runner.invoke(app, [str(video), "--config", str(cfg), "--json", str(tmp_path / "o" / "r.json")])
    _one_line(r, f"formcheck: {cfg}: {pair.message(values)}")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", ["rules", "live"])
def test_the_other_commands_refuse_it_too(command: str, video: Path, tmp_path: Path):
    import importlib

    app = importlib.import_module(f"formcheck.cli.{command}").app
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[rules.full_lockout]\npass_min_deg = 140.0\n")
    extra = ["--source", str(video), "--no-window"] if command == "live" else []
    r = runner.invoke(app, [*extra, "--config", str(cfg)])
    _one_line(r, "fail_below_deg = 150.0 must be at most pass_min_deg = 140.0")


def test_a_real_process_exits_2_with_one_line(video: Path, tmp_path: Path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[rules.vertical_shins]\nknee_tol_deg = 30\nknee_fail_deg = 20\n")
    p = subprocess.run([Path(sys.executable).with_name("formcheck"), str(video), "--config", str(cfg)],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert p.returncode == ExitCode.USAGE, p.stderr
    assert p.stderr == (f"formcheck: {cfg}: [rules.vertical_shins] knee_tol_deg = 30.0 must be at most "
                        "knee_fail_deg = 20.0\n")  # fmt: skip
    assert p.stdout == ""


# --- sensible configs load ----------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES, ids=TABLES.keys())
def test_the_defaults_are_in_order(table: str):
    check_order(TABLES[table](), table)


def test_no_config_and_an_empty_one_are_the_defaults():
    assert config_from_dict({}) == Config() == load_config(None)


def _doc_examples() -> list[tuple[str, str]]:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, block in enumerate(re.findall(r"```toml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)):
            found.append((f"{doc.name}#{i}", block))
    return found


@pytest.mark.parametrize("name,text", _doc_examples(), ids=[n for n, _ in _doc_examples()])
def test_every_config_example_in_the_docs_loads(name: str, text: str, tmp_path: Path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    loaded = load_config(cfg)
    all_rules(loaded.rules)


def test_moving_both_thresholds_of_a_pair_together_loads():
    cfg = config_from_dict({"rules": {"full_lockout": {"pass_min_deg": 140.0, "fail_below_deg": 120.0},
                                      "pause_at_top": {"pass_min_s": 0.2, "fail_below_s": 0.1}},
                            "reps": {"min_rom_deg": 160.0, "max_rom_deg": 170.0}})  # fmt: skip
    assert cfg.reps.min_rom_deg == 160.0
    assert {r.name: r.params for r in all_rules(cfg.rules)}["full_lockout"].fail_below_deg == 120.0


# --- ranges: every rule threshold has its own, in its unit; no band a divisor can be 0 ---------

# The unit a field's name ends with (docs/rules.md) -> the widest range that unit allows.
UNITS = {"_deg": (0, 250), "_s": (0, 60), "_pct": (0, 100), "_frac": (0, 1), "_ratio": (0, 10),
         "_shin": (0, 1), "_lift": (0, 1)}  # fmt: skip
RULE_FIELDS = [(name, f) for name, cls in rule_classes().items() for f in dataclasses.fields(cls.Params)]


@pytest.mark.parametrize("name,f", RULE_FIELDS, ids=[f"{n}.{f.name}" for n, f in RULE_FIELDS])
def test_every_rule_threshold_has_an_explicit_range_in_its_unit(name: str, f: dataclasses.Field[Any]):
    default = getattr(rule_classes()[name].Params(), f.name)
    assert isinstance(default, float), "every threshold is a number"
    assert "range" in f.metadata, f"[rules.{name}] {f.name} falls back to its unit's default range"
    lo, hi = f.metadata["range"]
    unit = next((u for u in UNITS if f.name.endswith(u)), None)
    assert unit is not None, f"{f.name}: the name does not end with its unit ({', '.join(UNITS)})"
    assert UNITS[unit][0] <= lo <= default <= hi <= UNITS[unit][1], (f.name, (lo, hi))


# Each divides a margin (reps.margins): 0 was a ZeroDivisionError, exit 1.
DIVISORS = ["lift_band", "hip_rise_band", "hip_line_band", "incline_band_deg", "knee_band_deg", "hip_band_deg"]


@pytest.mark.parametrize("name", DIVISORS)
def test_a_reps_band_of_zero_is_out_of_range_not_a_crash(name: str):
    with pytest.raises(ConfigError, match=rf"^\[reps\] {name} = 0.0 is out of range; allowed: 0\.\d+ to "):
        config_from_dict({"reps": {name: 0.0}})
