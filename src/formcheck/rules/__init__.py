"""Coaching rules, one module per checkpoint; every module exposes `RULE` (its class).

Adding a rule is adding a module here (and its test): the registry finds it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from formcheck.rules.base import CheckResult, RepContext, Rule, Verdict

__all__ = ["CheckResult", "RepContext", "Rule", "Verdict", "all_rules", "rule_classes"]


def rule_classes() -> dict[str, type]:
    """name -> rule class, for every module in this package that defines RULE."""
    found: dict[str, type] = {}
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        cls = getattr(module, "RULE", None)
        if cls is not None:
            found[cls.name] = cls
    return found


def all_rules(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> list[Rule]:
    """One instance per rule, with thresholds from `overrides` ({rule: {param: value}})."""
    from formcheck.config import make_params

    overrides = overrides or {}
    return [cls(make_params(cls.Params, overrides.get(name, {}), f"rules.{name}")) for name, cls in rule_classes().items()]
