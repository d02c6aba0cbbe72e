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

    @property
    def flips(self) -> bool:
        a, b, c, d = self.matrix
        return a * d - b * c < 0


def _boxes(fh: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) for each box in [start, end)."""
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
        yield kind, payload, pos + size
        pos += size


def video_tracks(path: Path) -> list[VideoTrack]:
    """The file's video tracks ([] when it is not MP4/MOV or its index cannot be read)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            moov = next(((a, b) for k, a, b in _boxes(fh, 0, size) if k == b"moov"), None)
            if moov is None or moov[1] - moov[0] > MAX_MOOV_BYTES:
                return []
            fh.seek(moov[0])
            data = fh.read(moov[1] - moov[0])
    except OSError:
        return []
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
            track = _track(tkhd, len(tracks))
            if track is not None:
                tracks.append(track)
    return tracks


def _track(tkhd: bytes, index: int) -> VideoTrack | None:
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
    return VideoTrack(index, w / 65536, h / 65536, bool(flags & 1), m)


def main_track(tracks: list[VideoTrack]) -> VideoTrack | None:
    """The main video track: enabled ones first, then the largest."""
    return max(tracks, key=lambda t: (t.enabled, t.width * t.height), default=None)
