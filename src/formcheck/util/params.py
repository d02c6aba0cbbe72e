"""Params dataclasses from defaults plus overrides, checked: unknown names and wrong types are errors."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from formcheck.errors import ConfigError

T = TypeVar("T")


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
