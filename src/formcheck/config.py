"""One config object with defaults in code; a user overrides any of it from a TOML file.

    [smoothing]            cutoff_hz = 6.0
    [reps]                 min_rom_deg = 15.0
    [rules.full_lockout]   pass_min_deg = 170.0

Unknown tables or keys are errors that list the valid names (a typo must not be ignored).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formcheck.analysis.reps import RepsConfig
from formcheck.analysis.smoothing import SmoothingConfig
from formcheck.errors import ConfigError
from formcheck.pose.settings import VideoConfig
from formcheck.rules import rule_classes
from formcheck.util.params import make_params

# Each part's config lives with its layer; this module assembles them (and re-exports them).
__all__ = ["Config", "ConfigError", "RepsConfig", "SmoothingConfig", "VideoConfig", "config_from_dict",
           "load_config", "make_params"]


@dataclass(frozen=True)
class Config:
    video: VideoConfig = field(default_factory=VideoConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    reps: RepsConfig = field(default_factory=RepsConfig)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule name -> param overrides


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
    except ValueError as exc:  # an integer of more than 4300 digits
        raise ConfigError(f"{p}: a value is too large ({str(exc).split(':')[0]})") from exc
    except RecursionError as exc:  # arrays or tables nested thousands deep
        raise ConfigError(f"{p}: values are nested too deeply; no setting is nested") from exc
    try:
        return config_from_dict(data, str(p))
    except ConfigError as exc:
        msg = str(exc)
        raise ConfigError(msg if msg.startswith(str(p)) else f"{p}: {msg}") from None


def config_from_dict(data: dict[str, Any], where: str = "config") -> Config:
    """Every table, key, type and value checked (each value against its range: util.params)."""
    tables = {"video": VideoConfig, "smoothing": SmoothingConfig, "reps": RepsConfig}
    unknown = sorted(set(data) - set(tables) - {"rules"})
    if unknown:
        raise ConfigError(f"{where}: unknown table(s) {', '.join(unknown)}; valid: {', '.join([*tables, 'rules'])}")
    parts: dict[str, Any] = {name: make_params(cls, data.get(name, {}), name) for name, cls in tables.items()}
    rules_data = data.get("rules", {})
    if not isinstance(rules_data, dict) or not all(isinstance(v, dict) for v in rules_data.values()):
        raise ConfigError(f"{where}: [rules] holds one table per rule ([rules.full_lockout] ...)")
    known = rule_classes()
    bad = sorted(set(rules_data) - set(known))
    if bad:
        raise ConfigError(f"{where}: unknown rule(s) {', '.join(bad)}; valid: {', '.join(known)}")
    for name, values in rules_data.items():
        make_params(known[name].Params, values, f"rules.{name}")  # validate now, not mid-run
    return Config(rules={k: dict(v) for k, v in rules_data.items()}, **parts)  # type: ignore[arg-type]
