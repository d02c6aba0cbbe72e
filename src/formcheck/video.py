"""Frames in: open a video (or animated GIF) and stream RGB frames with true timestamps.

Frames are streamed one at a time (memory does not grow with video length). Timestamps
come from the container (presentation time), not from index / fps, so variable-frame-rate
phone clips and GIFs whose key frames are held longer keep their real timing. OpenCV
applies rotation metadata itself, so portrait phone clips come out upright; the size we
report is that of the decoded (rotated) frame.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from formcheck.errors import InputNotFound, NotAVideo

# Browsers show GIF frames with a delay of 10 ms or less for 100 ms; so do we.
GIF_MIN_DELAY_MS = 20
GIF_DEFAULT_DELAY_MS = 100

_IMAGE_MAGIC = (
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video, checked against its first decoded frame."""

    path: str
    width: int
    height: int
    fps: float
    frame_count: int  # as announced by the container; 0 when unknown
    is_gif: bool

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


@dataclass(frozen=True)
class Frame:
    index: int
    t: float  # seconds from the start of the video
    image: np.ndarray  # (H, W, 3) uint8, RGB


def check_path(path: str | os.PathLike[str]) -> Path:
    """Fail early, in one line, on paths that cannot be a video."""
    p = Path(path)
    if not p.exists():
        raise InputNotFound(f"{p}: no such file")
    if p.is_dir():
        raise InputNotFound(f"{p}: is a directory, not a video (use `formcheck batch` for folders)")
    if not p.is_file():
        raise InputNotFound(f"{p}: not a regular file")
    try:
        with p.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise InputNotFound(f"{p}: cannot be read ({exc.strerror})") from exc
    if not head:
        raise NotAVideo(f"{p}: the file is empty (0 bytes)")
    for magic, kind in _IMAGE_MAGIC:
        if head.startswith(magic):
            raise NotAVideo(f"{p}: is a still {kind} image; formcheck needs a video of the set")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        raise NotAVideo(f"{p}: is a still WebP image; formcheck needs a video of the set")
    return p


def _is_gif(p: Path) -> bool:
    with p.open("rb") as fh:
        return fh.read(6) in (b"GIF87a", b"GIF89a")


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Open the file, decode its first frame, and describe it; raise NotAVideo if we cannot."""
    p = check_path(path)
    if _is_gif(p):
        return _probe_gif(p)
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
    try:
        if not cap.isOpened():
            raise NotAVideo(f"{p}: not a video formcheck can read (unknown or damaged format)")
        ok, frame = cap.read()
        if not ok or frame is None:
            raise NotAVideo(f"{p}: no video frame could be decoded (damaged or truncated file)")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(max(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0, 0))
        h, w = frame.shape[:2]
        return VideoInfo(str(p), w, h, fps if 0 < fps < 1000 else 0.0, count, False)
    finally:
        cap.release()


def _probe_gif(p: Path) -> VideoInfo:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(p) as im:
            n = getattr(im, "n_frames", 1)
            w, h = im.size
            total_ms = 0
            for i in range(n):
                im.seek(i)
                total_ms += _gif_delay(im.info.get("duration"))
    except (UnidentifiedImageError, OSError, EOFError, ValueError) as exc:
        raise NotAVideo(f"{p}: damaged GIF ({exc})") from exc
    if n < 2:
        raise NotAVideo(f"{p}: is a still GIF image; formcheck needs a video of the set")
    fps = n / (total_ms / 1000.0) if total_ms else 0.0
    return VideoInfo(str(p), w, h, fps, n, True)


def _gif_delay(duration: object) -> int:
    d = int(duration) if isinstance(duration, int | float) else 0
    return GIF_DEFAULT_DELAY_MS if d < GIF_MIN_DELAY_MS else d


def _scale(image: np.ndarray, max_side: int | None) -> np.ndarray:
    if max_side is None:
        return image
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    s = max_side / max(h, w)
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def _iter_ffmpeg(p: Path, max_side: int | None) -> Iterator[Frame]:
    cap = cv2.VideoCapture(str(p), cv2.CAP_FFMPEG)
    try:
        if not cap.isOpened():
            raise NotAVideo(f"{p}: not a video formcheck can read")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
        last_t = -1.0
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok or bgr is None:
                return
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if not np.isfinite(t) or t <= last_t:
                # Missing or repeated timestamps (damaged files): fall back to the frame rate.
                t = max(last_t + 1.0 / fps, i / fps)
            last_t = t
            rgb = cv2.cvtColor(_scale(bgr, max_side), cv2.COLOR_BGR2RGB)
            yield Frame(i, t, rgb)
            i += 1
    finally:
        cap.release()


def _iter_gif(p: Path, max_side: int | None) -> Iterator[Frame]:
    from PIL import Image

    with Image.open(p) as im:
        t_ms = 0
        for i in range(getattr(im, "n_frames", 1)):
            try:
                im.seek(i)
                rgb = np.asarray(im.convert("RGB"))
            except (OSError, EOFError, ValueError):
                return
            yield Frame(i, t_ms / 1000.0, _scale(rgb, max_side))
            t_ms += _gif_delay(im.info.get("duration"))


def iter_frames(
    path: str | os.PathLike[str], max_side: int | None = None, prefetch: int = 0
) -> Iterator[Frame]:
    """Stream frames; frames larger than `max_side` are downscaled (the model sees 256 px).

    With `prefetch` > 0 a background thread decodes ahead, overlapping decoding with
    whatever the caller does with each frame (OpenCV releases the GIL while decoding).
    """
    p = check_path(path)
    frames = _iter_gif(p, max_side) if _is_gif(p) else _iter_ffmpeg(p, max_side)
    return _prefetched(frames, prefetch) if prefetch > 0 else frames


_DONE = object()


def _prefetched(frames: Iterator[Frame], depth: int) -> Iterator[Frame]:
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
            assert isinstance(item, Frame)
            yield item
    finally:
        stop.set()
        while th.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        th.join()
