"""The report in the terminal: one line per rep at any width, then the set's summary and cue.

Every rep's worst fault is in its row; the others are counted (+N), and named in the HTML and
JSON reports. Columns are dropped as the terminal narrows, never wrapped.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from formcheck.cli.common import err, escape, out
from formcheck.util.text import plural

VERDICT_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "not_visible": "dim"}
SEVERITY = {"fail": 2, "warn": 1}
# Terminal widths (columns): at WIDE_COLS or more, the start and end of each rep and the worst
# fault's measured value; below NARROW_COLS only rep, score and fault.
WIDE_COLS = 110
NARROW_COLS = 60
COLUMN_GAP = 3  # characters between two columns of the table (padding and the blank rule)


def _fmt(x: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "–" if x is None else f"{x:{spec}}{suffix}"


def _sure(c: dict[str, Any]) -> bool:
    return (c.get("confidence") or {}).get("level", "high") == "high"


def faults(rep: dict[str, Any]) -> list[dict[str, Any]]:
    """A rep's faults, worst first: fails before warnings, sure before unsure, then rule order."""
    found = [c for c in rep["checks"] if c["verdict"] in SEVERITY]
    return sorted(found, key=lambda c: (-SEVERITY[c["verdict"]], not _sure(c)))


def _fix_cell(rep: dict[str, Any], wide: bool, room: int) -> str:
    """The worst fault, then how many more (+N): its title cut to `room` characters if need be, the
    count never; in a wide terminal the value it judged too."""
    if rep["partial"]:
        return f"[dim]partial: {escape(rep['partial_reason'])}[/]"
    found = faults(rep)
    if not found:
        return "[green]all good[/]"
    worst, title = found[0], found[0]["title"]
    more = f" +{len(found) - 1}" if len(found) > 1 else ""
    unsure = "" if _sure(worst) else " (unsure)"
    if len(title) + len(unsure) + len(more) > room:
        unsure = unsure and " ?"
        keep = max(1, room - len(unsure) - len(more))
        title = title if len(title) <= keep else title[: keep - 1].rstrip() + "…"
    cell = f"[{VERDICT_STYLE[worst['verdict']]}]{escape(title)}[/][dim]{unsure}{more}[/]"
    if wide and worst.get("detail"):
        cell += f" [dim]— {escape(worst['detail'])}[/]"
    return cell


def rep_table(report: dict[str, Any], width: int) -> Table:
    """The reps, one line each, in `width` columns: the numbers as they are, the fault in the rest."""
    wide, narrow = width >= WIDE_COLS, width < NARROW_COLS
    cols: list[tuple[str, Any]] = [("rep", lambda r: f"{r['index']}" + ("*" if r["partial"] else ""))]
    if wide:
        cols.append(("start", lambda r: _fmt(r["start_s"], ".1f", "s")))
    if not narrow:
        cols.append(("top", lambda r: _fmt(r["top_s"], ".1f", "s")))
    if wide:
        cols.append(("end", lambda r: _fmt(r["end_s"], ".1f", "s")))
    if not narrow:
        cols += [("hold", lambda r: _fmt(r["hold_s"], ".1f", "s")), ("ROM", lambda r: _fmt(r["rom"], ".0f", "°"))]
    cols.append(("score", lambda r: _fmt(r["score"], ".0f")))
    rows = [[cell(r) for _, cell in cols] for r in report["reps"]]
    widths = [max(len(name), *(len(row[i]) for row in rows)) for i, (name, _) in enumerate(cols)]
    room = max(len("to fix"), width - sum(widths) - COLUMN_GAP * len(cols))  # what is left for the fault
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for (name, _), w in zip(cols, widths, strict=True):
        table.add_column(name, justify="right", no_wrap=True, min_width=w)
    table.add_column("to fix", no_wrap=True, overflow="ellipsis", max_width=room)
    for r, row in zip(report["reps"], rows, strict=True):
        table.add_row(*row, _fix_cell(r, wide, room), style="dim" if r["partial"] else None)
    return table


def print_report(report: dict[str, Any], to_stderr: bool = False) -> None:
    console = err if to_stderr else out
    title = (
        f"{escape(report['source'])} · {report['exercise'].replace('_', ' ')} · {report['view'].replace('_', ' ')} view"
    )
    s = report["summary"]
    console.print(f"[bold]{title}[/]", soft_wrap=True)  # a file name is never cut by rich
    if report["reps"]:
        console.print(rep_table(report, console.width))
        if any(len(faults(r)) > 1 for r in report["reps"] if not r["partial"]):
            console.print("[dim]+N: more faults in that rep (--html or --json names them all)[/]")
    for r in report["reps"]:
        for c in faults(r):
            if not r["partial"] and not _sure(c):
                why = "; ".join((c.get("confidence") or {}).get("reasons", []))
                console.print(f"[dim]unsure: rep {r['index']} {escape(c['title'])} — {escape(why)}[/]")
    conf = report.get("exercise_confidence") or {}
    if report["exercise"] != "none" and conf.get("level", "high") != "high":
        why = "; ".join(conf.get("reasons", []))
        console.print(f"[dim]exercise call {conf['level']} confidence: {escape(why)}[/]")
    for w in report["warnings"]:
        console.print(f"[yellow]note:[/] {escape(w)}", soft_wrap=True)  # one line: greppable
    if report["exercise"] == "none":
        console.print("No hip thrust or glute bridge reps found.")
        return
    line = f"[bold]{plural(s['reps'], 'rep')}[/]"
    if s["partial_reps"]:
        line += f" (+{s['partial_reps']} partial, marked *)"
    line += f" · mean score {_fmt(s['mean_score'], '.0f')}/100 · mean hold {_fmt(s['mean_hold_s'], '.1f', ' s')}"
    console.print(line)
    if s["focus_cue"]:
        fault = s["most_frequent_fault"]
        console.print(f"[bold]Next set, focus on:[/] {escape(fault['title'])} ({plural(fault['reps'], 'rep')}) — "
                      f"{escape(s['focus_cue'])}")
    elif s["reps"]:
        console.print("[green]Clean set: every visible checkpoint passed.[/]")
