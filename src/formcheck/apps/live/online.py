"""Online stages, each the per-frame twin of a pure function over the series.

`OnlineKinematics` is `kinematics.compute` on a short trailing window; `OnlineReps` is
`reps.segment`: it only decides WHEN a cycle is over (hysteresis on hip extension relative
to the last bottom and top); WHAT it is (start, top, end, the lift, incline and knee gates)
comes from running `reps.segment` on that cycle's window.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any

import numpy as np

from formcheck.analysis.kinematics import Kinematics, View, compute
from formcheck.analysis.reps import Rep, RepsConfig, mark_short, segment
from formcheck.analysis.smoothing import fill_gaps
from formcheck.pose.track import PoseTrack

# Per-frame measures of a Kinematics, in order (the rest are per-set scalars).
SERIES = tuple(f.name for f in fields(Kinematics) if f.name not in ("t", "view", "yaw_deg", "scale_px"))


@dataclass(frozen=True)
class LiveConfig:
    """Knobs of the online stages (the file-mode ones come from Config)."""

    context_s: float = 3.0  # trailing window for per-frame kinematics (view, body scale)
    rebound_deg: float = 5.0  # a rise this far off the low after a top proves the bottom was reached
    settle_s: float = 0.3  # ... or the descent has stalled this long
    settle_band_deg: float = 3.0  # "stalled": no new low by more than this
    idle_s: float = 20.0  # after a counted rep, this long without motion ends the set (0 = never)
    min_cutoff_hz: float = 1.5  # One Euro filter on landmarks (pixels); world landmarks alike
    beta: float = 0.3
    world_beta: float = 100.0  # metres move ~500x less than pixels; same responsiveness


class OnlineKinematics:
    """Per-frame twin of `kinematics.compute`: the newest frame's measures, from a trailing window.

    The window (a few seconds) gives the view and body scale the per-set medians give offline.
    """

    def __init__(self, context_s: float = 3.0) -> None:
        self.context_s = context_s
        self.view, self.yaw, self.scale = View.UNKNOWN, float("nan"), float("nan")
        self.flags: set[str] = set()  # bool series (e.g. feet_in_view): stored as 1/0, NaN = False

    def update(self, window: PoseTrack) -> np.ndarray:
        """Measures of window's last frame, in SERIES order (NaN when nobody is there)."""
        if not np.isfinite(window.image[-1, :, :2]).any():
            return np.full(len(SERIES), np.nan)
        with warnings.catch_warnings():  # frames without a person are NaN rows: expected here
            warnings.simplefilter("ignore", RuntimeWarning)
            k = compute(window)
        self.view, self.yaw = k.view, k.yaw_deg
        self.scale = k.scale_px if math.isfinite(k.scale_px) else self.scale
        cols = {name: getattr(k, name) for name in SERIES}
        self.flags |= {name for name, x in cols.items() if x is not None and x.dtype == bool}
        return np.array([np.nan if x is None else float(x[-1]) for x in cols.values()])

    def series(self, t: np.ndarray, rows: np.ndarray) -> Kinematics:
        """Every frame's measures so far as a Kinematics, with the newest view and body scale."""
        cols = {name: rows[:, j] > 0.5 if name in self.flags else rows[:, j] for j, name in enumerate(SERIES)}
        return Kinematics(t=t, view=self.view, yaw_deg=self.yaw, scale_px=self.scale, **cols)


def slice_kinematics(k: Kinematics, a: int, b: int, max_gap_s: float = 0.0) -> Kinematics:
    """Frames a..b-1 of k; gaps up to max_gap_s filled as the offline smoother fills them."""
    t = k.t[a:b]
    cols: dict[str, Any] = {name: None if (x := getattr(k, name)) is None else x[a:b] for name in SERIES}
    if max_gap_s > 0:
        cols = {name: fill_gaps(t, x, max_gap_s) if x is not None and x.dtype != bool else x
                for name, x in cols.items()}  # fmt: skip
    return replace(k, t=t, **cols)


def _shift(rep: Rep, d: int) -> Rep:
    return replace(rep, start=rep.start + d, top=rep.top + d, end=rep.end + d,
                   hold_start=rep.hold_start + d, hold_end=rep.hold_end + d)  # fmt: skip


class Phase(StrEnum):
    WAITING = "waiting"  # no person, or not moving yet
    BOTTOM = "bottom"
    RISING = "rising"
    TOP = "top"
    LOWERING = "lowering"


