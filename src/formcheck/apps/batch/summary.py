"""The batch's overview: summary.csv (one row per input) and index.html linking every report.

Both are ledgered like every output (`atomic.Ledger`, kept in STATE_DIR/overview.sha256): the
batch replaces them only while they are as it wrote them.
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from formcheck.apps.batch.inputs import STATE_DIR
from formcheck.util.atomic import Ledger, staged, write_text

if TYPE_CHECKING:
    from formcheck.apps.batch.records import BatchResult


OVERVIEW = ("summary.csv", "index.html")  # the batch's own files at the top of the output folder
SUMMARY_FIELDS = ["name", "source", "status", "exit_code", "message", "exercise", "reps", "mean_score",
                  "frames", "seconds", "report", "reused", "sha256"]


_LEDGER = "overview.sha256"  # not "<name>.json": no input's record can take this name


def overview_ledger(out: Path, temp_dir: Path | None = None) -> Ledger:
    """What earlier runs wrote as summary.csv and index.html (sha256 of each version)."""
    path = out / STATE_DIR / _LEDGER
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    pairs = [(rel, sha) for sha, _, rel in (line.partition("  ") for line in lines) if rel in OVERVIEW]

    def save(ledger: Ledger) -> None:  # the format of `sha256sum`, so `sha256sum -c` checks it
        write_text(path, "".join(f"{sha}  {rel}\n" for rel, sha in ledger.pairs()), temp_dir=temp_dir)

    return Ledger(out, pairs, save, temp_dir)


def write_summary(result: BatchResult, ledger: Ledger | None = None) -> None:
    """Write both files; with a ledger, only over versions it wrote, and note the new ones."""
    ledger = ledger or overview_ledger(result.out)
    with staged(ledger.stage()):
        _write(result)
    ledger.settle(OVERVIEW)
    ledger.save()


def _write(result: BatchResult) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SUMMARY_FIELDS)
    for r in result.records:
        w.writerow([r.name, r.source, r.status, r.code, r.message, r.exercise, "" if r.reps is None else r.reps,
                    "" if r.mean_score is None else r.mean_score, r.frames or "", r.seconds or "",
                    r.outputs[0] if r.outputs else "", str(r.reused).lower(), r.sha256])
    summary_csv, index = OVERVIEW
    write_text(result.out / summary_csv, buf.getvalue())
    write_text(result.out / index, index_html(result))


_STATUS_COLOUR = {"ok": "#1a7f37", "nothing_to_score": "#9a6700", "error": "#cf222e", "not_done": "#6e7781"}


def index_html(result: BatchResult) -> str:
    """One page linking every report; every name is escaped (file names are user data)."""
    e = html.escape
    rows = []
    for r in result.records:
        main = next((o for o in r.outputs if o.endswith(".html")), r.outputs[0] if r.outputs else "")
        name = f'<a href="{e(quote(main))}">{e(r.name)}</a>' if main else e(r.name)
        extra = " ".join(f'<a href="{e(quote(o))}">{e(o.rsplit(".", 1)[-1])}</a>' for o in r.outputs)
        score = "" if r.mean_score is None else f"{r.mean_score:g}"
        rows.append(
            f'<tr><td>{name}</td><td style="color:{_STATUS_COLOUR.get(r.status, "#000")}">{e(r.status)}</td>'
            f"<td>{e(r.exercise)}</td><td>{'' if r.reps is None else r.reps}</td><td>{score}</td>"
            f"<td>{extra}</td><td>{e(r.message)}</td></tr>"
        )
    counts = ", ".join(f"{result.count(st)} {st.replace('_', ' ')}" for st in _STATUS_COLOUR if result.count(st))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>formcheck batch</title>\n'
        "<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}</style>\n"
        f"</head><body><h1>formcheck batch</h1><p>{len(result.records)} files: {e(counts)}."
        f"{' Interrupted: rerun the same command to finish.' if result.interrupted else ''}</p>\n"
        "<table><tr><th>file</th><th>status</th><th>exercise</th><th>reps</th><th>mean score</th>"
        "<th>outputs</th><th>notes</th></tr>\n" + "\n".join(rows) + "\n</table></body></html>\n"
    )
