"""The progress page and the compare page: one self-contained HTML file each.

CSS inline, plots inline SVG, no script, a Content-Security-Policy that forbids any fetch.
Everything that comes from users or reports (names, notes, sources, cues, titles) is escaped.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

from formcheck.apps.history import plots, views
from formcheck.apps.history.sets import fault_counts

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
CSS = """
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1d232b;background:#f4f6f8}main{max-width:1100px;margin:0 auto;padding:20px 16px 40px}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.3em;margin:1.6em 0 .4em}h3{font-size:1.05em;margin:1.2em 0 .4em}
.meta{color:#5c6670;margin:0}figure{margin:0 0 12px;background:#fff;border:1px solid #e3e6ea;border-radius:10px;
padding:8px}figure svg{width:100%;height:auto;display:block}figcaption{color:#5c6670;font-size:.9em;padding:4px 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e3e6ea}
th,td{text-align:left;vertical-align:top;padding:6px 9px;border-top:1px solid #e3e6ea}
th{background:#eef1f4;font-size:.8em;text-transform:uppercase;letter-spacing:.03em;color:#5c6670}
td.num{text-align:right;white-space:nowrap}.note{color:#5c6670;font-style:italic}.better{color:#1e9e57}
.worse{color:#d63a2f}.cols{display:grid;grid-template-columns:1fr 1fr;gap:12px}
@media (max-width:760px){.cols{grid-template-columns:1fr}}
"""


def _page(title: str, body: list[str]) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
            f"<body><main>{''.join(body)}</main></body></html>\n")


def _num(x: Any, spec: str = ".0f") -> str:
    return "–" if x is None else escape(format(x, spec))


def _link(path: str | None) -> str:
    """A link to the set's report: the HTML report beside the JSON if there is one."""
    if not path:
        return ""
    p = Path(path)
    html = p.with_suffix(".html")
    target = html if html.is_file() else p
    if not target.is_file():
        return '<span class="note">moved</span>'
    return f'<a href="{escape(target.resolve().as_uri())}">{escape(target.suffix[1:])}</a>'


def _sets_table(sets: list[dict[str, Any]]) -> str:
    head = ("id", "date", "exercise", "reps", "score", "hold", "ROM", "lockout", "focus cue", "load", "RPE", "note",
            "report")
    rows = []
    for s in sets:
        rows.append(
            f"<tr><td class=num>{s['id']}</td><td>{escape(s['recorded_at'][:10])}</td>"
            f"<td>{escape(s['exercise'].replace('_', ' '))}</td><td class=num>{s['reps']}</td>"
            f"<td class=num>{_num(s['mean_score'])}</td><td class=num>{_num(s['mean_hold_s'], '.1f')} s</td>"
            f"<td class=num>{_num(s['mean_rom'])}°</td><td class=num>{_num(s['lockout_deg'])}°</td>"
            f"<td>{escape(s['focus_title'] or '')}</td><td class=num>{_num(s['load_kg'], 'g')}</td>"
            f"<td class=num>{_num(s['rpe'], 'g')}</td><td>{escape(s['note'] or '')}</td>"
            f"<td>{_link(s['report_path'])}</td></tr>")
    return (f"<table class=sets><thead><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def history_page(sets: list[dict[str, Any]], lifter: str | None = None) -> str:
    """The progress page: per lifter, the trend plots, the fault frequencies and every set."""
    by_lifter: dict[str, list[dict[str, Any]]] = {}
    for s in sets:
        by_lifter.setdefault(s["lifter"], []).append(s)
    who = lifter if lifter is not None else ", ".join(by_lifter) or "nobody yet"
    body = [f"<h1>Training history · {escape(who)}</h1>",
            f'<p class="meta">{len(sets)} set{"s" if len(sets) != 1 else ""} · made by formcheck</p>']
    if not sets:
        body.append('<p class="note">No sets recorded yet: <code>formcheck VIDEO --lifter NAME</code>.</p>')
    for name, group in by_lifter.items():
        scored = [s for s in group if s["exercise"] != "none"]
        body.append(f'<section class="lifter"><h2>{escape(name)}</h2>')
        if scored:
            body.append(f'<figure class="trends">{plots.trends(scored)}<figcaption>Per set: mean score, hold, ROM and '
                        "lockout angle of the full reps.</figcaption></figure>")
            counts = fault_counts(scored)
            if counts:
                body.append(f'<figure class="faults">{plots.fault_bars(counts)}<figcaption>How often each fault '
                            "appeared, over all these sets.</figcaption></figure>")
        body.append(_sets_table(group) + "</section>")
    return _page(f"formcheck history · {who}", body)


def compare_page(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Two sets side by side: summary, faults, per-rep scores, curves overlaid, fatigue of each."""
    cmp = views.compare(a, b)
    la, lb = (escape(x) for x in cmp["labels"])
    body = [f"<h1>Compare: A {la} · B {lb}</h1>",
            f'<p class="meta">A: {escape(a["source"])} · B: {escape(b["source"])}</p>',
            "<h2>The sets</h2>", "<table><thead><tr><th></th><th>A</th><th>B</th><th>B − A</th></tr></thead><tbody>"]
    for name, va, vb, d in cmp["summary"]:
        body.append(f"<tr><td>{escape(name)}</td><td class=num>{_num(va, 'g')}</td><td class=num>{_num(vb, 'g')}</td>"
                    f"<td class=num>{'' if d is None else escape(f'{d:+g}')}</td></tr>")
    body.append("</tbody></table><h2>Faults (full reps with a warn or fail)</h2>"
                "<table><thead><tr><th>checkpoint</th><th>A</th><th>B</th></tr></thead><tbody>")
    for _rule, title, na, nb in cmp["faults"]:
        cls = "better" if nb < na else "worse" if nb > na else ""
        body.append(f"<tr><td>{escape(title)}</td><td class=num>{na}</td><td class='num {cls}'>{nb}</td></tr>")
    body.append("</tbody></table>")
    body.append(f'<h2>Hip extension, overlaid</h2><figure class="overlay">{plots.overlay([a, b])}<figcaption>A blue, '
                "B red, aligned at each set's first full rep; dashed = drawn from the reps' start, top and end "
                "(no curve stored).</figcaption></figure>")
    body.append("<h2>Within each set: fatigue</h2><div class=cols>")
    for tag, s, line in (("A", a, cmp["fatigue"][0]), ("B", b, cmp["fatigue"][1])):
        body.append(f'<figure class="fatigue">{plots.fatigue(s["report"])}<figcaption>{tag}: {escape(line)}'
                    "</figcaption></figure>")
    body.append("</div>")
    return _page(f"formcheck compare · {cmp['labels'][0]} vs {cmp['labels'][1]}", body)


def write(path: str | os.PathLike[str], text: str) -> None:
    from formcheck.util.atomic import write_text

    write_text(path, text)
