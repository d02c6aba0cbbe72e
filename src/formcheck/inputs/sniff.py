"""What a file really is, from its bytes: so an unreadable input gets a message a user can act on.

FFmpeg only says "cannot open"; users hand us photos, web pages saved by a failed download,
voice memos and half-copied phone videos. Each has its own cause and its own fix.
"""

from __future__ import annotations

import struct
from pathlib import Path

HEAD_BYTES = 4096

# A re-export that always works; said at the end of messages about damaged or odd files.
REEXPORT = "re-export or re-copy it as MP4 (H.264)"
RECOPY = "copy the complete file again from the phone or camera"

_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
# ISO-BMFF major brands of still pictures (iPhone photos are HEIC).
_STILL_BRANDS = {b"heic": "HEIC", b"heix": "HEIC", b"mif1": "HEIF", b"avif": "AVIF"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
_BMFF_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"pnot"}
# Formats a picture library can hold several frames in (animated GIF, APNG, animated WebP).
MAYBE_ANIMATED = {"GIF", "PNG", "WebP"}


def read_head(path: Path, n: int = HEAD_BYTES) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def image_kind(head: bytes) -> str | None:
    """'PNG', 'JPEG', 'GIF', 'WebP', 'HEIC', … when the bytes start a picture, else None."""
    for magic, kind in _IMAGE_MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WebP"
    if head[:2] == b"BM" and len(head) > 14 and head[14] in (12, 40, 52, 56, 64, 108, 124):
        return "BMP"
    if head[4:8] == b"ftyp":
        return _STILL_BRANDS.get(head[8:12])
    return None


def is_bmff(head: bytes) -> bool:
    """MP4, MOV, 3GP, M4A…: a sequence of boxes, each with a size and a four-letter type."""
    return head[4:8] in _BMFF_BOXES


def bmff_problem(path: Path) -> str | None:
    """Why an MP4/MOV cannot be read, from its top-level boxes; None if the layout looks whole.

    Reads only box headers (16 bytes each), however large the file.
    """
    size = path.stat().st_size
    seen = set()
    with path.open("rb") as fh:
        at = 0
        while at + 8 <= size:
            fh.seek(at)
            head = fh.read(16)
            n, kind = struct.unpack(">I4s", head[:8])
            if n == 1 and len(head) == 16:
                n = struct.unpack(">Q", head[8:16])[0]
            elif n == 0:
                n = size - at
            if n < 8:
                return f"its structure is damaged (an invalid box); {REEXPORT}"
            seen.add(kind)
            if at + n > size:
                lost = "its index (moov) is missing, so no frame can be found" if b"moov" not in seen else ""
                return f"the file is cut short (an interrupted download or copy?){lost and ' and '}{lost}; {RECOPY}"
            at += n
    if b"moov" not in seen:
        return f"it has no index (moov box): damaged, or saved while still recording; {RECOPY}"
    if b"mdat" not in seen:
        return f"it holds only a header, no video data; {RECOPY}"
    return None


def _is_audio(head: bytes) -> bool:
    return (
        (head[:4] == b"RIFF" and head[8:12] == b"WAVE")
        or head.startswith((b"ID3", b"fLaC", b"#!AMR", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"))
        or (head[4:8] == b"ftyp" and head[8:12] in _AUDIO_BRANDS)
    )


def _text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    for cut in range(4):  # the head may end inside a multi-byte character
        try:
            return head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


def is_text(head: bytes) -> bool:
    """Text, not a container. Never handed to FFmpeg: it follows playlists (m3u8, ffconcat,
    SDP) to other files and to the network, which a local file must not make it do."""
    return bool(head) and _text(head) is not None


def explain_unreadable(path: Path) -> str:
    """One sentence: what the file is instead of a video, and what to do about it."""
    try:
        head = read_head(path)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc}); check that it is still there"
    if not head:
        return "the file is empty (0 bytes); copy or export the video again"
    kind = image_kind(head)
    if kind is not None:
        return f"is a still {kind} image, not a video; record the set as a video (mp4, mov)"
    if _is_audio(head):
        return "holds only sound, no video; pass the video file of the set"
    if is_bmff(head):
        problem = bmff_problem(path)
        if problem is not None:
            return problem
    if head.startswith(b"%PDF"):
        return "is a PDF document, not a video"
    if head.startswith(b"PK\x03\x04"):
        return "is a ZIP archive, not a video; unzip it and pass the video inside"
    text = _text(head)
    if text is not None:
        low = text.lstrip("\ufeff \t\r\n").lower()
        if low.startswith(("<!doctype html", "<html")) or "<html" in low[:1024]:
            return "is a web page (HTML), not a video: the download probably failed; download the video again"
        if low.startswith(("#extm3u", "ffconcat", "[playlist]", "v=0")):
            return "is a playlist or stream description (links to videos), not a video; pass the video file itself"
        return "is a text file, not a video; pass the video file itself"
    return f"not a video formcheck can read (unknown format, or a damaged file); {REEXPORT}"
