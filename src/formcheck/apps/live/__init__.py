"""Live mode: the file pipeline, one frame at a time, on the newest frame of a camera or stream.

    source.py   frames in: a grabber thread that hands over the newest frame, drops stale ones
    online.py   per-frame twins of kinematics.compute and reps.segment (`update(x) -> x`)
    session.py  one set: smoothing, online measures and reps, rules and score per rep as it ends
    loop.py     newest frame -> pose -> session -> the caller's window; fps and latency
    window.py   the window (cv2.imshow at its own size) and its keys; drawn by report.live_overlay
    recorder.py --record: the frames at the source's rate, through report.encode

When the set ends, `analyze_track` on the recorded raw track gives file mode's report.
Differences between live and file mode: docs/live.md.
"""

from formcheck.apps.live.loop import Ended, Estimator, LiveResult, LiveStats, OnFrame, run
from formcheck.apps.live.online import SERIES, LiveConfig, OnlineKinematics, OnlineReps, Phase, slice_kinematics
from formcheck.apps.live.session import LiveSession, LiveState, RepEvent
from formcheck.inputs.live_source import Grabbed, LatestFrameSource, SourceInfo, SourceLost, open_source

__all__ = [
    "SERIES", "Ended", "Estimator", "Grabbed", "LatestFrameSource", "LiveConfig", "LiveResult", "LiveSession",
    "LiveState", "LiveStats", "OnFrame", "OnlineKinematics", "OnlineReps", "Phase", "RepEvent", "SourceInfo",
    "SourceLost", "open_source", "run", "slice_kinematics",
]  # fmt: skip
