"""Chunked parallel tracking: a file split in time, one pose tracker per chunk, stitched.

The pose model is the cost (~20 ms a frame, on one core); a long file is cut into as many
time chunks as there are cores and each chunk is tracked by its own landmarker. Threads, not
processes: MediaPipe runs each landmarker outside the GIL (ctypes, a thread of its own), so two
landmarkers in two threads use two cores — 1.9-2.0x the inference of one, measured — with no
second interpreter, no second mediapipe import and no tracks pickled back. (MediaPipe must not
be forked after it loads; threads never fork.)

Each chunk's tracker starts `warmup_s` before its chunk (a seek) so that tracking and the
model's landmark smoothing have settled by the chunk's first frame; the warm-up frames are
dropped. Stitching is checked by timestamps: chunk k must begin exactly at the frame chunk k-1
stopped before, and every chunk must decode cleanly. On any doubt (a seek that lands wrong,
damaged frames, made-up timestamps) `track_chunked` returns None and the caller tracks the
file in one stream, so a frame is never lost or doubled.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from formcheck.config import VideoConfig
from formcheck.pose import PoseEstimator, track_frames
from formcheck.track import PoseTrack
from formcheck.video import MAX_FAILED_READS, Frame, VideoInfo, open_capture, prefetched, scale_frame

POLL_S = 0.2  # how often the calling thread reports progress while the chunks run
# Each extra tracker costs ~115 MB of peak memory (measured: 437 vs 320 MB); on a big machine
# `workers = 0` stops here. An explicit `workers` may go beyond.
MAX_AUTO_WORKERS = 4


@dataclass(frozen=True)
class Chunk:
    """The frames with start_s <= t < end_s; tracking begins at start_s - warmup_s."""

    start_s: float
    end_s: float  # inf for the last chunk
    warmup_s: float

    @property
    def seek_s(self) -> float:
        return max(0.0, self.start_s - self.warmup_s) if self.start_s > 0 else 0.0


def cores() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers_for(info: VideoInfo, v: VideoConfig) -> int:
    """How many trackers a file gets: one per core, one more per `parallel_min_s` of video.

    Animated pictures (decoded by Pillow, no seeking) and files of unknown length get one.
    """
    limit = v.workers if v.workers > 0 else min(cores(), MAX_AUTO_WORKERS)
    if limit < 2 or info.is_gif or info.duration_s <= 0 or v.parallel_min_s <= 0:
        return 1
    return max(1, min(limit, 1 + int(info.duration_s // v.parallel_min_s)))


def plan(duration_s: float, n: int, warmup_s: float) -> tuple[Chunk, ...]:
    """n chunks of equal work: each later chunk also tracks its warm-up, so the first is longer.

    (Equal durations left one core idle for the warm-up's length at the end: 0.8 s of 8.9 on a
    23 s clip.) The last chunk runs to the end of the file, whatever its announced length.
    """
    first = (duration_s + (n - 1) * warmup_s) / n
    rest = first - warmup_s
    if rest <= 0:  # shorter than the warm-up: plain equal parts
        first = rest = duration_s / n
    edges = [0.0] + [first + k * rest for k in range(n - 1)] + [math.inf]
    return tuple(Chunk(edges[k], edges[k + 1], warmup_s) for k in range(n))


class _Part:
    """What one chunk's thread found; written by that thread only, read after it ends."""

    def __init__(self) -> None:
        self.track: PoseTrack | None = None
        self.next_t: float | None = None  # the first frame at or after end_s; None: end of file
        self.size: tuple[int, int] | None = None
        self.clean = True  # no damaged frame and no made-up timestamp: stitching can be trusted
        self.done = 0  # frames tracked, for progress


