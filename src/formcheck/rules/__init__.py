"""Coaching rules, one module per checkpoint; each defines one `Rule` subclass.

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


def rule_classes() -> dict[str, type[Rule]]:
    """name -> rule class, for every rule defined in this package's modules.

    In the rules' `order` (setup and the top first, tempo and the set last), then by module name.
    """
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    mine = [cls for cls in Rule.registered().values() if cls.__module__.startswith(f"{__name__}.")]
    return {cls.name: cls for cls in sorted(mine, key=lambda c: (c.order, c.__module__))}


def all_rules(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> list[Rule]:
    """One instance per rule, with thresholds from `overrides` ({rule: {param: value}})."""
    overrides = overrides or {}
    return [
        cls(make_params(cls.Params, dict(overrides.get(name, {})), f"rules.{name}"))
        for name, cls in rule_classes().items()
    ]
