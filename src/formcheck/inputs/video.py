"""Frames in: open a video (or an animated GIF) and stream RGB frames with true timestamps.

Frames are streamed one at a time (memory does not grow with video length). Timestamps
come from the container (presentation time), not from index / fps, so variable-frame-rate
phone clips and GIFs whose key frames are held longer keep their real timing. OpenCV
applies rotation metadata itself, so portrait phone clips come out upright; the size we
report is that of the decoded (rotated) frame. Animated pictures go through `pictures`.
Every way a file can fail to be a video ends in one NotAVideo / InputNotFound line that says
what the file is and what to do (`sniff`); see docs/exit-codes.md.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np

from formcheck.errors import InputNotFound, NotAVideo
from formcheck.inputs import bmff, pictures
from formcheck.inputs.frames import (
    MAX_FAILED_READS,
    Frame,
    FrameSource,
    Skipped,
    grab_capture,
    prefetched,
    read_capture,
    scale_frame,
)
from formcheck.inputs.sampling import Fetch, FramePicker, pick, pick_decoded
from formcheck.inputs.sniff import (
    MAYBE_ANIMATED,
    REEXPORT,
    bmff_problem,
    explain_unreadable,
    image_kind,
    is_bmff,
    is_text,
    read_head,
)

# Larger frames (beyond 8K) are refused before decoding: one would take gigabytes.
MAX_FRAME_PIXELS = 8192 * 8192
_URL = re.compile(r"^[a-z][a-z0-9+.-]+:/", re.I)  # https://…, rtsp://… (pathlib makes // one slash)
# Bound each FFmpeg open and read (ms): a stalled network drive must not hang formcheck.
_CAP_PARAMS = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 30_000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 30_000]


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video, checked against its first decoded frame."""

    path: str
    width: int  # of the decoded (upright) frame
    height: int
    fps: float  # 0 when unknown
    frame_count: int  # as announced by the container; 0 when unknown
    is_gif: bool  # an animated picture (GIF, APNG, WebP), decoded with Pillow

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


def check_path(path: str | os.PathLike[str]) -> Path:
    """Fail early, in one line, on paths that cannot be a video."""
    p = Path(path)
    if _URL.match(str(path)):
        raise InputNotFound(f"{path}: formcheck reads video files, not web addresses; download the video first")
    try:
        if not p.exists():
            raise InputNotFound(f"{p}: no such file; check the path")
        if p.is_dir():
            raise InputNotFound(f"{p}: is a directory, not a video (use `formcheck batch` for folders)")
        if not p.is_file():
            raise InputNotFound(f"{p}: not a regular file (a device or pipe?); pass a video file")
        head = read_head(p)
    except OSError as exc:
        raise InputNotFound(f"{p}: cannot be read ({exc.strerror or exc}); check its permissions") from exc
    if not head:
        raise NotAVideo(f"{p}: the file is empty (0 bytes); copy or export the video again")
    kind = image_kind(head)
    if kind is not None and kind not in MAYBE_ANIMATED:
        raise NotAVideo(f"{p}: is a still {kind} image, not a video; record the set as a video (mp4, mov)")
    if is_text(head):
        raise NotAVideo(f"{p}: {explain_unreadable(p)}")
    return p


def _is_picture(p: Path) -> bool:
    """GIF, PNG or WebP: decoded with Pillow (animated ones are videos to us)."""
    return image_kind(read_head(p, 32)) in MAYBE_ANIMATED


def open_capture(p: Path) -> cv2.VideoCapture:
    """The file's video, upright as players show it: its whole display matrix applied, flips too.

    OpenCV reads the first video stream and cannot be told another (its stream option is refused
    by the FFmpeg reader): for a file whose main stream (enabled, largest) is not its first (a
    64×64 thumbnail track first), FFmpeg is given the same file with its index's track boxes
    reordered, the main one first (`_main_first`). Where that cannot be done, the file is refused
    in one line that says how to export the main stream, rather than scored on the wrong picture.
    """
    tracks = bmff.video_tracks(p) if is_bmff(read_head(p, 16)) else []
    track = bmff.main_track(tracks)
    with _main_first(p, tracks, track) if track is not None and track.index > 0 else _utf8_name(p) as name:
        if name is None:
            assert track is not None
            first = tracks[0]
            raise NotAVideo(f"{p}: holds {len(tracks)} video streams and the first ({first.width:.0f}×"
                            f"{first.height:.0f}) is not the main one ({track.width:.0f}×{track.height:.0f}), "
                            f"which formcheck cannot pick here; export the main one alone "
                            f"(ffmpeg -i IN -map 0:v:{track.index} -c copy OUT.mp4)")
        cap = cv2.VideoCapture(name, cv2.CAP_FFMPEG, _CAP_PARAMS)
    if not cap.isOpened():
        cap.release()
        raise NotAVideo(f"{p}: {explain_unreadable(p)}")
    if track is not None and track.flips:  # OpenCV would turn a mirror into a 180° turn
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
        return _Oriented(cap, track.matrix)  # type: ignore[return-value]
    return cap