def _read(p: Path, chunk: Chunk, max_side: int | None, part: _Part, stop: threading.Event) -> Iterator[Frame]:
    """Frames from chunk.seek_s on, as video.iter_frames would give them, or stop and flag.

    Anything the single stream would have to repair (a failed read followed by more frames, a
    missing or repeated timestamp, a frame size that changes) marks the part unclean.
    """
    cap = open_capture(p)
    try:
        if chunk.seek_s > 0:
            cap.set(cv2.CAP_PROP_POS_MSEC, chunk.seek_s * 1000.0)
        last_t = -1.0
        failed = 0
        while failed < MAX_FAILED_READS and not stop.is_set():
            ok, bgr = cap.read()
            if not ok or bgr is None or not bgr.size:
                failed += 1
                continue
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            small = scale_frame(bgr, max_side)
            size = (small.shape[1], small.shape[0])
            if failed or not np.isfinite(t) or t < 0 or t <= last_t or part.size not in (None, size):
                part.clean = False
                return
            part.size = size
            last_t = t
            index = int(cap.get(cv2.CAP_PROP_POS_FRAMES)) - 1
            yield Frame(index, t, cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    finally:
        cap.release()


def _track_chunk(p: Path, info: VideoInfo, chunk: Chunk, v: VideoConfig, model: Path | None,
                 part: _Part, stop: threading.Event) -> None:
    with PoseEstimator(model, v.num_poses, v.min_detection_confidence, v.min_tracking_confidence) as est:
        frames = prefetched(_read(p, chunk, v.max_side, part, stop), 4)

        def owned() -> Iterator[Frame]:
            for f in frames:
                if f.t >= chunk.end_s:
                    part.next_t = f.t
                    return
                if f.t < chunk.start_s:
                    est.detect(f.image, f.t)  # warm-up: only the tracker's state is kept
                    continue
                part.done += 1
                yield f

        try:
            part.track = track_frames(owned(), info, est)
        finally:
            frames.close()


def track_chunked(path: str | os.PathLike[str], info: VideoInfo, v: VideoConfig, n: int,
                  model: Path | None = None,
                  progress: Callable[[int, int], None] | None = None) -> PoseTrack | None:
    """Track `path` in n chunks at once; None when the stitch cannot be verified.

    `progress(done, expected)` is called from the calling thread. An error in any chunk stops
    the others and is raised here, as the single stream would raise it.
    """
    chunks = plan(info.duration_s, n, v.parallel_warmup_s)
    parts = [_Part() for _ in chunks]
    stop = threading.Event()
    p = Path(path)
    with ThreadPoolExecutor(n, thread_name_prefix="formcheck-track") as pool:
        try:
            futures = [pool.submit(_track_chunk, p, info, c, v, model, part, stop)
                       for c, part in zip(chunks, parts, strict=True)]
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, timeout=POLL_S, return_when=FIRST_EXCEPTION)
                if any(f.exception() is not None for f in finished):
                    break
                if progress is not None:
                    progress(sum(part.done for part in parts), info.frame_count)
        finally:
            stop.set()  # on an error or Ctrl-C, the other chunks stop at their next frame
        for f in futures:
            f.result()
    return stitch(parts, info)


def stitch(parts: list[_Part], info: VideoInfo) -> PoseTrack | None:
    """One track from the chunks' tracks, or None if any frame might be lost or doubled."""
    tracks: list[PoseTrack] = []
    for k, part in enumerate(parts):
        if not part.clean or part.track is None:
            return None
        if k > 0:
            expected = parts[k - 1].next_t  # the frame the previous chunk stopped before
            if expected is None:  # the previous chunk saw the end of the file: nothing is left
                if len(part.track):
                    return None
                continue
            if not len(part.track) or part.track.t[0] != expected or part.size != parts[0].size:
                return None
        tracks.append(part.track)
    if parts[-1].next_t is not None:
        return None
    first = tracks[0]
    return PoseTrack(
        t=np.concatenate([tr.t for tr in tracks]),
        image=np.concatenate([tr.image for tr in tracks]),
        world=np.concatenate([tr.world for tr in tracks]),
        visibility=np.concatenate([tr.visibility for tr in tracks]),
        width=first.width,
        height=first.height,
        source=first.source,
        fps=first.fps,
        frames_expected=info.frame_count,
    )
