"""The one-file HTML report: summary, angle plot, per-rep table with annotated thumbnails.

Self-contained: CSS inline, the plot inline SVG (matplotlib, Agg, no pyplot state), the
thumbnails base64 JPEG; a Content-Security-Policy forbids any network fetch and scripts.
Every text that comes from outside (file names, cues, rule titles, warnings) is escaped.
Text comes from the report dict (what the JSON says), curves and frames from the Analysis.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from formcheck.pipeline.analyze import Analysis
from formcheck.util.atomic import write_text
from formcheck.util.text import printable

THUMB_SIDE = 480  # px, the longer side of a thumbnail
MAX_PLOT_POINTS = 3000  # longer clips are decimated for the plot only
# Curves in the lower panel: (kinematics series, label, colour).
OTHER_ANGLES = (("knee", "knee", "#e67e22"), ("shin", "shin (from vertical)", "#16a085"),
                ("neck", "neck (flexion +)", "#8e44ad"), ("torso", "torso (from horizontal)", "#7f8c8d"))
ICON = {"pass": "✓", "warn": "!", "fail": "✗", "not_visible": "–"}

CSS = """
:root{--pass:#1e9e57;--warn:#c98300;--fail:#d63a2f;--na:#8a8f98;--ink:#1d232b;--mute:#5c6670;--line:#e3e6ea}
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:#f4f6f8}main{max-width:1100px;margin:0 auto;padding:20px 16px 40px}
h1{font-size:1.7em;margin:.2em 0}h2{font-size:1.25em;margin:1.6em 0 .5em}.meta{color:var(--mute);margin:0}
.meta code{overflow-wrap:anywhere}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}.card{background:#fff;border:1px solid var(--line);
border-radius:10px;padding:12px 16px;min-width:120px}.card b{display:block;font-size:1.6em}
.card span{color:var(--mute);font-size:.9em}.score b{font-size:2.6em;line-height:1}
.focus{background:#fff7e6;border:1px solid #f3d48b;border-radius:10px;padding:12px 16px;margin-top:14px}
.clean{background:#eafaf0;border-color:#a8e2bf}.warnings{background:#fff;border-left:4px solid var(--warn);
padding:8px 14px 8px 2em;margin-top:14px}.warnings li{margin:.2em 0}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:10px;padding:8px}
figure svg{width:100%;height:auto;display:block}figcaption{color:var(--mute);font-size:.9em;padding:4px 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line);border-radius:10px}
th,td{text-align:left;vertical-align:top;padding:8px 10px;border-top:1px solid var(--line)}
th{background:#eef1f4;font-size:.85em;text-transform:uppercase;letter-spacing:.03em;color:var(--mute)}
td.num{white-space:nowrap}td img{width:240px;max-width:100%;border-radius:6px;display:block}
tr.partial td{color:var(--mute)}ul.checks{list-style:none;margin:0;padding:0}ul.checks li{margin:.15em 0}
.pill{display:inline-block;min-width:1.4em;text-align:center;border-radius:1em;color:#fff;font-weight:700;
margin-right:.4em;font-size:.85em}.pass{background:var(--pass)}.warn{background:var(--warn)}
.fail{background:var(--fail)}.not_visible{background:var(--na)}li.v-not_visible{color:var(--mute)}
.val{color:var(--mute);font-size:.9em}.unsure{display:block;font-size:.85em;color:#8a5a00}
.unsure.low{color:#a33}.cue{margin:.3em 0 0}.note{color:var(--mute);font-style:italic}
footer{color:var(--mute);font-size:.85em;margin-top:2em}
@media (max-width:760px){table#reps thead{display:none}table#reps tr{display:block;border-top:1px solid var(--line)}
table#reps td{display:block;border:0;padding:4px 12px}td img{width:100%}}
"""


def e(x: object) -> str:
    """Escape any text for HTML content or a quoted attribute."""
    return escape(printable("" if x is None else str(x), keep_lines=True), quote=True)


def _f(x: float | None, spec: str = ".1f", unit: str = "") -> str:
    return "–" if x is None else f"{x:{spec}}{unit}"


def plot_svg(a: Analysis) -> str:
    """Hip extension (top) and the other key angles (bottom) over time, reps marked."""
    from matplotlib.figure import Figure

    k = a.k
    step = max(1, int(np.ceil(len(k.t) / MAX_PLOT_POINTS)))
    t = k.t[::step]
    fig = Figure(figsize=(10, 5.6), layout="constrained")
    top, low = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    for ax in (top, low):
        for j, r in enumerate(a.reps):
            ax.axvspan(r.start_s, r.end_s, color="#cfd6dd" if r.partial else "#d7f0df", lw=0,
                       label="rep" if j == 0 and ax is top else None)
            ax.axvspan(a.k.t[r.hold_start], a.k.t[r.hold_end], color="#8fd3a8" if r.full else "#b3bcc5", lw=0,
                       label="top hold" if j == 0 and ax is top else None)
        ax.grid(alpha=0.3)
    top.plot(t, k.hip_ext[::step], color="#1f5fa8", lw=2, label="hip extension")
    top.axhline(180, color="#555", ls="--", lw=1, label="straight line (180°)")
    for j, r in enumerate(a.reps):
        y = k.hip_ext[r.top]
        top.plot([r.top_s], [y], marker="v", color="#d63a2f" if r.full else "#888", ms=9, ls="none",
                 label="rep top" if j == 0 else None)
        top.annotate(f"{j + 1}{'*' if r.partial else ''}", (r.top_s, y), xytext=(0, 8), textcoords="offset points",
                     ha="center", fontsize=10, fontweight="bold")
    top.set_ylabel("hip extension (°)")
    top.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, ncol=5, frameon=False)
    for name, label, color in OTHER_ANGLES:
        low.plot(t, getattr(k, name)[::step], color=color, lw=1.5, label=label)
    low.set_ylabel("angle (°)")
    low.set_xlabel("time (s)")
    low.legend(loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=8, ncol=4, frameon=False)
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    return svg[svg.index("<svg") :]


def thumbnail(image: np.ndarray) -> str:
    """An RGB frame as a base64 JPEG data URL, longer side THUMB_SIDE."""
    h, w = image.shape[:2]
    s = min(1.0, THUMB_SIDE / max(h, w))
    small = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode() if ok else ""


def _summary(report: dict[str, Any]) -> str:
    s = report["summary"]
    score = s["mean_score"]
    band = "na" if score is None else "pass" if score >= 85 else "warn" if score >= 60 else "fail"
    color = {"pass": "var(--pass)", "warn": "var(--warn)", "fail": "var(--fail)", "na": "var(--na)"}[band]
    cards = [
        f'<div class="card score"><b style="color:{color}">{_f(score, ".0f")}</b><span>mean score / 100</span></div>',
        f'<div class="card"><b>{s["reps"]}</b><span>reps counted</span></div>',
    ]
    if s["partial_reps"]:
        cards.append(f'<div class="card"><b>{s["partial_reps"]}</b><span>partial (not counted)</span></div>')
    cards.append(f'<div class="card"><b>{_f(s["mean_hold_s"], ".1f", " s")}</b><span>mean top hold</span></div>')
    cards.append(f'<div class="card"><b>{_f(s["mean_rom"], ".0f", "°")}</b><span>mean hip range</span></div>')
    out = f'<div class="cards">{"".join(cards)}</div>'
    if s["focus_cue"]:
        f = s["most_frequent_fault"]
        out += (f'<div class="focus"><b>Next set, focus on: {e(f["title"])}</b> ({f["reps"]} rep'
                f'{"s" if f["reps"] != 1 else ""}) — {e(s["focus_cue"])}</div>')
    elif s["reps"] and not any(c["verdict"] in ("warn", "fail") for r in report["reps"] if not r["partial"]
                               for c in r["checks"]):
        out += '<div class="focus clean"><b>Clean set:</b> every visible checkpoint passed.</div>'
    if report["warnings"]:
        out += '<ul class="warnings">' + "".join(f"<li>{e(w)}</li>" for w in report["warnings"]) + "</ul>"
    return out


def _check_li(c: dict[str, Any]) -> str:
    """The verdict with the value the rule judged, named in words (the rule's own `detail`), and
    how sure it is: the same quantity the terminal, CSV, JSON and overlay show."""
    v = c["verdict"]
    val = f' <span class="val">{e(c["detail"])}</span>' if c["detail"] else ""
    conf = c.get("confidence") or {}
    unsure = ""
    if conf.get("level") in ("medium", "low"):
        unsure = (f' <span class="unsure {e(conf["level"])}">{e(conf["level"])} confidence: '
                  f'{e("; ".join(conf.get("reasons", [])))}</span>')
    label = "not visible" if v == "not_visible" else v
    pill = f'<span class="pill {e(v)}" aria-label="{e(label)}">{ICON.get(v, "?")}</span>'
    return f'<li class="v-{e(v)}" title="{e(c["threshold"])}">{pill}{e(c["title"])}{val}{unsure}</li>'


def _rep_row(r: dict[str, Any], thumb: str | None) -> str:
    cells = [f'<td class="num"><b>Rep {r["index"]}{"*" if r["partial"] else ""}</b></td>']
    if thumb is not None:
        img = f'<img alt="rep {r["index"]} at the top" src="{e(thumb)}">' if thumb else '<span class="note">–</span>'
        cells.append(f"<td>{img}</td>")
    timing = (f'{_f(r["start_s"])}–{_f(r["end_s"], ".1f", " s")}<br>top {_f(r["top_s"], ".1f", " s")}'
              f'<br>hold {_f(r["hold_s"], ".1f", " s")}<br>range {_f(r["rom"], ".0f", "°")}')
    cells.append(f'<td class="num">{timing}</td>')
    cells.append(f'<td class="num"><b>{_f(r["score"], ".0f")}</b> /100</td>')
    checks = '<ul class="checks">' + "".join(_check_li(c) for c in r["checks"]) + "</ul>"
    if r["partial"]:
        checks = f'<p class="note">Partial rep, not counted: {e(r["partial_reason"])}</p>' + checks
    cells.append(f"<td>{checks}</td>")
    cues = [c for c in r["checks"] if c["verdict"] in ("fail", "warn") and c["cue"]]
    cells.append("<td>" + ("".join(f'<p class="cue"><span class="pill {e(c["verdict"])}">{ICON[c["verdict"]]}</span>'
                                   f"{e(c['cue'])}</p>" for c in cues) or '<span class="note">nothing to fix</span>')
                 + "</td>")
    return f'<tr class="{"partial" if r["partial"] else "full"}">{"".join(cells)}</tr>'


def _rules_table(report: dict[str, Any]) -> str:
    seen: dict[str, dict[str, Any]] = {}
    for r in report["reps"]:
        for c in r["checks"]:
            seen.setdefault(c["rule"], c)
    if not seen:
        return ""
    rows = "".join(f"<tr><td>{e(c['title'])}</td><td>{e(c['threshold'])}</td><td>{e(c['source'])}</td></tr>"
                   for c in seen.values())
    return ('<h2>The checkpoints</h2><table class="rules"><thead><tr><th>check</th><th>thresholds</th>'
            f"<th>source</th></tr></thead><tbody>{rows}</tbody></table>")


def render_html(a: Analysis, report: dict[str, Any], thumbs: Sequence[str] | None) -> str:
    """The page as a string; `thumbs` = one data URL per rep ("" if missing), None without video."""
    ex = report["exercise"]
    title = "No hip thrust or glute bridge found" if ex == "none" else ex.replace("_", " ").capitalize()
    meta = (f'<code>{e(report["source"])}</code> · {e(report["view"].replace("_", " "))} view · '
            f'{_f(report["duration_s"], ".1f", " s")} · {_f(report["fps"], ".3g", " fps")} · '
            f'{report["width"]}×{report["height"]} · formcheck {e(report["formcheck_version"])}')
    parts = [f"<header><h1>{e(title)}</h1><p class=\"meta\">{meta}</p></header>", _summary(report)]
    if len(a.k.t):
        parts.append('<h2>Angles over time</h2><figure class="plot">' + plot_svg(a) + "<figcaption>Shaded: each rep "
                     "(green = counted, grey = partial), darker = top hold; ▼ = top of the rep, numbered. "
                     "Gaps = no person in view.</figcaption></figure>")
    if report["reps"]:
        head = ["rep", *(["top of the rep"] if thumbs is not None else []), "timing", "score", "verdicts", "to fix"]
        rows = "".join(_rep_row(r, None if thumbs is None else thumbs[i]) for i, r in enumerate(report["reps"]))
        parts.append("<h2>Rep by rep</h2>")
        if thumbs is None:
            parts.append('<p class="note">No thumbnails: this report was made from a saved pose track, without '
                         "the video. Run formcheck on the video itself to see each rep's top.</p>")
        parts.append(f'<table id="reps"><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr></thead>'
                     f"<tbody>{rows}</tbody></table>")
        parts.append(_rules_table(report))
    parts.append("<footer>Angles come from a 2-D pose model: in a side view they hold in the plane the camera "
                 "faces; checks that the camera angle cannot show are marked not visible (–).</footer>")
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            f"<title>formcheck · {e(report['source'])}</title><style>{CSS}</style></head>\n"
            f"<body><main>{''.join(parts)}</main></body></html>\n")


def write_html(analysis: Analysis, report: dict[str, Any], out: Path, video: Path | None) -> None:
    """Write the report atomically; with the video, each rep's annotated top as a thumbnail."""
    thumbs = None
    if video is not None:
        from formcheck.report.render import annotated_tops

        thumbs = [thumbnail(img) if img is not None else "" for img in annotated_tops(video, analysis)]
    write_text(os.fspath(out), render_html(analysis, report, thumbs))
