"""The live loop: newest frame -> pose -> session -> the caller's window, with fps and latency."""

from __future__ import annotations

import importlib
import math
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


# Between two processed frames longer than this, the loop was waiting (a stalled source, a
# pause), not working: left out of the processing rate.
WAIT_GAP_S = 1.0
RECENT = 30  # frames in the window's running figures


@dataclass(frozen=True)
class LiveStats:
    frames_read: int
    frames_processed: int
    frames_dropped: int
    fps: float  # frames processed per second of work (recent, or over the session at the end), waits excluded
    latency_ms: float  # frame handed over -> result ready (mean of recent frames / of all)
    latency_p95_ms: float
    behind_s: float = 0.0  # result ready -> how far behind real time (the stream's live edge) it is: mean
    behind_p95_s: float = 0.0
    behind_max_s: float = 0.0
    waited_s: float = 0.0  # time without frames to process (stalls, pauses), left out of fps
    latency_p50_ms: float = 0.0


@dataclass
class _Meter:
    done: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT))
    lat: list[float] = field(default_factory=list)
    behind: list[float] = field(default_factory=list)
    active: float = 0.0  # seconds between processed frames, waits left out
    waited: float = 0.0

    def tick(self, arrived: float, behind: float | None) -> None:
        now = time.monotonic()
        if self.done:
            gap = now - self.done[-1]
            if gap > WAIT_GAP_S:
                self.waited += gap
            else:
                self.active += gap
        self.done.append(now)
        self.lat.append(now - arrived)
        if behind is not None:
            self.behind.append(max(0.0, behind))

    def stats(self, src: LatestFrameSource, final: bool = False) -> LiveStats:
        d, lat, behind = self.done, self.lat, self.behind
        waited = self.waited
        if final:
            fps = (len(lat) - 1) / self.active if self.active > 0 else 0.0
            waited += time.monotonic() - d[-1] if d else 0.0  # after the last frame: the watchdog's or idle's wait
        else:
            lat, behind = lat[-RECENT:], behind[-RECENT:]
            gaps = [g for g in np.diff(np.asarray(d)) if g <= WAIT_GAP_S]
            fps = len(gaps) / sum(gaps) if gaps and sum(gaps) > 0 else 0.0
        ms = 1000 * np.asarray(lat) if lat else np.zeros(1)
        b = np.asarray(behind) if behind else np.zeros(1)
        return LiveStats(src.frames_read, len(self.lat), src.frames_dropped, fps, float(ms.mean()),
                         float(np.percentile(ms, 95)), float(b.mean()), float(np.percentile(b, 95)), float(b.max()),
                         waited, float(np.percentile(ms, 50)))  # fmt: skip


@dataclass(frozen=True)
class LiveResult:
    analysis: Analysis | None  # file-mode analysis of the recorded set; None if no frame was seen
    events: tuple[RepEvent, ...]
    stats: LiveStats
    ended: Ended
    message: str  # why the source stopped early ("" if it did not)
    source: SourceInfo
    paced: bool
    timing: str = "file"  # where frame times came from: "file", "pts" (the stream's own) or "arrival"

    @property
    def timed(self) -> bool:
        """Real time applies (a paced file, a camera or stream): how far behind it is was measured."""
        return self.paced or self.source.live

    def stats_line(self) -> str:
        """`--stats` at the end: rate and latency of the work, how far behind real time, time spent waiting."""
        s = self.stats
        line = (f"stats: {s.frames_processed} frames processed at {s.fps:.1f} fps ({s.frames_dropped} of "
                f"{s.frames_read} dropped as stale); latency mean {s.latency_ms:.0f} ms, p95 {s.latency_p95_ms:.0f} ms")
        if self.timed:
            line += (f"; behind real time {s.behind_s:.2f} s (p95 {s.behind_p95_s:.2f} s, "
                     f"max {s.behind_max_s:.2f} s)")
        if s.waited_s >= WAIT_GAP_S:
            line += f"; {s.waited_s:.1f} s without frames (not counted)"
        return line

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
            "latency_ms_p50": round(s.latency_p50_ms, 1),
            "latency_ms_p95": round(s.latency_p95_ms, 1),
            "timing": self.timing,
            "started_s": round(float(self.analysis.track.t[0]), 3),  # stream time of the set's first frame
            "behind_s_mean": round(s.behind_s, 3) if self.timed else None,
            "behind_s_p95": round(s.behind_p95_s, 3) if self.timed else None,
            "behind_s_max": round(s.behind_max_s, 3) if self.timed else None,
            "waited_s": round(s.waited_s, 2),
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
    source would drop the start of the set meanwhile. A source that sends nothing still ends
    the set on `--idle` (by the stream clock, which goes on) or when its watchdog gives up.
    """
    size = (src.info.width, src.info.height)  # landmarks are reported in source pixels, as in file mode
    # The rep detector's first call would import scipy.signal (~0.6 s) in the middle of the first
    # rep: a paced source dropped 12 frames there (bench/live.py). Import it before the start.
    importlib.import_module("scipy.signal")
    estimator.detect(np.zeros((min(size[1], 720) or 1, min(size[0], 1280) or 1, 3), np.uint8), 0.0)
    meter, ended = _Meter(), Ended.SOURCE_END
    timed = src.pace or src.live
    with src:
        try:
            while True:
                g = src.read(timeout=0.25)
                if g is None:
                    if src.ended:
                        break
                    if _idle(session, src.clock()):
                        ended = Ended.IDLE
                        break
                    continue
                f = g.frame
                sample = to_source(estimator.detect(f.image, f.t), f.image.shape, size)
                state = session.update(f.t, sample, src.clock)
                meter.tick(g.arrived, src.clock() - f.t if timed else None)
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
                      message, src.info, src.pace, src.timing)  # fmt: skip


def _idle(session: LiveSession, now: float) -> bool:
    """No frame is coming, yet the lifter's clock runs: idle as `LiveState.idle` would say on a frame."""
    idle_s, events = session.live.idle_s, session.events
    if idle_s <= 0 or not any(e.rep.full for e in events):
        return False
    moved = max(session.detector.last_motion_t or -math.inf, events[-1].rep.end_s)
    return now - moved >= idle_s
