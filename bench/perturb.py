"""Harmless perturbations of a clip, as pose tracks, for the stability harness (issue 14).

A perturbation is something that must not change formcheck's answer: another `[video] chunks`
cut, starting a few frames later, losing frames, running the model on every n-th frame, a
mirrored or resized video, landmark noise at the tracker's own level. Each one produces a
`PoseTrack` for a clip:

- *video-level* perturbations run the pose model on changed frames (the tracker never sees the
  frames that are dropped or skipped; timestamps stay the true ones, so rep tops compare in
  absolute time);
- *track-level* perturbations transform the baseline track (no model run).

Tracks that cost a model run are cached on disk (default `.cache/stability/` in the checkout),
keyed by the clip (file name, size, mtime), the perturbation (name and parameters) and a hash of
the tracker (the formcheck modules that decode a file and run the model, TRACKER_FILES; the
model file, the VideoConfig defaults, the mediapipe and OpenCV versions). A change to the
analysis (smoothing, kinematics, reps, exercise, rules) therefore re-runs in seconds; a change to
the tracker re-tracks.

`summarize(analysis)` reduces an Analysis to what must stay the same (exercise, full-rep count,
full-rep tops, per-rep verdicts) and `compare(base, perturbed)` says what changed.

The baseline is formcheck as shipped: `track_video` with the default config (2 chunks where the
clip is long enough). Video-level perturbations other than `chunksN` track the clip in one
unbroken stream (`formcheck.pose.model.track_frames`), so they also contain the chunks-2 -> one-stream change
(`chunks1` alone shows how much that is).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import inspect
import json
import math
import os
import re
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / ".cache" / "stability"
SAMPLES = Path(os.environ.get("FORMCHECK_SAMPLES", ROOT.parent / "shared" / "samples"))

TOP_TOL_S = 0.1  # a perturbed rep top within this of a baseline top is the same top
MIN_RATE_HZ = 10.0  # frame skipping is not run where it would leave the model below this rate
RATE_GRACE = 0.98  # ... give or take 2 %: every 3rd frame of a 29.97 or 29.81 fps clip counts as 10 Hz
# Landmark noise, as a fraction of the clip's median torso length (shoulder mid to hip mid, px).
# The tracker's own noise, measured on the 28 dev clips' baseline tracks (`stability.py --jitter`):
# - frame-to-frame (`tracker_jitter`: robust second-difference residuals, body landmarks):
#   median 0.22 % of the torso, 0.05-0.9 % (2.2 % on the hamstring-curl clip);
# - run to run (`run_to_run`: the same frames tracked as one stream vs two chunks, after the
#   cut): median 0.34 %, 0.06-1.07 % over the 22 clips where the two differ.
# MediaPipe filters its landmarks, so its error is slow and passes formcheck's 6 Hz low-pass,
# while white noise is mostly removed by it (0.68 sigma passes at 24 fps, 0.60 at 30, 0.42 at 60): 0.5 %
# white noise is at the tracker's own level after smoothing (~0.3 %), and within its measured range.
NOISE_TORSO_FRAC = 0.005
BURST_S = 0.3  # a burst of lost frames
BURST_EVERY_S = 2.0  # one burst every this many seconds, the first at 1 s
DROP_SHARE = 0.3

# The files whose change means the tracks must be made again, relative to the formcheck package:
# the code that turns a file into frames and frames into landmarks (decoding, scaling, GIF frames,
# the display matrix, the model, the start tracked again, the chunked cut). Not the PoseTrack
# container and loader (pose/track.py), the file sniffing or the config's validation: they are
# edited often and do not move a landmark (the VideoConfig *values* are hashed below). The first
# four are the layout before the restructure, the rest today's; those present count.
# tests/test_stability.py checks the list against what the tracker imports (pose/rewind.py and
# inputs/bmff.py were missing until 2026-12-03). To force new tracks, delete the cache folder.
TRACKER_FILES = (
    "pose.py", "video.py", "parallel.py", "pictures.py",
    "pose/model.py", "pose/chunked.py", "pose/rewind.py",
    "inputs/video.py", "inputs/frames.py", "inputs/chunk.py", "inputs/pictures.py", "inputs/sampling.py",
    "inputs/bmff.py",
)  # fmt: skip

# The rate the model runs at in every track of this run ([video] model_hz; 0 = every frame):
# `stability.py --model-hz 10` is the whole harness under --fast. An environment variable, so
# that the worker processes see it too.
MODEL_HZ_ENV = "FORMCHECK_STABILITY_MODEL_HZ"


def model_hz() -> float:
    return float(os.environ.get(MODEL_HZ_ENV, "0") or 0)


# Where things live in formcheck: today's module first, then the one before the restructure
# (so the harness can also score an older checkout, e.g. the BEFORE state, via PYTHONPATH).
_MODULES = {
    "model": ("formcheck.pose.model", "formcheck.pose"),  # PoseEstimator, track_frames, default_model_path
    "video": ("formcheck.inputs.video", "formcheck.video"),  # iter_frames, probe
    "frames": ("formcheck.inputs.frames", "formcheck.video"),  # scale_frame
    "chunked": ("formcheck.pose.chunked", "formcheck.parallel"),  # chunks_for
    "track": ("formcheck.pose.track", "formcheck.track"),  # PoseTrack, landmark indices
    "analyze": ("formcheck.pipeline.analyze", "formcheck.pipeline"),  # track_video, analyze_track
}


def fc(part: str) -> Any:
    """The formcheck module for `part` (see _MODULES)."""
    import importlib

    new, old = _MODULES[part]
    try:
        return importlib.import_module(new)
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("formcheck"):
            raise
        return importlib.import_module(old)

# The default matrix, in table order. `baseline` is formcheck as shipped (chunks = 2).
DEFAULT = (
    "chunks1", "chunks4", "start3",
    "drop30_s0", "drop30_s1", "drop30_s2", "burst",
    "stride2", "stride3", "mirror",
    "noise_s0", "noise_s1", "noise_s2",
    "half", "double", "fast",
)  # fmt: skip
BASELINE = "baseline"


# --------------------------------------------------------------------------- the clip


@dataclass(frozen=True)
class Clip:
    path: Path
    label: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def stem(self) -> str:
        return self.path.stem

    def fingerprint(self) -> dict[str, Any]:
        st = self.path.stat()
        return {"file": self.path.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def dev_clips(folder: Path = SAMPLES) -> list[Clip]:
    """The labelled dev clips that exist in `folder`, in labels.json order."""
    labels_path = folder / "labels.json"
    if not labels_path.is_file():
        return []
    out = []
    for label in json.loads(labels_path.read_text()):
        p = folder / label["file"]
        if p.is_file():
            out.append(Clip(p, label))
    return out


# --------------------------------------------------------------------------- perturbations


@dataclass(frozen=True)
class Perturbation:
    """A named, harmless change. `params` goes into the cache key: change it with the code."""

    name: str
    kind: str  # "video" (runs the model) or "track" (transforms the baseline track)
    what: str  # one line for the table
    params: dict[str, Any]
    # video: (clip, info) -> PoseTrack; track: (baseline track) -> PoseTrack
    make: Callable[..., Any] = field(compare=False, repr=False)
    # (clip, info, v) -> a reason not to run it here, "=baseline" when it is the baseline's track, or None
    check: Callable[..., str | None] | None = field(default=None, compare=False, repr=False)
    cost: float = 1.0  # model passes over the clip, for scheduling


def get(name: str) -> Perturbation:
    """The perturbation called `name` (see DEFAULT; parametric names like `start5`, `stride4`,
    `drop20_s7`, `noise_s3`, `chunks3` work too)."""
    if name == BASELINE:
        return _chunks(2, BASELINE)
    if m := re.fullmatch(r"chunks(\d+)", name):
        return _chunks(int(m[1]), name)
    if m := re.fullmatch(r"start(\d+)", name):
        return _start_later(int(m[1]))
    if m := re.fullmatch(r"drop(\d+)_s(\d+)", name):
        return _drop_random(int(m[1]) / 100.0, int(m[2]))
    if name == "burst":
        return _drop_bursts(BURST_S, BURST_EVERY_S)
    if m := re.fullmatch(r"stride(\d+)", name):
        return _stride(int(m[1]))
    if name == "mirror":
        return _mirror()
    if m := re.fullmatch(r"noise_s(\d+)", name):
        return _noise(NOISE_TORSO_FRAC, int(m[1]))
    if name == "half":
        return _resize(0.5, name)
    if name == "double":
        return _resize(2.0, name)
    if name == "fast":
        return _fast()
    if m := re.fullmatch(r"gif(\d+)", name):
        return _low_rate(float(m[1]), sway=False)
    if m := re.fullmatch(r"gif(\d+)sway", name):
        return _low_rate(float(m[1]), sway=True)
    if name == "sway":
        return _sway()
    raise KeyError(f"unknown perturbation {name!r}; known: {', '.join((BASELINE, *DEFAULT, *HARDER))}")


# Harder than harmless, run on request (`--only sway,gif7,gif7sway`): what a phone held by hand, or an
# exercise GIF, does to the video. A count that holds here holds on footage of that kind; a top
# may move by up to a frame (0.14 s at 7 fps).
HARDER = ("sway", "gif7", "gif7sway")
# The hand-held sway: roll, zoom and shift, each a slow sine (the periods of a hand, not a shake).
SWAY_ROLL_DEG = 6.0
SWAY_ZOOM = 0.12
SWAY_SHIFT = 0.04  # of the frame's width and height
SWAY_HZ = (0.23, 0.31, 0.37, 0.29)  # roll, zoom, x shift, y shift


def sway_matrix(t: float, size: tuple[int, int]) -> np.ndarray:
    """The 2x3 affine map of the swayed camera at time `t` for a frame of `size` (w, h)."""
    import cv2

    w, h = size
    roll, zoom, dx, dy = (math.sin(2 * math.pi * hz * t + k) for k, hz in enumerate(SWAY_HZ))
    m = cv2.getRotationMatrix2D((w / 2, h / 2), SWAY_ROLL_DEG * roll, 1.0 + SWAY_ZOOM * zoom)
    m[:, 2] += (SWAY_SHIFT * w * dx, SWAY_SHIFT * h * dy)
    return m


def _swayed(frames: Iterable[Any]) -> Iterator[Any]:
    import cv2

    for f in frames:
        h, w = f.image.shape[:2]
        img = cv2.warpAffine(f.image, sway_matrix(f.t, (w, h)), (w, h), borderMode=cv2.BORDER_REPLICATE)
        yield dataclasses.replace(f, image=img)


def _sway() -> Perturbation:
    def make(clip: Clip, info) -> Any:
        frames = _frames(clip, _video_config().max_side)
        try:
            return _stream(clip, info, _swayed(frames))
        finally:
            frames.close()

    return Perturbation("sway", "video", f"a hand-held camera: roll ±{SWAY_ROLL_DEG:g}°, zoom ±{SWAY_ZOOM:.0%}, "
                        f"shift ±{SWAY_SHIFT:.0%} (slow sines)",
                        {"roll": SWAY_ROLL_DEG, "zoom": SWAY_ZOOM, "shift": SWAY_SHIFT, "hz": SWAY_HZ}, make)


def _low_rate(hz: float, sway: bool) -> Perturbation:
    """The clip as an exercise GIF at `hz` frames a second: one frame kept per 1/hz, each shown
    until the next (the GIF's own frame times), the model on every kept frame."""

    def make(clip: Clip, info) -> Any:
        frames = _frames(clip, _video_config().max_side)
        slot = [-1]

        def keep(f: Any) -> bool:
            s = math.floor(f.t * hz + 1e-6)
            if s == slot[0]:
                return False
            slot[0] = s
            return True

        kept = (f for f in frames if keep(f))
        try:
            return _stream(clip, dataclasses.replace(info, fps=hz), _swayed(kept) if sway else kept, fps=hz)
        finally:
            frames.close()

    def check(clip: Clip, info, v) -> str | None:
        return "already at or below that rate" if clip_rate(info) <= hz * 1.2 else None

    name = f"gif{hz:g}" + ("sway" if sway else "")
    what = f"the clip as a {hz:g} fps GIF" + (", with the hand-held sway" if sway else "")
    return Perturbation(name, "video", what, {"hz": hz, "sway": sway, **({"roll": SWAY_ROLL_DEG} if sway else {})},
                        make, check, 1.0 * hz / 30)


def _video_config(**kw: Any):
    from formcheck.config import VideoConfig

    # workers = 1: the harness runs clips in parallel processes, one core each. The track does not
    # depend on `workers` (formcheck.pose.chunked), only on `chunks`.
    extra = {"model_hz": model_hz()} if model_hz() else {}  # older formcheck: no model_hz
    return VideoConfig(**{"workers": 1, **extra, **kw})


def _fast() -> Perturbation:
    """formcheck --fast: the model at FAST_HZ, the frames between filled in (issue 15)."""
    from formcheck.pose.settings import FAST_HZ

    def make(clip: Clip, info) -> Any:
        from formcheck.config import Config

        return fc("analyze").track_video(clip.path, Config(video=_video_config(model_hz=FAST_HZ)))

    def check(clip: Clip, info, v) -> str | None:
        return "=baseline" if v.model_hz == FAST_HZ else None

    return Perturbation("fast", "video", f"--fast: the model at {FAST_HZ:g} Hz, the frames between filled in",
                        {"model_hz": FAST_HZ}, make, check, 0.4)


def _chunks(n: int, name: str) -> Perturbation:
    def make(clip: Clip, info) -> Any:
        from formcheck.config import Config

        return fc("analyze").track_video(clip.path, Config(video=_video_config(chunks=n)))

    def check(clip: Clip, info, v) -> str | None:
        if name == BASELINE:
            return None
        chunks_for = fc("chunked").chunks_for
        if chunks_for(info, _video_config(chunks=n)) == chunks_for(info, _video_config()):
            return "=baseline"  # the same cut, hence the same track bit for bit
        return None

    what = "formcheck as shipped ([video] chunks = 2)" if name == BASELINE else f"[video] chunks = {n}"
    return Perturbation(name, "video", what, {"chunks": n}, make, check, 1.0)


def _stream(clip: Clip, info, frames: Iterable[Any], size: tuple[int, int] | None = None,
            fps: float | None = None) -> Any:
    """Track frames (already filtered/changed) in one stream, as track_video's one-stream
    path does; landmarks in the pixels of a video of `size` (default: the clip's). Under
    `--model-hz` the frames go through formcheck's frame picker for a video of `fps` (default: the clip's)."""
    m = fc("model")
    v = _video_config()
    if size is not None:
        info = dataclasses.replace(info, width=size[0], height=size[1])
    if v.model_hz:
        from formcheck.inputs.sampling import pick

        picker = m.picker_for(dataclasses.replace(info, fps=fps or info.fps), v.model_hz)
        frames = pick(((f.index, f.t, f.image) for f in frames), picker, lambda image: image)
    with m.PoseEstimator(None, v.num_poses, v.min_detection_confidence, v.min_tracking_confidence) as est:
        # as formcheck tracks a file's start (formcheck.pose.rewind), where this formcheck does
        kw = {"rewind": True} if "rewind" in inspect.signature(m.track_frames).parameters else {}
        return m.track_frames(frames, info, est, **kw)


def _frames(clip: Clip, max_side: int | None) -> Iterator[Any]:
    return fc("video").iter_frames(clip.path, max_side, prefetch=4)


def _filtered(clip: Clip, info, keep: Callable[[Any], bool], fps: float | None = None) -> Any:
    frames = _frames(clip, _video_config().max_side)
    try:
        return _stream(clip, info, (f for f in frames if keep(f)), fps=fps)
    finally:
        frames.close()


def _start_later(n: int) -> Perturbation:
    def make(clip: Clip, info) -> Any:
        return _filtered(clip, info, lambda f: f.index >= n)

    return Perturbation(f"start{n}", "video", f"the first {n} frames never seen", {"skip_first": n}, make, None, 1.0)


def _drop_random(share: float, seed: int) -> Perturbation:
    def make(clip: Clip, info) -> Any:
        rng = np.random.default_rng([seed, 14])
        return _filtered(clip, info, lambda f: rng.random() >= share)  # frames come in order: deterministic

    name = f"drop{round(share * 100)}_s{seed}"
    return Perturbation(name, "video", f"{share:.0%} of frames dropped at random (seed {seed})",
                        {"share": share, "seed": seed}, make, None, 1.0 - share)


def _in_burst(t: float, burst_s: float, every_s: float) -> bool:
    first = every_s / 2
    return t >= first and (t - first) % every_s < burst_s


def _drop_bursts(burst_s: float, every_s: float) -> Perturbation:
    def make(clip: Clip, info) -> Any:
        return _filtered(clip, info, lambda f: not _in_burst(f.t, burst_s, every_s))

    return Perturbation("burst", "video", f"{burst_s:g} s of frames lost every {every_s:g} s (from {every_s / 2:g} s)",
                        {"burst_s": burst_s, "every_s": every_s, "first_s": every_s / 2}, make, None,
                        1.0 - burst_s / every_s)


def clip_rate(info, baseline=None) -> float:
    """Frames a second: from the baseline track's timestamps when given, else the container's."""
    if baseline is not None and len(baseline.t) > 1:
        return 1.0 / float(np.median(np.diff(baseline.t)))
    return float(info.fps)


def _stride(s: int) -> Perturbation:
    def make(clip: Clip, info) -> Any:
        return _filtered(clip, info, lambda f: f.index % s == 0, fps=info.fps / s)  # a video at fps / s

    def check(clip: Clip, info, v) -> str | None:
        rate = clip_rate(info)
        if rate > 0 and rate / s < MIN_RATE_HZ * RATE_GRACE:
            return f"{rate:.3g} fps / {s} = {rate / s:.2g} Hz < {MIN_RATE_HZ:g} Hz"
        return None

    nth = {2: "2nd", 3: "3rd"}.get(s, f"{s}th")
    return Perturbation(f"stride{s}", "video", f"the model on every {nth} frame only (>= {MIN_RATE_HZ:g} Hz)",
                        {"stride": s, "min_hz": MIN_RATE_HZ}, make, check, 1.0 / s)


def _mirror() -> Perturbation:
    def make(clip: Clip, info) -> Any:
        import cv2

        frames = _frames(clip, _video_config().max_side)
        try:
            return _stream(clip, info, (dataclasses.replace(f, image=cv2.flip(f.image, 1)) for f in frames))
        finally:
            frames.close()

    return Perturbation("mirror", "video", "each frame flipped left-right before the model", {"flip": 1}, make)


def _resize(scale: float, name: str) -> Perturbation:
    """The video at another resolution: the decoded frame resized, then formcheck's own
    downscale to `max_side` (so `double` of a 1280-px clip comes back to 1280 px); the track is
    in the resized video's pixels, as it would be for a video filmed at that size."""

    def make(clip: Clip, info) -> Any:
        import cv2

        scale_frame = fc("frames").scale_frame
        max_side = _video_config().max_side
        size = (max(1, round(info.width * scale)), max(1, round(info.height * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR

        def changed(frames: Iterable[Any]) -> Iterator[Any]:
            for f in frames:
                img = cv2.resize(f.image, size, interpolation=interp)
                yield dataclasses.replace(f, image=scale_frame(img, max_side))

        frames = _frames(clip, None)
        try:
            return _stream(clip, info, changed(frames), size)
        finally:
            frames.close()

    return Perturbation(name, "video", f"the video at {scale:g}x resolution (then formcheck's max_side)",
                        {"scale": scale}, make)


def torso_px(track) -> float:
    """The clip's median torso length in image pixels (shoulder midpoint to hip midpoint)."""
    tk = fc("track")
    L_HIP, L_SHOULDER, R_HIP, R_SHOULDER = tk.L_HIP, tk.L_SHOULDER, tk.R_HIP, tk.R_SHOULDER
    im = track.image[:, :, :2]
    d = np.linalg.norm(im[:, [L_SHOULDER, R_SHOULDER]].mean(axis=1) - im[:, [L_HIP, R_HIP]].mean(axis=1), axis=1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if len(d) else math.nan


def _torso_world(track) -> float:
    tk = fc("track")
    L_HIP, L_SHOULDER, R_HIP, R_SHOULDER = tk.L_HIP, tk.L_SHOULDER, tk.R_HIP, tk.R_SHOULDER
    w = track.world
    d = np.linalg.norm(w[:, [L_SHOULDER, R_SHOULDER]].mean(axis=1) - w[:, [L_HIP, R_HIP]].mean(axis=1), axis=1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if len(d) else math.nan


def _noise(frac: float, seed: int) -> Perturbation:
    def make(base) -> Any:
        rng = np.random.default_rng([seed, 1414])
        sigma = frac * torso_px(base)
        if not np.isfinite(sigma):
            return base
        image = base.image.copy()
        world = base.world.copy()
        image[:, :, :2] += rng.normal(0.0, sigma, image[:, :, :2].shape)  # NaN rows stay NaN
        sigma_w = sigma * _torso_world(base) / torso_px(base)  # the same share of the torso, in metres
        if np.isfinite(sigma_w):
            world += rng.normal(0.0, sigma_w, world.shape)
        return dataclasses.replace(base, image=image, world=world, meta={**base.meta, "noise_px": sigma})

    return Perturbation(f"noise_s{seed}", "track",
                        f"Gaussian landmark noise, {frac:.1%} of the torso (image x, y; world x, y, z in proportion), "
                        f"seed {seed}", {"torso_frac": frac, "seed": seed}, make)


def _body() -> list[int]:
    """Shoulders, hips, knees, ankles: the landmarks every rule reads."""
    tk = fc("track")
    return [tk.L_SHOULDER, tk.R_SHOULDER, tk.L_HIP, tk.R_HIP, tk.L_KNEE, tk.R_KNEE, tk.L_ANKLE, tk.R_ANKLE]


def tracker_jitter(track) -> float:
    """The tracker's own frame-to-frame jitter, as a share of the torso length.

    Residual of each body landmark (shoulders, hips, knees, ankles; x and y) from the mean of its
    two neighbouring frames, r = x[i] - (x[i-1] + x[i+1]) / 2; for white noise of sigma s,
    std(r) = s * sqrt(1.5). Robust (MAD) so that fast moves and edit cuts do not dominate. Slow
    motion adds a little; MediaPipe's own landmark filter hides slow errors: a lower bound on
    the per-frame error, an upper bound on the white part of it.
    """
    body = _body()
    x = track.image[:, body, :2]
    if len(x) < 3:
        return math.nan
    r = x[1:-1] - (x[:-2] + x[2:]) / 2
    r = r[np.isfinite(r)]
    if not len(r):
        return math.nan
    mad = float(np.median(np.abs(r - np.median(r))))
    return 1.4826 * mad / math.sqrt(1.5) / torso_px(track)


def run_to_run(a, b) -> float:
    """How far two tracks of the same frames disagree (e.g. the baseline and `chunks1`, which
    differ after the cut), as the sigma of one track's error, a share of the torso length:
    robust std of the x, y differences of the body landmarks / sqrt(2), over the frames where the
    two differ at all. NaN when they share no differing frame."""
    if len(a.t) != len(b.t) or not np.array_equal(a.t, b.t):
        return math.nan
    body = _body()
    d = a.image[:, body, :2] - b.image[:, body, :2]
    differ = np.nan_to_num(np.abs(d), nan=0.0).max(axis=(1, 2)) > 0
    d = d[differ]
    d = d[np.isfinite(d)]
    if not len(d):
        return math.nan
    return 1.4826 * float(np.median(np.abs(d))) / math.sqrt(2) / torso_px(a)


# --------------------------------------------------------------------------- the cache


def formcheck_dir() -> Path:
    """The formcheck package being run (the checkout's src/formcheck, or another via PYTHONPATH)."""
    import formcheck

    return Path(formcheck.__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def tracker_hash() -> str:
    """What the tracks depend on: the tracker's source, the model, the video defaults, versions."""
    import importlib.metadata

    from formcheck.config import VideoConfig

    h = hashlib.sha256()
    for name in TRACKER_FILES:
        if (formcheck_dir() / name).is_file():
            h.update(name.encode() + b"\0" + (formcheck_dir() / name).read_bytes())
    h.update(fc("model").default_model_path().read_bytes())
    h.update(repr(VideoConfig()).encode())
    for dist in ("mediapipe", "opencv-contrib-python"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            h.update(f"{dist}={importlib.metadata.version(dist)}".encode())
    return h.hexdigest()


def cache_path(clip: Clip, p: Perturbation, cache: Path) -> Path:
    run = {"model_hz": model_hz()} if model_hz() else {}  # every-frame keys as before
    key = json.dumps({"clip": clip.fingerprint(), "perturbation": p.name, "params": p.params,
                      "tracker": tracker_hash(), **run}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(cache) / f"{clip.stem}.{p.name}.{digest}.npz"


def ensure_cache(cache: Path) -> Path:
    """Make the cache folder, with a `.gitignore` of `*` so that git never sees it."""
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    ignore = cache / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# the stability harness's track cache (bench/perturb.py): never committed\n*\n")
    return cache


@dataclass(frozen=True)
class TrackResult:
    """What making one perturbed track gave: a track in the cache, or why not."""

    clip: str
    perturbation: str
    status: str  # "tracked", "cached", "=baseline", "skipped", "error"
    detail: str = ""  # the skip reason or the error
    frames: int = 0
    seconds: float = 0.0


def _info(clip: Clip):
    return fc("video").probe(clip.path)


def make_track(clip: Clip, name: str, cache: Path = DEFAULT_CACHE) -> TrackResult:
    """Make (or find) the cached track of a video-level perturbation. Never raises."""
    t0 = time.perf_counter()
    try:
        p = get(name)
        if p.kind != "video":
            return TrackResult(clip.name, name, "skipped", "track-level: made from the baseline on demand")
        info = _info(clip)
        reason = p.check(clip, info, _video_config()) if p.check else None
        if reason is not None:
            if reason == "=baseline":
                return TrackResult(clip.name, name, "=baseline", "the same cut as the baseline")
            return TrackResult(clip.name, name, "skipped", reason)
        out = cache_path(clip, p, cache)
        if out.is_file():
            return TrackResult(clip.name, name, "cached")
        track = p.make(clip, info)
        track = dataclasses.replace(track, meta={**track.meta, "perturbation": name, "params": p.params})
        ensure_cache(out.parent)
        track.save(out)
        return TrackResult(clip.name, name, "tracked", "", len(track), time.perf_counter() - t0)
    except Exception as exc:  # reported, never a crash
        return TrackResult(clip.name, name, "error", _one_line(exc), 0, time.perf_counter() - t0)


def _one_line(exc: BaseException) -> str:
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}".replace("\n", " ")


def not_applicable(clip: Clip, name: str) -> str | None:
    """Why perturbation `name` is not run on this clip (e.g. it would go below 10 Hz), or None."""
    p = get(name)
    reason = p.check(clip, _info(clip), _video_config()) if p.check else None
    return None if reason == "=baseline" else reason


def load_track(clip: Clip, name: str, cache: Path = DEFAULT_CACHE, baseline=None):
    """The track of `name` for `clip`: from the cache (video-level; made if missing), or made
    from the baseline (track-level). None when the perturbation does not apply to this clip."""
    PoseTrack = fc("track").PoseTrack
    p = get(name)
    if p.kind == "track":
        base = baseline if baseline is not None else load_track(clip, BASELINE, cache)
        return p.make(base)
    info = _info(clip)
    reason = p.check(clip, info, _video_config()) if p.check else None
    if reason == "=baseline":
        return baseline if baseline is not None else load_track(clip, BASELINE, cache)
    if reason is not None:
        return None
    out = cache_path(clip, p, cache)
    if not out.is_file():
        r = make_track(clip, name, cache)
        if r.status == "error":
            raise RuntimeError(r.detail)
    return PoseTrack.load(out)


# --------------------------------------------------------------------------- what must not change


@dataclass(frozen=True)
class Summary:
    exercise: str
    n_full: int
    tops_s: tuple[float, ...]  # full reps' tops, seconds from the clip's start (true timestamps)
    verdicts: tuple[dict[str, str], ...]  # per full rep: {rule: status}
    spans_s: tuple[tuple[float, float], ...] = ()  # per full rep: (start_s, end_s)
    n_partial: int = 0
    frames: int = 0
    # per full rep: the rules whose verdict was sure (high confidence): a change of one of these in
    # a run that was sure too is a flip the report did not warn of (Comparison.sure_changed)
    sure: tuple[frozenset[str], ...] = ()


def _value(x: Any) -> str:
    return str(getattr(x, "value", x))


def summarize(analysis: Any) -> Summary:
    """(exercise, full-rep count, full-rep tops, per-full-rep verdicts) of a pipeline.Analysis."""
    reps = list(analysis.reps)
    checks = list(analysis.checks) if len(analysis.checks) == len(reps) else [()] * len(reps)
    full = [(r, c) for r, c in zip(reps, checks, strict=True) if not getattr(r, "partial", False)]
    return Summary(
        exercise=_value(analysis.exercise),
        n_full=len(full),
        tops_s=tuple(round(float(r.top_s), 4) for r, _ in full),
        verdicts=tuple({c.rule: _value(c.verdict) for c in cs} for _, cs in full),
        spans_s=tuple((round(float(r.start_s), 4), round(float(r.end_s), 4)) for r, _ in full),
        sure=tuple(frozenset(c.rule for c in cs if getattr(c, "sure", False) and c.value is not None)
                   for _, cs in full),
        n_partial=len(reps) - len(full),
        frames=len(analysis.track),
    )


def match_tops(a: tuple[float, ...], b: tuple[float, ...], tol: float = TOP_TOL_S,
               ok: Callable[[int, int], bool] | None = None) -> list[tuple[int, int]]:
    """One-to-one pairs (i, j) with |a[i] - b[j]| <= tol (or, given `ok`, ok(i, j)), nearest first."""
    cand = sorted((abs(x - y), i, j) for i, x in enumerate(a) for j, y in enumerate(b)
                  if (ok(i, j) if ok is not None else abs(x - y) <= tol + 1e-9))
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for _, i, j in cand:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return sorted(pairs)


@dataclass(frozen=True)
class Comparison:
    count_same: bool
    class_same: bool
    tops_ok: bool  # every baseline top has a perturbed top within TOP_TOL_S, and vice versa
    unmatched_base: tuple[float, ...]
    unmatched_pert: tuple[float, ...]
    verdicts_changed: int  # over the same reps in both (see `same_reps`), rules in both
    verdicts_compared: int
    changed_rules: tuple[str, ...] = ()
    reps_paired: int = 0  # full reps compared for verdicts
    sure_changed: int = 0  # of verdicts_changed: the ones both runs called sure (no warning given)

    @property
    def stable(self) -> bool:
        return self.count_same and self.class_same and self.tops_ok

    @property
    def verdict_share(self) -> float:
        return self.verdicts_changed / self.verdicts_compared if self.verdicts_compared else 0.0


def same_reps(base: Summary, pert: Summary) -> list[tuple[int, int]]:
    """Pairs of full reps that are the same rep for the verdict comparison: each one's top lies
    inside the other's start..end (a held top may move by more than 0.1 s and still be the rep)."""

    def inside(t: float, span: tuple[float, float]) -> bool:
        return span[0] - 1e-9 <= t <= span[1] + 1e-9

    if len(base.spans_s) != base.n_full or len(pert.spans_s) != pert.n_full:
        return match_tops(base.tops_s, pert.tops_s)
    return match_tops(base.tops_s, pert.tops_s, ok=lambda i, j: inside(pert.tops_s[j], base.spans_s[i])
                      and inside(base.tops_s[i], pert.spans_s[j]))


def compare(base: Summary, pert: Summary, tol: float = TOP_TOL_S) -> Comparison:
    """What changed: count, class, tops (±tol, one to one), and the verdicts of the same reps."""
    pairs = match_tops(base.tops_s, pert.tops_s, tol)
    mb = {i for i, _ in pairs}
    mp = {j for _, j in pairs}
    changed = compared = sure = 0
    rules: set[str] = set()
    same = same_reps(base, pert)
    for i, j in same:
        va, vb = base.verdicts[i], pert.verdicts[j]
        both_sure = (base.sure[i] & pert.sure[j]) if base.sure and pert.sure else frozenset()
        for rule in va.keys() & vb.keys():
            compared += 1
            if va[rule] != vb[rule]:
                changed += 1
                sure += rule in both_sure
                rules.add(rule)
    return Comparison(
        count_same=base.n_full == pert.n_full,
        class_same=base.exercise == pert.exercise,
        tops_ok=len(mb) == len(base.tops_s) and len(mp) == len(pert.tops_s),
        unmatched_base=tuple(t for i, t in enumerate(base.tops_s) if i not in mb),
        unmatched_pert=tuple(t for j, t in enumerate(pert.tops_s) if j not in mp),
        verdicts_changed=changed,
        verdicts_compared=compared,
        changed_rules=tuple(sorted(rules)),
        reps_paired=len(same),
        sure_changed=sure,
    )


def analyze(track) -> Summary:
    return summarize(fc("analyze").analyze_track(track))


@dataclass(frozen=True)
class Row:
    """One clip under one perturbation."""

    clip: str
    perturbation: str
    status: str  # "ok" (compared), "skipped", "error"
    detail: str = ""
    summary: Summary | None = None
    comparison: Comparison | None = None


def clip_rows(clip: Clip, names: Iterable[str], cache: Path = DEFAULT_CACHE) -> tuple[Summary | None, str, list[Row]]:
    """Analyse the baseline and every perturbation of one clip. Never raises: a failure is a row.

    Returns (baseline summary or None, baseline error or "", rows)."""
    try:
        base_track = load_track(clip, BASELINE, cache)
        base = analyze(base_track)
    except Exception as exc:
        msg = _one_line(exc)
        return None, msg, [Row(clip.name, n, "error", f"baseline: {msg}") for n in names]
    rows = []
    for name in names:
        try:
            p = get(name)
            track = load_track(clip, name, cache, baseline=base_track)
            if track is None:
                rows.append(Row(clip.name, name, "skipped", not_applicable(clip, name) or "n/a"))
                continue
            s = analyze(track)
            note = "same cut as baseline" if track is base_track and p.kind == "video" else ""
            rows.append(Row(clip.name, name, "ok", note, s, compare(base, s)))
        except Exception as exc:
            rows.append(Row(clip.name, name, "error", _one_line(exc)))
    return base, "", rows
