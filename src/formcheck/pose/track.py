"""The pose track: what the model saw, frame by frame, as plain arrays.

Landmark indices follow MediaPipe's 33-point BlazePose topology. A frame where no person
was found is a row of NaN (a gap), never zeros, so later stages cannot mistake it for a pose.
Tracks are saved as compressed .npz so a set can be re-scored without the video.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from formcheck.errors import NotAVideo
from formcheck.util.atomic import atomic_path

TRACK_FORMAT = "formcheck-track"
TRACK_VERSION = 1
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

    def __post_init__(self) -> None:
        n = len(self.t)
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

    @property
    def detected(self) -> np.ndarray:
        """(N,) bool: frames where a person was found."""
        return ~np.isnan(self.image[:, 0, 0])

    @property
    def duration_s(self) -> float:
        if len(self.t) == 0:
            return 0.0
        step = float(np.median(np.diff(self.t))) if len(self.t) > 1 else 0.0
        return float(self.t[-1] - self.t[0]) + step

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically (temp name, then rename), so no half-written track is left."""
        path = Path(path)
        header = {
            "format": TRACK_FORMAT,
            "version": TRACK_VERSION,
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
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PoseTrack:
        try:
            with np.load(path, allow_pickle=False) as z:
                header = json.loads(bytes(z["header"]).decode())
                if header.get("format") != TRACK_FORMAT:
                    raise ValueError("not a formcheck track")
                if int(header.get("version", 0)) > TRACK_VERSION:
                    raise ValueError(f"track version {header['version']} is newer than this formcheck")
                return cls(
                    t=z["t"].astype(np.float64),
                    image=z["image"].astype(np.float64),
                    world=z["world"].astype(np.float64),
                    visibility=z["visibility"].astype(np.float64),
                    width=int(header["width"]),
                    height=int(header["height"]),
                    source=str(header.get("source", "")),
                    fps=float(header.get("fps", 0.0)),
                    frames_expected=int(header.get("frames_expected", 0)),
                    meta=dict(header.get("meta", {})),
                )
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise NotAVideo(
                f"{path}: not a readable formcheck pose track ({exc}); save it again with formcheck VIDEO --save-poses"
            ) from exc


def is_track_file(path: str | os.PathLike[str]) -> bool:
    """A saved track is a zip (npz); sniff the magic rather than trust the extension."""
    if not str(path).endswith(".npz") or not Path(path).is_file():  # never open a pipe: it would block
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def empty_arrays(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    nan3 = np.full((n, N_LANDMARKS, 3), np.nan)
    return nan3, nan3.copy(), np.full((n, N_LANDMARKS), np.nan)
