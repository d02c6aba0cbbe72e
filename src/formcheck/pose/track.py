"""The pose track: what the model saw, frame by frame, as plain arrays.

Landmark indices follow MediaPipe's 33-point BlazePose topology. A frame where no person
was found is a row of NaN (a gap), never zeros, so later stages cannot mistake it for a pose.
Tracks are saved as compressed .npz so a set can be re-scored without the video.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from formcheck.errors import NotAVideo
from formcheck.util.atomic import atomic_path

TRACK_FORMAT = "formcheck-track"
TRACK_VERSION = 2  # 2: some frames were skipped by the model (`modelled`); 1: every frame modelled
N_LANDMARKS = 33

# BlazePose landmark indices used by formcheck.
NOSE, L_EAR, R_EAR = 0, 7, 8
L_SHOULDER, R_SHOULDER = 11, 12
L_ELBOW, R_ELBOW = 13, 14
L_WRIST, R_WRIST = 15, 16
L_HIP, R_HIP = 23, 24
L_KNEE, R_KNEE = 25, 26
L_ANKLE, R_ANKLE = 27, 28
L_HEEL, R_HEEL = 29, 30
L_FOOT, R_FOOT = 31, 32  # foot index (toe)

SKELETON: tuple[tuple[int, int], ...] = (
    (L_SHOULDER, R_SHOULDER), (L_HIP, R_HIP), (L_SHOULDER, L_HIP), (R_SHOULDER, R_HIP),
    (L_SHOULDER, L_ELBOW), (L_ELBOW, L_WRIST), (R_SHOULDER, R_ELBOW), (R_ELBOW, R_WRIST),
    (L_HIP, L_KNEE), (L_KNEE, L_ANKLE), (R_HIP, R_KNEE), (R_KNEE, R_ANKLE),
    (L_ANKLE, L_HEEL), (L_HEEL, L_FOOT), (L_ANKLE, L_FOOT),
    (R_ANKLE, R_HEEL), (R_HEEL, R_FOOT), (R_ANKLE, R_FOOT),
    (L_EAR, L_SHOULDER), (R_EAR, R_SHOULDER),
)  # fmt: skip


@dataclass(frozen=True)
class PoseTrack:
    """One person's landmarks over a video.

    t: (N,) seconds. image: (N, 33, 3) x, y in pixels of the (rotated) frame, y down, and
    z (MediaPipe's relative depth, in the same pixel scale). world: (N, 33, 3) metres,
    hip-centred, y down. visibility: (N, 33) in [0, 1]. Rows with no person are NaN.
    modelled: (N,) bool, the frames the model saw (`[video] model_hz`); the others are NaN
    rows here, filled in time before smoothing (formcheck.analysis.smoothing.fill_skipped).
    """

    t: np.ndarray
    image: np.ndarray
    world: np.ndarray
    visibility: np.ndarray
    width: int
    height: int
    source: str = ""
    fps: float = 0.0
    frames_expected: int = 0  # frames the container announced; more than len(t) if it was cut
    meta: dict[str, object] = field(default_factory=dict, compare=False)
    modelled: np.ndarray = field(default_factory=lambda: np.ones(0, bool), compare=False)  # empty: all

    def __post_init__(self) -> None:
        n = len(self.t)
        seen = np.ones(n, bool) if len(self.modelled) == 0 else np.asarray(self.modelled, bool)
        if seen.shape != (n,):
            raise ValueError(f"modelled must be ({n},): cut a track with PoseTrack.take, which cuts every array")
        object.__setattr__(self, "modelled", seen)
        if self.image.shape != (n, N_LANDMARKS, 3) or self.world.shape != (n, N_LANDMARKS, 3):
            raise ValueError(f"landmark arrays must be ({n}, 33, 3)")
        if self.visibility.shape != (n, N_LANDMARKS):
            raise ValueError(f"visibility must be ({n}, 33)")
        if n > 1 and np.any(np.diff(self.t) <= 0):
            raise ValueError("timestamps must increase")
        # A file name that is not valid UTF-8 (bytes kept as surrogates) cannot be written to
        # JSON, CSV or HTML: the source is a display name, so its undecodable bytes become U+FFFD.
        text = self.source.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        object.__setattr__(self, "source", text)

    def __len__(self) -> int:
        return len(self.t)

    def take(self, rows: slice | np.ndarray) -> PoseTrack:
        """The track at these rows (a slice, indices or a mask, in time order): every per-frame array cut alike."""
        return replace(self, t=self.t[rows], image=self.image[rows], world=self.world[rows],
                       visibility=self.visibility[rows], modelled=self.modelled[rows])

    @property
    def detected(self) -> np.ndarray:
        """(N,) bool: frames where a person was found (or filled in, between two that had one)."""
        return ~np.isnan(self.image[:, 0, 0])

    @property
    def found_fraction(self) -> float:
        """The share of the frames the model saw in which it found a person."""
        seen = self.modelled
        return float(self.detected[seen].mean()) if seen.any() else 0.0

    @property
    def duration_s(self) -> float:
        if len(self.t) == 0:
            return 0.0
        step = float(np.median(np.diff(self.t))) if len(self.t) > 1 else 0.0
        return float(self.t[-1] - self.t[0]) + step

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically (temp name, then rename), so no half-written track is left."""
        path = Path(path)
        every = bool(self.modelled.all())
        header = {
            "format": TRACK_FORMAT,
            "version": 1 if every else TRACK_VERSION,  # a track of every frame stays readable by 0.1
            "width": self.width,
            "height": self.height,
            "source": self.source,
            "fps": self.fps,
            "frames_expected": self.frames_expected,
            "meta": self.meta,
        }
        with atomic_path(path) as tmp, tmp.open("wb") as fh:  # OSError -> OutputError
            np.savez_compressed(
                fh,
                header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
                t=self.t.astype(np.float64),
                image=self.image.astype(np.float32),
                world=self.world.astype(np.float32),
                visibility=self.visibility.astype(np.float32),
                **({} if every else {"modelled": self.modelled.astype(np.uint8)}),  # type: ignore[arg-type]
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PoseTrack:
        """Read a saved track, checking every size it declares before memory is spent on it and
        every header field and array shape after (NotAVideo, exit 4, saying what is wrong)."""
        try:
            header, arrays = _read_checked(path)
            return cls(
                t=arrays["t"], image=arrays["image"], world=arrays["world"], visibility=arrays["visibility"],
                width=header["width"], height=header["height"], source=header["source"], fps=header["fps"],
                frames_expected=header["frames_expected"], meta=header["meta"],
                modelled=arrays.get("modelled", np.ones(0, bool)),
            )
        except (OSError, ValueError, KeyError, EOFError, RecursionError, zipfile.BadZipFile) as exc:
            why = str(exc) if not isinstance(exc, KeyError) else f"{exc.args[0]} is missing"
            raise NotAVideo(
                f"{path}: not a readable formcheck pose track ({why}); save it again with formcheck VIDEO --save-poses"
            ) from exc


# Bounds on what a track file may declare, checked before anything is decompressed.
MAX_FRAMES = 1_000_000  # 9 h at 30 fps; each frame is 400 bytes per array once loaded
MAX_SIDE = 16384
MAX_HEADER_BYTES = 1 << 16
MIN_STEP_S = 1e-4  # no camera films at 10 kHz
_SHAPES = {"t": (), "image": (N_LANDMARKS, 3), "world": (N_LANDMARKS, 3), "visibility": (N_LANDMARKS,)}


def _read_checked(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: i for i in zf.infolist()}
        for name in ("header", *_SHAPES):
            if f"{name}.npy" not in members:
                raise ValueError(f"no '{name}' array")
        header = _header(_read_member(zf, members["header.npy"], (None,), MAX_HEADER_BYTES, np.uint8))
        t = _read_member(zf, members["t.npy"], (None,), 8 * MAX_FRAMES + 4096, np.floating)
        n = len(t)
        if n == 0:
            raise ValueError("it holds no frames")
        if n > MAX_FRAMES:
            raise ValueError(f"{n} frames, more than {MAX_FRAMES:,}")
        arrays = {"t": t.astype(np.float64)}
        for name, tail in list(_SHAPES.items())[1:]:
            a = _read_member(zf, members[f"{name}.npy"], (n, *tail), 8 * n * int(np.prod(tail)) + 4096, np.floating)
            if np.isinf(a).any():
                raise ValueError(f"'{name}' holds infinite values")
            arrays[name] = a.astype(np.float64)
        if "modelled.npy" in members:  # version 2: the frames the model saw
            seen = _read_member(zf, members["modelled.npy"], (n,), n + 4096, np.integer)
            if not np.isin(seen, (0, 1)).all():
                raise ValueError("'modelled' holds values other than 0 and 1")
            arrays["modelled"] = seen.astype(bool)
    t = arrays["t"]
    if not np.isfinite(t).all():
        raise ValueError("timestamps hold NaN or infinite values")
    if n > 1 and np.diff(t).min() < MIN_STEP_S:
        raise ValueError(f"timestamps must increase by at least {MIN_STEP_S} s a frame")
    if t[-1] - t[0] > 86400:
        raise ValueError("timestamps span more than a day")
    return header, arrays


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int | None, ...], max_bytes: int,
                 kind: type) -> np.ndarray:
    """One .npy member, its declared sizes (zip entry, then array header) checked before it is read."""
    name = info.filename.removesuffix(".npy")
    if info.file_size > max_bytes:
        raise ValueError(f"'{name}' declares {info.file_size:,} bytes, more than its {max_bytes:,}")
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        got, fortran, dtype = read_header(fh)
        if len(got) != len(shape) or any(w is not None and g != w for g, w in zip(got, shape, strict=False)):
            want = "(" + ", ".join("n" if w is None else str(w) for w in shape) + ")"
            raise ValueError(f"'{name}' has shape {got}, expected {want}")
        if dtype.hasobject or not np.issubdtype(dtype, kind):
            want_type = "float" if kind is np.floating else "uint8"
            raise ValueError(f"'{name}' has type {dtype}, expected {want_type}")
        if int(np.prod(got)) * dtype.itemsize > max_bytes:
            raise ValueError(f"'{name}' declares {got}, too large")
        data = fh.read(int(np.prod(got)) * dtype.itemsize)
    a = np.frombuffer(data, dtype=dtype)
    if a.size != int(np.prod(got)):
        raise ValueError(f"'{name}' is cut short")
    return a.reshape(got, order="F" if fortran else "C")


