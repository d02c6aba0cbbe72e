"""Video out: RGB frames piped to the ffmpeg executable, encoded so that every browser plays them.

`.mp4` / `.m4v` / `.mov` get H.264 (yuv420p, `+faststart`: the index first, so a browser starts
playing before the file is loaded); `.webm` gets VP9, else AV1, else VP8. OpenCV's wheel can
only write MPEG-4 Part 2, which Chromium, Firefox and Safari refuse.

Why a separate ffmpeg process (imageio-ffmpeg's binary, or one on PATH) and not PyAV: the
binaries that carry x264 are GPL. formcheck (Apache-2.0) only starts that program and talks to
it through a pipe, as any shell would; it links no GPL code (docs/visual-report.md).

`VideoSink` is a context manager in supervision's shape: frames go in with `write(rgb)`; the
file appears under its name only when the block ends without an error (util.atomic), and
ffmpeg's own messages never reach the user (one line of them in the OutputError on failure).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np

from formcheck.errors import OutputError
from formcheck.util.atomic import atomic_path
from formcheck.util.text import printable


@dataclass(frozen=True)
class Codec:
    """An ffmpeg encoder and the options that make it fast enough to keep up with drawing."""

    encoder: str
    label: str  # what a user knows it as: "H.264", "VP9"
    options: tuple[str, ...]


X264 = Codec("libx264", "H.264", ("-preset", "veryfast", "-crf", "23"))
OPENH264 = Codec("libopenh264", "H.264", ("-rc_mode", "quality", "-allow_skip_frames", "0"))
VP9 = Codec("libvpx-vp9", "VP9", ("-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-crf", "33",
                                  "-b:v", "0"))
SVT_AV1 = Codec("libsvtav1", "AV1", ("-preset", "10", "-crf", "35"))
AOM_AV1 = Codec("libaom-av1", "AV1", ("-usage", "realtime", "-cpu-used", "8", "-crf", "35", "-b:v", "0"))
VP8 = Codec("libvpx", "VP8", ("-deadline", "realtime", "-cpu-used", "8", "-crf", "10", "-b:v", "4M"))

# Container by extension (any case): ffmpeg's muxer name and the encoders to try, best first.
CONTAINERS: dict[str, tuple[str, tuple[Codec, ...]]] = {
    ".mp4": ("mp4", (X264, OPENH264)),
    ".m4v": ("mp4", (X264, OPENH264)),
    ".mov": ("mov", (X264, OPENH264)),
    ".webm": ("webm", (VP9, SVT_AV1, AOM_AV1, VP8)),
}
PIPE_BYTES = 1 << 20  # the stdin pipe's buffer (Linux): a 720p frame crosses in 3 writes, not 42
INLINE_FILTER_MAX = 100_000  # characters; a longer filter (a long VFR timeline) goes through a file
ERROR_LINE_MAX = 200  # characters of ffmpeg's last message shown to the user
_LOG_PREFIX = re.compile(r"^\[[^\]]* @ 0x[0-9a-fA-F]+\]\s*")  # "[libx264 @ 0x55c1…] "


def ffmpeg_exe() -> str:
    """imageio-ffmpeg's binary (or $IMAGEIO_FFMPEG_EXE), else ffmpeg on PATH; OutputError if neither."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):  # not installed / its binary missing for this platform
        found = shutil.which("ffmpeg")
        if found:
            return found
    raise OutputError("writing a video needs ffmpeg: pip install imageio-ffmpeg (or put ffmpeg on PATH)")


@functools.lru_cache(maxsize=4)
def encoders(exe: str) -> frozenset[str]:
    """The video encoders this ffmpeg binary has (`ffmpeg -encoders`)."""
    try:
        r = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30,
                           check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OutputError(f"cannot run ffmpeg ({exe}): {exc}") from None
    names = set()
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0].startswith("V"):
            names.add(parts[1])
    return frozenset(names)


@dataclass(frozen=True)
class Plan:
    """How a file will be written: which ffmpeg, which muxer, which encoder."""

    exe: str
    muxer: str
    codec: Codec


