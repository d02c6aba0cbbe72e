"""Which frames the pose model sees: every frame, or a steady subset at `model_hz`.

A hip thrust is slow (reps of 1.5-3 s) and the landmarks are low-passed at 6 Hz, so a 30-60 fps
video does not need the model on every frame: about 10 Hz keeps the motion (the skipped frames
are filled in time before smoothing, formcheck.analysis.smoothing.fill_skipped). The frames that
are skipped are still decoded (a video cannot be read otherwise) but, read through
`pick_decoded`, not converted to pictures unless a cut may lie beside them.

The choice is a function of each frame's own timestamp and its neighbours', never of where
reading began, so two trackers that read overlapping stretches of a file (formcheck.pose.chunked)
pick the same frames there. Always modelled, whatever the rate: the first frame, the last frame
(the end of the last rep), and the frames on both sides of an edit cut (a new shot must be found
at once, and the old one followed to its end), found by how much a tiny thumbnail changes.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from formcheck.inputs.frames import Frame, Skipped

# A stride may run this much of a frame short of the target rate: 29.97 fps at 10 Hz is every
# 3rd frame (9.99 Hz), not every 2nd (15 Hz).
STRIDE_SLACK = 0.05
# Mean absolute change of the thumbnail's pixels (0-255) from one frame to the next that marks
# an edit cut. On the 28 dev clips, motion within a shot moves a 32x18 thumbnail by at most
# 2-15 (p99; a hand-held camera, a lifter filling the frame), the cuts of a compilation by 43-106;
# one animated clip's flashes reach 20-42. A false cut costs two model frames; a missed one, at
# worst, a tenth of a second left unfilled beside it (fill_skipped never bridges a pose jump).
CUT_CHANGE = 20.0
# Between two model frames a stride apart a cut still shows (dev clips: 29-106), and motion
# within a shot adds up (most hand-held shots stay under 8, a 60 fps swing reaches 15-40): a
# change over half CUT_CHANGE sends formcheck back to read the frames between, one by one.
CUT_CANDIDATE = 10.0
FULL_AFTER_S = 2.0  # after such a look back, every frame is looked at for this long
THUMB_SIZE = (32, 18)  # columns, rows sampled from the frame

def stride_for(fps: float, model_hz: float) -> int:
    """Frames per model frame: the longest whole stride that keeps the model at `model_hz` or
    more (within STRIDE_SLACK). 1 (every frame) when `model_hz` is 0 or the rate is unknown."""
    if model_hz <= 0 or not (fps > 0 and math.isfinite(fps)):
        return 1
    return max(1, int(fps / model_hz + STRIDE_SLACK))


class FramePicker:
    """Decides, frame by frame, which frames the model sees (one instance per reading)."""

    def __init__(self, fps: float, stride: int, cut_change: float = CUT_CHANGE) -> None:
        if stride < 2 or not fps > 0:
            raise ValueError("a picker needs a known frame rate and a stride of 2 or more")
        self.fps, self.stride, self.cut_change = fps, stride, cut_change

    @property
    def rate_hz(self) -> float:
        return self.fps / self.stride

    def slot(self, t: float) -> int:
        """The model period a timestamp falls in; half a frame of slack absorbs rounded timestamps."""
        return math.floor((t * self.fps + 0.5) / self.stride)

    def changed(self, before: np.ndarray, after: np.ndarray) -> bool:
        """Enough change between two model frames that a cut may lie between them."""
        return before.shape != after.shape or _change(before, after) > CUT_CANDIDATE

    def is_cut(self, before: np.ndarray, after: np.ndarray) -> bool:
        if before.shape != after.shape:
            return True
        return _change(before, after) > self.cut_change


def _change(before: np.ndarray, after: np.ndarray) -> float:
    return float(np.mean(np.abs(before.astype(np.int16) - after.astype(np.int16))))


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A tiny view of the frame (a strided copy, no resampling: ~10 µs at 1080p)."""
    h, w = image.shape[:2]
    cols, rows = THUMB_SIZE
    return np.ascontiguousarray(image[:: max(1, h // rows), :: max(1, w // cols)])


def pick(raw: Iterator[tuple[int, float, np.ndarray]], picker: FramePicker | None,
         convert: Callable[[np.ndarray], np.ndarray],
         look: Callable[[np.ndarray], np.ndarray] = thumbnail) -> Iterator[Frame | Skipped]:
    """`pick_decoded` for frames that are already images (pictures, tests): every one is looked at."""
    return pick_decoded(((i, t, _given(image)) for i, t, image in raw), picker, convert, look=look)


def _given(image: np.ndarray) -> Callable[[], np.ndarray | None]:
    return lambda: image


Fetch = Callable[[], "np.ndarray | None"]  # the decoded image, valid until the next frame is read
Reread = Callable[[int, int], "list[np.ndarray] | None"]  # frames first..last again, or None


@dataclass
class _Entry:
    index: int
    t: float
    chosen: bool
    image: np.ndarray | None = None
    seen: np.ndarray | None = None  # its thumbnail, once looked at


def pick_decoded(raw: Iterator[tuple[int, float, Fetch]], picker: FramePicker | None,
                 convert: Callable[[np.ndarray], np.ndarray], reread: Reread | None = None,
                 tail_from: int | None = None,
                 look: Callable[[np.ndarray], np.ndarray] = thumbnail) -> Iterator[Frame | Skipped]:
    """Frames for the model (converted) and Skipped places for the rest, in order.

    `raw` gives (index, seconds, fetch) for each decoded frame, `fetch` the image (converting a
    decoded frame to an image is what costs; it must be called before the next frame is drawn);
    `convert` makes the model's RGB frame; `look` the thumbnail cut detection compares.

    Without `reread` every frame is fetched and looked at, and a cut is a one-frame change over
    CUT_CHANGE. With it, only the model's frames (and those from `tail_from` on, the expected
    end) are fetched; where two of them differ by more than CUT_CANDIDATE the frames between are
    read again by `reread` (a second reader that seeks), so the cuts found are those of the
    frame-by-frame rule. A seek decodes from the last key frame (30-800 ms on the dev clips), so
    after one every frame is fetched for FULL_AFTER_S, and once the looks back have cost more
    than the fetches they saved (`_Ledger`), or a reread does not give back the frames already
    seen, the reading fetches every frame to its end: never much dearer than fetching them all.
    """
    if picker is None:
        for index, t, fetch in raw:
            image = fetch()
            if image is not None:
                yield Frame(index, t, convert(image))
        return
    full_until = math.inf if reread is None else -math.inf
    ledger = _Ledger()
    buf: list[_Entry] = []  # buf[0] the last frame looked at, then the frames drawn since
    prev_t: float | None = None
    owed = False  # a model frame that could not be fetched: the next frame stands in
    for index, t, fetch in raw:
        e = _Entry(index, t, chosen=owed or prev_t is None or picker.slot(t) != picker.slot(prev_t))
        prev_t, owed = t, False
        if e.chosen or t <= full_until or (tail_from is not None and index >= tail_from):
            e.image = ledger.fetch(fetch)
            if e.image is None:  # a damaged frame: a place in time only
                owed, e.chosen = e.chosen, False
            else:
                e.seen = look(e.image)
        else:
            ledger.unfetched += 1
        buf.append(e)
        if e.seen is None:
            continue
        if len(buf) > 2 and reread is not None and buf[0].seen is not None and picker.changed(buf[0].seen, e.seen):
            full_until = t + FULL_AFTER_S if ledger.look_back(buf, reread, look) and ledger.pays() else math.inf
        _mark_cuts(buf, picker)
        yield from _emit(buf[:-1], convert)
        buf = [e]
    if not buf:
        return
    if len(buf) > 1 and reread is not None:
        _fill(buf, reread, look)  # if the last frame cannot be read again, it stays a place in time
    _mark_cuts(buf, picker)
    if buf[-1].image is not None:  # the last frame: always modelled
        buf[-1].chosen = True
    yield from _emit(buf, convert)


class _Ledger:
    """What fetching costs (s a frame, measured) against what the looks back cost."""

    def __init__(self) -> None:
        self.fetched, self.fetch_s, self.unfetched, self.spent_s = 0, 0.0, 0, 0.0

    def fetch(self, fetch: Fetch) -> np.ndarray | None:
        t0 = time.perf_counter()
        image = fetch()
        self.fetch_s += time.perf_counter() - t0
        self.fetched += 1
        return image

    def look_back(self, buf: list[_Entry], reread: Reread, look: Callable[[np.ndarray], np.ndarray]) -> bool:
        t0 = time.perf_counter()
        try:
            return _fill(buf, reread, look)
        finally:
            self.spent_s += time.perf_counter() - t0

    def pays(self) -> bool:
        return self.spent_s <= self.unfetched * self.fetch_s / max(1, self.fetched)


def _fill(buf: list[_Entry], reread: Reread, look: Callable[[np.ndarray], np.ndarray]) -> bool:
    """The images of every frame in `buf` (first to last) from a second reading, checked against
    the ones already looked at; False (and nothing filled) where they do not match."""
    images = reread(buf[0].index, buf[-1].index)
    if images is None or len(images) != len(buf):
        return False
    looks = [look(im) for im in images]
    if any(e.seen is not None and (e.seen.shape != s.shape or not np.array_equal(e.seen, s))
           for e, s in zip(buf, looks, strict=True)):
        return False
    for e, im, s in zip(buf, images, looks, strict=True):
        if e.image is None:
            e.image, e.seen = im, s
    return True


def _mark_cuts(buf: list[_Entry], picker: FramePicker) -> None:
    """Both sides of each cut between neighbouring frames that were looked at are modelled."""
    for a, b in itertools.pairwise(buf):
        if a.seen is not None and b.seen is not None and picker.is_cut(a.seen, b.seen):
            a.chosen = b.chosen = True


def _emit(entries: list[_Entry], convert: Callable[[np.ndarray], np.ndarray]) -> Iterator[Frame | Skipped]:
    for e in entries:
        if e.chosen and e.image is not None:
            yield Frame(e.index, e.t, convert(e.image))
        else:
            yield Skipped(e.index, e.t)
