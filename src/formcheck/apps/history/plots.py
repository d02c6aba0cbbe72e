"""The history's plots as inline SVG strings (matplotlib, Agg, no pyplot state).

Drawing only: every number comes from views.py or the set dicts. Lifters' names and notes are
never drawn (they go in the escaped HTML around the plots).
"""

from __future__ import annotations

import io
import re
from typing import Any

from formcheck.apps.history import views

MAX_TICKS = 10  # date labels on the trend plots
COLOURS = ("#2a6fdb", "#d63a2f", "#1e9e57", "#c98300")
TRENDS = (("mean_score", "score (0–100)"), ("mean_hold_s", "hold at the top (s)"), ("mean_rom", "ROM (°)"),
          ("lockout_deg", "lockout: hip extension at the top (°)"))


def _figure(w: float, h: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=100, layout="constrained")


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)  # the RDF block: not needed inline
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: it is inlined in HTML


def trends(sets: list[dict[str, Any]]) -> str:
    """Score, hold, ROM and lockout angle per set, in recording order (one point per set).

    The x axis is the set's rank, labelled with its date: several sets on one day stay apart.
    """
    fig = _figure(10, 5.6)
    axes = fig.subplots(2, 2, sharex=True).ravel()
    for ax, (key, title), colour in zip(axes, TRENDS, COLOURS, strict=True):
        pts = [(i, s[key]) for i, s in enumerate(sets) if s[key] is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", color=colour, lw=1.5, ms=5)
        ax.set_title(title, fontsize=10, loc="left")
        ax.grid(alpha=0.3)
    step = max(1, -(-len(sets) // MAX_TICKS))
    ticks = list(range(0, len(sets), step))
    for ax in axes[2:]:
        ax.set_xticks(ticks, [f"{sets[i]['recorded_at'][5:10]}\n#{sets[i]['id']}" for i in ticks], fontsize=8)
    axes[0].set_xlim(-0.5, len(sets) - 0.5)
    return _svg(fig)


def fault_bars(counts: dict[str, tuple[str, int, int]]) -> str:
    """How often each fault appeared: share of the full reps where the checkpoint was visible."""
    items = sorted(counts.values(), key=lambda v: (v[1] / v[2] if v[2] else 0.0))
    fig = _figure(10, 0.3 * max(len(items), 2) + 0.9)
    ax = fig.subplots()
    shares = [100 * n / seen if seen else 0.0 for _, n, seen in items]
    ax.barh(range(len(items)), shares, color="#d63a2f", height=0.6)
    ax.set_yticks(range(len(items)), [title for title, _, _ in items], fontsize=9)
    for i, (share, (_, n, seen)) in enumerate(zip(shares, items, strict=True)):
        ax.text(share + 1, i, f"{n}/{seen} reps", va="center", fontsize=8, color="#5c6670")
    ax.set_xlim(0, 115)
    ax.set_xlabel("% of full reps with a warn or fail (where visible)")
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def overlay(sets: list[dict[str, Any]]) -> str:
    """Hip-extension curves of two (or more) sets, from the start of each one's first full rep."""
    fig = _figure(10, 3.6)
    ax = fig.subplots()
    for i, s in enumerate(sets):
        t, y = views.aligned(s["curve"], s["report"])
        dashed = s.get("curve_kind") == "from_reps"
        ax.plot(t, y, "--" if dashed else "-", color=COLOURS[i % len(COLOURS)], lw=1.6,
                label=f"{'AB'[i] if i < 2 else i + 1}{' (from the reps)' if dashed else ''}")
    ax.axhline(180, color="#8a8f98", lw=0.8, ls=":")
    ax.set_xlabel("s from the first full rep")
    ax.set_ylabel("hip extension (°)")
    ax.legend(loc="lower right", fontsize=9)
    ax.grid(alpha=0.3)
    return _svg(fig)


def fatigue(report: dict[str, Any]) -> str:
    """Ascent and descent time (left axis) and ROM (right axis) across the full reps."""
    f = views.fatigue(report)
    fig = _figure(5, 2.6)
    ax = fig.subplots()
    ax.plot(f.index, [x if x is not None else float("nan") for x in f.ascent_s], "o-", color=COLOURS[0], label="ascent")
    ax.plot(f.index, [x if x is not None else float("nan") for x in f.descent_s], "s-", color=COLOURS[3],
            label="descent")
    ax.set_xlabel("rep")
    ax.set_ylabel("s")
    rom = ax.twinx()
    rom.plot(f.index, [x if x is not None else float("nan") for x in f.rom], "^--", color=COLOURS[2], label="ROM")
    rom.set_ylabel("ROM (°)")
    handles = ax.get_legend_handles_labels()[0] + rom.get_legend_handles_labels()[0]
    ax.legend(handles, ["ascent", "descent", "ROM"], fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    return _svg(fig)
