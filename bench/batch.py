"""Batch throughput: the same dev videos through `formcheck batch` with 1 and 2 local workers and on Ray.

    .venv/bin/python bench/batch.py              # all dev videos, ~5 minutes on 2 cores
    .venv/bin/python bench/batch.py --limit 4    # the 4 shortest clips only
    .venv/bin/python bench/batch.py --workers 1 2 4 --no-ray

Each run starts from an empty output folder (nothing resumed) and its wall time includes
starting the workers (spawned processes, or `ray.init` for Ray), since a user waits for that too.
videos/min and frames/s are over that wall time; "busy" is the sum of per-file times over wall
time x workers (how well the workers were kept busy); "1st result s" shows the start-up cost.
Needs ../shared/samples (or FORMCHECK_SAMPLES).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path(os.environ.get("FORMCHECK_SAMPLES", ROOT.parent / "shared" / "samples"))


def clips(limit: int | None) -> list[Path]:
    import cv2

    videos = sorted(SAMPLES.glob("*.mp4"))
    if limit:
        frames = {p: cv2.VideoCapture(str(p)).get(cv2.CAP_PROP_FRAME_COUNT) for p in videos}
        videos = sorted(videos, key=frames.__getitem__)[:limit]
    return videos


def run(videos: list[Path], engine: str, workers: int) -> dict[str, float]:
    from formcheck.apps.batch.runner import Settings, run_batch
    from formcheck.cli.common import quiet_native_stderr  # importing formcheck.cli quiets native logs too

    first: list[float] = []
    with tempfile.TemporaryDirectory(prefix="formcheck-bench-") as tmp, quiet_native_stderr():
        t0 = time.perf_counter()
        res = run_batch([str(v) for v in videos], Settings.create(Path(tmp) / "out"), engine, workers,
                        on_result=lambda _r: first.append(time.perf_counter() - t0))
        wall = time.perf_counter() - t0
    failed = [r.name for r in res.records if r.failed]
    if failed:
        print(f"  warning: {len(failed)} files failed: {', '.join(failed)}", file=sys.stderr)
    frames = sum(r.frames for r in res.records)
    busy = sum(r.seconds for r in res.records)
    return {"files": len(res.records), "frames": frames, "wall": wall, "first": min(first),
            "vpm": 60 * len(res.records) / wall, "fps": frames / wall, "busy": busy / (wall * workers)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, help="only the N shortest clips")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="local worker counts (default 1 2)")
    ap.add_argument("--ray-workers", type=int, default=2, help="num_cpus of the local Ray (default 2)")
    ap.add_argument("--no-ray", action="store_true", help="skip the Ray engine")
    args = ap.parse_args()
    if not (SAMPLES / "labels.json").is_file():
        sys.exit(f"dev videos not found at {SAMPLES} (set FORMCHECK_SAMPLES)")
    videos = clips(args.limit)
    runs = [("local", w) for w in args.workers]
    if not args.no_ray:
        if importlib.util.find_spec("ray") is None:
            print("Ray is not installed (pip install 'formcheck[ray]'): skipping the Ray engine", file=sys.stderr)
        else:
            runs.append(("ray", args.ray_workers))
    print(f"{len(videos)} dev videos, {os.cpu_count()} cores; each run from an empty output folder\n")
    heads = [("engine", "<8"), ("workers", ">8"), ("files", ">7"), ("frames", ">8"), ("wall s", ">9"),
             ("1st result s", ">13"), ("videos/min", ">12"), ("frames/s", ">10"), ("busy", ">7")]
    print("".join(f"{h:{fmt}}" for h, fmt in heads))
    for engine, workers in runs:
        r = run(videos, engine, workers)
        print(f"{engine:<8}{workers:>8}{r['files']:>7}{r['frames']:>8}{r['wall']:>9.1f}{r['first']:>13.1f}{r['vpm']:>12.1f}"
              f"{r['fps']:>10.1f}{r['busy']:>7.0%}", flush=True)


if __name__ == "__main__":
    main()