class OnlineReps:
    """Per-frame twin of `reps.segment`: `update(k_so_far) -> reps confirmed on this frame`.

    A cycle is over once hip extension has risen `min_rom_deg` off a bottom, fallen
    `min_rom_deg` from the top with the hips `min_lift` lower, and is back down: at the
    level file mode calls the end (`edge_frac` of the way up from the previous bottom),
    or rebounding off a new low, or stalled there. `segment` on the window from the previous
    bottom to now then says whether it is a rep, and where it starts, peaks and ends.
    """

    def __init__(self, cfg: RepsConfig | None = None, live: LiveConfig | None = None, max_gap_s: float = 0.3) -> None:
        self.cfg, self.live, self.max_gap_s = cfg or RepsConfig(), live or LiveConfig(), max_gap_s
        self.reps: list[Rep] = []
        # File mode's hysteresis, online: reps within the noise of a threshold wait here until
        # the set shows a rep past every threshold, then are announced with it (and count from
        # then on). Online, a rep's evidence is measured on the causal (One Euro) signal and on
        # the window so far, which reads lower than file mode's zero-phase one, so the bar is
        # the threshold itself (margin 0) rather than the far edge of the noise band.
        self._pending: list[Rep] = []
        self.reset()

    def reset(self) -> None:
        self.state = "start"
        self._a = -1  # window start: the bottom before the current cycle
        self._lo: tuple[float, int] = (math.inf, -1)
        self._hi: tuple[float, int] = (-math.inf, -1)  # the top (or, at the start, the first high)
        self._post: tuple[float, int] = (math.inf, -1)  # lowest since the top
        self._post_t, self._anchor = 0.0, math.inf  # when (and at what) the last clearly new low was made
        self._from_bottom = False  # the cycle rose from a bottom we saw (not a clip starting mid-rep)
        self._last_t: float | None = None
        self.phase = Phase.WAITING
        self.last_motion_t: float | None = None

    def update(self, k: Kinematics) -> list[Rep]:
        i = len(k) - 1
        s, t = float(k.hip_ext[i]), float(k.t[i])
        if not math.isfinite(s):
            if self._last_t is not None and t - self._last_t > self.max_gap_s:
                self.reset()  # a long gap splits the series, as offline
            self.phase = Phase.WAITING
            return []
        if self._last_t is None:
            self._a = i
        self._last_t = t
        c, found = self.cfg, []
        if self.state in ("start", "bottom"):
            if s < self._lo[0]:
                self._lo = (s, i)
            if self.state == "start" and s > self._hi[0]:
                self._hi = (s, i)
            if s - self._lo[0] >= c.min_rom_deg:
                self.state, self._a, self._hi, self._from_bottom = "up", self._lo[1], (s, i), True
            elif self.state == "start" and self._hi[0] - s >= c.min_rom_deg:
                self.state, self._post, self._post_t, self._anchor = "down", (s, i), t, s  # clip starts mid-rep
        elif self.state == "up":
            if s > self._hi[0]:
                self._hi = (s, i)
            elif self._hi[0] - s >= c.min_rom_deg:
                self.state, self._post, self._post_t, self._anchor = "down", (s, i), t, s
        elif self.state == "down":
            if s > self._hi[0]:
                self.state, self._hi = "up", (s, i)  # a wobble in the hold: one rep, as offline
            else:
                if s < self._anchor - self.live.settle_band_deg:
                    self._anchor, self._post_t = s, t
                if s < self._post[0]:
                    self._post = (s, i)
                over = self._over(k, s, t)
                if over:
                    found = self._confirm(k, i, over == "back_down")
        self.phase = self._phase(s)
        if self.phase in (Phase.RISING, Phase.TOP, Phase.LOWERING):
            self.last_motion_t = t
        return found

    def flush(self, k: Kinematics) -> list[Rep]:
        """The stream ended: a rep on its way down (already `min_rom_deg` below the top) ends here."""
        if self.state != "down" or self._last_t is None:
            return []
        i = int(np.flatnonzero(np.isfinite(k.hip_ext))[-1])
        return self._confirm(k, i, False, at_end=True) if self._lift_drop(k) >= self.cfg.min_lift else []

    def _lift_drop(self, k: Kinematics) -> float:
        after = k.lift[self._hi[1] :]
        return float(k.lift[self._hi[1]] - np.nanmin(after)) if np.isfinite(after).any() else 0.0

    def _over(self, k: Kinematics, s: float, t: float) -> str:
        """Why the cycle is over ("" = not yet)."""
        c, lv = self.cfg, self.live
        if not self._lift_drop(k) >= c.min_lift:
            return ""
        lo = float(k.hip_ext[self._a])
        back_down = self._from_bottom and s <= lo + c.edge_frac * (self._hi[0] - lo)
        rebound = s - self._post[0] >= lv.rebound_deg
        stalled = t - self._post_t >= lv.settle_s
        return "back_down" if back_down else "rebound" if rebound else "stalled" if stalled else ""

    def _confirm(self, k: Kinematics, i: int, back_down: bool, at_end: bool = False) -> list[Rep]:
        a, last_top = self._a, self.reps[-1].top if self.reps else -1
        window = slice_kinematics(k, a, i + 1, self.max_gap_s)
        # Mid-stream, `_over` has judged the rep lowered: the window ends there, not the set, so
        # the share of its range it fell by then is no reason to call it cut short (file mode
        # sees the rest of the fall). At the end of the stream it is the same call as file mode's.
        cfg = self.cfg if at_end else replace(self.cfg, min_side_frac=0.0)
        new = [_shift(r, a) for r in segment(window, cfg, engaged=True)]
        new = [r for r in new if r.top > last_top and "ends mid-rep" not in r.reason]
        if back_down and new and new[-1].end < i:
            # Back at the previous bottom's end level: file mode's end (which it measures from
            # the next bottom, not seen yet). Window-based, segment would put it mid-descent.
            new[-1] = replace(new[-1], end=i, end_s=float(k.t[i]))
        if not self.reps and not any(r.margin >= 0.0 for r in self._pending + new):
            self._pending += new  # nothing sure yet in this set: wait
            new = []
        elif not self.reps:
            new, self._pending = self._pending + new, []
        if new:  # a rep short of the set's usual range so far is partial; earlier reps stay as told
            new = mark_short(self.reps + new, self.cfg)[len(self.reps) :]
            self.reps += new
        self.state, self._lo, self._hi, self._from_bottom = "bottom", self._post, (-math.inf, -1), False
        return new

    def _phase(self, s: float) -> Phase:
        if self.state == "up":
            band = max(self.cfg.hold_band_deg, self.cfg.hold_band_frac * (self._hi[0] - self._lo[0]))
            return Phase.TOP if self._hi[0] - s <= band else Phase.RISING
        if self.state == "down":
            return Phase.LOWERING
        if self.state == "bottom" or self._lo[1] >= 0:
            return Phase.RISING if s - self._lo[0] >= self.cfg.min_rom_deg / 2 else Phase.BOTTOM
        return Phase.WAITING