def _header(raw: np.ndarray) -> dict[str, Any]:
    try:
        h = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"its header is not JSON ({exc})") from exc
    if not isinstance(h, dict):
        raise ValueError(f"its header is a {type(h).__name__}, not a table")
    if h.get("format") != TRACK_FORMAT:
        raise ValueError("not a formcheck track")

    def whole(key: str, lo: int, hi: int, default: int | None = None) -> int:
        v = h.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ValueError(f"header '{key}' is {json.dumps(v)[:40]}, expected a whole number {lo} to {hi:,}")
        return v

    version = whole("version", 1, 1 << 30)
    if version > TRACK_VERSION:
        raise ValueError(f"track version {version} is newer than this formcheck")
    fps = h.get("fps", 0.0)
    if isinstance(fps, bool) or not isinstance(fps, int | float) or not 0 <= fps <= 10_000:
        raise ValueError(f"header 'fps' is {json.dumps(fps)[:40]}, expected a number 0 to 10,000")
    source, meta = h.get("source", ""), h.get("meta", {})
    if not isinstance(source, str) or len(source) > 4096:
        raise ValueError("header 'source' is not a name")
    if not isinstance(meta, dict):
        raise ValueError(f"header 'meta' is a {type(meta).__name__}, not a table")
    return {"width": whole("width", 1, MAX_SIDE), "height": whole("height", 1, MAX_SIDE), "source": source,
            "fps": float(fps), "frames_expected": whole("frames_expected", 0, MAX_FRAMES, 0), "meta": meta}


def is_track_file(path: str | os.PathLike[str]) -> bool:
    """A saved track is a zip (npz); sniff the magic rather than trust the extension."""
    if not str(path).lower().endswith(".npz") or not Path(path).is_file():  # never open a pipe: it would block
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def empty_arrays(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nan3 = np.full((n, N_LANDMARKS, 3), np.nan)
    return nan3, nan3.copy(), np.full((n, N_LANDMARKS), np.nan)
