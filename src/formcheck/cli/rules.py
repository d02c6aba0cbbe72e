"""`formcheck rules`: every coaching rule with its thresholds and source."""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from formcheck.cli.app import App
from formcheck.cli.common import DebugOption, escape, out, user_errors

app = App()


def describe(config: Path | None) -> list[dict[str, Any]]:
    from formcheck.config import load_config
    from formcheck.rules import all_rules
    from formcheck.rules.base import SOURCES

    cfg = load_config(config)
    rows = []
    for rule in all_rules(cfg.rules):
        doc = inspect.getdoc(type(rule)) or ""
        rows.append({
            "name": rule.name,
            "title": rule.title,
            "unit": rule.unit,
            "weight": rule.weight,
            "thresholds": dataclasses.asdict(rule.params),
            "source": rule.source,
            "sources": {k: v for k, v in SOURCES.items() if k in rule.source},
            "why": doc,
        })
    return rows


@app.command(help="List every coaching rule with its thresholds (after --config overrides) and source.")
def rules(
    config: Annotated[Path | None, typer.Option("--config", help="TOML file with overrides.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    debug: DebugOption = False,
) -> None:
    with user_errors(debug):
        rows = describe(config)
    if as_json:
        out.print_json(json.dumps(rows))
        return
    for r in rows:
        summary = " ".join(r["why"].split("\n\n")[0].split())
        th = ", ".join(f"{k} = {v}" for k, v in r["thresholds"].items())
        head = f"[bold]{escape(r['title'])}[/] ({r['name']})"
        out.print(f"{head} · weight {r['weight']:g} · source {escape(r['source'])}")
        out.print(f"  thresholds: {escape(th)}", soft_wrap=False)
        out.print(f"  {escape(summary)}")
        out.print()
    out.print("Full reasoning, and where the sources disagree: formcheck rules --json, or docs/rules.md.")
