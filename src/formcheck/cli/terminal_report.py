"""The report in the terminal: one line per rep at any width, then the set's summary and cue.

Every rep's worst fault is in its row; the others are counted (+N), and named in the HTML and
JSON reports. Columns are dropped as the terminal narrows, never wrapped.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
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
COLUMN_GAP = 2  # characters between two columns of a table (its padding, collapsed, and the blank rule)
MIN_ROOM = 16  # characters the last column (the fault, the focus) should have at least


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


def one_line_table(head: Sequence[str], rows: Sequence[Sequence[str]], width: int, last: str,
                   fill: Callable[[int], Sequence[str]], *, left: Collection[str] = (), optional: Sequence[str] = (),
                   styles: Sequence[str | None] | None = None) -> Table:
    """Rows of one line each in `width` columns: the `head` columns as wide as their widest cell
    (right-aligned unless named in `left`), then `last`, its cells `fill(room)` for the room left
    and cut with an ellipsis if they are longer. The `optional` columns are dropped, in that order,
    while `last` would have less than MIN_ROOM."""
    keep = list(range(len(head)))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]

    def room() -> int:
        return width - sum(widths[i] for i in keep) - COLUMN_GAP * len(keep)

    for name in optional:
        if room() >= MIN_ROOM:
            break
        keep.remove(list(head).index(name))
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, collapse_padding=True)
    for i in keep:
        table.add_column(head[i], justify="left" if head[i] in left else "right", no_wrap=True, min_width=widths[i])
    left_over = max(len(last), room())
    table.add_column(last, no_wrap=True, overflow="ellipsis", max_width=left_over)
    for j, (row, cell) in enumerate(zip(rows, fill(left_over), strict=True)):
        table.add_row(*(row[i] for i in keep), cell, style=styles[j] if styles else None)
    return table


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
    reps = report["reps"]
    return one_line_table([name for name, _ in cols], [[cell(r) for _, cell in cols] for r in reps], width, "to fix",
                          lambda room: [_fix_cell(r, wide, room) for r in reps],
                          styles=["dim" if r["partial"] else None for r in reps])


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
