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
    """dev_track(file_name, model_hz=0) -> PoseTrack, running the pose model once per video and
    rate per session (model_hz as `[video] model_hz`: 0 every frame, FAST_HZ for --fast)."""
    import dataclasses

    from formcheck.config import Config
    from formcheck.pipeline.analyze import track_video
    from formcheck.pose.track import PoseTrack

    cache = tmp_path_factory.mktemp("tracks")
    made: dict[tuple[str, float], Path] = {}

    def get(name: str, model_hz: float = 0.0) -> PoseTrack:
        folder = require_samples()
        if (name, model_hz) not in made:
            cfg = Config()
            cfg = dataclasses.replace(cfg, video=dataclasses.replace(cfg.video, model_hz=model_hz))
            track = track_video(folder / name, cfg)
            made[name, model_hz] = cache / f"{Path(name).stem}.{model_hz:g}.npz"
            track.save(made[name, model_hz])
        return PoseTrack.load(made[name, model_hz])

    return get
