"""Chunked tracking: a file cut in time, one pose tracker per chunk, run on all cores, stitched.

The pose model is the cost (~17 ms a frame, on one core); a long file is cut into time chunks
and each chunk is tracked by its own landmarker. Threads, not processes: MediaPipe runs each
landmarker outside the GIL (ctypes, a thread of its own), so two landmarkers in two threads use
two cores with no second interpreter, no second mediapipe import and no tracks pickled back.
(MediaPipe must not be forked after it loads; threads never fork.)

The cut depends only on the file and the config (`[video] chunks`), never on the machine:
`workers` only says how many chunks run at once. MediaPipe's VIDEO-mode tracker carries state
from frame to frame (its crop follows the last pose; its landmark filter remembers), so a fresh
tracker never agrees to the last bit with one that has run since the start: were the cut made
per core, the same video could be scored differently on a laptop, a workstation and in a batch.
With a fixed cut, one worker running the chunks in turn gives the same track, bit for bit, as
two running them at once.

Each chunk's tracker starts `warmup_s` before its chunk (a seek) so that tracking has settled
by the chunk's first frame; the warm-up frames are dropped. The chunk before it tracks
`check_s` past its end, and stitching compares the two trackers on those frames: a fresh
tracker that locked onto the wrong pose (seen with a 0.3 s warm-up on a 4 s clip: off by 1.5
torso lengths for 20 frames) fails the check. Stitching is checked by timestamps too: chunk k
must begin exactly at the frame chunk k-1 stopped before, and every chunk must decode cleanly.
On any doubt `track_chunked` returns None and the caller tracks the file in one stream, so a
frame is never lost or doubled and a bad lock never reaches the report.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from formcheck.inputs.chunk import FileChunk
from formcheck.inputs.frames import Frame, Skipped, prefetched
from formcheck.inputs.sampling import FramePicker
from formcheck.inputs.video import VideoInfo
from formcheck.pose.model import PoseEstimator, PoseSample, assemble_track, picker_for, to_source, track_frames
from formcheck.pose.settings import VideoConfig
from formcheck.pose.track import L_ANKLE, L_HIP, L_KNEE, L_SHOULDER, R_ANKLE, R_HIP, R_KNEE, R_SHOULDER, PoseTrack

POLL_S = 0.2  # how often the calling thread reports progress while the chunks run
# Two trackers agree to 0.0006-0.011 torso lengths (median body-landmark distance over the
# check frames; 0.018 on the worst frame) on the 12 dev clips a second after the later one
# started; one on the wrong pose was off by ~1.5. Beyond this, distrust the cut.
AGREE_MAX_TORSO = 0.05
# Shoulders, hips, knees, ankles: the landmarks every rule reads (shoulders and hips first).
_BODY = np.array([L_SHOULDER, R_SHOULDER, L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE])


@dataclass(frozen=True)
class Chunk:
    """The frames with start_s <= t < end_s; tracking runs from start_s - warmup_s to end_s + check_s."""

    start_s: float
    end_s: float  # inf for the last chunk
    warmup_s: float
    check_s: float = 0.0

    @property
    def seek_s(self) -> float:
        return max(0.0, self.start_s - self.warmup_s) if self.start_s > 0 else 0.0


def cores() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def stride_of(info: VideoInfo, v: VideoConfig) -> int:
    """Frames per model frame in this file (1: every frame), see formcheck.inputs.sampling."""
    picker = picker_for(info, v.model_hz)
    return 1 if picker is None else picker.stride


def chunks_for(info: VideoInfo, v: VideoConfig) -> int:
    """How many chunks a file is cut into: `chunks`, but one more per `parallel_min_s` at most.

    A function of the file and the config only (see the module docstring). Animated pictures
    (decoded by Pillow, no seeking) and files of unknown length are one chunk. With the model on
    every k-th frame a chunk's warm-up is k times longer (it is counted in model frames, below)
    and its work k times less, so the break-even length is k times longer too.
    """
    if v.chunks < 2 or info.is_gif or info.duration_s <= 0 or v.parallel_min_s <= 0:
        return 1
    return min(v.chunks, 1 + int(info.duration_s // (v.parallel_min_s * stride_of(info, v))))


def workers_for(n_chunks: int, v: VideoConfig) -> int:
    """How many of the chunks are tracked at once: one per core (or `workers`), at most one each."""
    limit = v.workers if v.workers > 0 else cores()
    return max(1, min(limit, n_chunks))


def plan(duration_s: float, n: int, warmup_s: float, check_s: float = 0.0) -> tuple[Chunk, ...]:
    """n chunks of equal work: the warm-up and the check frames count as work.

    (Equal durations left one core idle for the warm-up's length at the end: 0.8 s of 8.9 on a
    23 s clip.) The last chunk runs to the end of the file, whatever its announced length.
    """
    per = (duration_s + (n - 1) * (warmup_s + check_s)) / n
    owned = [per - (warmup_s if k > 0 else 0.0) - (check_s if k < n - 1 else 0.0) for k in range(n)]
    if min(owned) <= 0:  # shorter than the warm-up: plain equal parts
        owned = [duration_s / n] * n
    edges = [0.0]
    for length in owned[:-1]:
        edges.append(edges[-1] + length)
    edges.append(math.inf)
    return tuple(Chunk(edges[k], edges[k + 1], warmup_s, check_s if k < n - 1 else 0.0) for k in range(n))


class _Part:
    """What one chunk's thread found; written by that thread only, read after it ends.

    A chunk that is not the last keeps its tracker and its reader open when its thread ends: if
    the stitch after it is refused, that tracker goes on to the end of the file (`_carry_on`).
    """

    def __init__(self) -> None:
        self.track: PoseTrack | None = None
        self.next_t: float | None = None  # the first frame at or after end_s; None: end of file
        self.check: list[tuple[float, PoseSample | None]] = []  # tracked past end_s, for the stitch
        self.tail: list[tuple[Frame | Skipped, PoseSample | None]] = []  # every frame past end_s read
        self.pending: Frame | Skipped | None = None  # the first frame past the check frames, unread
        self.size: tuple[int, int] | None = None
        self.clean = True  # no damaged frame and no made-up timestamp: stitching can be trusted
        self.done = 0  # frames tracked, for progress
        self.estimator: PoseEstimator | None = None  # open until track_chunked ends
        self.frames: Iterator[Frame | Skipped] | None = None
        self.source: FileChunk | None = None

    def close(self) -> None:
        if self.frames is not None and hasattr(self.frames, "close"):
            self.frames.close()
        if self.estimator is not None:
            self.estimator.__exit__(None, None, None)  # entered in _track_chunk
        self.frames = self.estimator = None


def _track_chunk(p: Path, info: VideoInfo, chunk: Chunk, v: VideoConfig, model: Path | None,
                 picker: FramePicker | None, part: _Part, stop: threading.Event) -> None:
    if stop.is_set():  # a chunk still queued when another failed
        return
    est = part.estimator = PoseEstimator(model, v.num_poses, v.min_detection_confidence, v.min_tracking_confidence)
    est.__enter__()  # closed by track_chunked (part.close), which may carry the tracker on
    source = part.source = FileChunk(p, chunk.seek_s, v.max_side, stop)
    frames = part.frames = prefetched(source.sampled(picker), 4)

    def owned() -> Iterator[Frame | Skipped]:
        for f in frames:
            if f.t >= chunk.end_s:
                if part.next_t is None:
                    part.next_t = f.t
                if f.t >= chunk.end_s + chunk.check_s:
                    part.pending = f
                    return
                sample = None
                if isinstance(f, Frame):  # the next chunk's first frames, to compare
                    sample = to_source(est.detect(f.image, f.t), f.image.shape, (info.width, info.height))
                    part.check.append((f.t, sample))
                part.tail.append((f, sample))
                continue
            if f.t < chunk.start_s:
                if isinstance(f, Frame):
                    est.detect(f.image, f.t)  # warm-up: only the tracker's state is kept
                continue
            part.done += 1
            yield f

    try:
        part.track = track_frames(owned(), info, est, rewind=chunk.start_s <= 0)
    finally:
        part.clean, part.size = source.clean, source.size
        if math.isinf(chunk.end_s) or not part.clean:  # the last chunk, or one no stitch can use
            part.close()


def track_chunked(path: str | os.PathLike[str], info: VideoInfo, v: VideoConfig, n: int,
                  model: Path | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  workers: int | None = None) -> PoseTrack | None:
    """Track `path` cut in n chunks, `workers` of them at once; None when no stitch can be trusted.

    The result does not depend on `workers` (default: `workers_for`). `progress(done, expected)`
    is called from the calling thread. An error in any chunk stops the others and is raised
    here, as the single stream would raise it. Where a stitch is refused, the tracker of the
    chunk before it carries on to the end of the file: refused at the first cut, that is the
    one-stream track itself, in about the time one stream would have taken.
    """
    # Warm-up and check are counted in model frames: a tracker settles in frames, not seconds.
    k = stride_of(info, v)
    chunks = plan(info.duration_s, n, v.parallel_warmup_s * k, v.parallel_check_s * k)
    picker = picker_for(info, v.model_hz)
    parts = [_Part() for _ in chunks]
    stop = threading.Event()
    p = Path(path)
    try:
        with ThreadPoolExecutor(workers or workers_for(n, v), thread_name_prefix="formcheck-track") as pool:
            try:
                futures = [pool.submit(_track_chunk, p, info, c, v, model, picker, part, stop)
                           for c, part in zip(chunks, parts, strict=True)]
                pending = set(futures)
                while pending:
                    finished, pending = wait(pending, timeout=POLL_S, return_when=FIRST_EXCEPTION)
                    if any(f.exception() is not None for f in finished):
                        break
                    if progress is not None:
                        progress(sum(part.done for part in parts), info.frame_count)
            except BaseException:
                stop.set()  # on an error or Ctrl-C, the other chunks stop at their next frame
                raise
            for f in futures:
                if f.exception() is not None:
                    stop.set()
                f.result()
        good = joinable(parts)
        if good == len(parts):
            return join([part.track for part in parts if part.track is not None], info)
        if good == 0:
            return None
        rest = _carry_on(parts[good - 1], info, progress)  # follows chunk good-1 without a seam
        if rest is None:
            return None
        return join([*(part.track for part in parts[:good] if part.track is not None), rest], info)
    finally:
        stop.set()
        for part in parts:
            part.close()


def joinable(parts: list[_Part]) -> int:
    """How many chunks, from the first, can be joined: all of them, or up to the first stitch in
    doubt (a frame that might be lost or doubled, or two trackers that disagree where they overlap)."""
    for k, part in enumerate(parts):
        if not part.clean or part.track is None:
            return k
        if k > 0:
            expected = parts[k - 1].next_t  # the frame the previous chunk stopped before
            if expected is None:  # the previous chunk saw the end of the file: nothing is left
                if len(part.track):
                    return k
                continue
            if not len(part.track) or part.track.t[0] != expected or part.size != parts[0].size:
                return k
            if not agree(parts[k - 1].check, part.track):
                return k
    if parts and parts[-1].next_t is not None:  # the last chunk stopped before the end: trust nothing
        return 0
    return len(parts)


def stitch(parts: list[_Part], info: VideoInfo) -> PoseTrack | None:
    """One track from all the chunks' tracks, or None if any stitch is in doubt (see `joinable`)."""
    if joinable(parts) < len(parts):
        return None
    return join([part.track for part in parts if part.track is not None], info)


