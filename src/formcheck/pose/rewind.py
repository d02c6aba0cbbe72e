"""Track a clip's unsettled start again, backwards, from where the tracker has settled.

MediaPipe's VIDEO mode finds the lifter on the first frame and then follows them. When that
first look is poor (a rendered figure sitting low against a bench, a lifter half in frame) the
tracker follows a wrong pose, or loses it and finds it again, until it happens to settle: on an
animated thrust at 7 frames a second the first 1.5 s were lost that way, and with them the rise
of the only rep (counted 0 of 1). A file can be read twice: the frames before the tracker
settled are tracked again in reverse, starting on the settled ones, so the tracker carries a
good pose back to the start. The reverse track is kept up to the frame where the two first
agree, and only where it is steadier (fewer frames without the lifter, fewer jumps) — a clip
whose tracker settles at once costs nothing and is not changed.

The same reasoning as a bidirectional tracker in video object tracking; it needs the frames
again, so it is for files, not live streams (formcheck live sees each frame once).
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import numpy as np

from formcheck.inputs.frames import Frame
from formcheck.pose.track import L_ANKLE, L_HIP, L_KNEE, L_SHOULDER, R_ANKLE, R_HIP, R_KNEE, R_SHOULDER

# Landmarks whose moves say whether two poses are the same body in the same place.
CORE = (L_SHOULDER, R_SHOULDER, L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE)
# A tracker has settled once it has kept the lifter this long (and for SETTLE_FRAMES model
# frames at least) without a jump.
SETTLE_S = 0.5
SETTLE_FRAMES = 3
# A jump: the core landmarks move this far on average between two model frames, in torso
# lengths. A hip thrust's hips travel ~1 torso length a second (0.14 a frame at 7 fps); in the
# dev clips' first 3 s the largest moves are 0.27 at 30-60 fps and 0.48 for a fast back extension
# at 7 fps. A real move read as a jump only delays settling: both tracks see it, so neither is
# the steadier for it (splice).
JUMP_TORSO = 0.3
# Two poses agree when their core landmarks lie this close on average, in torso lengths (the
# tracker's own jitter is ~0.01-0.03).
AGREE_TORSO = 0.1
# At most this many frames are kept for the reverse pass (memory: ~2.8 MB a 720p frame), and
# none older than MAX_S before the newest.
MAX_FRAMES = 90
MAX_S = 3.0


class Sample(Protocol):
    """What the rewind needs of a pose (formcheck.pose.model.PoseSample)."""

    @property
    def image(self) -> np.ndarray: ...


S = TypeVar("S", bound=Sample)


def _core(s: Sample) -> np.ndarray:
    return np.asarray(s.image, dtype=float)[list(CORE), :2]


def _torso(s: Sample) -> float:
    xy = np.asarray(s.image, dtype=float)[:, :2]
    mid_sh = (xy[L_SHOULDER] + xy[R_SHOULDER]) / 2
    mid_hip = (xy[L_HIP] + xy[R_HIP]) / 2
    return float(np.linalg.norm(mid_sh - mid_hip))


def distance(a: Sample, b: Sample) -> float:
    """Mean distance between the two poses' core landmarks, in torso lengths (of the larger)."""
    scale = max(_torso(a), _torso(b), 1e-6)
    return float(np.linalg.norm(_core(a) - _core(b), axis=1).mean() / scale)


def unsteadiness(samples: Sequence[Sample | None]) -> int:
    """Frames without the lifter plus jumps between consecutive found frames."""
    missing = sum(s is None for s in samples)
    found = [s for s in samples if s is not None]
    jumps = sum(distance(a, b) > JUMP_TORSO for a, b in itertools.pairwise(found))
    return missing + jumps


def splice(forward: Sequence[Sample | None], backward: Sequence[Sample | None]) -> int:
    """How many leading frames to take from the backward track (0: keep the forward one).

    The backward track is taken up to the first frame where the two agree on two frames in a
    row (or on the last frame), and only if it is steadier there than the forward one.
    """
    n = len(forward)
    agree = [f is not None and b is not None and distance(f, b) < AGREE_TORSO
             for f, b in zip(forward, backward, strict=True)]
    j = next((i for i in range(n) if agree[i] and (i == n - 1 or agree[i + 1])), None)
    if not j:  # never agree (another body, a left-right swap), or agree from the first frame
        return 0
    return j if unsteadiness(backward[: j + 1]) < unsteadiness(forward[: j + 1]) else 0


@dataclass
class _Held:
    row: int  # index of the frame's row in the track being built
    frame: Frame


class StartRewinder(Generic[S]):
    """Holds the model frames of a stream's start until the forward tracker settles; then, if
    it did not settle at once (`needed`), they are tracked again backwards (`rewind`). One per
    stream; once `done`, frames pass straight through."""

    def __init__(self) -> None:
        self._held: deque[_Held] = deque()
        self._steady_from = 0  # index in _held where the trailing steady run starts
        self.done = False

    def offer(self, row: int, frame: Frame, rows: Sequence[S | None]) -> bool:
        """Take the model frame just tracked into rows[row]; True once the tracker has settled."""
        if self.done:
            return False
        held = self._held
        sample = rows[row]
        prev = rows[held[-1].row] if held else None
        held.append(_Held(row, frame))
        if sample is None:
            self._steady_from = len(held)  # the steady run can only start after this frame
        elif prev is None or distance(prev, sample) > JUMP_TORSO:
            self._steady_from = len(held) - 1
        while held and (len(held) > MAX_FRAMES or frame.t - held[0].frame.t > MAX_S):
            held.popleft()
            self._steady_from = max(0, self._steady_from - 1)
        count = len(held) - self._steady_from
        if count < SETTLE_FRAMES:
            return False
        return held[-1].frame.t - held[self._steady_from].frame.t >= SETTLE_S * (1 - 1e-9)

    @property
    def needed(self) -> bool:
        """Frames before the steady run were unsteady: worth tracking again."""
        return self._steady_from > 0

    def finish(self) -> None:
        self.done = True
        self._held = deque()

    def rewind(self, rows: list[S | None], detect: Callable[[np.ndarray, float], S | None]) -> int:
        """Track the held frames backwards with `detect` (a fresh tracker) and put the steadier
        track's samples in `rows`. Returns how many rows were replaced."""
        held = list(self._held)
        self.finish()
        if not held:
            return 0
        t_end = held[-1].frame.t
        backward: list[S | None] = [None] * len(held)
        for i in range(len(held) - 1, -1, -1):
            f = held[i].frame
            backward[i] = detect(f.image, t_end - f.t)
        j = splice([rows[h.row] for h in held], backward)
        for i in range(j):
            rows[held[i].row] = backward[i]
        return j
