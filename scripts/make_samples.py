"""Regenerate samples/*.npz: pose tracks formcheck extracts from the dev videos.

The videos themselves are not ours to ship; the tracks are, and `formcheck samples/X.npz`
re-scores a set from them on a machine with nothing else (the README demo).

    .venv/bin/python scripts/make_samples.py [../shared/samples]
"""

from __future__ import annotations

import sys
from pathlib import Path

from formcheck.config import Config
from formcheck.pipeline.analyze import track_video

VIDEO_EXT = {".mp4", ".mov", ".avi", ".webm", ".mkv", ".gif"}


def main(folder: str) -> None:
    out = Path(__file__).resolve().parents[1] / "samples"
    out.mkdir(exist_ok=True)
    for video in sorted(Path(folder).iterdir()):
        if video.suffix.lower() in VIDEO_EXT:
            track = track_video(video, Config())
            track.save(out / f"{video.stem}.npz")
            print(f"{video.name}: {len(track)} frames, person in {100 * track.detected.mean():.0f} %")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[2] / "shared" / "samples"))