def _carry_on(part: _Part, info: VideoInfo, progress: Callable[[int, int], None] | None) -> PoseTrack | None:
    """The chunk's own tracker run on from its end to the end of the file; None if it cannot be."""
    est, frames, source = part.estimator, part.frames, part.source
    if est is None or frames is None or source is None or part.track is None:
        return None
    done = part.done + len(part.tail)

    def tick(_f: object, _s: object) -> None:
        nonlocal done
        done += 1
        if progress is not None and done % 10 == 0:
            progress(done, info.frame_count)

    rest = track_frames(itertools.chain([part.pending] if part.pending is not None else [], frames), info, est, tick)
    if not source.clean:  # a damaged stretch: the single stream repairs what a chunk may not
        return None
    ts = [f.t for f, _ in part.tail]
    tail = assemble_track(ts, [s for _, s in part.tail], info, [isinstance(f, Frame) for f, _ in part.tail])
    return concat([tail, rest])


def concat(tracks: list[PoseTrack]) -> PoseTrack:
    """Tracks of one video, one after the other in time."""
    first = tracks[0]
    return replace(first, t=np.concatenate([tr.t for tr in tracks]),
                   image=np.concatenate([tr.image for tr in tracks]),
                   world=np.concatenate([tr.world for tr in tracks]),
                   visibility=np.concatenate([tr.visibility for tr in tracks]),
                   modelled=np.concatenate([tr.modelled for tr in tracks]))


