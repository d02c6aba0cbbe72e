"""Signals: gap filling and smoothing of landmark tracks.

Offline (files): a zero-phase Butterworth low-pass (filtfilt), so the top of a rep is
neither delayed nor blunted; Sports2D uses the same filter at 6 Hz by default. Online
(live): a One Euro filter, which follows fast moves with little lag and steadies holds.
Gaps longer than `max_gap_s` stay gaps: we never invent a pose the camera did not see.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

import numpy as np

from formcheck.pose.track import L_HIP, L_SHOULDER, R_HIP, R_SHOULDER, PoseTrack


@dataclass(frozen=True)
class SmoothingConfig:
    cutoff_hz: float = field(default=6.0, metadata={"range": (0.1, 100)})  # Butterworth low-pass cutoff
    order: int = field(default=4, metadata={"range": (1, 8)})
    # Gaps up to this long are interpolated; longer ones stay NaN.
    max_gap_s: float = field(default=0.3, metadata={"range": (0, 10)})
    # A torso-centre jump of more than this × torso length in one frame is a cut.
    max_jump: float = field(default=0.5, metadata={"range": (0, 100)})
    # The torso turning more than this between two frames is a cut or a flipped skeleton: no
    # body rotates that fast (a thrust turns the torso ~45° in a second).
    max_turn_deg: float = field(default=90.0, metadata={"range": (0, 180)})
    # A stretch between two cuts no longer than this, where the pose just before it and just
    # after it agree (no cut between them), is the tracker on a wrong pose (a skeleton flipped
    # end for end at the top of a rep, a jump onto the bench), not a shot of its own: dropped.
    max_glitch_s: float = field(default=2.0, metadata={"range": (0, 60)})


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of the True runs in a 1-D bool array."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.diff(m.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def fill_gaps(t: np.ndarray, x: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly interpolate NaN runs no longer than max_gap_s (first axis is time)."""
    x = np.array(x, dtype=np.float64, copy=True)
    flat = x.reshape(len(x), -1)
    missing = np.isnan(flat).any(axis=1)
    for a, b in runs(missing):
        if a == 0 or b == len(x):
            continue  # never extrapolate at the ends
        if t[b] - t[a - 1] > max_gap_s + 1e-9:
            continue
        w = ((t[a:b] - t[a - 1]) / (t[b] - t[a - 1]))[:, None]
        flat[a:b] = flat[a - 1] * (1 - w) + flat[b] * w
    return x


