"""The batch's pose-track cache: a video is tracked once; new outputs or new thresholds re-render from it.

The model is the slow part of a batch (minutes for a week of clips); everything after it
(scoring, the JSON, CSV, HTML and annotated video) takes a second or two a file. So each video's
track is kept in the batch's own folder, `STATE_DIR/tracks/<name>.npz`, under a key made of the
input's sha256 and what shapes a track: the `[video]` config (the model rate, chunks...), the model
file and the formcheck version. A rerun whose key matches loads the track instead of running the
model. The file keeps every array at full precision (PoseTrack.save stores float32 for sharing),
so a report from the cache is the same, byte for byte, as the run that tracked it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from formcheck import __version__
from formcheck.apps.batch.inputs import STATE_DIR
from formcheck.config import Config
from formcheck.pose.track import PoseTrack
from formcheck.util.atomic import atomic_path

TRACKS_DIR = "tracks"  # below STATE_DIR
CACHE_FORMAT = "formcheck.batch-track/1"


def track_settings_key(config: Config, model_id: str) -> str:
    """What a pose track depends on besides the input's content: not the rules, smoothing or reps
    (changing a threshold re-scores from the cache), nor the worker count (the chunks are fixed)."""
    video = {k: v for k, v in dataclasses.asdict(config.video).items() if k != "workers"}
    payload = {"video": video, "model": model_id, "formcheck": __version__}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def cache_key(input_sha256: str, settings_key: str) -> str:
    return hashlib.sha256(f"{input_sha256}:{settings_key}".encode()).hexdigest()


def cache_path(out: Path, name: str) -> Path:
    return out / STATE_DIR / TRACKS_DIR / f"{name}.npz"


def load_cached(out: Path, name: str, key: str) -> PoseTrack | None:
    """The cached track of `name` if it was made under `key`; None if absent, stale or unreadable
    (then the video is tracked again: the cache can cost time, never a result)."""
    path = cache_path(out, name)
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            if header.get("format") != CACHE_FORMAT or header.get("key") != key:
                return None
            return PoseTrack(t=z["t"], image=z["image"], world=z["world"], visibility=z["visibility"],
                             width=int(header["width"]), height=int(header["height"]), source=str(header["source"]),
                             fps=float(header["fps"]), frames_expected=int(header["frames_expected"]),
                             meta=dict(header["meta"]), modelled=z["modelled"])
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile):
        return None


def save_cached(out: Path, name: str, key: str, track: PoseTrack, temp_dir: Path | None = None) -> None:
    """Keep `track` for reruns (atomically: a killed write leaves the old file or none)."""
    header = {"format": CACHE_FORMAT, "key": key, "width": track.width, "height": track.height,
              "source": track.source, "fps": track.fps, "frames_expected": track.frames_expected,
              "meta": track.meta}
    with atomic_path(cache_path(out, name), temp_dir=temp_dir) as tmp, tmp.open("wb") as fh:
        np.savez_compressed(fh, header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8), t=track.t,
                            image=track.image, world=track.world, visibility=track.visibility,
                            modelled=track.modelled)
