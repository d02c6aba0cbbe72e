"""`formcheck history …` and `formcheck compare A B`: the training history in the terminal.

A thin shell over `formcheck.apps.history`; every failure is one line and an exit code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from formcheck.cli.app import App
from formcheck.cli.common import ConfigOption, DebugOption, err, escape, out, user_errors
from formcheck.cli.terminal_report import one_line_table
from formcheck.errors import ExitCode, FormcheckError
from formcheck.util.text import plural

app = App(
    help="The training history: every set saved with `formcheck VIDEO --lifter NAME`. Without a "
                       "command: the sets as a table (--json/--csv/--html to write them). Database: --db, else "
                       "$FORMCHECK_DB, else history.sqlite in your data folder. Exit codes: 0 done; 2 bad options, "
                       "an unknown set or lifter, or a database from a newer formcheck; 3 a path missing; 7 the "
                       "database is locked, damaged or not formcheck's (it is never overwritten).")
compare_app = App()

DbOption = Annotated[Path | None, typer.Option("--db", help="The history database (default: $FORMCHECK_DB, else "
                                                            "the user data folder).", metavar="PATH")]
LifterOption = Annotated[str | None, typer.Option("--lifter", help="Only this lifter.", metavar="NAME")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")]


def _store(db: Path | None, create: bool = True) -> Any:
    from formcheck.apps.history import Store

    return Store(db, create=create)


def _sets(db: Path | None, lifter: str | None) -> list[dict[str, Any]]:
    from formcheck.apps.history.sets import list_sets
    from formcheck.apps.history.store import default_path

    if not (db or default_path()).exists():  # reading never creates the database
        if lifter is not None:
            raise FormcheckError(f"no lifter {lifter!r}: nothing is recorded yet in {db or default_path()}",
                                 ExitCode.USAGE)
        return []
    with _store(db) as store:
        return list_sets(store, lifter)


def _fmt(x: Any, spec: str = ".0f") -> str:
    return "–" if x is None else format(x, spec)


@app.callback(invoke_without_command=True)
def show(
    ctx: typer.Context,
    lifter: LifterOption = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the sets as JSON ('-' = stdout).",
                                                 metavar="PATH")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write one CSV row per set.", metavar="PATH")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the progress page (one file, trend plots).",
                                              metavar="PATH")] = None,
    db: DbOption = None,
    debug: DebugOption = False,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from formcheck.apps.history import page, views
    from formcheck.util.atomic import write_text

    with user_errors(debug):
        sets = _sets(db, lifter)
        if json_out == "-":
            sys.stdout.write(views.to_json(sets))
        elif json_out:
            write_text(json_out, views.to_json(sets))
        if csv_out is not None:
            write_text(csv_out, views.to_csv(sets))
        if html is not None:
            page.write(html, page.history_page(sets, lifter))
        if json_out != "-":
            print_sets(sets)


def print_sets(sets: list[dict[str, Any]]) -> None:
    if not sets:
        out.print("No sets in the history yet: `formcheck VIDEO --lifter NAME` saves one.")
        return
    head = ["id", "date", "lifter", "exercise", "reps", "score", "load"]
    rows = [[str(s["id"]), s["recorded_at"][:10], escape(s["lifter"]), s["exercise"].replace("_", " "),
             str(s["reps"]), _fmt(s["mean_score"]), "–" if s["load_kg"] is None else f"{s['load_kg']:g} kg"]
            for s in sets]
    focus = [escape(s["focus_title"] or "–") for s in sets]
    out.print(one_line_table(head, rows, out.width, "focus", lambda _room: focus, left=("date", "lifter", "exercise"),
                             optional=("load", "date", "exercise")))


@app.command("set", help="One set: its reps and the fatigue line (ascent, descent and ROM across the reps).")
def show_set(set_id: Annotated[int, typer.Argument(metavar="ID")], db: DbOption = None,
             debug: DebugOption = False) -> None:
    from formcheck.apps.history import views
    from formcheck.apps.history.sets import get_set

    with user_errors(debug), _store(db, create=False) as store:
        s = get_set(store, set_id)
    from formcheck.cli.analyze import print_report

    out.print(f"[bold]set {s['id']}[/] · {s['recorded_at'][:10]} · {escape(s['lifter'])}"
              + (f" · {s['load_kg']:g} kg" if s["load_kg"] is not None else "")
              + (f" · RPE {s['rpe']:g}" if s["rpe"] is not None else ""), soft_wrap=True)
    if s["note"]:
        out.print(f"note: {escape(s['note'])}", soft_wrap=True)
    print_report(s["report"])
    out.print(escape(views.fatigue_line(s["report"])))


@app.command("lifters", help="Every lifter, with how many sets and when the first and last were recorded.")
def list_lifters(db: DbOption = None, debug: DebugOption = False) -> None:
    from formcheck.apps.history.sets import lifters
    from formcheck.apps.history.store import default_path

    with user_errors(debug):
        if not (db or default_path()).exists():
            rows = []
        else:
            with _store(db) as store:
                rows = lifters(store)
    table = Table()
    for col in ("lifter", "sets", "first", "last"):
        table.add_column(col)
    for r in rows:
        table.add_row(escape(r["name"]), str(r["sets"]), (r["first"] or "–")[:10], (r["last"] or "–")[:10])
    out.print(table if rows else "No lifters yet.")


@app.command("rename", help="Rename a lifter (all their sets follow).")
def rename(old: Annotated[str, typer.Argument(metavar="OLD")], new: Annotated[str, typer.Argument(metavar="NEW")],
           db: DbOption = None, debug: DebugOption = False) -> None:
    from formcheck.apps.history import sets

    with user_errors(debug), _store(db, create=False) as store:
        sets.rename(store, old, new)
    out.print(f"renamed {escape(old)} → {escape(new)}")


@app.command("delete", help="Delete one set (--set ID) or a lifter and all their sets (--lifter NAME). Asks first.")
def delete(set_id: Annotated[int | None, typer.Option("--set", help="The set's id.", metavar="ID")] = None,
           lifter: Annotated[str | None, typer.Option("--lifter", help="The lifter.", metavar="NAME")] = None,
           yes: YesOption = False, db: DbOption = None, debug: DebugOption = False) -> None:
    from formcheck.apps.history import sets

    with user_errors(debug), _store(db, create=False) as store:
        if (set_id is None) == (lifter is None):
            raise FormcheckError("give --set ID or --lifter NAME (one of them)", ExitCode.USAGE)
        if set_id is not None:
            s = sets.get_set(store, set_id)
            what = f"set {set_id} ({s['recorded_at'][:10]}, {s['lifter']}, {s['source']})"
        else:
            n = len(sets.list_sets(store, lifter))
            what = f"lifter {lifter} and their {plural(n, 'set')}"
        if not yes:
            try:
                ok = typer.confirm(f"Delete {what}?", default=False, err=True)
            except typer.Abort:
                raise FormcheckError(f"nothing deleted: no answer to the question (pass --yes to delete {what} "
                                     "without asking)", ExitCode.USAGE) from None
            if not ok:
                err.print("nothing deleted")
                return
        if set_id is not None:
            sets.delete_set(store, set_id)
        else:
            sets.delete_lifter(store, lifter or "")
    out.print(f"deleted {escape(what)}")


@app.command("export", help="Write every set (reports, curves, lifters, loads, notes) to one JSON file ('-' = stdout).")
def export(path: Annotated[str, typer.Argument(metavar="PATH")], db: DbOption = None,
           debug: DebugOption = False) -> None:
    from formcheck.apps.history import sets
    from formcheck.util.atomic import write_text

    with user_errors(debug), _store(db, create=False) as store:
        text = json.dumps(sets.export(store), ensure_ascii=False, indent=1) + "\n"
        if path == "-":
            sys.stdout.write(text)
        else:
            write_text(path, text)
            n = len(json.loads(text)["sets"])
            out.print(f"exported {plural(n, 'set')} to {escape(path)}")


@app.command("import-db", help="Merge an export (from `history export`) into this database; same set = updated.")
def import_db(path: Annotated[Path, typer.Argument(metavar="PATH")], db: DbOption = None,
              debug: DebugOption = False) -> None:
    from formcheck.apps.history import sets

    with user_errors(debug):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise FormcheckError(f"{path}: cannot be read ({exc.strerror or exc})", ExitCode.NOT_FOUND) from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormcheckError(f"{path}: not a JSON export ({exc})", ExitCode.USAGE) from exc
        with _store(db) as store:
            added, updated = sets.import_export(store, data, str(path))
    out.print(f"imported {plural(added, 'new set')}, updated {updated}")


@app.command("import", help="Import JSON reports and batch output folders (their summary.csv gives each input's "
                            "sha256 and path).")
def import_reports(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH…")],
    lifter: Annotated[str | None, typer.Option("--lifter", help="Whose sets these are (default: 'me').",
                                               metavar="NAME")] = None,
    from_folder: Annotated[bool, typer.Option("--lifter-from-folder", help="The lifter is each input's parent "
                                              "folder name (clients/ana/set1.mp4 → ana).")] = False,
    date: Annotated[str | None, typer.Option("--date", help="When they were recorded (default: the video's file "
                                             "time, else the report's).", metavar="YYYY-MM-DD")] = None,
    db: DbOption = None,
    debug: DebugOption = False,
) -> None:
    from formcheck.apps.history.importer import import_paths
    from formcheck.apps.history.record import parse_date

    with user_errors(debug):
        when = parse_date(date) if date else None
        with _store(db) as store:
            done = import_paths(store, paths, lifter=lifter, from_folder=from_folder, recorded_at=when)
    for line in done.skipped:
        err.print(f"[yellow]skipped:[/] {escape(line)}", soft_wrap=True)
    out.print(f"imported {plural(done.added, 'new set')}, updated {done.updated}")


@compare_app.command(help="Compare two sets: reps, scores and faults side by side, the hip-extension curves "
                          "overlaid, and each set's fatigue line. A and B are set ids (formcheck history), JSON "
                          "reports, pose tracks (.npz) or videos. Exit codes: 0; 2 bad options or unknown set; "
                          "3 a file missing; 4 not a video; 5 pose model; 7 output or database.")
def compare(
    a: Annotated[str, typer.Argument(metavar="A")],
    b: Annotated[str, typer.Argument(metavar="B")],
    html: Annotated[Path | None, typer.Option("--html", help="Write the comparison page.", metavar="PATH")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    debug: DebugOption = False,
) -> None:
    from formcheck.apps.history import page, views
    from formcheck.cli.common import quiet_native_stderr

    with user_errors(debug), quiet_native_stderr(not debug):
        sa, sb = _resolve(a, db, config), _resolve(b, db, config)
        cmp = views.compare(sa, sb)
        if html is not None:
            page.write(html, page.compare_page(sa, sb))
    print_compare(cmp, sa, sb)


def _resolve(arg: str, db: Path | None, config: Path | None) -> dict[str, Any]:
    from formcheck.apps.history import views
    from formcheck.apps.history.record import adapt, check_report, curve_from_reps

    p = Path(arg)
    if arg.isdigit() and not p.exists():
        from formcheck.apps.history.sets import get_set

        with _store(db, create=False) as store:
            return get_set(store, int(arg))
    if not p.is_file():
        raise FormcheckError(f"{arg}: no such file, and not a set id", ExitCode.NOT_FOUND)
    if p.suffix.lower() == ".json":
        try:
            report = check_report(json.loads(p.read_text(encoding="utf-8")), arg)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormcheckError(f"{arg}: not a readable JSON report ({exc})", ExitCode.USAGE) from exc
        return views.loose_set(report, curve_from_reps(report), p.name) | {"curve_kind": "from_reps"}
    report, curve = adapt(p, config=config)
    return views.loose_set(report, curve, p.name) | {"curve_kind": "measured"}


def print_compare(cmp: dict[str, Any], a: dict[str, Any], b: dict[str, Any]) -> None:
    from formcheck.apps.history import views

    la, lb = cmp["labels"]
    out.print(f"[bold]A[/] {escape(la)}  ·  [bold]B[/] {escape(lb)}", soft_wrap=True)
    t = Table()
    for col in ("", "A", "B", "B − A"):
        t.add_column(col, justify="left" if not col else "right")
    for name, va, vb, d in cmp["summary"]:
        t.add_row(name, _fmt(va, "g"), _fmt(vb, "g"), "" if d is None else f"{d:+g}")
    out.print(t)
    f = Table(title="faults (full reps with a warn or fail)")
    for col in ("checkpoint", "A", "B"):
        f.add_column(col, justify="left" if col == "checkpoint" else "right")
    for _rule, title, na, nb in cmp["faults"]:
        style = "green" if nb < na else "red" if nb > na else ""
        f.add_row(escape(title), str(na), f"[{style}]{nb}[/]" if style else str(nb))
    out.print(f)
    for tag, scores in zip("AB", cmp["rep_scores"], strict=True):
        out.print(f"rep scores {tag}: " + " ".join(_fmt(x) for x in scores))
    out.print("hip extension, [blue]A[/] and [red]B[/] overlaid (from each set's first full rep; * = both):")
    for line in views.text_overlay([views.aligned(a["curve"], a["report"]), views.aligned(b["curve"], b["report"])]):
        out.print(line.replace("A", "[blue]A[/]").replace("B", "[red]B[/]"), highlight=False)
    for tag, line in zip("AB", cmp["fatigue"], strict=True):
        out.print(f"{tag} {escape(line)}", soft_wrap=True)
