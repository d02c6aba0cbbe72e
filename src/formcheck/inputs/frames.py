"""Frames and where they come from: one `FrameSource` interface for every kind of input.

A source is iterated for `Frame`s (index, seconds, RGB image). The kinds: `video.VideoFile`
(FFmpeg, repaired as it goes), `video.AnimatedPicture` (Pillow), `chunk.FileChunk` (a time
chunk of a file, strict: it flags any repair instead), `live_source.Capture` (a camera or a
network stream, timed by arrival). The OpenCV ones share `read_capture` (or `grab_capture`: decoded,
converted on demand).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import cv2
import numpy as np

# A damaged stretch of video fails to decode frame by frame; reading on past it recovers the
# rest. At the true end every read fails at once (~40 µs each), so this costs nothing there.
MAX_FAILED_READS = 250


@dataclass(frozen=True)
class Frame:
    index: int
    t: float  # seconds from the start of the video
    image: np.ndarray  # (H, W, 3) uint8, RGB


@dataclass(frozen=True)
class Skipped:
    """A frame that was decoded but not shown to the model (formcheck.inputs.sampling): its place in time."""

    index: int
    t: float


class FrameSource(ABC):
    """Frames in order; iterating opens the input and closing the iterator releases it."""

    @abstractmethod
    def __iter__(self) -> Iterator[Frame]: ...


def read_capture(cap: Any, max_failed: int = MAX_FAILED_READS,
                 stop: threading.Event | None = None) -> Iterator[tuple[np.ndarray, int]]:
    """(BGR image, failed reads just before it) for each frame an OpenCV capture decodes.

    A failed read is skipped; `max_failed` in a row end the stream (the true end of a file, or a
    camera gone); `stop` ends it early. The caller reads the capture's position at each frame.
    """
    return _each(cap, _read, max_failed, stop)


def grab_capture(cap: Any, max_failed: int = MAX_FAILED_READS,
                 stop: threading.Event | None = None) -> Iterator[tuple[Callable[[], np.ndarray | None], int]]:
    """As `read_capture`, but each frame is only decoded: (fetch, failed reads just before it),
    where fetch() converts it to a BGR image (or None) and must be called before the next frame."""
    return _each(cap, _grab, max_failed, stop)


Got = TypeVar("Got")


def _each(cap: Any, step: Callable[[Any], Got | None], max_failed: int,
          stop: threading.Event | None) -> Iterator[tuple[Got, int]]:
    failed = 0
    while failed < max_failed and not (stop is not None and stop.is_set()):
        got = step(cap)
        if got is None:
            failed += 1  # a damaged frame, or the end: read on a little to tell which
            continue
        yield got, failed
        failed = 0


def _image(ok: bool, bgr: np.ndarray | None) -> np.ndarray | None:
    return bgr if ok and bgr is not None and bgr.size else None


def _read(cap: Any) -> np.ndarray | None:
    return _image(*cap.read())


def _grab(cap: Any) -> Callable[[], np.ndarray | None] | None:
    return (lambda: _image(*cap.retrieve())) if cap.grab() else None


def scale_frame(image: np.ndarray, max_side: int | None) -> np.ndarray:
    if max_side is None:
        return image
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    s = max_side / max(h, w)
    # INTER_AREA costs 8-11 ms a 1080p frame (bench/README.md); for a mild shrink the model,
    # which sees 256 px, cannot tell it from the 10x cheaper bilinear resize.
    interp = cv2.INTER_LINEAR if s > 0.5 else cv2.INTER_AREA
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp)


_DONE = object()


Item = TypeVar("Item")


def prefetched(frames: Iterator[Item], depth: int) -> Generator[Item, None, None]:
    q: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for f in frames:
                while not stop.is_set():
                    try:
                        q.put(f, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
        except BaseException as exc:  # handed to the consumer, raised there
            q.put(exc)
        finally:
            if hasattr(frames, "close"):
                frames.close()
            q.put(_DONE)

    th = threading.Thread(target=work, name="formcheck-decode", daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while th.is_alive():
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.05)
        th.join()
