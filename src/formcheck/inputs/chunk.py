"""A time chunk of a video file, read strictly: any repair the single stream would make is flagged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from formcheck.inputs.frames import Frame, FrameSource, Skipped, grab_capture, read_capture, scale_frame
from formcheck.inputs.sampling import Fetch, FramePicker, pick, pick_decoded
from formcheck.inputs.video import Rereader, open_capture, tail_index


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
            if picker is None:
                yield from pick(self._decoded(cap), picker, self._convert)
                return
            with Rereader(self.path) as again:
                yield from pick_decoded(self._grabbed(cap), picker, self._convert, again.frames, tail_index(cap))
        finally:
            cap.release()

    def _convert(self, bgr: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(scale_frame(bgr, self.max_side), cv2.COLOR_BGR2RGB)

    def _decoded(self, cap: cv2.VideoCapture) -> Iterator[tuple[int, float, np.ndarray]]:
        last_t = -1.0
        shape: tuple[int, ...] | None = None
        for bgr, failed in read_capture(cap, stop=self.stop):
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if failed or not np.isfinite(t) or t < 0 or t <= last_t or shape not in (None, bgr.shape):
                self.clean = False
                return
            if shape is None:
                small = scale_frame(bgr, self.max_side)
                self.size = (small.shape[1], small.shape[0])
            shape, last_t = bgr.shape, t
            yield int(cap.get(cv2.CAP_PROP_POS_FRAMES)) - 1, t, bgr

    def _grabbed(self, cap: cv2.VideoCapture) -> Iterator[tuple[int, float, Fetch]]:
        """As `_decoded` with each image fetched only when asked; a size change is seen at the
        next fetched frame, which ends the chunk there."""
        last_t = -1.0
        shape: list[tuple[int, ...]] = []

        def checked(fetch: Fetch) -> Fetch:
            def once() -> np.ndarray | None:
                bgr = fetch()
                if bgr is None or (shape and bgr.shape != shape[0]):
                    self.clean = False
                    return None
                if not shape:
                    shape.append(bgr.shape)
                    small = scale_frame(bgr, self.max_side)
                    self.size = (small.shape[1], small.shape[0])
                return bgr
            return once

        for fetch, failed in grab_capture(cap, stop=self.stop):
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if not self.clean or failed or not np.isfinite(t) or t < 0 or t <= last_t:
                self.clean = False
                return
            last_t = t
            yield int(cap.get(cv2.CAP_PROP_POS_FRAMES)) - 1, t, checked(fetch)
