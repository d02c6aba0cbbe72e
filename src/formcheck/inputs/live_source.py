"""Frames in, live: a grabber thread that always hands over the newest frame.

A camera index, a video file (played at its frame rate, or as fast as possible) or a
network stream. Stale frames are dropped so processing never lags behind the lifter; a
source that stops mid-set (unplugged, closed, or silent: a UDP sender that stopped) ends the
stream cleanly within a few seconds and says why.

Time is the source's own: a file's timestamps; a stream's or camera's presentation
timestamps (PTS) where it has them, so the burst of frames buffered while formcheck connects
and loads the model keeps its true spacing instead of squeezing seconds of motion into a
fraction of one; arrival time only for a camera without timestamps.
"""

from __future__ import annotations

import math
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

# A live source that delivers no frame for this long is lost (a UDP sender that stopped sends
# nothing at all, and FFmpeg's own read timeout is 30 s).
STALL_S = 2.0
OPEN_TIMEOUT_MS = 10_000  # connecting to a stream
# A stream timestamp is trusted while it advances by at most this beyond the arrival gap: a
# restarted sender, a wrapped PTS or a camera clock reset re-anchors on arrival time instead.
MAX_PTS_JUMP_S = 5.0
SILENT_WHY = "the sender stopped or the link is down"


@dataclass(frozen=True)
class SourceInfo:
    name: str
    width: int
    height: int
    fps: float  # nominal; 0 when unknown
    frame_count: int  # announced by a file; 0 for cameras and streams
    kind: str  # "camera", "file" or "stream"

    @property
    def live(self) -> bool:
        """A camera or stream: the world does not wait for us (no pacing, a stall is a loss)."""
        return self.kind != "file"


@dataclass(frozen=True)
class Grabbed:
    frame: Frame
    arrived: float  # time.monotonic() when the grabber handed it over


