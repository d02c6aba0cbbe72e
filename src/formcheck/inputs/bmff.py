"""The video tracks of an MP4/MOV file, read from its index (moov) without decoding anything.

OpenCV's FFmpeg reader takes the first video stream and applies only the rotation part of the
display matrix: a horizontal flip (a 2×2 matrix diag(-1, 1)) comes out as a 180° turn, upside
down. Here each video track's size, whether it is enabled (MP4's "default disposition") and its
whole display matrix are read from its track header (tkhd), so the reader can pick the main
track and apply the matrix itself.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAX_MOOV_BYTES = 64 << 20  # an index larger than this is not read (it would be a bomb)


@dataclass(frozen=True)
class VideoTrack:
    index: int  # among the file's video tracks, in file order (OpenCV's CAP_PROP_VIDEO_STREAM)
    width: float  # display size from the track header (before the matrix)
    height: float
    enabled: bool
    matrix: tuple[int, int, int, int]  # (a, b, c, d) rounded to -1/0/1: x' = a x + c y, y' = b x + d y
    span: tuple[int, int] = (0, 0)  # the track's box (trak) in the file: [start, end) bytes

    @property
    def flips(self) -> bool:
        a, b, c, d = self.matrix
        return a * d - b * c < 0


def _boxes(fh: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) for each box in [start, end)."""
    for kind, _box, payload, box_end in _spans(fh, start, end):
        yield kind, payload, box_end


def _spans(fh: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int, int]]:
    """(type, box start, payload start, box end) for each box in [start, end)."""
    pos = start
    while pos + 8 <= end:
        fh.seek(pos)
        head = fh.read(16)
        if len(head) < 8:
            return
        size, kind = struct.unpack(">I4s", head[:8])
        payload = pos + 8
        if size == 1 and len(head) == 16:
            size, payload = struct.unpack(">Q", head[8:16])[0], pos + 16
        elif size == 0:
            size = end - pos
        if size < payload - pos or pos + size > end:
            return
        yield kind, pos, payload, pos + size
        pos += size


def _moov(path: Path) -> tuple[int, int, int, bytes] | None:
    """(box start, payload start, box end, the box's bytes) of the file's index, if it can be read."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        for kind, box, payload, end in _spans(fh, 0, size):
            if kind == b"moov":
                if end - box > MAX_MOOV_BYTES:
                    return None
                fh.seek(box)
                return box, payload, end, fh.read(end - box)
    return None


def video_tracks(path: Path) -> list[VideoTrack]:
    """The file's video tracks ([] when it is not MP4/MOV or its index cannot be read)."""
    try:
        moov = _moov(path)
    except OSError:
        return []
    if moov is None:
        return []
    box, payload, _, whole = moov
    data = whole[payload - box:]
    import io

    buf = io.BytesIO(data)
    tracks: list[VideoTrack] = []
    for kind, a, b in _boxes(buf, 0, len(data)):
        if kind != b"trak":
            continue
        tkhd, handler = None, None
        for k2, a2, b2 in _boxes(buf, a, b):
            if k2 == b"tkhd":
                tkhd = data[a2:b2]
            elif k2 == b"mdia":
                for k3, a3, b3 in _boxes(buf, a2, b2):
                    if k3 == b"hdlr" and b3 - a3 >= 12:
                        handler = data[a3 + 8:a3 + 12]
        if handler == b"vide" and tkhd is not None:
            track = _track(tkhd, len(tracks), (payload + a - 8, payload + b))
            if track is not None:
                tracks.append(track)
    return tracks


def _track(tkhd: bytes, index: int, span: tuple[int, int]) -> VideoTrack | None:
    version, flags = tkhd[0], int.from_bytes(tkhd[1:4], "big")
    at = 4 + (32 if version == 1 else 20) + 8 + 8  # times, id, duration; reserved; layer..volume
    if len(tkhd) < at + 36 + 8:
        return None
    a, b, _u, c, d, _v, _x, _y, _w = struct.unpack(">9i", tkhd[at:at + 36])
    w, h = struct.unpack(">II", tkhd[at + 36:at + 44])

    def unit(v: int) -> int:
        return 0 if abs(v) < 0x8000 else (1 if v > 0 else -1)  # 16.16 fixed point, near 0 or ±1

    m = (unit(a), unit(b), unit(c), unit(d))
    if abs(m[0] * m[3] - m[1] * m[2]) != 1:  # not a turn or a flip (a shear, a scale): as if none
        m = (1, 0, 0, 1)
    return VideoTrack(index, w / 65536, h / 65536, bool(flags & 1), m, span)


def main_track(tracks: list[VideoTrack]) -> VideoTrack | None:
    """The main video track: enabled ones first, then the largest."""
    return max(tracks, key=lambda t: (t.enabled, t.width * t.height), default=None)


def main_first(path: Path, tracks: list[VideoTrack], main: VideoTrack) -> tuple[int, int, bytes] | None:
    """The file's index with `main`'s track box moved before the first video track's, as
    (start, end, new index box): FFmpeg numbers streams in box order and OpenCV reads the first
    video stream. The index keeps its size and every sample keeps its byte offset, so the file
    with these bytes in place of [start, end) is the same file with its main stream first.
    None when the boxes are not where they were read (the file changed, a 64-bit track box).
    """
    moov = _moov(path)
    if moov is None or not tracks or main.index == 0:
        return None
    box, _payload, end, whole = moov
    (fa, _fb), (ma, mb) = tracks[0].span, main.span
    if not box < fa < ma < mb <= end:
        return None
    fa, ma, mb = fa - box, ma - box, mb - box  # within the index box
    if whole[fa + 4:fa + 8] != b"trak" or whole[ma + 4:ma + 8] != b"trak":
        return None
    moved = whole[:fa] + whole[ma:mb] + whole[fa:ma] + whole[mb:]
    return box, end, moved