def plan(path: str | os.PathLike[str], what: str = "") -> Plan:
    """The muxer and encoder for `path`, by its extension; OutputError now (not after tracking) if
    the extension is not a video formcheck writes or this ffmpeg lacks every encoder for it."""
    p = Path(path)
    name = f"{what} {p}".strip()
    if p.suffix.lower() not in CONTAINERS:
        raise OutputError(f"cannot write {name}: name it .mp4 (H.264) or .webm (VP9)")
    muxer, codecs = CONTAINERS[p.suffix.lower()]
    exe = ffmpeg_exe()
    have = encoders(exe)
    for codec in codecs:
        if codec.encoder in have:
            return Plan(exe, muxer, codec)
    wanted = ", ".join(c.encoder for c in codecs)
    hint = "; name it .webm (VP9/AV1) instead" if muxer != "webm" and _has_webm(have) else ""
    raise OutputError(f"cannot write {name}: the ffmpeg at {exe} has none of the encoders {wanted}{hint}")


def _has_webm(have: frozenset[str]) -> bool:
    return any(c.encoder in have for c in CONTAINERS[".webm"][1])


def clip_suffix(folder: str | os.PathLike[str] | None = None) -> str:
    """`.mp4` when this ffmpeg can write H.264, else `.webm` (per-rep clips pick their own format)."""
    exe = ffmpeg_exe()
    have = encoders(exe)
    if any(c.encoder in have for c in CONTAINERS[".mp4"][1]):
        return ".mp4"
    if _has_webm(have):
        return ".webm"
    raise OutputError(f"cannot write --clips {folder}: the ffmpeg at {exe} has no H.264, VP9, AV1 or VP8 encoder")


def pts_filter(times: Sequence[float] | np.ndarray, step_s: float) -> str:
    """setpts for a variable frame rate: frame N at times[N] (ms, a 1/1000 time base), frames past
    the list `step_s` apart. A balanced tree of if()s: log2(n) deep, so each frame costs ~log2(n)."""
    ms = [round(1000 * t) for t in times]
    n = len(ms)

    def node(lo: int, hi: int) -> str:
        if lo == hi:
            return str(ms[lo])
        mid = (lo + hi) // 2
        return f"if(lte(N\\,{mid})\\,{node(lo, mid)}\\,{node(mid + 1, hi)})"

    tail = f"{ms[-1]}+(N-{n - 1})*{round(1000 * step_s)}"
    return f"settb=1/1000,setpts=if(lt(N\\,{n})\\,{node(0, n - 1)}\\,{tail})"


