"""Params dataclasses from defaults plus overrides, checked: unknown names, wrong types and values
out of range are errors, each one line naming the key, the value and what is allowed.

A field's allowed range is `field(metadata={"range": (lo, hi)})` (both ends allowed, as
PySceneDetect's RangeValue); a field without one gets the range its unit (the end of its name,
the project's convention) allows: `_deg` 0–360, `_s` 0–3600, `_pct` 0–100, `_frac`, `quantile`
and `confidence` 0–1, `_ratio` 0–10, other numbers 0–1000 (ints 0–1,000,000). NaN and
infinities are never allowed.

Settings that only make sense together are declared on the lower one, by the other's name:
`metadata={"at_most": "fail_above_deg"}` (this <= that: a warn threshold on the safe side of
its fail threshold, equal = no warn band) or `{"below": "max_rom_deg"}` (this < that: a min
under its max). They are checked once every value is in range (`check_order`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import operator
from collections.abc import Callable
from typing import Any, TypeVar

from formcheck.errors import ConfigError

T = TypeVar("T")

Range = tuple[float, float]

# (name ending or part, range) in the order they are tried.
_BY_NAME: tuple[tuple[str, Range], ...] = (
    ("confidence", (0.0, 1.0)), ("quantile", (0.0, 1.0)), ("_frac", (0.0, 1.0)), ("_pct", (0.0, 100.0)),
    ("_deg", (0.0, 360.0)), ("_s", (0.0, 3600.0)), ("_ratio", (0.0, 10.0)),
)


def value_range(f: dataclasses.Field[Any], default: Any) -> Range | None:
    """The allowed (lo, hi) of a numeric field (None for other types)."""
    if "range" in f.metadata:
        lo, hi = f.metadata["range"]
        return float(lo), float(hi)
    if isinstance(default, bool) or not isinstance(default, int | float):
        return None
    for part, rng in _BY_NAME:
        if f.name.endswith(part) or (not part.startswith("_") and part in f.name):
            return rng
    return (0.0, 1e6) if isinstance(default, int) else (0.0, 1000.0)


def _fmt(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) and not x.is_integer() else f"{int(x):,}"


def check_value(f: dataclasses.Field[Any], default: Any, v: Any, where: str) -> None:
    rng = value_range(f, default)
    if rng is None:
        return
    lo, hi = rng
    try:
        ok = math.isfinite(v) and lo <= v <= hi
    except OverflowError:  # an integer too large for a float
        ok = False
    if not ok:
        shown = repr(v) if len(repr(v)) <= 40 else f"a {len(str(abs(v)))}-digit number"
        raise ConfigError(f"[{where}] {f.name} = {shown} is out of range; allowed: {_fmt(lo)} to {_fmt(hi)}")


# metadata key -> (test, words): the field's value against the named field's value.
ORDER: dict[str, tuple[Callable[[Any, Any], bool], str]] = {
    "at_most": (operator.le, "must be at most"),
    "below": (operator.lt, "must be below"),
}


def ordered_pairs(cls: type[Any]) -> list[tuple[str, str, str]]:
    """(low field, metadata key, high field) for every ordered pair a params dataclass declares."""
    return [(f.name, key, f.metadata[key]) for f in dataclasses.fields(cls) for key in ORDER if key in f.metadata]


def check_order(params: Any, where: str) -> None:
    """Every declared pair in order, else one line naming both keys and their values."""
    for low, key, high in ordered_pairs(type(params)):
        a, b = getattr(params, low), getattr(params, high)
        test, words = ORDER[key]
        if not test(a, b):
            raise ConfigError(f"[{where}] {low} = {a!r} {words} {high} = {b!r}")


def make_params(cls: type[T], values: Any, where: str) -> T:
    """Build a params dataclass from defaults plus `values`, checking names, types, ranges and order."""
    if not isinstance(values, dict):
        raise ConfigError(f"[{where}]: expected a table of settings, got {type(values).__name__}")
    names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"[{where}]: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(names)}")
    default = cls()
    for key, v in values.items():
        want = type(getattr(default, key))
        if want is float and isinstance(v, int) and not isinstance(v, bool):
            with contextlib.suppress(OverflowError):  # too large for a float: check_value names it
                values = {**values, key: float(v)}
        elif not isinstance(v, want) or (isinstance(v, bool) and want is not bool):
            raise ConfigError(f"[{where}] {key}: expected {want.__name__}, got {_short(v)}")
        check_value(names[key], getattr(default, key), values[key], where)
    params = dataclasses.replace(default, **values)  # type: ignore[type-var]
    check_order(params, where)
    return params


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else f"{type(v).__name__} ({len(r)} characters)"
