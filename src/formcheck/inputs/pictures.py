"""Animated pictures (GIF, APNG, animated WebP) as videos, decoded with Pillow.

Frames are timed by their own durations, not a frame rate: a GIF whose frames last 100, 500
and 100 ms gives t = 0, 0.1 and 0.6 s. A cut animation keeps the frames before the cut.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from formcheck.errors import NotAVideo
from formcheck.inputs.sniff import REEXPORT, explain_unreadable, image_kind, read_head

# Browsers show GIF frames with a delay of 10 ms or less for 100 ms; so do we.
GIF_MIN_DELAY_MS = 20
GIF_DEFAULT_DELAY_MS = 100
MAX_PIXELS = 8192 * 8192  # as inputs.video.MAX_FRAME_PIXELS
# What Pillow raises on damaged data.
ERRORS = (OSError, ValueError, SyntaxError, struct.error)


def too_large(p: Path, w: float, h: float) -> NotAVideo:
    return NotAVideo(f"{p}: frames are {w:.0f}×{h:.0f}, too large to decode safely; export it at 4K or less")


def probe(p: Path, max_pixels: int) -> tuple[int, int, int, int]:
    """(width, height, frames, total ms); NotAVideo for a still, damaged or oversized picture."""
    kind = image_kind(read_head(p, 32))
    n, total_ms = 0, 0
    with open_capture(p) as im:
        w, h = im.size
        if w * h > max_pixels:
            raise too_large(p, w, h)
        try:
            for _ in _seek_frames(im, p, max_pixels):
                total_ms += delay_ms(im.info.get("duration"))
                n += 1
        except ERRORS as exc:  # a cut animation still has its first frames
            if n < 2:
                raise NotAVideo(f"{p}: damaged {kind} image ({exc}); {REEXPORT}") from exc
    if n < 2:
        raise NotAVideo(f"{p}: is a still {kind} image, not a video; record the set as a video (mp4, mov)")
    return w, h, n, total_ms


def frames(p: Path, max_pixels: int = MAX_PIXELS) -> Iterator[tuple[float, np.ndarray]]:
    """(t in seconds, (H, W, 3) uint8 RGB) for each frame, until the end or the first damage."""
    with open_capture(p) as im:
        t_ms = 0
        try:
            for _ in _seek_frames(im, p, max_pixels):
                yield t_ms / 1000.0, np.asarray(im.convert("RGB"))
                t_ms += delay_ms(im.info.get("duration"))
        except ERRORS:
            return  # a cut animation: keep the frames before the damage


def delay_ms(duration: object) -> int:
    d = int(duration) if isinstance(duration, int | float) and np.isfinite(duration) else 0
    return GIF_DEFAULT_DELAY_MS if d < GIF_MIN_DELAY_MS else d


def _seek_frames(im: Any, p: Path, max_pixels: int) -> Iterator[int]:
    """Step through an animated picture; stops at its end (no frame count needed up front).

    Each frame's declared size is checked before it is decoded: a GIF frame may be larger than
    the screen the file declares, and Pillow then grows the canvas to hold it (9000² decoded
    at 1.6 GB) — the screen's size alone bounds nothing.
    """
    from PIL import Image

    i = 0
    while True:
        try:
            im.seek(i)
        except EOFError:
            return
        except Image.DecompressionBombError as exc:  # Pillow's own limit (twice ours), seen on seek
            raise NotAVideo(f"{p}: frames too large to decode safely ({exc}); export it at 4K or less") from exc
        for w, h in [im.size, *((t[1][2] - t[1][0], t[1][3] - t[1][1]) for t in im.tile or ())]:
            if w * h > max_pixels:
                raise too_large(p, w, h)
        yield i
        i += 1


def open_capture(p: Path) -> Any:
    """Pillow image, with its decompression-bomb warning raised as an error (not printed)."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(p)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise NotAVideo(f"{p}: frames too large to decode safely ({exc})") from exc
        except Image.UnidentifiedImageError as exc:
            raise NotAVideo(f"{p}: {explain_unreadable(p)}") from exc
        except ERRORS as exc:
            raise NotAVideo(f"{p}: damaged {image_kind(read_head(p, 32))} image ({exc}); {REEXPORT}") from exc
