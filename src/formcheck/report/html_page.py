"""The one-file HTML report: summary, the annotated video, angle plot, a card per rep with its top frame.

Self-contained: CSS inline, the plot inline SVG (report.html_plot, one wide and one narrow for a
phone), the key frames base64 JPEG (a click enlarges one: a CSS :target lightbox, no script).
With an annotated video from the same run, the page links it (a relative <video>, so send the
two files together) and each rep has a jump link: its href is the media fragment `video#t=start`
and one small inline script, allowed by its hash, seeks the page's player instead. The
Content-Security-Policy forbids any other script and any network fetch. Every text that comes
from outside (file names, cues, rule titles, warnings) is escaped. Text comes from the report
dict (what the JSON says), curves and frames from the Analysis.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import cv2
import numpy as np

from formcheck.pipeline.analyze import Analysis
from formcheck.report.html_plot import NARROW, WIDE, plot_svg
from formcheck.util.atomic import write_text
from formcheck.util.text import printable

THUMB_SIDE = 640  # px, the longer side of a key frame (enlarged, it is shown at up to this size)
PHONE_MAX_PX = 760  # CSS px: at or below, the narrow plot and one-column rep cards
VIDEO_MAX_VH = 75  # % of the window's height: the tallest the player gets
ICON = {"pass": "✓", "warn": "!", "fail": "✗", "not_visible": "–"}
EXERCISE_WORDS = {"none": "No hip thrust or glute bridge found"}

CSS = """
:root{--pass:#1e9e57;--warn:#c98300;--fail:#d63a2f;--na:#8a8f98;--ink:#1d232b;--mute:#5c6670;--line:#e3e6ea}
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:#f4f6f8;overflow-wrap:anywhere}main{max-width:1100px;margin:0 auto;padding:20px 16px 40px}
h1{font-size:1.7em;margin:.2em 0}h2{font-size:1.25em;margin:1.6em 0 .5em}.meta{color:var(--mute);margin:0}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}.card{background:#fff;border:1px solid var(--line);
border-radius:10px;padding:12px 16px;min-width:120px}.card b{display:block;font-size:1.6em}
.card span{color:var(--mute);font-size:.9em}.score b{font-size:2.6em;line-height:1}
.focus{background:#fff7e6;border:1px solid #f3d48b;border-radius:10px;padding:12px 16px;margin-top:14px}
.clean{background:#eafaf0;border-color:#a8e2bf}.warnings{background:#fff;border-left:4px solid var(--warn);
padding:8px 14px 8px 2em;margin-top:14px}.warnings li{margin:.2em 0}
figure{margin:0}.plot{background:#fff;border:1px solid var(--line);border-radius:10px;padding:8px}
.plot svg{width:100%;height:auto;display:block}.plot-narrow{display:none}
figcaption{color:var(--mute);font-size:.9em;padding:4px 8px}
video{display:block;width:100%;max-width:100%;height:auto;margin:0 auto;background:#000;border-radius:10px}
.jumps{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:10px 0 0}
a.jump{display:inline-block;padding:6px 12px;border-radius:999px;background:#1f5fa8;color:#fff;
text-decoration:none;font-weight:600;font-size:.92em}a.jump:hover,a.jump:focus{background:#174a83}
a.jump.partial{background:var(--na)}
.rep{background:#fff;border:1px solid var(--line);border-radius:10px;margin:0 0 14px;padding:12px 16px}
.rep.partial{color:var(--mute)}.rep header{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 14px}
.rep h3{margin:0;font-size:1.15em}.rep .pts b{font-size:1.3em}.rep .timing{color:var(--mute);font-size:.92em}
.rep header a.jump{margin-left:auto}
.rep-body{display:grid;grid-template-columns:minmax(0,360px) minmax(0,1fr);gap:16px;margin-top:10px}
.rep-body.text-only{grid-template-columns:minmax(0,1fr)}
.kf img{width:100%;height:auto;border-radius:8px;display:block;cursor:zoom-in}
.kf figcaption{padding:4px 0}.kf-close{display:none}
.kf:target{position:fixed;inset:0;z-index:10;background:rgba(12,14,18,.96);display:flex;align-items:center;
justify-content:center;padding:12px}
.kf:target img{width:100%;height:100%;object-fit:contain;border-radius:0}
.kf:target figcaption{display:none}.kf:target>a:first-child{display:block;width:100%;height:100%}
.kf:target .kf-close{display:block;position:absolute;inset:0;z-index:11;color:#fff;font-size:2.2em;
line-height:1;text-align:right;padding:10px 18px;text-decoration:none;cursor:zoom-out}
h4{margin:.2em 0 .3em;font-size:.85em;text-transform:uppercase;letter-spacing:.03em;color:var(--mute)}
ul.checks{list-style:none;margin:0;padding:0}ul.checks li{margin:.15em 0}
.pill{display:inline-block;min-width:1.4em;text-align:center;border-radius:1em;color:#fff;font-weight:700;
margin-right:.4em;font-size:.85em}.pass{background:var(--pass)}.warn{background:var(--warn)}
.fail{background:var(--fail)}.not_visible{background:var(--na)}li.v-not_visible{color:var(--mute)}
.val{color:var(--mute);font-size:.9em}.unsure{display:block;font-size:.85em;color:#8a5a00}
.unsure.low{color:#a33}.cue{margin:.3em 0 0}.note{color:var(--mute);font-style:italic}
.fix{margin-bottom:10px}details.all summary{cursor:pointer;color:var(--mute);font-size:.92em;margin:.2em 0 .4em}
details.all .pill{margin-left:.5em;margin-right:.25em}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
th,td{text-align:left;vertical-align:top;padding:8px 10px;border-top:1px solid var(--line)}
th{background:#eef1f4;font-size:.85em;text-transform:uppercase;letter-spacing:.03em;color:var(--mute)}
footer{color:var(--mute);font-size:.85em;margin-top:2em}
@media (max-width:PHONEpx){main{padding:14px 12px 32px}.plot-wide{display:none}.plot-narrow{display:block}
.rep{padding:10px 12px}.rep-body{grid-template-columns:minmax(0,1fr)}.rep header a.jump{margin-left:0}
.cards{gap:8px}.card{min-width:0;flex:1 1 40%;padding:10px 12px}}
""".replace("PHONE", str(PHONE_MAX_PX))

# Jump links seek the page's player (a link's own href opens the video file at that time).
SCRIPT = ("document.addEventListener('click',function(ev){var a=ev.target.closest&&ev.target.closest('a[data-t]');"
          "var v=document.getElementById('set-video');if(!a||!v)return;ev.preventDefault();"
          "v.currentTime=parseFloat(a.getAttribute('data-t'));v.scrollIntoView({block:'nearest'});"
          "var p=v.play();if(p&&p.catch)p.catch(function(){});});")
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()


def e(x: object) -> str:
    """Escape any text for HTML content or a quoted attribute."""
    return escape(printable("" if x is None else str(x), keep_lines=True), quote=True)


def _f(x: float | None, spec: str = ".1f", unit: str = "") -> str:
    return "–" if x is None else f"{x:{spec}}{unit}"


def exercise_words(exercise: str) -> str:
    """`glute_bridge` -> "Glute bridge"; `none` in words."""
    return EXERCISE_WORDS.get(exercise, exercise.replace("_", " ").capitalize())


def thumbnail(image: np.ndarray, side: int = THUMB_SIDE, quality: int = 85) -> str:
    """An RGB frame as a base64 JPEG data URL, longer side at most `side` px."""
    h, w = image.shape[:2]
    s = min(1.0, side / max(h, w))
    small = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
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


def _fault_p(c: dict[str, Any]) -> str:
    """A fault to fix: its title, the value the rule judged, and the cue."""
    v = c["verdict"]
    detail = f' <span class="val">{e(c["detail"])}</span>' if c["detail"] else ""
    cue = f"<br>{e(c['cue'])}" if c["cue"] else ""
    return f'<p class="cue"><span class="pill {e(v)}">{ICON[v]}</span><b>{e(c["title"])}</b>{detail}{cue}</p>'


def _tally(checks: Sequence[dict[str, Any]]) -> str:
    """Pills with the number of checks per verdict ("✓ 8 ! 1 – 2")."""
    n = {v: sum(c["verdict"] == v for c in checks) for v in ICON}
    words = {"pass": "passed", "warn": "warned", "fail": "failed", "not_visible": "not visible"}
    return " ".join(f'<span class="pill {v}" aria-label="{words[v]}">{ICON[v]}</span>{k}' for v, k in n.items() if k)


def _jump(r: dict[str, Any], video: str, label: str) -> str:
    t = r["start_s"] or 0.0
    return (f'<a class="jump{" partial" if r["partial"] else ""}" href="{e(video)}#t={t:.2f}" '
            f'data-t="{t:.3f}">{label}</a>')


def _rep_card(r: dict[str, Any], thumb: str | None, video: str | None) -> str:
    n, star = r["index"], "*" if r["partial"] else ""
    timing = (f'{_f(r["start_s"])}–{_f(r["end_s"], ".1f", " s")} · top {_f(r["top_s"], ".1f", " s")} · '
              f'hold {_f(r["hold_s"], ".1f", " s")} · range {_f(r["rom"], ".0f", "°")}')
    head = (f'<h3>Rep {n}{star}</h3><span class="pts"><b>{_f(r["score"], ".0f")}</b> /100</span>'
            f'<span class="timing">{timing}</span>')
    if video is not None:
        head += _jump(r, video, f"▶ Play from {_f(r['start_s'], '.1f', ' s')}")
    frame = ""
    if thumb is not None:
        frame = (f'<figure class="kf" id="kf-{n}"><a href="#kf-{n}" aria-label="Enlarge the top of rep {n}">'
                 f'<img alt="Rep {n} at the top" src="{e(thumb)}"></a>'
                 f'<a class="kf-close" href="#rep-{n}" aria-label="Close">×</a>'
                 f"<figcaption>Top of rep {n} · click to enlarge</figcaption></figure>"
                 if thumb else '<p class="note">No frame: this part of the video could not be decoded.</p>')
    faults = [c for c in r["checks"] if c["verdict"] in ("fail", "warn")]
    fix = "".join(_fault_p(c) for c in faults)
    text = f'<div class="fix"><h4>To fix</h4>{fix or "<p class=note>Nothing to fix.</p>"}</div>'
    if r["partial"]:
        text = f'<p class="note">Partial rep, not counted: {e(r["partial_reason"])}</p>' + text
    text += (f'<details class="all"><summary>All {len(r["checks"])} checkpoints: {_tally(r["checks"])}</summary>'
             '<ul class="checks">' + "".join(_check_li(c) for c in r["checks"]) + "</ul></details>")
    body = f'<div class="rep-body{"" if thumb is not None else " text-only"}">{frame}<div>{text}</div></div>'
    return (f'<article class="rep {"partial" if r["partial"] else "full"}" id="rep-{n}">'
            f"<header>{head}</header>{body}</article>")


def _video_size(report: dict[str, Any]) -> str:
    """The player's box in the video's shape, at most VIDEO_MAX_VH of the window high (a portrait
    clip on a desktop is not a wide black box)."""
    w, h = report.get("width") or 0, report.get("height") or 0
    if not (w > 0 and h > 0):
        return ""
    return f' width="{int(w)}" height="{int(h)}" style="width:min(100%,calc({VIDEO_MAX_VH}vh*{int(w)}/{int(h)}))"'


def _video_section(report: dict[str, Any], video: str) -> str:
    jumps = "".join(_jump(r, video, f"Rep {r['index']}{'*' if r['partial'] else ''}") for r in report["reps"])
    return ('<section id="video"><h2>Annotated video</h2>'
            f'<video id="set-video" controls playsinline preload="metadata" src="{e(video)}"{_video_size(report)}>'
            "</video>"
            + (f'<p class="jumps">Jump to {jumps}</p>' if jumps else "")
            + f'<p class="note">The video is the file <code>{e(unquote(video))}</code>, linked from where this page '
              "is: send or move the two together.</p></section>")


def _rules_table(report: dict[str, Any]) -> str:
    seen: dict[str, dict[str, Any]] = {}
    for r in report["reps"]:
        for c in r["checks"]:
            seen.setdefault(c["rule"], c)
    if not seen:
        return ""
    rows = "".join(f"<tr><td>{e(c['title'])}</td><td>{e(c['threshold'])}</td><td>{e(c['source'])}</td></tr>"
                   for c in seen.values())
    return ('<h2>The checkpoints</h2><div class="scroll"><table class="rules"><thead><tr><th>check</th>'
            f"<th>thresholds</th><th>source</th></tr></thead><tbody>{rows}</tbody></table></div>")


def render_html(a: Analysis, report: dict[str, Any], thumbs: Sequence[str] | None, video: str | None = None) -> str:
    """The page as a string; `thumbs` = one data URL per rep ("" if missing), None without video;
    `video` = the annotated video's URL relative to the page, None without one."""
    meta = (f'<code>{e(report["source"])}</code> · {e(report["view"].replace("_", " "))} view · '
            f'{_f(report["duration_s"], ".1f", " s")} · {_f(report["fps"], ".3g", " fps")} · '
            f'{report["width"]}×{report["height"]} · formcheck {e(report["formcheck_version"])}')
    parts = [f"<header><h1>{e(exercise_words(report['exercise']))}</h1><p class=\"meta\">{meta}</p></header>",
             _summary(report)]
    if video is not None:
        parts.append(_video_section(report, video))
    if len(a.k.t):
        parts.append('<h2>Angles over time</h2><figure class="plot">'
                     f'<div class="plot-wide">{plot_svg(a, WIDE)}</div><div class="plot-narrow">{plot_svg(a, NARROW)}'
                     "</div><figcaption>Shaded: each rep (green = counted, grey = partial), darker = top hold; "
                     "▼ = top of the rep, numbered. Gaps = no person in view.</figcaption></figure>")
    if report["reps"]:
        parts.append('<h2>Rep by rep</h2>')
        if thumbs is None:
            parts.append('<p class="note">No key frames: this report was made from a saved pose track, without '
                         "the video. Run formcheck on the video itself to see each rep's top.</p>")
        parts.append('<section id="reps">' + "".join(
            _rep_card(r, None if thumbs is None else thumbs[i], video) for i, r in enumerate(report["reps"]))
                     + "</section>")
        parts.append(_rules_table(report))
    parts.append("<footer>Angles come from a 2-D pose model: in a side view they hold in the plane the camera "
                 "faces; checks that the camera angle cannot show are marked not visible (–).</footer>")
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    script = ""
    if video is not None:
        csp += f"; media-src 'self' file:; script-src '{SCRIPT_HASH}'"
        script = f"<script>{SCRIPT}</script>"
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            f"<title>formcheck · {e(report['source'])}</title><style>{CSS}</style></head>\n"
            f"<body><main>{''.join(parts)}</main>{script}</body></html>\n")


def video_link(video: Path, page: Path) -> str:
    """The URL of `video` relative to the page that shows it (both may be anywhere)."""
    target, base = os.path.abspath(video), os.path.dirname(os.path.abspath(page))
    try:
        rel = os.path.relpath(target, base)
    except ValueError:  # another drive (Windows): no relative path
        return Path(target).as_uri()
    return quote(Path(rel).as_posix())


def write_html(analysis: Analysis, report: dict[str, Any], out: Path, video: Path | None,
               annotated: Path | None = None, tops: Sequence[np.ndarray | None] | None = None) -> None:
    """Write the report atomically; with the video, each rep's annotated top as a key frame (`tops`,
    when the caller has them already); with `annotated`, a player of that video and jump links."""
    thumbs = None
    if video is not None:
        if tops is None:
            from formcheck.report.render import annotated_tops

            tops = annotated_tops(video, analysis)
        thumbs = [thumbnail(img) if img is not None else "" for img in tops]
    link = None if annotated is None else video_link(annotated, out)
    write_text(os.fspath(out), render_html(analysis, report, thumbs, link))
