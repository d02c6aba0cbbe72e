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


def shared_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every pytest-xdist worker of this run sees (the workers' own base temps share a parent)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def dev_track(tmp_path_factory: pytest.TempPathFactory):
    """dev_track(file_name, model_hz=0) -> PoseTrack, running the pose model once per video and
    rate per test run (model_hz as `[video] model_hz`: 0 every frame, FAST_HZ for --fast).

    Under pytest-xdist (`make test` runs two workers) the tracks are shared through files, one
    lock per track: the worker that asks first tracks, the other waits and loads it.
    """
    import dataclasses
    import fcntl

    from formcheck.config import Config
    from formcheck.pipeline.analyze import track_video
    from formcheck.pose.track import PoseTrack

    cache = shared_tmp(tmp_path_factory) / "dev-tracks"
    cache.mkdir(exist_ok=True)

    def get(name: str, model_hz: float = 0.0) -> PoseTrack:
        folder = require_samples()
        path = cache / f"{Path(name).stem}.{model_hz:g}.npz"
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not path.is_file():
                cfg = Config()
                cfg = dataclasses.replace(cfg, video=dataclasses.replace(cfg.video, model_hz=model_hz))
                tmp = path.with_suffix(".part.npz")
                track_video(folder / name, cfg).save(tmp)
                tmp.replace(path)
        return PoseTrack.load(path)

    return get


# Timing-sensitive tests (a paced clock, a deadline, a busy-machine check) run on their own after
# the parallel part of `make test`, so the other worker's load cannot fail them.
SERIAL_FILES = ("test_live.py", "test_live_streams.py", "test_live_window.py")
SERIAL_TESTS = ("test_memory_does_not_grow_with_video_length",)  # tracemalloc sees xdist's own threads


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the timing-sensitive tests `serial` (before `-m` selects)."""
    for item in items:
        if item.path.name in SERIAL_FILES or getattr(item, "originalname", item.name) in SERIAL_TESTS:
            item.add_marker(pytest.mark.serial)