class LatestFrameSource:
    """A grabber thread that keeps only the newest frame, so processing never lags behind.

    `pace` (files): hand frames over at their timestamps, as a camera would; a frame not taken
    before the next one arrives is dropped. Without `pace` every frame is handed over, as fast
    as the consumer takes them (tests, evaluation). A live source (camera, stream) is never
    held back: frames are handed over as they arrive, the newest wins, and one that sends
    nothing for `stall_s` is declared lost even while the read is still blocked.

    `drain()` (a live source, before the model is ready): read from now on, keeping only the
    newest frame, so the frames buffered while connecting and loading never reach the set (they
    come in a burst; the set starts at the live edge).
    """

    def __init__(self, frames: Iterator[Frame], info: SourceInfo, pace: bool = True, stall_s: float | None = None,
                 stream_clock: StreamClock | None = None) -> None:  # fmt: skip
        self.info, self.pace, self._stream_clock = info, pace, stream_clock
        self.stall_s = stall_s if stall_s is not None else (STALL_S if info.live else 0.0)
        self.frames_read = self.frames_dropped = 0
        self.lost: str | None = None  # why the source stopped early, if it did
        self._frames = frames
        self._cond = threading.Condition()
        self._slot: Grabbed | None = None
        self._ended = self._stop = False
        self._wall0: float | None = None  # monotonic time of stream time `_t0` (paced files)
        self._t0 = 0.0
        self._paused_at: float | None = None
        self._last_t = 0.0
        self._lead = math.inf  # live: the smallest (arrival - stream time) so far, i.e. the live edge
        self._waiting_since: float | None = None  # the grabber is blocked on the source since then
        self._started = True  # False while draining: frames are read, only the newest kept, none handed over
        self._held: Frame | None = None
        self._thread = threading.Thread(target=self._work, name="formcheck-grab", daemon=True)

    def drain(self) -> LatestFrameSource:
        """Start reading now, handing nothing over until the loop starts (`with`): see the class."""
        self._started = False
        self._thread.start()
        return self

    def __enter__(self) -> LatestFrameSource:
        with self._cond:
            if not self._started:
                self._started = True
                if self._held is not None:  # the live edge: the newest frame read while draining
                    self._hand_over(self._held)
                    self._held = None
                return self
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
            blocked = self._waiting_since is not None and self.live
        # A live source's read returns at its next frame or its own timeout (a stopped sender) and
        # the grabber releases the capture then: the set does not wait for it.
        self._thread.join(timeout=0.2 if blocked else 5.0)

    @property
    def live(self) -> bool:
        return self.info.live

    @property
    def timing(self) -> str:
        """Where frame times come from: "file", "pts" (the stream's own) or "arrival"."""
        return "file" if not self.live else self._stream_clock.kind if self._stream_clock else "arrival"

    def clock(self) -> float:
        """Stream time now, as near real time as can be known.

        A paced file: its playback clock. A live source: the live edge, i.e. the stream time of
        the most promptly arrived frame carried forward by the wall clock, so a buffered burst
        reads as old and a stall as time going on. Unpaced: the newest frame handed over.
        """
        with self._cond:
            now = time.monotonic()
            if self.live:
                return now - self._lead if math.isfinite(self._lead) else self._last_t
            if not self.pace or self._wall0 is None:
                return self._last_t
            now = self._paused_at if self._paused_at is not None else now
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
        """The newest frame (waiting for one); None on timeout or once the source has ended."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._slot is not None or self._ended or self._stalled(), timeout):
                return None
            g, self._slot = self._slot, None
            if g is not None:
                self._last_t = g.frame.t
            self._cond.notify_all()
            return g

    @property
    def ended(self) -> bool:
        with self._cond:
            self._stalled()
            return self._ended and self._slot is None

    def _stalled(self) -> bool:
        """The watchdog (under the lock): a live source silent for `stall_s` has ended."""
        since = self._waiting_since
        if self._ended or not self.stall_s or since is None or time.monotonic() - since < self.stall_s:
            return False
        self.lost = f"no frame from {self.info.name} for {self.stall_s:.0f} s ({SILENT_WHY})"
        self._ended = True
        self._cond.notify_all()
        return True

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

    def _next(self, frames: Iterator[Frame]) -> Frame | None:
        """The source's next frame, with the watchdog on while it is awaited."""
        with self._cond:
            self._waiting_since = time.monotonic()
        try:
            return next(frames, None)
        finally:
            with self._cond:
                self._waiting_since = None

    def _hand_over(self, f: Frame) -> None:
        """Into the slot (under the lock): a frame still there was not taken in time, it is dropped."""
        if self._slot is not None:
            self.frames_dropped += 1
        self._slot = Grabbed(f, time.monotonic())
        self.frames_read += 1
        self._cond.notify_all()

    def _work(self) -> None:
        paced = self.pace and not self.live
        try:
            while (f := self._next(self._frames)) is not None:
                if paced and not self._wait_due(f.t):
                    break
                with self._cond:
                    if not self.pace:  # hand over every frame: wait until the last one was taken
                        self._cond.wait_for(lambda: self._slot is None or self._stop)
                    if self._stop or self._ended:  # stopped, or declared lost by the watchdog meanwhile
                        break
                    self._lead = min(self._lead, time.monotonic() - f.t)
                    if self._started:
                        self._hand_over(f)
                    else:
                        self._held = f
            else:
                n, want = self.frames_read, self.info.frame_count
                if want and n < want - max(2, 0.02 * want):
                    self.lost = f"the video stopped after {n} of {want} frames (truncated or damaged)"
        except Exception as exc:  # a camera unplugged or a stream lost: end cleanly, keep the set
            with self._cond:
                n = self.frames_read
                self.lost = self.lost or (str(exc) if isinstance(exc, SourceLost)
                                          else f"the source stopped after {n} frames ({exc})")  # fmt: skip
        finally:
            if hasattr(self._frames, "close"):
                self._frames.close()  # type: ignore[attr-defined]
            with self._cond:
                self._ended = True
                self._cond.notify_all()


