"""Which frames the pose model sees: every frame, or a steady subset at `model_hz`.

A hip thrust is slow (reps of 1.5-3 s) and the landmarks are low-passed at 6 Hz, so a 30-60 fps
video does not need the model on every frame: about 10 Hz keeps the motion (the skipped frames
are filled in time before smoothing, formcheck.analysis.smoothing.fill_skipped). The frames that
are skipped are still decoded (a video cannot be read otherwise) but never converted for the
model, which is where the time goes.

The choice is a function of each frame's own timestamp and its neighbours', never of where
reading began, so two trackers that read overlapping stretches of a file (formcheck.pose.chunked)
pick the same frames there. Always modelled, whatever the rate: the first frame, the last frame
(the end of the last rep), and the frames on both sides of an edit cut (a new shot must be found
at once, and the old one followed to its end), found by how much a tiny thumbnail changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

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

    def is_cut(self, before: np.ndarray, after: np.ndarray) -> bool:
        if before.shape != after.shape:
            return True
        return float(np.mean(np.abs(before.astype(np.int16) - after.astype(np.int16)))) > self.cut_change


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A tiny view of the frame (a strided copy, no resampling: ~10 µs at 1080p)."""
    h, w = image.shape[:2]
    cols, rows = THUMB_SIZE
    return np.ascontiguousarray(image[:: max(1, h // rows), :: max(1, w // cols)])


def pick(raw: Iterator[tuple[int, float, np.ndarray]], picker: FramePicker | None,
         convert: Callable[[np.ndarray], np.ndarray],
         look: Callable[[np.ndarray], np.ndarray] = thumbnail) -> Iterator[Frame | Skipped]:
    """Frames for the model (converted) and Skipped places for the rest, in order.

    `raw` gives (index, seconds, decoded image); `convert` makes the model's RGB frame from a
    decoded one; `look` the thumbnail that cut detection compares. With no picker every frame is
    converted. One frame is held back, so that a frame found to be the last, or the last before a
    cut, can still be given to the model.
    """
    if picker is None:
        for index, t, image in raw:
            yield Frame(index, t, convert(image))
        return
    held: tuple[int, float, np.ndarray, bool] | None = None  # index, t, image, chosen
    held_look: np.ndarray | None = None
    for index, t, image in raw:
        seen = look(image)
        chosen = held is None  # the first frame read
        if held is not None:
            h_index, h_t, h_image, h_chosen = held
            assert held_look is not None
            cut = picker.is_cut(held_look, seen)
            chosen = cut or picker.slot(t) != picker.slot(h_t)
            yield Frame(h_index, h_t, convert(h_image)) if h_chosen or cut else Skipped(h_index, h_t)
        held, held_look = (index, t, image, chosen), seen
    if held is not None:  # the last frame: always modelled
        yield Frame(held[0], held[1], convert(held[2]))
