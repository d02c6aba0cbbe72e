"""Coaching rules, one module per checkpoint; every module exposes `RULE` (its class).

Adding a rule is adding a module here (and its test): the registry finds it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from formcheck.rules.base import CheckResult, RepContext, Rule, Verdict
from formcheck.util.params import make_params

__all__ = ["CheckResult", "RepContext", "Rule", "Verdict", "all_rules", "rule_classes"]


def rule_classes() -> dict[str, type]:
    """name -> rule class, for every module in this package that defines RULE.

    In the rules' `order` (an optional class attribute; setup and the top first, tempo and
    the set last), then by module name.
    """
    found: list[tuple[int, str, type]] = []
    for mod in pkgutil.iter_modules(__path__):
        if mod.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        cls = getattr(module, "RULE", None)
        if cls is not None:
            found.append((int(getattr(cls, "order", 1000)), mod.name, cls))
    return {cls.name: cls for _, _, cls in sorted(found, key=lambda x: x[:2])}


def all_rules(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> list[Rule]:
    """One instance per rule, with thresholds from `overrides` ({rule: {param: value}})."""
    overrides = overrides or {}
    return [
        cls(make_params(cls.Params, overrides.get(name, {}), f"rules.{name}")) for name, cls in rule_classes().items()
    ]
