"""Live mode against a real-time 30 fps 720p source (issue 9: keep up, latency under 100 ms).

    .venv/bin/python bench/live.py               # the 720p dev clip, played in real time
    .venv/bin/python bench/live.py --repeat 3    # worst of 3 (a busy machine)

A file played by `formcheck live --source FILE` is paced at its own timestamps, like a camera:
the loop always takes the newest frame and drops the ones it could not keep up with. So
"processed of read" says whether live mode keeps up, and the latency (frame handed over ->
pose, rules and drawing done) is the report's own `live.latency_ms_*`. Headless (--no-window):
this machine has no screen; drawing the window costs a few ms more (docs/live.md).
Needs the dev videos (../shared/samples, or FORMCHECK_SAMPLES).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = Path(os.environ.get("FORMCHECK_SAMPLES", ROOT.parent / "shared" / "samples"))
CLIPS = (
    "not_a_thrust_dead_bug_lenagalanova8.mp4",  # 1280x720, 30 fps, 23 s
    "glute_bridge_BE-PROJECTS2018_GroupNo23.mp4",  # 1280x720, 24 fps, 10 s, 5 reps
)
LATENCY_TARGET_MS = 100.0


def run_live(clip: Path) -> dict:
    formcheck = Path(sys.executable).with_name("formcheck")
    with tempfile.TemporaryDirectory(prefix="formcheck-bench-") as tmp:
        out = Path(tmp) / "live.json"
        res = subprocess.run([str(formcheck), "live", "--source", str(clip), "--no-window", "--json", str(out)],
                             capture_output=True, text=True, check=False)
        if not out.is_file():
            raise SystemExit(f"live on {clip.name} failed (exit {res.returncode}):\n{res.stderr[-2000:]}")
        return json.loads(out.read_text())["live"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=Path, default=SAMPLES, help="folder of the dev videos")
    ap.add_argument("--repeat", type=int, default=1, help="runs per clip; the worst is shown")
    a = ap.parse_args()
    if not (a.samples / CLIPS[0]).is_file():
        raise SystemExit(f"dev videos not found in {a.samples} (set FORMCHECK_SAMPLES or --samples)")
    print(f"formcheck live, real time — {len(os.sched_getaffinity(0))} cores, load average "
          f"{os.getloadavg()[0]:.2f} at start; worst of {a.repeat}\n")
    print(f"  {'clip':44s} {'read':>5s} {'processed':>9s} {'dropped':>8s} {'fps':>6s} "
          f"{'latency mean':>13s} {'p95':>6s}  verdict")
    for name in CLIPS:
        runs = [run_live(a.samples / name) for _ in range(a.repeat)]
        r = max(runs, key=lambda x: (x["frames_dropped"], x["latency_ms_p95"]))
        ok = r["frames_dropped"] == 0 and r["latency_ms_p95"] < LATENCY_TARGET_MS
        verdict = "keeps up" if ok else "drops frames or too slow"
        print(f"  {name[:44]:44s} {r['frames_read']:5d} {r['frames_processed']:9d} {r['frames_dropped']:8d} "
              f"{r['processing_fps']:6.1f} {r['latency_ms_mean']:10.1f} ms {r['latency_ms_p95']:6.1f}  {verdict}",
              flush=True)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end (other work on the machine makes every figure worse)")


if __name__ == "__main__":
    main()