def join(tracks: list[PoseTrack], info: VideoInfo) -> PoseTrack:
    return replace(concat(tracks), frames_expected=info.frame_count)


def agree(check: list[tuple[float, PoseSample | None]], later: PoseTrack) -> bool:
    """Did the earlier chunk's tracker, run on past its end, see the pose the later one began with?

    Compared on the body landmarks, frame by frame, in torso lengths; the median over the check
    frames must stay within AGREE_MAX_TORSO. Frames where only one tracker found the person count
    as disagreeing; frames where neither did, as agreeing. No check frames: nothing to go on, trust.
    Both trackers must have modelled the same frames (the frame picker is a function of the
    frames, not of where reading began); any difference is a doubt.
    """
    errors: list[float] = []
    end = check[-1][0] if check else -math.inf
    if [float(t) for t in later.t[later.modelled & (later.t <= end)]] != [t for t, _ in check]:
        return False
    row = {float(t): i for i, t in enumerate(later.t)}
    for t, sample in check:
        theirs = later.image[row[t]]
        if sample is None or not np.isfinite(theirs).all():
            errors.append(0.0 if sample is None and not np.isfinite(theirs).any() else math.inf)
            continue
        a = sample.image[_BODY, :2]
        torso = float(np.linalg.norm(a[[0, 1]].mean(axis=0) - a[[2, 3]].mean(axis=0)))
        dist = np.linalg.norm(a - theirs[_BODY, :2], axis=1)
        errors.append(float(np.median(dist)) / torso if torso > 0 else math.inf)
    return not errors or float(np.median(errors)) <= AGREE_MAX_TORSO
