"""The bad-input corpus, made at test time: nothing binary is committed.

Builders write what users really hand formcheck: empty and random files, cut and
damaged videos, photos, text, tiny, noisy, empty-room and huge videos, GIFs, odd names.
Cut and damaged videos start from a real dev clip (so the readable part has a person),
re-encoded to a short prefix with OpenCV and rewritten "fast start" (index before the
data, as phones and web exports do) so that a cut file still has its index.
"""

from __future__ import annotations

import shutil
import struct
import wave
from collections.abc import Iterable, Iterator
from pathlib import Path

import cv2
import numpy as np

BASE_CLIP = "synthetic_glute_bridge_anvoxfit.mp4"  # 97 frames, one full rep (frame 50)


# --- videos -------------------------------------------------------------------------------


def write_video(path: Path, frames: Iterable[np.ndarray], fps: float = 24.0, fourcc: str = "mp4v") -> Path:
    """Write BGR frames with OpenCV (mp4v in .mp4, MJPG in .avi)."""
    writer = None
    for f in frames:
        if writer is None:
            h, w = f.shape[:2]
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
            if not writer.isOpened():
                raise RuntimeError(f"OpenCV cannot write {fourcc} to {path}")
        writer.write(f)
    if writer is None:
        raise ValueError("no frames")
    writer.release()
    return path


def solid_frames(n: int, w: int = 320, h: int = 240) -> Iterator[np.ndarray]:
    """An empty room: plain frames, slowly changing colour (no person)."""
    for i in range(n):
        yield np.full((h, w, 3), (40 + 3 * i) % 256, np.uint8)


def moving_box(n: int, w: int = 160, h: int = 120) -> Iterator[np.ndarray]:
    """A white box crossing the frame: every frame differs, so a lost frame shows."""
    for i in range(n):
        f = np.full((h, w, 3), 30, np.uint8)
        x = (5 * i) % (w - 20)
        f[40:60, x : x + 20] = 255
        yield f


def noise_frames(n: int, w: int = 320, h: int = 240, seed: int = 0) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        yield rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def clip_prefix(src: Path, dest: Path, frames: int = 60, width: int = 480) -> Path:
    """The first `frames` frames of `src`, downscaled to `width`, as a fast-start mp4."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 24.0

    def read() -> Iterator[np.ndarray]:
        for _ in range(frames):
            ok, bgr = cap.read()
            if not ok:
                return
            h, w = bgr.shape[:2]
            yield cv2.resize(bgr, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)

    try:
        tmp = dest.with_name(dest.stem + ".moov-last.mp4")
        write_video(tmp, read(), fps)
    finally:
        cap.release()
    faststart(tmp, dest)
    tmp.unlink()
    return dest


# --- MP4 boxes ----------------------------------------------------------------------------

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def boxes(data: bytes | bytearray, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int, int]]:
    """(type, offset, size, header size) of the ISO-BMFF boxes in data[start:end]."""
    end = len(data) if end is None else end
    out = []
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        head = 8
        if size == 1:
            size, head = struct.unpack(">Q", data[i + 8 : i + 16])[0], 16
        elif size == 0:
            size = end - i
        if size < head:
            break
        out.append((kind, i, size, head))
        i += size
    return out


def _shift_offsets(moov: bytearray, start: int, end: int, delta: int) -> None:
    for kind, off, size, head in boxes(moov, start, end):
        body = off + head
        if kind in _CONTAINERS:
            _shift_offsets(moov, body, off + size, delta)
        elif kind in (b"stco", b"co64"):
            (n,) = struct.unpack(">I", moov[body + 4 : body + 8])
            fmt, width = (">I", 4) if kind == b"stco" else (">Q", 8)
            for j in range(n):
                p = body + 8 + j * width
                (v,) = struct.unpack(fmt, moov[p : p + width])
                moov[p : p + width] = struct.pack(fmt, v + delta)


def faststart(src: Path, dest: Path) -> Path:
    """Move the index (moov) before the data (mdat), like `ffmpeg -movflags +faststart`."""
    data = src.read_bytes()
    top = {kind: (off, size) for kind, off, size, _ in boxes(data)}
    (moov_at, moov_size), (mdat_at, _) = top[b"moov"], top[b"mdat"]
    if moov_at < mdat_at:
        shutil.copyfile(src, dest)
        return dest
    moov = bytearray(data[moov_at : moov_at + moov_size])
    _shift_offsets(moov, 8, len(moov), moov_size)
    dest.write_bytes(data[:mdat_at] + bytes(moov) + data[mdat_at:moov_at] + data[moov_at + moov_size :])
    return dest


def mdat_span(path: Path) -> tuple[int, int]:
    """[start, end) of the media data: where frames live."""
    data = path.read_bytes()
    for kind, off, size, head in boxes(data):
        if kind == b"mdat":
            return off + head, off + size
    raise ValueError(f"{path}: no mdat box")


# --- damage -------------------------------------------------------------------------------


def truncate(src: Path, dest: Path, fraction: float) -> Path:
    """The first `fraction` of the media data (an upload or copy that stopped)."""
    a, b = mdat_span(src)
    dest.write_bytes(src.read_bytes()[: a + int((b - a) * fraction)])
    return dest


def truncate_bytes(src: Path, dest: Path, fraction: float) -> Path:
    """The first `fraction` of the file's bytes, whatever the layout."""
    data = src.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


def header_only(src: Path, dest: Path) -> Path:
    """Everything up to the first frame's bytes: a valid index pointing at nothing."""
    a, _ = mdat_span(src)
    dest.write_bytes(src.read_bytes()[:a])
    return dest


def corrupt_middle(src: Path, dest: Path, length: int = 4096, seed: int = 0) -> Path:
    """Overwrite `length` bytes in the middle of the media data with random bytes."""
    a, b = mdat_span(src)
    data = bytearray(src.read_bytes())
    mid = (a + b) // 2
    data[mid : mid + length] = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    dest.write_bytes(bytes(data))
    return dest


# --- not videos ---------------------------------------------------------------------------


def image(dest: Path, fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> Path:
    from PIL import Image

    Image.new("RGB", size, (200, 30, 30)).save(dest, format=fmt)
    return dest


def gif(dest: Path, durations_ms: list[int], size: tuple[int, int] = (64, 48)) -> Path:
    """An (animated when len > 1) GIF whose frames are shown for `durations_ms`."""
    from PIL import Image

    frames = [Image.new("RGB", size, (60 * i % 256, 100, 200)) for i in range(len(durations_ms))]
    frames[0].save(
        dest,
        format="GIF",
        save_all=len(frames) > 1,
        append_images=frames[1:],
        duration=durations_ms if len(frames) > 1 else durations_ms[0],
        loop=0,
    )
    return dest


def wav(dest: Path, seconds: float = 0.5) -> Path:
    with wave.open(str(dest), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * int(8000 * seconds))
    return dest


def random_bytes(dest: Path, n: int = 20_000, seed: int = 0) -> Path:
    dest.write_bytes(np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes())
    return dest
