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
from dataclasses import dataclass, field, replace

import numpy as np

from formcheck.analysis.kinematics import Kinematics
from formcheck.analysis.smoothing import runs


@dataclass(frozen=True)
class RepsConfig:
    # Allowed ranges: field metadata "range", else by unit (formcheck.util.params); a band is a
    # margin's divisor (reps.margins), so never 0. Ordered pairs: "below" (util.params).
    # Hip-extension rise (and fall) that makes a cycle a rep, degrees.
    min_rom_deg: float = field(default=15.0, metadata={"range": (0, 180), "below": "max_rom_deg"})
    # Hip rise from bottom to top, torso lengths, judged with lift_band either side (reps.margins).
    min_lift: float = field(default=0.12, metadata={"range": (0, 10)})
    lift_band: float = field(default=0.05, metadata={"range": (0.001, 10)})
    # Hips rising relative to the shoulders (torso lengths): a thrust or bridge raises the hips
    # past shoulders that stay put; a back extension, squat, sit-up or swing raises the shoulders.
    # Judged twice: up the picture (strong against back extensions and sit-ups, but a camera
    # that rolls tilts it: hence the low bar) and away from the shoulder->ankle support line
    # (a distance, which no roll changes).
    min_hip_rise: float = field(default=0.08, metadata={"range": (0, 10)})
    hip_rise_band: float = field(default=0.06, metadata={"range": (0.001, 10)})
    min_hip_line: float = field(default=0.18, metadata={"range": (0, 10)})
    hip_line_band: float = field(default=0.08, metadata={"range": (0.001, 10)})
    # The two readings of that rise differ by 0.26 torso lengths at most on the dev clips' real
    # cycles (a camera would have to roll ~60° for 0.5); a tracker that jumps onto a wrong pose
    # can put one far off (a back extension with frames lost: 0.10 up the picture, 1.32 off
    # the line). Beyond this they cannot vouch together, and the lower one decides.
    hip_rise_agree: float = field(default=0.5, metadata={"range": (0, 10)})
    max_incline_deg: float = 60.0  # ankle->shoulder line steeper than this = standing, not thrusting
    incline_band_deg: float = field(default=10.0, metadata={"range": (0.1, 90)})
    max_top_knee_deg: float = 155.0  # at the top the knees stay bent (feet planted)
    knee_band_deg: float = field(default=10.0, metadata={"range": (0.1, 90)})
    # At the top the hips open to near straight: a cycle that tops out with them still bent
    # more than this (a back extension's fold, a sit-up's, a swing's backswing) is no thrust. The
    # dev set's real tops: 133-200° (133° on an oblique barbell thrust whose plate hides the hips).
    min_top_hip_deg: float = field(default=120.0, metadata={"range": (0, 360), "below": "max_top_hip_deg"})
    max_top_hip_deg: float = 235.0  # beyond this the "arch" is a flipped or cut skeleton, not a body
    max_rom_deg: float = 150.0  # no hip moves this far in a rep: a tracking jump, not a rep
    # The band for the hip limits above and the range limit below.
    hip_band_deg: float = field(default=10.0, metadata={"range": (0.1, 90)})
    min_period_s: float = 0.6  # two tops closer than this are one rep
    # Two tops are two reps only if between them the hips come down at least this share of the
    # way (hip extension and hip height, each against the smaller of the two tops' rises).
    merge_dip_frac: float = 0.4
    min_segment_s: float = 0.5  # tracked stretches shorter than this are ignored
    # A rep is followed across a stretch this long where the lifter was not seen (a top hidden
    # by the plate, a tracker glitch dropped by smoothing.glitches): for finding reps only, the
    # hip angle and height are bridged in a straight line; the rules still see nothing there,
    # and the rep's confidence says how much was unseen.
    max_bridge_s: float = field(default=2.0, metadata={"range": (0, 10)})
    # ... and only where the lifter is found as they were left: the hip angle and height either
    # side of the gap within these, and no cut between. The same position before and after is a
    # hold (a top, a bottom) that was hidden; anything else may be another shot or another rep.
    bridge_hip_deg: float = field(default=20.0, metadata={"range": (0, 180)})
    bridge_lift: float = field(default=0.3, metadata={"range": (0, 10)})
    # A rep at the end (start) of a tracked stretch is full only if it was lowered (raised) at
    # least this share of its other side: a last rep whose top the clip catches just before it
    # ends has fallen 14-17° of 50, and whether that clears min_rom_deg is a knife edge; a share
    # of its own rise is not. (Between two tops, merge_dip_frac asks the like.)
    min_side_frac: float = field(default=0.4, metadata={"range": (0, 1)})
    partial_frac: float = 0.6  # a rep with less range than this × the set's typical best is partial
    best_quantile: float = 0.75  # the set's "typical best" range: this quantile of its reps' ranges
    edge_frac: float = 0.2  # a rep starts/ends where it is this fraction of the way up from the bottom
    hold_band_deg: float = 5.0  # within this of the top counts as holding the lockout
    hold_band_frac: float = 0.1  # ... or this fraction of the rep's range, whichever is larger
    # The hold is measured from the highest level the hips kept this long (at least 2 frames):
    # a shorter spike above it is the tracker, not the top (reps._sustained_top).
    spike_s: float = field(default=0.1, metadata={"range": (0, 5)})
    # A dip out of the hold's band (no deeper than another band) seen on frames lasting no longer
    # than this before the hips are back in it is a wobble in the hold, not its end (reps._hold).
    hold_gap_s: float = field(default=0.3, metadata={"range": (0, 5)})


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
    # The weakest gate's margin, in units of its noise band (reps.margins): >= 1 is a sure rep,
    # between -1 and 1 it is within the noise of a threshold (counted only beside sure reps).
    margin: float = 1.0
    weakest: str = ""  # the gate with that margin (reps.margins)
    # The lift and the lowering, seconds: from the time the hips cross edge_frac of the way up
    # to the time they enter the hold's band, and from leaving it to crossing back down (each
    # read between the frames either side, like hold_s). NaN: `tempo` reads them from frames.
    ascent_s: float = float("nan")
    descent_s: float = float("nan")

    @property
    def sure(self) -> bool:
        return self.margin >= 1.0

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
    """Two tops between which the hips never get back down are one rep: a wobble or re-squeeze
    in a long hold, arms moving at the top. "Back down" is relative to the reps' own rise (in
    hip extension and in hip height), so it does not hinge on an absolute lift threshold."""

    def shallow(drop: float, rise: float) -> bool:
        return not drop >= cfg.merge_dip_frac * rise

    while len(peaks) > 1:
        troughs = _troughs(seg, peaks)
        worst, worst_i = None, -1
        for i in range(len(peaks) - 1):
            a, b, lo = peaks[i], peaks[i + 1], troughs[i + 1]
            # Each top's rise from its outer bottom; a bottom at the segment's edge is where the
            # clip (or the tracking) starts or stops, not a bottom, unless both are edges.
            outer = [j for j in (troughs[i], troughs[i + 2]) if 0 < j < len(seg) - 1] or [troughs[i], troughs[i + 2]]
            ext_drop = min(seg[a], seg[b]) - seg[lo]
            ext_rise = min(min(seg[a], seg[b]) - seg[j] for j in outer)
            lift_drop = min(lift[a], lift[b]) - lift[lo]
            lift_rise = min(min(lift[a], lift[b]) - lift[j] for j in outer)
            depth = min(ext_drop / max(ext_rise, 1e-9), lift_drop / max(lift_rise, 1e-9))
            if (shallow(ext_drop, ext_rise) or shallow(lift_drop, lift_rise)) and (worst is None or depth < worst):
                worst, worst_i = depth, i
        if worst_i < 0:
            break
        a, b = peaks[worst_i], peaks[worst_i + 1]
        peaks = [*peaks[:worst_i], a if seg[a] >= seg[b] else b, *peaks[worst_i + 2 :]]
    return peaks


