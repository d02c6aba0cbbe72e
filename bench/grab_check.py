"""--fast's decoding against the frame-by-frame rule (issue 15): the same frames, pixel for pixel.

    .venv/bin/python bench/grab_check.py            # every dev video at 10 Hz (~40 s)
    .venv/bin/python bench/grab_check.py --hz 15 X.mp4

For each video (the dev clips in ../shared/samples or FORMCHECK_SAMPLES, or the files given) it
reads the frames `--fast` models twice: as shipped (skipped frames only grabbed, a second reader
seeking back where a cut may lie: formcheck.inputs.sampling.pick_decoded) and by converting and
looking at every frame. It prints whether the chosen frames, their times and pixels agree, how
many looks back were made, and the CPU of each reading. Exit status 1 if any file disagrees.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import cv2

from formcheck.inputs import video
from formcheck.inputs.frames import Frame, Skipped
from formcheck.inputs.sampling import FramePicker, pick, stride_for

SAMPLES = Path(os.environ.get("FORMCHECK_SAMPLES", Path(__file__).resolve().parents[2] / "shared" / "samples"))
MAX_SIDE = 1280


def summary(items: Iterable[Frame | Skipped]) -> list[tuple[int, float, str | None]]:
    return [(f.index, round(f.t, 6), hashlib.md5(f.image.tobytes()).hexdigest() if isinstance(f, Frame) else None)
            for f in items]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--hz", type=float, default=10.0)
    args = ap.parse_args()
    files = args.files or sorted(SAMPLES.glob("*.mp4"))
    rereads = 0
    original = video.Rereader.frames

    def counted(self: video.Rereader, first: int, last: int) -> list | None:
        nonlocal rereads
        rereads += 1
        return original(self, first, last)

    video.Rereader.frames = counted  # type: ignore[method-assign]
    bad = 0
    for p in files:
        fps = video.probe(p).fps
        stride = stride_for(fps, args.hz)
        if stride < 2:
            print(f"{p.name[:44]:44s} {fps:.1f} fps: every frame at {args.hz:g} Hz, nothing to check")
            continue
        picker, rereads = FramePicker(fps, stride), 0
        t0 = time.process_time()
        shipped = summary(video.VideoFile(p, MAX_SIDE).sampled(picker))
        t1 = time.process_time()
        cap = video.open_capture(p)
        try:
            every = summary(pick(video.VideoFile._decoded(cap), picker,
                                 lambda bgr: cv2.cvtColor(video.scale_frame(bgr, MAX_SIDE), cv2.COLOR_BGR2RGB)))
        finally:
            cap.release()
        t2 = time.process_time()
        same = shipped == every
        bad += not same
        print(f"{p.name[:44]:44s} stride {stride} frames {len(shipped):5d} modelled "
              f"{sum(1 for x in shipped if x[2]):4d} same {'yes' if same else 'NO'} looks back {rereads:2d} "
              f"cpu {t1 - t0:5.2f} s (every frame looked at: {t2 - t1:5.2f} s)", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