class _Oriented:
    """A capture whose frames get the display matrix (a, b, c, d): x' = a x + c y, y' = b x + d y."""

    def __init__(self, cap: cv2.VideoCapture, matrix: tuple[int, int, int, int]) -> None:
        self.cap, self.matrix = cap, matrix

    def read(self) -> tuple[bool, np.ndarray | None]:
        ok, frame = self.cap.read()
        return ok, (orient(frame, self.matrix) if ok and frame is not None else frame)

    def retrieve(self) -> tuple[bool, np.ndarray | None]:
        ok, frame = self.cap.retrieve()
        return ok, (orient(frame, self.matrix) if ok and frame is not None else frame)

    def get(self, prop: int) -> float:
        v = self.cap.get(prop)
        if self.matrix[0] == 0 and prop in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT):
            other = cv2.CAP_PROP_FRAME_HEIGHT if prop == cv2.CAP_PROP_FRAME_WIDTH else cv2.CAP_PROP_FRAME_WIDTH
            return float(self.cap.get(other))
        return float(v)

    def __getattr__(self, name: str) -> object:  # set, release, isOpened, grab ...
        return getattr(self.cap, name)


def orient(image: np.ndarray, matrix: tuple[int, int, int, int]) -> np.ndarray:
    """The frame as displayed under a turn/flip display matrix (QuickTime tkhd convention)."""
    a, b, c, d = matrix
    if b == 0 and c == 0:
        out = image[:: -1 if d < 0 else 1, :: -1 if a < 0 else 1]
    else:
        out = image.swapaxes(0, 1)[:: -1 if b < 0 else 1, :: -1 if c < 0 else 1]
    return np.ascontiguousarray(out)


@contextlib.contextmanager
def _main_first(p: Path, tracks: list[bmff.VideoTrack], main: bmff.VideoTrack) -> Iterator[str | None]:
    """A name for FFmpeg that reads `p` with `main` as its first video stream, or None.

    Nothing is copied: FFmpeg's concat and subfile protocols join the file's bytes before and
    after its index with the reordered index (a small temp file), at the same offsets. The temp
    files are only needed while FFmpeg opens them (it holds them open after), as in `_utf8_name`.
    """
    try:
        moved = bmff.main_first(p, tracks, main)
        size = p.stat().st_size
    except OSError:
        moved = None
    if moved is None:
        yield None
        return
    start, end, index = moved
    with tempfile.TemporaryDirectory(prefix="formcheck-") as tmp:
        if any(c in tmp for c in "|,:"):  # would break the protocol syntax below
            yield None
            return
        link, moov = Path(tmp) / "video.mp4", Path(tmp) / "index.bin"
        link.symlink_to(p.resolve())
        moov.write_bytes(index)
        parts = [f"subfile,,start,0,end,{start},,:{link}", str(moov)]
        if end < size:
            parts.append(f"subfile,,start,{end},end,{size},,:{link}")
        yield "concat:" + "|".join(parts)


@contextlib.contextmanager
def _utf8_name(p: Path) -> Iterator[str | None]:
    """A name OpenCV can take: it crashes (SIGSEGV) on a file name that is not valid UTF-8.

    Such names (old archives, Latin-1 disks) are opened through a symlink with a plain name;
    once FFmpeg has the file open the link is no longer needed. The name is absolute, so that
    FFmpeg never reads a file called `pipe:0` or `http:x.mp4` as a protocol (stdin, network).
    """
    name = str(p.absolute())
    try:
        name.encode("utf-8")
        yield name
        return
    except UnicodeEncodeError:
        pass
    with tempfile.TemporaryDirectory(prefix="formcheck-") as tmp:
        link = Path(tmp) / ("video" + "".join(c for c in p.suffix if (c.isascii() and c.isalnum()) or c == "."))
        link.symlink_to(p.resolve())
        yield str(link)