def _cut_short(seg: np.ndarray, lo_a: int, top: int, lo_b: int, cfg: RepsConfig) -> str:
    """Why a cycle whose bottom is the end (start) of the tracked stretch is partial: it was
    not lowered (raised) through min_side_frac of its range before the stretch ended (began).
    A bottom is the stretch's end when nothing after it rises again by more than hold_band_deg
    (the lowest frame of a fall that the clip cuts wanders with the noise)."""
    rise, fall = seg[top] - seg[lo_a], seg[top] - seg[lo_b]
    if fall < cfg.min_side_frac * rise and seg[lo_b:].max() - seg[lo_b] < cfg.hold_band_deg:
        return "the clip ends mid-rep"
    if rise < cfg.min_side_frac * fall and seg[: lo_a + 1].max() - seg[lo_a] < cfg.hold_band_deg:
        return "the clip starts mid-rep"
    return ""


def _cycles(k: Kinematics, a: int, b: int, fs: float, cfg: RepsConfig) -> list[_Cycle]:
    from scipy.signal import find_peaks  # here, not at import: scipy.signal costs ~0.6 s to load

    seg = k.hip_ext[a:b]
    lift = np.nan_to_num(k.lift[a:b], nan=0.0)
    found, _ = find_peaks(seg, prominence=cfg.min_rom_deg, distance=max(1, int(cfg.min_period_s * fs)))
    peaks = _merge_shallow(seg, lift, found.tolist(), cfg)
    troughs = _troughs(seg, peaks)
    out = [_Cycle(a + troughs[i], a + p, a + troughs[i + 1], _cut_short(seg, troughs[i], p, troughs[i + 1], cfg))
           for i, p in enumerate(peaks)]
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