def _torso(track: PoseTrack) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Per frame: the torso's centre and shoulder-ward axis (px), its length; the clip's median length."""
    im = track.image
    shoulders = im[:, [L_SHOULDER, R_SHOULDER], :2].mean(axis=1)
    hips = im[:, [L_HIP, R_HIP], :2].mean(axis=1)
    axis = shoulders - hips
    torso = np.linalg.norm(axis, axis=1)
    scale = float(np.nanmedian(torso)) if np.isfinite(torso).any() else float("nan")
    return (shoulders + hips) / 2, axis, torso, scale


def _apart(centre: np.ndarray, axis: np.ndarray, i: np.ndarray, j: np.ndarray, scale: float,
           max_jump: float, max_turn_deg: float) -> np.ndarray:
    """Whether the torso at frames `j` is too far (or turned too much) from the torso at `i` to be
    the same shot: a move of more than max_jump torso lengths, or a turn over max_turn_deg."""
    step = np.linalg.norm(centre[j] - centre[i], axis=-1) / scale
    u = axis[i] / np.linalg.norm(axis[i], axis=-1, keepdims=True)
    w = axis[j] / np.linalg.norm(axis[j], axis=-1, keepdims=True)
    turn = np.degrees(np.arccos(np.clip(np.sum(u * w, axis=-1), -1.0, 1.0)))
    return np.asarray((step > max_jump) | (turn > max_turn_deg))


def cut_points(track: PoseTrack, max_jump: float, max_turn_deg: float = 90.0) -> np.ndarray:
    """(N,) bool: True where the lifter's torso jumps implausibly far or turns over (an edit cut,
    or the model flipping the skeleton upside down), compared with the last frame that had a pose.

    Comparing across missing frames matters: a one-frame dropout between two different shots
    (or between a flipped and an upright skeleton) must not hide the cut.
    """
    centre, axis, torso, scale = _torso(track)
    jump = np.full(len(track), False)
    seen = np.flatnonzero(np.isfinite(centre).all(axis=1) & (torso > 0))
    if len(seen) < 2 or not (np.isfinite(scale) and scale > 0):
        return jump
    jump[seen[1:]] = _apart(centre, axis, seen[:-1], seen[1:], scale, max_jump, max_turn_deg)
    return jump


def glitches(track: PoseTrack, cfg: SmoothingConfig | None = None) -> np.ndarray:
    """(N,) bool: frames where the tracker held a wrong pose: a stretch of at most max_glitch_s
    that starts and ends with a cut, where the last pose before it and the first after it are
    no cut apart, so the shot never changed (MediaPipe flipping a lifter end for end at the top
    of a rep, then finding them again). An edit cut to another shot and back within the time is
    dropped too: it is no view of the set either.
    """
    cfg = cfg or SmoothingConfig()
    out = np.full(len(track), False)
    cuts = np.flatnonzero(cut_points(track, cfg.max_jump, cfg.max_turn_deg))
    if len(cuts) < 2:
        return out
    centre, axis, torso, scale = _torso(track)
    seen = np.flatnonzero(np.isfinite(centre).all(axis=1) & (torso > 0))
    t = track.t
    k = 0
    while k < len(cuts) - 1:
        a = int(cuts[k])
        before = seen[seen < a]
        if not len(before):
            k += 1
            continue
        ends = [j for j in cuts[k + 1:] if t[j] - t[a] <= cfg.max_glitch_s]
        back = [int(j) for j in ends if not _apart(centre, axis, np.array([before[-1]]), np.array([j]), scale,
                                                    cfg.max_jump, cfg.max_turn_deg)[0]]
        if not back:
            k += 1
            continue
        out[a:back[0]] = True
        k = int(np.searchsorted(cuts, back[0], side="right"))
    return out


def drop_glitches(track: PoseTrack, cfg: SmoothingConfig | None = None) -> PoseTrack:
    """The track with the frames of `glitches` unseen (NaN), as if the model had found no one."""
    bad = glitches(track, cfg)
    if not bad.any():
        return track
    image, world, vis = track.image.copy(), track.world.copy(), track.visibility.copy()
    image[bad] = world[bad] = np.nan
    vis[bad] = np.nan
    return replace(track, image=image, world=world, visibility=vis)


def _filtfilt(x: np.ndarray, fs: float, cutoff_hz: float, order: int) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt  # here, not at import: scipy.signal is slow to load

    wn = min(cutoff_hz / (fs / 2.0), 0.9)  # keep below Nyquist on low-fps clips
    sos = butter(order, wn, output="sos")
    padlen = 3 * (2 * len(sos) + 1)
    if len(x) <= padlen:
        return x
    return sosfiltfilt(sos, x, axis=0, padlen=padlen)


# Time steps more uneven than this (longest over median) are resampled before filtering.
UNEVEN_STEP = 1.5


def lowpass(t: np.ndarray, x: np.ndarray, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """Zero-phase low-pass along axis 0 on each NaN-free run; runs too short stay raw.

    The filter is defined in time, not in samples: where frames are missing (dropped, skipped,
    or held longer as in GIFs) a run is resampled onto an even grid, filtered, and read back at
    its own timestamps, so the same motion gives the same curve whichever frames were seen.
    A step without frames is bridged, as a GIF's held frame must be (the pose was held).
    """
    x = np.array(x, dtype=np.float64, copy=True)
    if len(t) < 2:
        return x
    flat = x.reshape(len(x), -1)
    ok = ~np.isnan(flat).any(axis=1)
    for lo, hi in runs(ok):
        if hi - lo < 3:
            continue
        tt = t[lo:hi]
        steps = np.diff(tt)
        dt = float(np.median(steps))
        if float(steps.max()) <= UNEVEN_STEP * dt:
            flat[lo:hi] = _filtfilt(flat[lo:hi], 1.0 / dt, cutoff_hz, order)
            continue
        grid = np.arange(tt[0], tt[-1] + dt / 2, dt)
        even = np.column_stack([np.interp(grid, tt, col) for col in flat[lo:hi].T])
        smooth = _filtfilt(even, 1.0 / dt, cutoff_hz, order)
        flat[lo:hi] = np.column_stack([np.interp(tt, grid, col) for col in smooth.T])
    return x


def fill_skipped(track: PoseTrack, cfg: SmoothingConfig | None = None) -> PoseTrack:
    """The frames the model skipped (`[video] model_hz`), filled in time from the frames it saw.

    Each run of skipped frames is interpolated between the modelled frames on either side when
    both found the lifter and no cut lies between them (a new shot is no motion to bridge).
    Otherwise the run stays a gap, and `fill_gaps`' rule for missing frames decides, as it would
    had the model seen those frames and found nobody. Skipped runs are short (under 1 / model_hz)
    and the signal is low-passed at 6 Hz after this, so straight lines lose nothing it keeps.
    """
    cfg = cfg or SmoothingConfig()
    skipped = ~track.modelled
    if not skipped.any():
        return track
    found = track.detected
    cuts = cut_points(track, cfg.max_jump, cfg.max_turn_deg)
    arrays = [track.image.copy(), track.world.copy(), track.visibility.copy()]
    t = track.t
    for a, b in runs(skipped):
        if a == 0 or b == len(track) or not (found[a - 1] and found[b]) or cuts[b]:
            continue
        w = (t[a:b] - t[a - 1]) / (t[b] - t[a - 1])
        for arr in arrays:
            shape = (b - a,) + (1,) * (arr.ndim - 1)
            arr[a:b] = arr[a - 1] * (1 - w.reshape(shape)) + arr[b] * w.reshape(shape)
    image, world, vis = arrays
    return replace(track, image=image, world=world, visibility=vis)


def smooth_track(track: PoseTrack, cfg: SmoothingConfig | None = None) -> PoseTrack:
    """Offline smoothing: fill the frames the model skipped, drop the tracker's glitches, split
    at cuts, fill short gaps, zero-phase low-pass."""
    cfg = cfg or SmoothingConfig()
    track = drop_glitches(fill_skipped(track, cfg), cfg)
    image, world, vis = track.image.copy(), track.world.copy(), track.visibility.copy()
    cuts = np.flatnonzero(cut_points(track, cfg.max_jump, cfg.max_turn_deg))
    bounds = [0, *cuts.tolist(), len(track)]
    for a, b in itertools.pairwise(bounds):
        t = track.t[a:b]
        for arr in (image, world, vis):
            arr[a:b] = lowpass(t, fill_gaps(t, arr[a:b], cfg.max_gap_s), cfg.cutoff_hz, cfg.order)
    return replace(track, image=image, world=world, visibility=np.clip(vis, 0.0, 1.0))


class OneEuroFilter:
    """Online smoothing for live mode (Casiez et al., CHI 2012): `update(t, x) -> x`.

    Cutoff rises with speed: steady at a hold (little jitter), quick on the way up (little lag).
    """

    def __init__(self, min_cutoff: float = 1.5, beta: float = 0.3, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._t: float | None = None
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    @staticmethod
    def _alpha(cutoff: float | np.ndarray, dt: float) -> float | np.ndarray:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def reset(self) -> None:
        self._t = self._x = self._dx = None

    def update(self, t: float, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None or self._t is None or np.isnan(x).any() or t <= self._t:
            if not np.isnan(x).any():
                self._t, self._x, self._dx = t, x.copy(), np.zeros_like(x)
            return x
        dt = t - self._t
        dx = (x - self._x) / dt
        a_d = self._alpha(self.d_cutoff, dt)
        assert self._dx is not None
        self._dx = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        a = self._alpha(cutoff, dt)
        self._x = a * x + (1 - a) * self._x
        self._t = t
        return self._x.copy()
