"""Shared fixtures: the dev videos (../shared/samples) and their pose tracks, made once per session."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path(os.environ.get("FORMCHECK_SAMPLES", ROOT.parent / "shared" / "samples"))
SHIPPED = ROOT / "samples"


def dev_labels() -> list[dict]:
    path = SAMPLES / "labels.json"
    if not path.is_file():
        return []
    return json.loads(path.read_text())


def require_samples() -> Path:
    if not (SAMPLES / "labels.json").is_file():
        pytest.skip(f"dev videos not found at {SAMPLES} (CI has ../shared/samples beside the checkout)")
    return SAMPLES


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return require_samples()


@pytest.fixture(scope="session")
def dev_track(tmp_path_factory: pytest.TempPathFactory):
    """dev_track(file_name) -> PoseTrack, running the pose model once per video per session."""
    from formcheck.config import Config
    from formcheck.pipeline.analyze import track_video
    from formcheck.pose.track import PoseTrack

    cache = tmp_path_factory.mktemp("tracks")
    made: dict[str, Path] = {}

    def get(name: str) -> PoseTrack:
        folder = require_samples()
        if name not in made:
            track = track_video(folder / name, Config())
            made[name] = cache / (Path(name).stem + ".npz")
            track.save(made[name])
        return PoseTrack.load(made[name])

    return get
