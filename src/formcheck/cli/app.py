"""The typer app every command is built on: formcheck's settings, and help that reads as it is typed."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand

# The word a value is shown with in help (`--rpe NUMBER`), by its annotation; any other type: VALUE.
VALUE_WORDS: dict[type, str] = {float: "NUMBER", int: "INTEGER", str: "TEXT", Path: "PATH"}


def value_word(param: Any) -> str:
    """typer's own reading of the annotation (`type_descriptor`), when this typer has one."""
    desc = getattr(param, "type_descriptor", None)
    if desc is None:
        return "VALUE"
    if desc.is_choice:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices)
    if desc.is_path or desc.is_file:
        return "PATH"
    args = typing.get_args(desc.annotation) if desc.is_list else ()
    kind = args[0] if args else desc.annotation
    return VALUE_WORDS.get(kind, "VALUE")


class Command(TyperCommand):
    """A command whose help reads as it is typed: `formcheck [OPTIONS] VIDEO`, `PATH...`,
    `--rpe NUMBER`; not typer's `{video}`, `paths... <list[str]>` or `<float>`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for p in self.params:
            if p.metavar is not None:
                continue
            if p.param_type_name == "argument":  # also in errors: "Missing argument 'VIDEO'"
                p.metavar = (p.name or "").upper()
            elif p.param_type_name == "option" and not getattr(p, "is_flag", False) and not getattr(p, "count", False):
                p.metavar = value_word(p)

    @staticmethod
    def argument_name(p: Any) -> str:
        name = (p.metavar or p.name or "").rstrip(".…").upper()
        return name + ("..." if p.nargs != 1 else "")

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for p in self.get_params(ctx):
            if p.param_type_name == "argument":
                name = self.argument_name(p)
                pieces.append(name if p.required else f"[{name}]")
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        args = [(self.argument_name(p), getattr(p, "help", None) or "")
                for p in self.get_params(ctx) if p.param_type_name == "argument"]
        opts = [rv for p in self.get_params(ctx)
                if p.param_type_name == "option" and (rv := p.get_help_record(ctx)) is not None]
        for title, rows in (("Arguments", args), ("Options", opts)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


class App(typer.Typer):
    """typer.Typer with formcheck's settings (no completion, no pretty tracebacks, plain help) and
    the readable `Command` for every command."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**{"add_completion": False, "pretty_exceptions_enable": False, "rich_markup_mode": None,
                            **kwargs})

    def command(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("cls", Command)
        return super().command(*args, **kwargs)


def readable(app: typer.Typer) -> typer.Typer:
    """`app` with the readable `Command` for each of its commands that names no class, its
    sub-apps' too: a command module built on typer.Typer rather than `App` reads the same."""
    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):  # typer's default: not a class of the command's own
            info.cls = Command
    for group in app.registered_groups:
        if group.typer_instance is not None:
            readable(group.typer_instance)
    return app