class SourceLost(RuntimeError):
    """A camera or stream stopped delivering frames."""


class StreamClock:
    """Seconds since the first frame, from the source's own timestamps where it has them.

    `__call__(pts_s, arrived)`: a timestamp that advances (by no more than `MAX_PTS_JUMP_S` past
    the arrival gap) moves the clock by its step; none, a repeat, a step back or a jump (a
    restarted sender) moves it by the arrival gap instead. `kind` says which was used.
    """

    def __init__(self) -> None:
        self.kind = "arrival"
        self.resyncs = 0  # timestamps that could not be trusted after others were
        self._prev: tuple[float, float | None, float] | None = None  # (t, pts, arrived)

    def __call__(self, pts_s: float | None, arrived: float) -> float:
        if self._prev is None:
            t = 0.0
        else:
            t0, pts0, arrived0 = self._prev
            gap = arrived - arrived0
            step = pts_s - pts0 if pts_s is not None and pts0 is not None else None
            if step is not None and 0 < step <= max(gap, 0.0) + MAX_PTS_JUMP_S:
                t, self.kind = t0 + step, "pts"
            else:
                t = t0 + max(gap, 1e-3)
                self.resyncs += self.kind == "pts"
        self._prev = (t, pts_s, arrived)
        return t


def _pts_s(cap: Any) -> float | None:
    ms = float(cap.get(cv2.CAP_PROP_POS_MSEC))
    return ms / 1000.0 if math.isfinite(ms) and ms >= 0 else None


class Capture(FrameSource):
    """A camera or a network stream through OpenCV, timed by its own timestamps (else by arrival).

    Takes over `cap` (released when the iteration ends); a read that fails ends it with SourceLost.
    """

    def __init__(self, cap: Any, max_side: int | None, what: str) -> None:
        self.cap, self.max_side, self.what = cap, max_side, what
        self.clock = StreamClock()

    def __iter__(self) -> Iterator[Frame]:
        last = time.monotonic()
        try:
            for i, (bgr, _failed) in enumerate(read_capture(self.cap, max_failed=1)):
                last = time.monotonic()
                t = self.clock(_pts_s(self.cap), last)
                yield Frame(i, t, cv2.cvtColor(scale_frame(bgr, self.max_side), cv2.COLOR_BGR2RGB))
            silent = time.monotonic() - last
            if silent >= 1.0:  # the read timed out: nothing came
                raise SourceLost(f"no frame from {self.what} for {silent:.0f} s ({SILENT_WHY})")
            raise SourceLost(f"{self.what} stopped delivering frames (closed by the sender)")
        finally:
            self.cap.release()


def open_capture(camera: int | None, source: str | None) -> Any:
    """An OpenCV capture; a stream's reads give up after `STALL_S` (FFmpeg's default is 30 s)."""
    if source is None:
        return cv2.VideoCapture(int(camera or 0))
    timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(STALL_S * 1000)]
    return cv2.VideoCapture(source, cv2.CAP_FFMPEG, timeouts)


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
    cap = open_capture(camera, source)
    ok, first = (cap.read() if cap.isOpened() else (False, None))
    if not ok or first is None:
        cap.release()
        hint = "no such device, or another program is using it" if source is None else "unreachable or not a video"
        raise CameraError(f"{what} could not be opened ({hint})")
    h, w = first.shape[:2]
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    info = SourceInfo(what, w, h, fps if 0 < fps < 1000 else 0.0, 0, "camera" if source is None else "stream")
    capture = Capture(cap, max_side, what)
    capture.clock(_pts_s(cap), time.monotonic())  # time 0: the first frame (read only to open the source)
    return LatestFrameSource(iter(capture), info, pace=True, stream_clock=capture.clock).drain()
