"""`--record`: the session's video, so the set can be re-scored (`formcheck PATH`) or shared.

Frames arrive at the times the loop processed them, which is not a fixed rate: on a slow
machine stale frames were dropped. The video is written at the source's rate with each frame
held until the next one (a dropped frame is filled by the one before it), so its clock is the
session's: a rep at 4.2 s live is at 4.2 s in the file.

Encoding runs in its own thread and process (report.encode: H.264 through the ffmpeg binary,
so browsers play it), so the loop only hands a frame over. The file appears under its name
when the set ends; until then it is a temp file beside it (util.atomic), removed if the
session fails.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from types import TracebackType

import numpy as np

from formcheck.errors import OutputError
from formcheck.report.encode import VideoSink, plan

DEFAULT_FPS = 30.0  # a camera or stream that announces no rate
QUEUE_FRAMES = 16  # frames waiting for the encoder; past this the loop waits (never drops)
MAX_FILL_S = 600.0  # a frame is held at most this long (a stream that stalled for minutes)
_END = None


def check_path(path: Path) -> None:
    """OutputError now, before the camera opens, for a name formcheck cannot write a video to."""
    plan(path, "--record")


class _Aborted(Exception):
    """The session failed: the recording is dropped with it."""


class Recorder:
    """`with Recorder(path, fps) as rec: rec.write(t, rgb)` — frames at stream times t (seconds).

    A failure to write (a full disk) stops the recording, not the set: it is raised as an
    OutputError when the block ends. An exception ending the block drops the recording.
    """

    def __init__(self, path: str | Path, fps: float = 0.0) -> None:
        self.path, self.fps = Path(path), fps if fps > 0 else DEFAULT_FPS
        self.frames = 0  # written, fills included
        self.received = 0
        self._t0: float | None = None
        self._last: np.ndarray | None = None
        self._queue: queue.Queue[tuple[np.ndarray, int] | None] = queue.Queue(QUEUE_FRAMES)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._abort = False

    def __enter__(self) -> Recorder:
        return self

    def write(self, t: float, rgb: np.ndarray) -> None:
        """A frame at stream time t: the one before is held until this one's slot."""
        if self._error is not None:
            return
        if self._t0 is None:
            self._t0 = t
            h, w = rgb.shape[:2]
            self._thread = threading.Thread(target=self._work, args=(w, h), name="formcheck-record", daemon=True)
            self._thread.start()
        slot = round((t - self._t0) * self.fps)
        self.received += 1
        if slot < self.frames:
            return  # faster than the file's rate: this slot is taken
        fill = min(slot - self.frames, round(MAX_FILL_S * self.fps))
        if fill and self._last is not None:
            self._queue.put((self._last, fill))
        self._last = rgb
        self._queue.put((rgb, 1))
        self.frames += fill + 1

    def _work(self, width: int, height: int) -> None:
        try:
            with VideoSink(self.path, width, height, self.fps) as sink:
                while (item := self._queue.get()) is not _END:
                    rgb, times = item
                    for _ in range(times):
                        sink.write(rgb)
                if self._abort:
                    raise _Aborted
        except _Aborted:
            pass
        except Exception as exc:  # raised when the block ends, in the loop's thread
            self._error = exc
            while self._queue.get() is not _END:  # let the loop hand frames on; nothing more is written
                pass

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._thread is None:
            return  # no frame came: no file (the session says why)
        self._abort = kind is not None
        self._queue.put(_END)
        self._thread.join()
        err = self._error
        if kind is None and err is not None:
            if isinstance(err, OutputError):
                raise err
            raise OutputError(f"cannot write --record {self.path}: {err}")