class VideoSink:
    """`with VideoSink(path, w, h, fps) as sink: sink.write(rgb)` — an atomically written video.

    Frames are (h, w, 3) uint8 RGB, `fps` apart; with `times` (seconds, one per frame), each
    frame at its own time instead (a GIF whose frames last 100 and 500 ms). An odd width or
    height is padded by one black row or column (yuv420p needs even sizes), never scaled.
    """

    def __init__(self, path: str | os.PathLike[str], width: int, height: int, fps: float, *,
                 times: Sequence[float] | np.ndarray | None = None, plan_: Plan | None = None) -> None:
        self.path, self.width, self.height = Path(path), int(width), int(height)
        self.fps = fps if fps > 0 else 30.0
        self.times = None if times is None or len(times) == 0 else tuple(float(x) for x in times)
        self.plan = plan_ or plan(self.path)
        self.frames = 0
        self._stack = contextlib.ExitStack()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def command(self, out: Path, script: Path | None = None) -> list[str]:
        """ffmpeg's arguments: raw RGB on stdin → padded to even sizes, BT.709 yuv420p → `out`."""
        vf = [] if self.times is None else [pts_filter(self.times, 1.0 / self.fps)]
        vf += ["pad=ceil(iw/2)*2:ceil(ih/2)*2", "scale=out_color_matrix=bt709:out_range=tv", "format=yuv420p"]
        filters = ",".join(vf)
        cmd = [self.plan.exe, "-hide_banner", "-nostats", "-loglevel", "error", "-f", "rawvideo",
               "-pix_fmt", "rgb24", "-s", f"{self.width}x{self.height}", "-framerate", f"{self.fps:.6g}",
               "-i", "pipe:0"]
        if script is not None:  # a long VFR timeline: past what one argument may hold
            script.write_text(filters, encoding="utf-8")
            cmd += ["-/filter:v", str(script)]
        else:
            cmd += ["-filter:v", filters]
        cmd += ["-c:v", self.plan.codec.encoder, *self.plan.codec.options, "-pix_fmt", "yuv420p",
                "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"]
        if self.times is not None:
            # each frame keeps the time setpts gave it, in ms (not rounded to 1/rate: the encoder's default)
            cmd += ["-fps_mode", "passthrough", "-enc_time_base:v", "1/1000"]
        if self.plan.muxer in ("mp4", "mov"):
            cmd += ["-movflags", "+faststart"]
        return [*cmd, "-an", "-f", self.plan.muxer, "-y", str(out)]

    def __enter__(self) -> VideoSink:
        try:
            tmp = self._stack.enter_context(atomic_path(self.path))
            long_vfr = self.times is not None and len(self.times) * 30 > INLINE_FILTER_MAX  # ~30 characters a frame
            script = self._stack.enter_context(_temp_file(".txt")) if long_vfr else None
            self._log = self._stack.enter_context(tempfile.TemporaryFile())
            try:
                self._proc = subprocess.Popen(self.command(tmp, script), stdin=subprocess.PIPE,
                                              stdout=subprocess.DEVNULL, stderr=self._log,
                                              start_new_session=True)  # Ctrl-C is ours to handle, not ffmpeg's
            except OSError as exc:
                raise OutputError(f"cannot write {self.path}: cannot run ffmpeg ({exc.strerror or exc})") from None
            self._stack.callback(self._kill)
            _widen_pipe(self._proc.stdin.fileno())  # type: ignore[union-attr]
        except BaseException:
            if not self._stack.__exit__(*sys.exc_info()):  # the temp file goes, nothing takes the name
                raise
        return self

    def write(self, rgb: np.ndarray) -> None:
        """One frame, (height, width, 3) uint8 RGB."""
        proc = self._proc
        assert proc is not None and proc.stdin is not None, "write() outside the with block"
        if rgb.shape != (self.height, self.width, 3) or rgb.dtype != np.uint8:
            raise ValueError(f"frame {rgb.shape} {rgb.dtype}, expected ({self.height}, {self.width}, 3) uint8")
        try:
            proc.stdin.write(np.ascontiguousarray(rgb).data.cast("B"))
        except OSError:  # ffmpeg is gone (a full disk, a bad option): say what it said
            proc.wait()
            raise self._failure() from None
        self.frames += 1

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is not None:  # ffmpeg is killed, the temp file removed, the error goes on
            self._stack.__exit__(kind, exc, tb)
            return
        with self._stack:  # an error here removes the temp file too; else it takes its name
            proc = self._proc
            assert proc is not None and proc.stdin is not None
            with contextlib.suppress(OSError):
                proc.stdin.close()
            if proc.wait() != 0:
                raise self._failure()
            if self.frames == 0:
                raise OutputError(f"cannot write {self.path}: no frames to write")

    def _kill(self) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        proc.kill()
        with contextlib.suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]
        proc.wait()

    def _failure(self) -> OutputError:
        """ffmpeg's last line of complaint ("No space left on device"), as one OutputError."""
        text = ""
        if self._log is not None:
            self._log.seek(0)
            text = self._log.read().decode("utf-8", "replace")
        lines = [_LOG_PREFIX.sub("", ln).strip() for ln in text.splitlines()]
        lines = [ln for ln in lines if ln]
        lines = [ln for ln in lines if "error" in ln.lower()][:1] or lines[-1:]  # the first error says why
        rc = self._proc.returncode if self._proc is not None else None
        if rc == -signal.SIGXFSZ:  # past the file size limit: what EFBIG says
            why = os.strerror(errno.EFBIG)
        elif lines:
            why = printable(lines[0])[:ERROR_LINE_MAX]
        elif rc is not None and rc < 0:
            why = f"ffmpeg was killed by {signal.Signals(-rc).name}"
        else:
            why = f"ffmpeg exited with code {rc}"
        return OutputError(f"cannot write {self.path}: {self.plan.codec.label} encoding failed ({why})")


def _widen_pipe(fd: int) -> None:
    """A bigger pipe buffer (Linux's F_SETPIPE_SZ): fewer round trips per frame; elsewhere the default."""
    if not sys.platform.startswith("linux"):
        return
    import fcntl

    with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: keep the default
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)


@contextlib.contextmanager
def _temp_file(suffix: str) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="formcheck-")
    os.close(fd)
    try:
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)