def _sustained_top(s: np.ndarray, c: _Cycle, width: int) -> int:
    """The cycle's highest frame among those the hips stayed near for `width` frames: the
    top of the hold, not a one-frame spike of the tracker beside it (on a GIF, unsmoothed, a
    spike above a long flat hold would otherwise become the top, and the hold one frame long).
    On a clean peak it is the highest frame, as before."""
    from scipy.ndimage import grey_opening

    a, b = min(c.lo_a, c.top), max(c.lo_b, c.top)
    seg = s[a : b + 1]
    if width < 2 or len(seg) < width:
        return c.top
    opened = grey_opening(seg, size=width, mode="nearest")
    at = int(np.argmax(opened))
    lo, hi = max(0, at - width + 1), min(len(seg), at + width)
    return a + lo + int(np.argmax(seg[lo:hi]))


def _hold(s: np.ndarray, top: int, a: int, b: int, band: float, gap_frames: float, back: int) -> tuple[int, int]:
    """The first and last frames of the hold around `top`: within `band` of it, across any dip
    out of the band no deeper than another band and seen on at most `gap_frames` frames before
    the hips are back in it for `back` frames (a one-frame spike is no return). A wobble in a
    long hold, or a frame the tracker put low, does not end the pause a coach would time.
    Frames, not seconds: where frames were lost in a dip, hips found back in the band are a
    hold that was not seen, as `bridged` has it."""
    level, floor = s[top] - band, s[top] - 2 * band

    def walk(i: int, step: int, stop: int) -> int:
        while i != stop:
            j = i + step
            if s[j] >= level:
                i = j
                continue
            while j != stop and floor <= s[j] < level:  # a dip out of the band: where does it end?
                j += step
            # back in the band for `back` frames, or up to the cycle's end
            stay = s[j : min(j + back, stop + 1)] if step > 0 else s[max(j - back + 1, stop) : j + 1]
            returned = bool(np.all(stay >= level))
            if not (returned and abs(j - i) - 1 <= gap_frames):
                return i  # lowered, too deep, or not back in time: the hold ends at i
            i = j
        return i

    return walk(top, -1, a), walk(top, 1, b)


def _crossing(t: np.ndarray, s: np.ndarray, out: int, inside: int, level: float) -> float:
    """When `s` crosses `level` between frame `out` (below it) and the neighbouring frame
    `inside` (at or above it), in a straight line between the two; `inside`'s time if unclear."""
    lo, hi = float(s[out]), float(s[inside])
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= lo:
        return float(t[inside])
    w = min(1.0, max(0.0, (level - lo) / (hi - lo)))
    return float(t[out] + w * (t[inside] - t[out]))


def _near_bottom(s: np.ndarray, lo: int, top: int, frac: float) -> np.ndarray:
    """Frames between the bottom `lo` and `top` still within `frac` of the range of the bottom."""
    a, b = (lo, top) if lo <= top else (top, lo)
    idx = np.arange(a, b + 1)
    return idx[s[idx] <= s[lo] + frac * (s[top] - s[lo])]


def _near_top(s: np.ndarray, c: _Cycle, frac: float) -> np.ndarray:
    idx = np.arange(min(c.lo_a, c.top), max(c.lo_b, c.top) + 1)
    lo = min(s[c.lo_a], s[c.lo_b])
    return idx[s[idx] >= s[c.top] - frac * (s[c.top] - lo)]


def _med(x: np.ndarray | None, idx: np.ndarray) -> float:
    if x is None or not len(idx):
        return float("nan")
    v = x[idx]
    return float(np.nanmedian(v)) if np.isfinite(v).any() else float("nan")


@dataclass(frozen=True)
class Evidence:
    """What a cycle shows, each measure a median over the frames near its top or bottom (never
    one frame, so a glitch of the tracker or a dropped frame cannot decide)."""

    lift: float  # hips up from the bottom, over the planted feet, torso lengths
    hip_rise: float  # hips up relative to the shoulders, torso lengths (NaN = not measured)
    hip_line: float  # hips up away from the shoulder->ankle line, torso lengths (NaN = not measured)
    incline: float  # ankle->shoulder line over the whole cycle, degrees (standing ~70-90)
    knee_top: float  # knee angle at the top, degrees
    hip_top: float  # hip extension at the top, degrees
    rom: float  # hip-extension range, degrees


