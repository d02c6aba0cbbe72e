"""The live loop: newest frame -> pose -> session -> the caller's window, with fps and latency."""

from __future__ import annotations

import importlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import numpy as np

from formcheck.apps.live.session import LiveSession, LiveState, RepEvent
from formcheck.errors import CameraError
from formcheck.inputs.live_source import LatestFrameSource, SourceInfo
from formcheck.inputs.video import Frame
from formcheck.pipeline.analyze import Analysis
from formcheck.pose.model import PoseSample, to_source


class Estimator(Protocol):
    def detect(self, rgb: np.ndarray, t_s: float) -> PoseSample | None: ...


class Ended(StrEnum):
    SOURCE_END = "source_end"
    SOURCE_LOST = "source_lost"
    QUIT = "quit"
    IDLE = "idle"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class LiveStats:
    frames_read: int
    frames_processed: int
    frames_dropped: int
    fps: float  # frames processed per second (recent, or over the session at the end)
    latency_ms: float  # frame handed over -> result ready (mean of recent frames / of all)
    latency_p95_ms: float


@dataclass
class _Meter:
    start: float = field(default_factory=time.monotonic)
    done: deque[float] = field(default_factory=lambda: deque(maxlen=30))
    lat: list[float] = field(default_factory=list)

    def tick(self, arrived: float) -> None:
        now = time.monotonic()
        self.done.append(now)
        self.lat.append(now - arrived)

    def stats(self, src: LatestFrameSource, final: bool = False) -> LiveStats:
        wall = time.monotonic() - self.start
        d, lat = self.done, (self.lat if final else self.lat[-30:])
        if final:
            fps = len(self.lat) / wall if wall > 0 else 0.0
        else:
            fps = (len(d) - 1) / (d[-1] - d[0]) if len(d) > 1 and d[-1] > d[0] else 0.0
        ms = 1000 * np.asarray(lat) if lat else np.zeros(1)
        return LiveStats(src.frames_read, len(self.lat), src.frames_dropped, fps, float(ms.mean()),
                         float(np.percentile(ms, 95)))  # fmt: skip


@dataclass(frozen=True)
class LiveResult:
    analysis: Analysis | None  # file-mode analysis of the recorded set; None if no frame was seen
    events: tuple[RepEvent, ...]
    stats: LiveStats
    ended: Ended
    message: str  # why the source stopped early ("" if it did not)
    source: SourceInfo
    paced: bool

    def report(self) -> dict[str, Any]:
        """The file-mode report plus a `live` section: each rep as announced, and the stream stats."""
        from formcheck.report.export import build

        if self.analysis is None:
            raise CameraError(f"{self.source.name}: no frame was received, nothing to report")
        out = build(self.analysis)
        s = self.stats
        out["live"] = {
            "source_kind": self.source.kind,
            "paced": self.paced,
            "ended": self.ended.value,
            "message": self.message or None,
            "frames_read": s.frames_read,
            "frames_processed": s.frames_processed,
            "frames_dropped": s.frames_dropped,
            "processing_fps": round(s.fps, 2),
            "latency_ms_mean": round(s.latency_ms, 1),
            "latency_ms_p95": round(s.latency_p95_ms, 1),
            "reps_counted": sum(e.rep.full for e in self.events),
            "reps": [e.to_dict() for e in self.events],
        }
        return out


OnFrame = Callable[[Frame, LiveState, LiveStats], str | None]  # returns "quit", "reset" or None


def run(
    src: LatestFrameSource, estimator: Estimator, session: LiveSession, on_frame: OnFrame | None = None
) -> LiveResult:
    """Start `src` and process its newest frame until it ends, the user quits, or the lifter idles.

    The model is warmed up first: its first frame costs several normal ones, and a paced
    source would drop the start of the set meanwhile.
    """
    size = (src.info.width, src.info.height)  # landmarks are reported in source pixels, as in file mode
    # The rep detector's first call would import scipy.signal (~0.6 s) in the middle of the first
    # rep: a paced source dropped 12 frames there (bench/live.py). Import it before the start.
    importlib.import_module("scipy.signal")
    estimator.detect(np.zeros((min(size[1], 720) or 1, min(size[0], 1280) or 1, 3), np.uint8), 0.0)
    meter, ended = _Meter(), Ended.SOURCE_END
    with src:
        try:
            while True:
                g = src.read(timeout=0.5)
                if g is None:
                    if src.ended:
                        break
                    continue
                f = g.frame
                sample = to_source(estimator.detect(f.image, f.t), f.image.shape, size)
                state = session.update(f.t, sample, src.clock)
                meter.tick(g.arrived)
                cmd = on_frame(f, state, meter.stats(src)) if on_frame is not None else None
                if cmd == "quit":
                    ended = Ended.QUIT
                    break
                if cmd == "reset":
                    session.reset()
                elif state.idle:
                    ended = Ended.IDLE
                    break
        except KeyboardInterrupt:
            ended = Ended.INTERRUPTED
    message = src.lost or ""
    if ended == Ended.SOURCE_END and message:
        ended = Ended.SOURCE_LOST
    warnings = (f"live: {message}; the report covers what was recorded",) if ended == Ended.SOURCE_LOST else ()
    return LiveResult(session.finish(warnings), tuple(session.events), meter.stats(src, final=True), ended,
                      message, src.info, src.pace)  # fmt: skip
