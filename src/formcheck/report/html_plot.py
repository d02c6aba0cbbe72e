"""The HTML report's angle plot: hip extension (top) and the other key angles (bottom), reps marked.

Drawn twice, as inline SVG: a wide figure for a desktop and a narrow, taller one for a phone
(the page's CSS shows one). An SVG scales its text with its width, so one figure cannot serve
both: at 390 px a 10-inch figure's 8 pt text is ~4 px. Each layout's fonts are chosen so its text
is at least MIN_TEXT_PX CSS pixels at the narrowest width it is shown at (`Layout.min_width_px`).
Text stays text (`svg.fonttype: none`): crisp, smaller, in the reader's sans-serif font.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from formcheck.pipeline.analyze import Analysis

MIN_TEXT_PX = 11  # CSS px: the smallest text of the plot at the narrowest width it is shown at
# Curves in the lower panel: (kinematics series, label, colour).
OTHER_ANGLES = (("knee", "knee", "#e67e22"), ("shin", "shin (from vertical)", "#16a085"),
                ("neck", "neck (flexion +)", "#8e44ad"), ("torso", "torso (from horizontal)", "#7f8c8d"))
SANS = ["DejaVu Sans", "Helvetica", "Arial"]  # matplotlib lays out with the first; browsers take any


@dataclass(frozen=True)
class Layout:
    """One rendering of the plot: figure size (inches), font size (pt = SVG user units), legend
    columns, points drawn, and the narrowest displayed width (CSS px) it is meant for."""

    name: str  # id prefix and CSS class: plot-<name>
    width_in: float
    height_in: float
    font_pt: float
    legend_cols: tuple[int, int]  # (top panel, lower panel)
    max_points: int
    min_width_px: int

    def text_px(self, shown_px: float) -> float:
        """CSS px of the smallest text when the figure is shown `shown_px` wide."""
        return self.font_pt * shown_px / (72 * self.width_in)


# Wide: shown above the phone breakpoint (a 1280 px window shows it ~1060 px wide: 14 px text).
WIDE = Layout("wide", 10.0, 5.6, 10.0, (5, 4), 3000, 740)
# Narrow: shown at phone widths; at 390 px the figure is ~340 px wide (page and figure padding).
NARROW = Layout("narrow", 4.6, 7.6, 11.5, (2, 1), 800, 340)
LAYOUTS = (WIDE, NARROW)


def plot_svgs(a: Analysis) -> dict[str, str]:
    """Every layout's SVG, by name."""
    return {lay.name: plot_svg(a, lay) for lay in LAYOUTS}


def plot_svg(a: Analysis, lay: Layout = WIDE) -> str:
    """The plot as one <svg> element, its ids prefixed with the layout's name (two on one page)."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    k = a.k
    step = max(1, int(np.ceil(len(k.t) / lay.max_points)))
    t = k.t[::step]
    fs = lay.font_pt
    rc: dict[str, Any] = {"svg.fonttype": "none", "svg.hashsalt": f"formcheck-{lay.name}", "font.family": "sans-serif",
          "font.sans-serif": SANS, "font.size": fs, "axes.labelsize": fs, "xtick.labelsize": fs,
          "ytick.labelsize": fs, "legend.fontsize": fs}
    with mpl.rc_context(rc):  # type: ignore[arg-type]  # a dict of str keys
        fig = Figure(figsize=(lay.width_in, lay.height_in), layout="constrained")
        top, low = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        for ax in (top, low):
            for j, r in enumerate(a.reps):
                ax.axvspan(r.start_s, r.end_s, color="#cfd6dd" if r.partial else "#d7f0df", lw=0,
                           label="rep" if j == 0 and ax is top else None)
                ax.axvspan(k.t[r.hold_start], k.t[r.hold_end], color="#8fd3a8" if r.full else "#b3bcc5", lw=0,
                           label="top hold" if j == 0 and ax is top else None)
            ax.grid(alpha=0.3)
        top.plot(t, k.hip_ext[::step], color="#1f5fa8", lw=2, label="hip extension")
        top.axhline(180, color="#555", ls="--", lw=1, label="180° (straight)")
        for j, r in enumerate(a.reps):
            y = k.hip_ext[r.top]
            top.plot([r.top_s], [y], marker="v", color="#d63a2f" if r.full else "#888", ms=9, ls="none",
                     label="rep top" if j == 0 else None)
            top.annotate(f"{j + 1}{'*' if r.partial else ''}", (r.top_s, y), xytext=(0, 8),
                         textcoords="offset points", ha="center", fontsize=fs + 1, fontweight="bold")
        top.set_ylabel("hip extension (°)")
        top.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=lay.legend_cols[0], frameon=False)
        for name, label, color in OTHER_ANGLES:
            low.plot(t, getattr(k, name)[::step], color=color, lw=1.5, label=label)
        low.set_ylabel("angle (°)")
        low.set_xlabel("time (s)")
        low.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=lay.legend_cols[1], frameon=False)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = buf.getvalue()
    return _prefix_ids(svg[svg.index("<svg") :], f"{lay.name}-")


def _prefix_ids(svg: str, prefix: str) -> str:
    """Ids unique on the page: both figures' matplotlib ids (figure_1, clip paths) start alike."""
    svg = re.sub(r'\bid="', f'id="{prefix}', svg)
    svg = svg.replace("url(#", f"url(#{prefix}")
    return re.sub(r'(xlink:)?href="#', lambda m: f'{m.group(0)}{prefix}', svg)
