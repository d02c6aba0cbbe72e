"""Frames in, live: a grabber thread that always hands over the newest frame.

A camera index, a video file (played at its frame rate, or as fast as possible) or a
network stream. Stale frames are dropped so processing never lags behind the lifter; a
source that stops mid-set ends the stream cleanly and says why.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from formcheck.errors import CameraError
from formcheck.inputs.frames import Frame, FrameSource, read_capture, scale_frame
from formcheck.inputs.video import VideoInfo, iter_frames, probe


@dataclass(frozen=True)
class SourceInfo:
    name: str
    width: int
    height: int
    fps: float  # nominal; 0 when unknown
    frame_count: int  # announced by a file; 0 for cameras and streams
    kind: str  # "camera", "file" or "stream"


@dataclass(frozen=True)
class Grabbed:
    frame: Frame
    arrived: float  # time.monotonic() when the grabber handed it over


class LatestFrameSource:
    """A grabber thread that keeps only the newest frame, so processing never lags behind.

    `pace`: hand frames over at their timestamps (a file played in real time; cameras pace
    themselves); a frame not taken before the next one arrives is dropped. Without `pace`
    every frame is handed over, as fast as the consumer takes them (tests, evaluation).
    """

    def __init__(self, frames: Iterator[Frame], info: SourceInfo, pace: bool = True) -> None:
        self.info, self.pace = info, pace
        self.frames_read = self.frames_dropped = 0
        self.lost: str | None = None  # why the source stopped early, if it did
        self._frames = frames
        self._cond = threading.Condition()
        self._slot: Grabbed | None = None
        self._ended = self._stop = False
        self._wall0: float | None = None  # monotonic time of stream time `_t0`
        self._t0 = 0.0
        self._paused_at: float | None = None
        self._last_t = 0.0
        self._thread = threading.Thread(target=self._work, name="formcheck-grab", daemon=True)

    def __enter__(self) -> LatestFrameSource:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout=5.0)

    def clock(self) -> float:
        """Stream time now: the playback clock when paced, else the newest frame handed over."""
        with self._cond:
            if not self.pace or self._wall0 is None:
                return self._last_t
            now = self._paused_at if self._paused_at is not None else time.monotonic()
            return self._t0 + now - self._wall0

    def pause(self, on: bool) -> None:
        """Stop the playback clock of a file (a camera's world does not stop)."""
        with self._cond:
            if on and self._paused_at is None:
                self._paused_at = time.monotonic()
            elif not on and self._paused_at is not None:
                if self._wall0 is not None:
                    self._wall0 += time.monotonic() - self._paused_at
                self._paused_at = None
            self._cond.notify_all()

    def read(self, timeout: float | None = None) -> Grabbed | None:
        """The newest frame (waiting for one); None once the source has ended."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._slot is not None or self._ended, timeout):
                return None
            g, self._slot = self._slot, None
            if g is not None:
                self._last_t = g.frame.t
            self._cond.notify_all()
            return g

    @property
    def ended(self) -> bool:
        with self._cond:
            return self._ended and self._slot is None

    def _wait_due(self, t: float) -> bool:
        """Sleep until frame time t is due on the playback clock; False if stopped."""
        with self._cond:
            if self._wall0 is None:
                self._wall0, self._t0 = time.monotonic(), t
            while not self._stop:
                due = self._paused_at is None and time.monotonic() >= self._wall0 + (t - self._t0)
                if due:
                    return True
                wait = 0.05 if self._paused_at is not None else self._wall0 + (t - self._t0) - time.monotonic()
                self._cond.wait(max(0.0, min(wait, 0.05)))
            return False

    def _work(self) -> None:
        try:
            for f in self._frames:
                if self.pace and not self._wait_due(f.t):
                    break
                with self._cond:
                    if not self.pace:  # hand over every frame: wait until the last one was taken
                        self._cond.wait_for(lambda: self._slot is None or self._stop)
                    if self._stop:
                        break
                    if self._slot is not None:
                        self.frames_dropped += 1
                    self._slot = Grabbed(f, time.monotonic())
                    self.frames_read += 1
                    self._cond.notify_all()
            else:
                n, want = self.frames_read, self.info.frame_count
                if want and n < want - max(2, 0.02 * want):
                    self.lost = f"the video stopped after {n} of {want} frames (truncated or damaged)"
        except Exception as exc:  # a camera unplugged or a stream lost: end cleanly, keep the set
            self.lost = f"the source stopped after {self.frames_read} frames ({exc})"
        finally:
            if hasattr(self._frames, "close"):
                self._frames.close()  # type: ignore[attr-defined]
            with self._cond:
                self._ended = True
                self._cond.notify_all()


class SourceLost(RuntimeError):
    """A camera or stream stopped delivering frames."""


class Capture(FrameSource):
    """A camera or a network stream through OpenCV, timed by arrival (their own clocks are not trusted).

    Takes over `cap` (released when the iteration ends); a read that fails ends it with SourceLost.
    """

    def __init__(self, cap: Any, max_side: int | None, what: str) -> None:
        self.cap, self.max_side, self.what = cap, max_side, what

    def __iter__(self) -> Iterator[Frame]:
        try:
            t0: float | None = None
            for i, (bgr, _failed) in enumerate(read_capture(self.cap, max_failed=1)):
                now = time.monotonic()
                t0 = now if t0 is None else t0
                yield Frame(i, now - t0, cv2.cvtColor(scale_frame(bgr, self.max_side), cv2.COLOR_BGR2RGB))
            raise SourceLost(f"{self.what} stopped delivering frames")
        finally:
            self.cap.release()


def open_source(camera: int | None, source: str | None, max_side: int | None, pace: bool = True) -> LatestFrameSource:
    """A camera index, a video file or a URL; CameraError (exit 8) if a camera/stream won't open."""
    if source is not None and "://" not in source:
        info: VideoInfo | SourceInfo = probe(source)  # same checks and errors as file mode
        return LatestFrameSource(
            iter_frames(source, max_side),
            SourceInfo(Path(source).name, info.width, info.height, info.fps, info.frame_count, "file"),
            pace,
        )
    what = f"camera {camera}" if source is None else f"stream {source}"
    cap = cv2.VideoCapture(int(camera or 0)) if source is None else cv2.VideoCapture(source, cv2.CAP_FFMPEG)
    ok, first = (cap.read() if cap.isOpened() else (False, None))
    if not ok or first is None:
        cap.release()
        hint = "no such device, or another program is using it" if source is None else "unreachable or not a video"
        raise CameraError(f"{what} could not be opened ({hint})")
    h, w = first.shape[:2]
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    info = SourceInfo(what, w, h, fps if 0 < fps < 1000 else 0.0, 0, "camera" if source is None else "stream")
    return LatestFrameSource(iter(Capture(cap, max_side, what)), info, pace=True)


