"""A time chunk of a video file, read strictly: any repair the single stream would make is flagged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from formcheck.inputs.frames import Frame, FrameSource, read_capture, scale_frame
from formcheck.inputs.video import open_capture


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
        cap = open_capture(self.path)
        try:
            if self.seek_s > 0:
                cap.set(cv2.CAP_PROP_POS_MSEC, self.seek_s * 1000.0)
            last_t = -1.0
            for bgr, failed in read_capture(cap, stop=self.stop):
                t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                small = scale_frame(bgr, self.max_side)
                size = (small.shape[1], small.shape[0])
                if failed or not np.isfinite(t) or t < 0 or t <= last_t or self.size not in (None, size):
                    self.clean = False
                    return
                self.size = size
                last_t = t
                index = int(cap.get(cv2.CAP_PROP_POS_FRAMES)) - 1
                yield Frame(index, t, cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
        finally:
            cap.release()
