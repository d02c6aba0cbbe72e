"""One config object with defaults in code; a user overrides any of it from a TOML file.

    [smoothing]            cutoff_hz = 6.0
    [reps]                 min_rom_deg = 15.0
    [rules.full_lockout]   pass_min_deg = 170.0

Unknown tables or keys are errors that list the valid names (a typo must not be ignored).
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from formcheck.analysis.reps import RepsConfig
from formcheck.analysis.smoothing import SmoothingConfig
from formcheck.errors import ExitCode, FormcheckError

T = TypeVar("T")


@dataclass(frozen=True)
class VideoConfig:
    max_side: int = 1280  # larger frames are downscaled before the model (it sees 256 px anyway)
    # People the model may report (formcheck then follows the lifter among them). 1 is the
    # default: VIDEO-mode tracking stays on the person it locked onto, and with 2 the model
    # also returns ghost duplicates of the lifter that the follower can switch to.
    num_poses: int = 1
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    # Time chunks a file is cut into, each tracked by its own tracker (formcheck.pose.chunked).
    # The result depends on this (to within the tracker's own noise) and on nothing else:
    # never on the machine or on `workers`. 1 = one unbroken stream; raise it to use more
    # cores on a bigger machine (one chunk per core is the fastest).
    chunks: int = 2
    # Chunks tracked at once: 0 = one per core. Speed only; the track is the same bit for bit.
    workers: int = 0
    # Seconds of video per extra chunk: shorter files stay one stream (splitting them would
    # not pay for the warm-up) — see bench/README.md for the break-even.
    parallel_min_s: float = 3.0
    # Each chunk's tracker starts this long before its chunk so tracking has settled (with 0.3
    # or 0.5 s a fresh tracker started on the wrong pose on a dev clip; 1 s never did).
    parallel_warmup_s: float = 1.0
    # The chunk before runs on this long past its end; both trackers must agree there.
    parallel_check_s: float = 0.25

    def __post_init__(self) -> None:
        for name in ("max_side", "num_poses", "chunks"):
            if getattr(self, name) < 1:
                raise ConfigError(f"[video] {name}: must be at least 1, got {getattr(self, name)}")
        for name in ("workers", "parallel_min_s", "parallel_warmup_s", "parallel_check_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"[video] {name}: must not be negative, got {getattr(self, name)}")


@dataclass(frozen=True)
class Config:
    video: VideoConfig = field(default_factory=VideoConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    reps: RepsConfig = field(default_factory=RepsConfig)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule name -> param overrides


class ConfigError(FormcheckError):
    code = ExitCode.USAGE


def make_params(cls: type[T], values: dict[str, Any], where: str) -> T:
    """Build a params dataclass from defaults plus `values`, checking names and types."""
    names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"[{where}]: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(names)}")
    default = cls()
    for key, v in values.items():
        want = type(getattr(default, key))
        if want is float and isinstance(v, int) and not isinstance(v, bool):
            values = {**values, key: float(v)}
        elif not isinstance(v, want):
            raise ConfigError(f"[{where}] {key}: expected {want.__name__}, got {v!r}")
    return dataclasses.replace(default, **values)  # type: ignore[type-var]


def load_config(path: str | Path | None) -> Config:
    if path is None:
        return Config()
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {p}") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{p}: not a valid TOML file ({exc})") from exc
    return config_from_dict(data, str(p))


def config_from_dict(data: dict[str, Any], where: str = "config") -> Config:
    from formcheck.rules import rule_classes

    tables = {"video": VideoConfig, "smoothing": SmoothingConfig, "reps": RepsConfig}
    unknown = sorted(set(data) - set(tables) - {"rules"})
    if unknown:
        raise ConfigError(f"{where}: unknown table(s) {', '.join(unknown)}; valid: {', '.join([*tables, 'rules'])}")
    parts = {name: make_params(cls, dict(data.get(name, {})), name) for name, cls in tables.items()}
    rules_data = data.get("rules", {})
    known = rule_classes()
    bad = sorted(set(rules_data) - set(known))
    if bad:
        raise ConfigError(f"{where}: unknown rule(s) {', '.join(bad)}; valid: {', '.join(known)}")
    for name, values in rules_data.items():
        make_params(known[name].Params, dict(values), f"rules.{name}")  # validate now, not mid-run
    return Config(rules={k: dict(v) for k, v in rules_data.items()}, **parts)  # type: ignore[arg-type]