def evidence(k: Kinematics, c: _Cycle) -> Evidence:
    s = k.hip_ext
    # The deeper of the two bottoms is the cycle's bottom (the other may be a clip edge).
    lo = c.lo_a if s[c.lo_a] <= s[c.lo_b] else c.lo_b
    bottom = _near_bottom(s, lo, c.top, EVIDENCE_FRAC)
    top = _near_top(s, c, EVIDENCE_FRAC)
    every = np.arange(min(c.lo_a, c.top), max(c.lo_b, c.top) + 1)
    return Evidence(
        lift=_med(k.lift, top) - _med(k.lift, bottom),
        hip_rise=_med(k.hip_over_shoulder, top) - _med(k.hip_over_shoulder, bottom),
        hip_line=_med(k.hip_over_supports, top) - _med(k.hip_over_supports, bottom),
        incline=_med(k.incline, every),
        knee_top=_med(k.knee if k.knee_planted is None else k.knee_planted, top),
        hip_top=_med(s, top),
        rom=float(s[c.top] - s[lo]),
    )


# Each measure is judged against its threshold with a band either side: a cycle clearly
# inside every threshold is a sure rep; one clearly outside any is no rep; in between (within
# the noise of a threshold) it counts only in a set that has sure reps (hysteresis: the set
# enters "thrusting" on clear evidence and stays there on weaker evidence).
EVIDENCE_FRAC = 0.2  # frames within this fraction of the range of the top (bottom) are the top (bottom)


def margins(e: Evidence, cfg: RepsConfig) -> dict[str, float]:
    """Each gate's margin in units of its band: >= 1 clearly passes, <= -1 clearly fails."""
    m = {
        "lift": (e.lift - cfg.min_lift) / cfg.lift_band,
        "incline": (cfg.max_incline_deg - e.incline) / cfg.incline_band_deg,
        "knee_top": (cfg.max_top_knee_deg - e.knee_top) / cfg.knee_band_deg,
        "hip_top": (cfg.max_top_hip_deg - e.hip_top) / cfg.hip_band_deg,
        "hip_open": (e.hip_top - cfg.min_top_hip_deg) / cfg.hip_band_deg,
        "rom": (cfg.max_rom_deg - e.rom) / cfg.hip_band_deg,
    }
    # The hips' rise is read twice (up the picture, off the support line); one gate: either
    # reading short of its threshold decides, else the two vouch together (their mean), so one
    # reading near the far edge of its band cannot on its own make a clear rep unclear, unless
    # they disagree beyond hip_rise_agree (one of them is a tracking glitch): then the lower.
    rise = [v for v in ((e.hip_rise - cfg.min_hip_rise) / cfg.hip_rise_band,
                        (e.hip_line - cfg.min_hip_line) / cfg.hip_line_band) if np.isfinite(v)]
    if rise:
        apart = abs(e.hip_rise - e.hip_line) > cfg.hip_rise_agree
        m["hip_rise"] = min(rise) if min(rise) < 0 or apart else float(np.mean(rise))
    return {name: (v if np.isfinite(v) else -np.inf) for name, v in m.items()}


def worst_margin(k: Kinematics, c: _Cycle, cfg: RepsConfig) -> tuple[float, str]:
    """The weakest gate and its margin: the hips rise off the feet and past the shoulders, the
    lifter is not standing, the knees stay bent, and the body is plausible."""
    m = margins(evidence(k, c), cfg)
    name = min(m, key=m.__getitem__)
    return m[name], name


