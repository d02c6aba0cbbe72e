"""The batch's overview: summary.csv (one row per input) and index.html linking every report.

Both are ledgered like every output (`atomic.Ledger`, kept in STATE_DIR/overview.sha256): the
batch replaces them only while they are as it wrote them.
"""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from formcheck.apps.batch.inputs import STATE_DIR
from formcheck.util.atomic import Ledger, staged, write_text
from formcheck.util.text import plural

if TYPE_CHECKING:
    from formcheck.apps.batch.records import BatchResult, Record


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
_STATUS_WORDS = {"ok": "scored", "nothing_to_score": "nothing to score", "error": "failed", "not_done": "not done"}
MIN_SETS_RECURRING = 2  # a fault is "recurring" when this many scored sets show it

_CSS = """
*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
background:#f4f6f8;color:#1d232b;overflow-wrap:anywhere}main{max-width:1200px;margin:0 auto;padding:20px 14px 40px}
h1{margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .5em}.muted{color:#5c6670}
.recur{background:#fff7e6;border:1px solid #f3d48b;border-radius:10px;padding:10px 16px}
.recur ul{margin:.3em 0;padding-left:1.2em}
.sets{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,270px),1fr));gap:12px}
.set{background:#fff;border:1px solid #e3e6ea;border-radius:10px;padding:10px;display:flex;
flex-direction:column;gap:6px}
.set img{width:100%;aspect-ratio:16/10;object-fit:contain;border-radius:6px;background:#1d232b;display:block}
.set .noimg{aspect-ratio:16/10;border-radius:6px;background:#e9ecef;display:flex;align-items:center;
justify-content:center;color:#8a8f98;font-size:.9em}
.set h3{margin:0;font-size:1em}.score{font-size:1.6em;font-weight:700;line-height:1}
.score small{font-size:.5em;color:#5c6670}
.status{font-weight:600}.focus{background:#fff7e6;border-radius:6px;padding:6px 8px;font-size:.93em}
.links a{margin-right:.6em}.note{color:#5c6670;font-size:.88em}
"""


def _score_colour(score: float | None) -> str:
    return "#8a8f98" if score is None else "#1e9e57" if score >= 85 else "#c98300" if score >= 60 else "#d63a2f"


def recurring_faults(records: Sequence[Record]) -> tuple[list[tuple[str, int]], int]:
    """([(fault title, sets showing it)], scored sets): faults on a counted rep of at least
    MIN_SETS_RECURRING sets, most common first."""
    scored = [r for r in records if r.status == "ok" and r.reps]
    counts = Counter(title for r in scored for title in dict.fromkeys(r.faults))
    common = [(t, n) for t, n in counts.most_common() if n >= MIN_SETS_RECURRING]
    return common, len(scored)


def _set_card(r: Record) -> str:
    from formcheck.report.html_page import exercise_words

    e = html.escape
    main = next((o for o in r.outputs if o.endswith(".html")), r.outputs[0] if r.outputs else "")
    name = f'<a href="{e(quote(main))}">{e(r.name)}</a>' if main else e(r.name)
    img = (f'<img alt="top of the best rep of {e(r.name)}" src="{e(r.thumb)}">' if r.thumb.startswith("data:image/")
           else '<div class="noimg">no frame</div>')
    if main and r.thumb.startswith("data:image/"):
        img = f'<a href="{e(quote(main))}" tabindex="-1">{img}</a>'
    parts = [img, f"<h3>{name}</h3>"]
    if r.status in ("ok", "nothing_to_score"):
        what = exercise_words(r.exercise or "none")
        reps = "" if r.reps is None else f" · {plural(r.reps, 'rep')}"
        score = ("" if r.mean_score is None else
                 f'<div class="score" style="color:{_score_colour(r.mean_score)}">{r.mean_score:.0f}'
                 "<small> / 100</small></div>")
        parts.append(f"{score}<div>{e(what)}{reps}</div>")
    else:
        parts.append(f'<div class="status" style="color:{_STATUS_COLOUR.get(r.status, "#000")}">'
                     f"{e(_STATUS_WORDS.get(r.status, r.status))}</div>")
    if r.focus_cue:
        parts.append(f'<div class="focus"><strong>Focus: {e(r.focus_title)}</strong> — {e(r.focus_cue)}</div>')
    elif r.status == "ok" and r.reps:
        parts.append('<div class="focus" style="background:#eafaf0">Clean set: every visible checkpoint passed.</div>')
    if r.outputs:
        parts.append('<div class="links">' + "".join(f'<a href="{e(quote(o))}">{e(o.rsplit(".", 1)[-1])}</a>'
                                                     for o in r.outputs) + "</div>")
    if r.message:
        parts.append(f'<div class="note">{e(r.message)}</div>')
    return f'<article class="set {e(r.status)}">{"".join(parts)}</article>'


def index_html(result: BatchResult) -> str:
    """One page: the faults that recur across the sets, then a card per set with its key frame,
    exercise, score, focus cue and outputs. Self-contained; every name is escaped (file names are
    user data) and a Content-Security-Policy forbids scripts and any network fetch."""
    e = html.escape
    counts = ", ".join(f"{result.count(st)} {_STATUS_WORDS[st]}" for st in _STATUS_COLOUR if result.count(st))
    common, scored = recurring_faults(result.records)
    if common:
        items = "".join(f"<li><strong>{e(t)}</strong>: {n} of {scored} sets</li>" for t, n in common)
        recur = f'<h2>Faults that recur across the sets</h2><div class="recur"><ul>{items}</ul></div>'
    elif scored >= MIN_SETS_RECURRING:
        recur = ('<h2>Faults that recur across the sets</h2><p class="muted">None: no fault shows in '
                 f"{MIN_SETS_RECURRING} of the {scored} sets.</p>")
    else:
        recur = ""
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}"><title>formcheck batch</title>\n'
        f"<style>{_CSS}</style></head><body><main><h1>formcheck batch</h1>"
        f'<p class="muted">{len(result.records)} files: {e(counts)}.'
        f"{' Interrupted: rerun the same command to finish.' if result.interrupted else ''}</p>\n{recur}"
        '<h2>The sets</h2><section class="sets">\n' + "\n".join(_set_card(r) for r in result.records)
        + "\n</section></main></body></html>\n"
    )
