"""Rep segmentation: find each rep's start, top, end and hold in the hip-extension signal.

A rep is a low-top-low cycle of hip extension: peaks must stand out by `min_rom_deg` from
the troughs on both sides (scipy's peak prominence) and lie `min_period_s` apart, the
minimum-distance event filter PySceneDetect uses for scene cuts. A cycle that the clip
cuts (it starts at the top, or ends on the way up) or that falls well short of the set's
usual range is kept, but marked partial and not counted.

A cycle is only a hip-thrust rep if the hips really rise (lift, in torso lengths, at the
top vs the bottom) and the lifter is lying or leaning on a bench, not standing: this is
what keeps squats, deadlifts and dead bugs at zero reps.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np

from formcheck.analysis.kinematics import Kinematics
from formcheck.analysis.smoothing import runs


@dataclass(frozen=True)
class RepsConfig:
    min_rom_deg: float = 15.0  # hip-extension rise (and fall) that makes a cycle a rep, degrees
    min_lift: float = 0.15  # hip rise from bottom to top, torso lengths
    max_incline_deg: float = 55.0  # ankle->shoulder line steeper than this = standing, not thrusting
    max_top_knee_deg: float = 155.0  # at the top the knees stay bent (feet planted)
    max_top_hip_deg: float = 235.0  # beyond this the "arch" is a flipped or cut skeleton, not a body
    max_rom_deg: float = 150.0  # no hip moves this far in a rep: a tracking jump, not a rep
    min_period_s: float = 0.6  # two tops closer than this are one rep
    min_segment_s: float = 0.5  # tracked stretches shorter than this are ignored
    partial_frac: float = 0.6  # a rep with less range than this × the set's typical best is partial
    best_quantile: float = 0.75  # the set's "typical best" range: this quantile of its reps' ranges
    edge_frac: float = 0.2  # a rep starts/ends where it is this fraction of the way up from the bottom
    hold_band_deg: float = 5.0  # within this of the top counts as holding the lockout
    hold_band_frac: float = 0.1  # ... or this fraction of the rep's range, whichever is larger


@dataclass(frozen=True)
class Rep:
    """One cycle. Frame indices into the track; times in seconds from the start of the clip."""

    start: int
    top: int
    end: int
    hold_start: int
    hold_end: int
    start_s: float
    top_s: float
    end_s: float
    hold_s: float
    rom_deg: float  # hip-extension range: top minus the lower of the two bottoms
    lift: float  # hip rise, torso lengths
    partial: bool = False
    reason: str = ""  # why a partial rep is partial

    @property
    def full(self) -> bool:
        return not self.partial


@dataclass(frozen=True)
class _Cycle:
    lo_a: int  # trough before
    top: int
    lo_b: int  # trough after
    partial: str  # "" or the reason


def _troughs(seg: np.ndarray, peaks: list[int]) -> list[int]:
    bounds = [0, *peaks, len(seg) - 1]
    return [lo + int(np.argmin(seg[lo : hi + 1])) for lo, hi in itertools.pairwise(bounds)]


def _merge_shallow(seg: np.ndarray, lift: np.ndarray, peaks: list[int], cfg: RepsConfig) -> list[int]:
    """Two tops whose dip between them never gets back down are one rep (a wobble in a hold)."""
    while len(peaks) > 1:
        troughs = _troughs(seg, peaks)
        worst, worst_i = None, -1
        for i in range(len(peaks) - 1):
            lo = troughs[i + 1]
            drop = min(lift[peaks[i]], lift[peaks[i + 1]]) - lift[lo]
            if not drop >= cfg.min_lift and (worst is None or drop < worst):
                worst, worst_i = drop, i
        if worst_i < 0:
            break
        a, b = peaks[worst_i], peaks[worst_i + 1]
        peaks = [*peaks[:worst_i], a if seg[a] >= seg[b] else b, *peaks[worst_i + 2 :]]
    return peaks


def _cycles(k: Kinematics, a: int, b: int, fs: float, cfg: RepsConfig) -> list[_Cycle]:
    from scipy.signal import find_peaks  # here, not at import: scipy.signal costs ~0.6 s to load

    seg = k.hip_ext[a:b]
    lift = np.nan_to_num(k.lift[a:b], nan=0.0)
    found, _ = find_peaks(seg, prominence=cfg.min_rom_deg, distance=max(1, int(cfg.min_period_s * fs)))
    peaks = _merge_shallow(seg, lift, found.tolist(), cfg)
    troughs = _troughs(seg, peaks)
    out = [_Cycle(a + troughs[i], a + p, a + troughs[i + 1], "") for i, p in enumerate(peaks)]
    # The clip may start at (or on the way down from) the top, or end on the way up:
    # half cycles at the edges are partial reps.
    first_lo = troughs[0]
    if seg[0] - seg[first_lo] >= cfg.min_rom_deg and first_lo > 0:
        top = int(np.argmax(seg[: first_lo + 1]))
        out.insert(0, _Cycle(a, a + top, a + first_lo, "the clip starts mid-rep"))
    last_lo = troughs[-1]
    if seg[-1] - seg[last_lo] >= cfg.min_rom_deg and last_lo < len(seg) - 1:
        top = last_lo + int(np.argmax(seg[last_lo:]))
        out.append(_Cycle(a + last_lo, a + top, b - 1, "the clip ends mid-rep"))
    return out


def _edge(s: np.ndarray, lo: int, top: int, frac: float) -> int:
    """First/last frame between the bottom `lo` and `top` that is `frac` of the way up."""
    level = s[lo] + frac * (s[top] - s[lo])
    if lo < top:
        idx = np.flatnonzero(s[lo : top + 1] <= level)
        return lo + int(idx[-1]) if len(idx) else lo
    idx = np.flatnonzero(s[top : lo + 1] <= level)
    return top + int(idx[0]) if len(idx) else lo


def _hold(s: np.ndarray, top: int, a: int, b: int, band: float) -> tuple[int, int]:
    level = s[top] - band
    i = top
    while i > a and s[i - 1] >= level:
        i -= 1
    j = top
    while j < b and s[j + 1] >= level:
        j += 1
    return i, j


def is_thrust_motion(k: Kinematics, c: _Cycle, cfg: RepsConfig) -> bool:
    """The hips rise, the lifter is not standing, the knees stay bent, and the body is plausible."""
    lift = k.lift[c.top] - min(k.lift[c.lo_a], k.lift[c.lo_b])
    incline = np.nanmax(k.incline[[c.lo_a, c.top, c.lo_b]])
    rom = k.hip_ext[c.top] - min(k.hip_ext[c.lo_a], k.hip_ext[c.lo_b])
    return bool(
        lift >= cfg.min_lift
        and incline <= cfg.max_incline_deg
        and k.knee[c.top] <= cfg.max_top_knee_deg
        and k.hip_ext[c.top] <= cfg.max_top_hip_deg
        and rom <= cfg.max_rom_deg
    )


def segment(k: Kinematics, cfg: RepsConfig | None = None) -> list[Rep]:
    """All reps (full and partial) in time order."""
    cfg = cfg or RepsConfig()
    s = k.hip_ext
    t = k.t
    if len(t) < 3:
        return []
    fs = 1.0 / float(np.median(np.diff(t)))
    cycles: list[_Cycle] = []
    for a, b in runs(np.isfinite(s)):
        if t[b - 1] - t[a] >= cfg.min_segment_s:
            cycles += [c for c in _cycles(k, a, b, fs, cfg) if is_thrust_motion(k, c, cfg)]

    reps: list[Rep] = []
    for c in cycles:
        rise, fall = s[c.top] - s[c.lo_a], s[c.top] - s[c.lo_b]
        rom = max(rise, fall)
        start = _edge(s, c.lo_a, c.top, cfg.edge_frac) if not c.partial or c.lo_a != c.top else c.lo_a
        end = _edge(s, c.lo_b, c.top, cfg.edge_frac)
        seg_a, seg_b = c.lo_a, c.lo_b
        hs, he = _hold(s, c.top, seg_a, seg_b, max(cfg.hold_band_deg, cfg.hold_band_frac * rom))
        lift = float(k.lift[c.top] - min(k.lift[c.lo_a], k.lift[c.lo_b]))
        reps.append(
            Rep(
                start=start,
                top=c.top,
                end=end,
                hold_start=hs,
                hold_end=he,
                start_s=float(t[start]),
                top_s=float(t[c.top]),
                end_s=float(t[end]),
                hold_s=float(t[he] - t[hs]),
                rom_deg=float(rom),
                lift=lift,
                partial=bool(c.partial),
                reason=c.partial,
            )
        )
    return mark_short(reps, cfg)


def mark_short(reps: list[Rep], cfg: RepsConfig) -> list[Rep]:
    full = [r.rom_deg for r in reps if r.full]
    if not full:
        return reps
    # A high quantile, not the maximum: one glitch of the tracker must not demote every rep.
    ref = float(np.quantile(full, cfg.best_quantile))
    out = []
    for r in reps:
        if r.full and r.rom_deg < cfg.partial_frac * ref:
            pct = round(100 * r.rom_deg / ref)
            r = replace(r, partial=True, reason=f"only {pct} % of the range of the set's best reps")
        out.append(r)
    return out