def segment(k: Kinematics, cfg: RepsConfig | None = None, engaged: bool = False) -> list[Rep]:
    """All reps (full and partial) in time order.

    Hysteresis over the set: no cycle counts unless one is a sure rep (or the set is already
    `engaged`, as live mode says once it has seen one); then every cycle within the noise of
    the thresholds counts too.
    """
    cfg = cfg or RepsConfig()
    t = k.t
    if len(t) < 3:
        return []
    k = bridged(k, cfg)
    s = k.hip_ext
    fs = 1.0 / float(np.median(np.diff(t)))
    found: list[_Cycle] = []
    for a, b in runs(np.isfinite(s)):
        if t[b - 1] - t[a] >= cfg.min_segment_s:
            found += _cycles(k, a, b, fs, cfg)
    scored = [(c, *worst_margin(k, c, cfg)) for c in found]
    scored = [(c, m, name) for c, m, name in scored if m > -1.0]
    if not engaged and not any(m >= 1.0 for _, m, _ in scored):
        scored = []

    reps: list[Rep] = []
    for c, margin, weakest in scored:
        rise, fall = s[c.top] - s[c.lo_a], s[c.top] - s[c.lo_b]
        rom = max(rise, fall)
        start = _edge(s, c.lo_a, c.top, cfg.edge_frac) if not c.partial or c.lo_a != c.top else c.lo_a
        end = _edge(s, c.lo_b, c.top, cfg.edge_frac)
        seg_a, seg_b = c.lo_a, c.lo_b
        band = max(cfg.hold_band_deg, cfg.hold_band_frac * rom)
        sustained = max(2, round(cfg.spike_s * fs))
        peak = _sustained_top(s, c, sustained)
        hs, he = _hold(s, peak, seg_a, seg_b, band, cfg.hold_gap_s * fs, sustained)
        lift = float(k.lift[c.top] - min(k.lift[c.lo_a], k.lift[c.lo_b]))
        # The top is the middle of the hold, not its highest frame: on a flat hold the highest
        # frame wanders with the tracker's noise (and with which frames were seen). The hold runs
        # between the times the hips cross into and out of the band, read between the frames on
        # either side, so a hold's length and middle do not hang on which frames were seen.
        level = s[peak] - band
        t_in = _crossing(t, s, hs - 1, hs, level) if hs > seg_a else float(t[hs])
        t_out = _crossing(t, s, he + 1, he, level) if he < seg_b else float(t[he])
        top = hs + int(np.argmin(np.abs(t[hs : he + 1] - (t_in + t_out) / 2)))
        # The lift and the lowering in time the same way: from (to) where `_edge` found the
        # hips edge_frac of the way up.
        rise_at = s[c.lo_a] + cfg.edge_frac * (s[c.top] - s[c.lo_a])
        fall_at = s[c.lo_b] + cfg.edge_frac * (s[c.top] - s[c.lo_b])
        t_start = _crossing(t, s, start, start + 1, rise_at) if start < hs else float(t[start])
        t_end = _crossing(t, s, end, end - 1, fall_at) if end > he else float(t[end])
        reps.append(
            Rep(
                start=start,
                top=top,
                end=end,
                hold_start=hs,
                hold_end=he,
                start_s=float(t[start]),
                top_s=(t_in + t_out) / 2,  # the hold's middle in time; `top` is the frame nearest it
                end_s=float(t[end]),
                hold_s=t_out - t_in,
                rom_deg=float(rom),
                lift=lift,
                partial=bool(c.partial),
                reason=c.partial,
                margin=float(min(margin, 1.0)),
                weakest=weakest,
                ascent_s=max(0.0, t_in - t_start),
                descent_s=max(0.0, t_end - t_out),
            )
        )
    return mark_short(reps, cfg)


def bridged(k: Kinematics, cfg: RepsConfig) -> Kinematics:
    """The hip angle and height filled in a straight line across each gap that hides a hold
    (RepsConfig.max_bridge_s, bridge_hip_deg, bridge_lift): for finding reps, not for the rules."""
    t, hip, lift = k.t, k.hip_ext.copy(), np.array(k.lift, dtype=float, copy=True)
    for lo, hi in runs(~np.isfinite(hip)):
        if lo == 0 or hi == len(t) or t[hi] - t[lo - 1] > cfg.max_bridge_s:
            continue
        if k.cut is not None and k.cut[hi]:
            continue
        if not (abs(hip[hi] - hip[lo - 1]) <= cfg.bridge_hip_deg and abs(lift[hi] - lift[lo - 1]) <= cfg.bridge_lift):
            continue
        w = (t[lo:hi] - t[lo - 1]) / (t[hi] - t[lo - 1])
        hip[lo:hi] = hip[lo - 1] * (1 - w) + hip[hi] * w
        lift[lo:hi] = lift[lo - 1] * (1 - w) + lift[hi] * w
    return replace(k, hip_ext=hip, lift=lift)


def tempo(rep: Rep, t: np.ndarray) -> tuple[float, float]:
    """(ascent_s, descent_s): the lift up to the hold, the lowering from the hold to the end. The
    same quantities the controlled-descent rule judges and every output shows."""
    ascent = rep.ascent_s if np.isfinite(rep.ascent_s) else float(t[rep.hold_start] - t[rep.start])
    descent = rep.descent_s if np.isfinite(rep.descent_s) else float(t[rep.end] - t[rep.hold_end])
    return ascent, descent


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