def _fps(cap: cv2.VideoCapture) -> float:
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    return fps if np.isfinite(fps) and 0 < fps < 1000 else 0.0


def _check_size(p: Path, w: float, h: float) -> None:
    if np.isfinite(w) and np.isfinite(h) and w * h > MAX_FRAME_PIXELS:
        raise pictures.too_large(p, w, h)


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Open the file, decode its first frame, and describe it; raise NotAVideo if we cannot."""
    p = check_path(path)
    if _is_picture(p):
        return _probe_picture(p)
    cap = open_capture(p)
    try:
        _check_size(p, cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        frame = _first_frame(cap)
        if frame is None:
            raise NotAVideo(f"{p}: {_why_no_frame(p, cap)}")
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0
        count = int(count) if np.isfinite(count) and 0 < count < 1e9 else 0
        h, w = frame.shape[:2]
        return VideoInfo(str(p), w, h, _fps(cap), count, False)
    finally:
        cap.release()


def _first_frame(cap: cv2.VideoCapture) -> np.ndarray | None:
    for _ in range(MAX_FAILED_READS):
        ok, frame = cap.read()
        if ok and frame is not None and frame.size:
            return frame
    return None


def _why_no_frame(p: Path, cap: cv2.VideoCapture) -> str:
    problem = bmff_problem(p) if is_bmff(read_head(p, 16)) else None
    if problem is not None:
        return problem
    code = int(cap.get(cv2.CAP_PROP_FOURCC) or 0)
    codec = bytes((code >> s) & 0xFF for s in (0, 8, 16, 24)).decode("latin-1").strip("\x00 ")
    codec = f" (codec {codec!r})" if codec.isprintable() and codec else ""
    return f"no video frame could be decoded{codec}: the file is damaged or its codec unsupported; {REEXPORT}"


def _probe_picture(p: Path) -> VideoInfo:
    w, h, n, total_ms = pictures.probe(p, MAX_FRAME_PIXELS)
    fps = n / (total_ms / 1000.0) if total_ms else 0.0
    return VideoInfo(str(p), w, h, fps, n, True)


class VideoFile(FrameSource):
    """A video file through FFmpeg, repaired as it goes: damaged frames skipped, missing or
    repeated timestamps taken from the frame rate, a size change mid-stream resized away."""

    def __init__(self, p: Path, max_side: int | None = None) -> None:
        self.path, self.max_side = p, max_side

    def __iter__(self) -> Iterator[Frame]:
        return self.sampled(None)  # type: ignore[return-value]  # no picker: Frames only

    def sampled(self, picker: FramePicker | None) -> Iterator[Frame | Skipped]:
        p = self.path
        cap = open_capture(p)
        try:
            _check_size(p, cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            size: tuple[int, int] | None = None

            def convert(bgr: np.ndarray) -> np.ndarray:
                nonlocal size
                small = scale_frame(bgr, self.max_side)
                if size is None:
                    size = (small.shape[1], small.shape[0])
                elif (small.shape[1], small.shape[0]) != size:  # size changed mid-stream: keep one geometry
                    small = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
                return cv2.cvtColor(small, cv2.COLOR_BGR2RGB)

            if picker is None:
                yield from pick(self._decoded(cap), picker, convert)
            else:
                yield from pick_grabbed(p, cap, self._grabbed(cap), picker, convert)
        finally:
            cap.release()

    @staticmethod
    def _decoded(cap: cv2.VideoCapture) -> Iterator[tuple[int, float, np.ndarray]]:
        yield from _timed(cap, read_capture(cap))

    @staticmethod
    def _grabbed(cap: cv2.VideoCapture) -> Iterator[tuple[int, float, Fetch]]:
        yield from _timed(cap, grab_capture(cap))


T = TypeVar("T")


def _timed(cap: cv2.VideoCapture, frames: Iterator[tuple[T, int]]) -> Iterator[tuple[int, float, T]]:
    """Each frame's index and container time; missing or repeated timestamps (damaged files)
    fall back to the frame rate."""
    fps = _fps(cap) or 30.0
    last_t = -1.0
    for i, (item, _failed) in enumerate(frames):
        t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if not np.isfinite(t) or t < 0 or t <= last_t:
            t = max(last_t + 1.0 / fps, i / fps)
        last_t = t
        yield i, t, item


def tail_index(cap: cv2.VideoCapture) -> int | None:
    """The first of the last two frames the container says it holds (fetched whatever the rate,
    so that the last frame can be modelled without a look back), or None where it does not say."""
    n = cap.get(cv2.CAP_PROP_FRAME_COUNT)
    return int(n) - 2 if np.isfinite(n) and n >= 2 else None


class Rereader:
    """A second reader of the file that seeks back to read a short stretch again (the frames
    between two model frames that may hold a cut: formcheck.inputs.sampling.pick_decoded).
    Opened at the first look back; any failure is None, never an error."""

    def __init__(self, p: Path) -> None:
        self.path = p
        self.cap: cv2.VideoCapture | None = None
        self.broken = False

    def __enter__(self) -> Rereader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.cap is not None:
            self.cap.release()

    def frames(self, first: int, last: int) -> list[np.ndarray] | None:
        if self.broken:
            return None
        try:
            out = self._read(first, last)
        except (NotAVideo, cv2.error):
            out = None
        self.broken = out is None
        return out

    def _read(self, first: int, last: int) -> list[np.ndarray] | None:
        if self.cap is None:
            self.cap = open_capture(self.path)
        if not self.cap.set(cv2.CAP_PROP_POS_FRAMES, first):
            return None
        out: list[np.ndarray] = []
        for _ in range(last - first + 1):
            ok, bgr = self.cap.read()
            if not ok or bgr is None:
                return None
            out.append(bgr)
        return out


def pick_grabbed(p: Path, cap: cv2.VideoCapture, frames: Iterator[tuple[int, float, Fetch]],
                 picker: FramePicker | None, convert: Callable[[np.ndarray], np.ndarray]) -> Iterator[Frame | Skipped]:
    """`pick_decoded` over a capture's grabbed frames, a second reader of `p` at hand for looks back."""
    with Rereader(p) as again:
        yield from pick_decoded(frames, picker, convert, again.frames, tail_index(cap))


