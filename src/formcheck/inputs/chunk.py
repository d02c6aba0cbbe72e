"""A time chunk of a video file, read strictly: any repair the single stream would make is flagged."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from formcheck.inputs.frames import Frame, FrameSource, Skipped, grab_capture, scale_frame
from formcheck.inputs.sampling import Fetch, FramePicker
from formcheck.inputs.video import open_capture, pick_grabbed


class FileChunk(FrameSource):
    """Frames from `seek_s` on, as `video.VideoFile` would give them, until `stop` or a doubt.

    Anything the single stream would have to repair (a failed read followed by more frames, a
    missing or repeated timestamp, a frame size that changes) sets `clean` to False and ends the
    chunk; `size` is the frames' (width, height). Indices are the container's frame numbers.
    """

    def __init__(self, p: Path, seek_s: float, max_side: int | None, stop: threading.Event) -> None:
        self.path, self.seek_s, self.max_side, self.stop = p, seek_s, max_side, stop
        self.clean = True
        self.size: tuple[int, int] | None = None

    def __iter__(self) -> Iterator[Frame]:
        return self.sampled(None)  # type: ignore[return-value]  # no picker: Frames only

    def sampled(self, picker: FramePicker | None) -> Iterator[Frame | Skipped]:
        cap = open_capture(self.path)
        try:
            if self.seek_s > 0:
                cap.set(cv2.CAP_PROP_POS_MSEC, self.seek_s * 1000.0)
            yield from pick_grabbed(self.path, cap, self._grabbed(cap), picker, self._convert)
        finally:
            cap.release()

    def _convert(self, bgr: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(scale_frame(bgr, self.max_side), cv2.COLOR_BGR2RGB)

    def _grabbed(self, cap: cv2.VideoCapture) -> Iterator[tuple[int, float, Fetch]]:
        """(index, t, fetch) of each frame, each image fetched only when asked (every frame without
        a picker); a size change is seen at the next fetched frame, which ends the chunk there."""
        last_t = -1.0
        shape: tuple[int, ...] | None = None

        def checked(fetch: Fetch) -> np.ndarray | None:
            nonlocal shape
            bgr = fetch()
            if bgr is None or shape not in (None, bgr.shape):
                self.clean = False
                return None
            if shape is None:
                shape = bgr.shape
                small = scale_frame(bgr, self.max_side)
                self.size = (small.shape[1], small.shape[0])
            return bgr

        for fetch, failed in grab_capture(cap, stop=self.stop):
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if not self.clean or failed or not np.isfinite(t) or t < 0 or t <= last_t:
                self.clean = False
                return
            last_t = t
            yield int(cap.get(cv2.CAP_PROP_POS_FRAMES)) - 1, t, functools.partial(checked, fetch)