class AnimatedPicture(FrameSource):
    """An animated GIF, PNG or WebP through Pillow, timed by its frames' own durations."""

    def __init__(self, p: Path, max_side: int | None = None) -> None:
        self.path, self.max_side = p, max_side

    def __iter__(self) -> Iterator[Frame]:
        for i, (t, rgb) in enumerate(pictures.frames(self.path)):
            yield Frame(i, t, scale_frame(rgb, self.max_side))

    def sampled(self, picker: FramePicker | None) -> Iterator[Frame | Skipped]:
        return pick(((f.index, f.t, f.image) for f in self), picker, _same)


def _same(image: np.ndarray) -> np.ndarray:
    return image


def open_file(path: str | os.PathLike[str], max_side: int | None = None) -> VideoFile | AnimatedPicture:
    """The source for a file: an animated picture or a video (after `check_path`'s checks)."""
    p = check_path(path)
    return AnimatedPicture(p, max_side) if _is_picture(p) else VideoFile(p, max_side)


def iter_frames(path: str | os.PathLike[str], max_side: int | None = None, prefetch: int = 0) -> Iterator[Frame]:
    """Stream frames; frames larger than `max_side` are downscaled (the model sees 256 px).

    With `prefetch` > 0 a background thread decodes ahead, overlapping decoding with
    whatever the caller does with each frame (OpenCV releases the GIL while decoding).
    """
    frames = iter(open_file(path, max_side))
    return prefetched(frames, prefetch) if prefetch > 0 else frames


def iter_sampled(path: str | os.PathLike[str], picker: FramePicker | None, max_side: int | None = None,
                 prefetch: int = 0) -> Iterator[Frame | Skipped]:
    """As `iter_frames`, the frames `picker` leaves out given as Skipped places (not converted)."""
    frames = open_file(path, max_side).sampled(picker)
    return prefetched(frames, prefetch) if prefetch > 0 else frames
