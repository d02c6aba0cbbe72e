"""A set to remember, made from a JSON report dict (docs/report-schema.md), and the one adapter.

apps.history knows formcheck only through the report dict. `adapt()` is the single place that
touches the analysis: it scores a file (or takes an `Analysis` already made) and returns the
report and the downsampled hip-extension curve. Re-point its imports when modules move.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from formcheck.errors import ExitCode, FormcheckError

REPORT_SCHEMA = "formcheck.report"
REPORT_VERSIONS = (1,)  # report schema versions this history reads
CURVE_POINTS = 240  # a set's hip-extension curve is kept at most this long (enough to see each rep)
MAX_NAME = 80
MAX_NOTE = 2000
Curve = list[list[float]]  # [[t_s, hip_ext_deg], ...]


@dataclass(frozen=True)
class SetRecord:
    """One set as it goes into the store. `lifter`, `load_kg`, `rpe`, `note` None = not given
    (a re-score keeps what the set had)."""

    identity: str
    report: dict[str, Any]
    recorded_at: str
    date_given: bool = False  # recorded_at was given by the user: a re-score takes it (else keeps the earlier)
    sha256: str | None = None
    source_path: str | None = None
    report_path: str | None = None
    curve: Curve = field(default_factory=list)
    curve_kind: str = "from_reps"
    lifter: str | None = None
    load_kg: float | None = None
    rpe: float | None = None
    note: str | None = None


def adapt(path: str | os.PathLike[str] | None = None, analysis: Any = None,
          config: str | os.PathLike[str] | None = None) -> tuple[dict[str, Any], Curve]:
    """THE adapter: score `path` (video or .npz track), or take `analysis`; (report, curve)."""
    from formcheck.report.export import build

    if analysis is None:
        from formcheck.config import load_config
        from formcheck.pipeline.analyze import analyze_path

        analysis = analyze_path(Path(path), load_config(Path(config) if config else None))  # type: ignore[arg-type]
    return build(analysis), downsample(analysis.k.t, analysis.k.hip_ext)


def downsample(t: Sequence[float], y: Sequence[float], n: int = CURVE_POINTS) -> Curve:
    """At most n points, evenly spread over the frames; frames without a lifter are dropped."""
    pts = [(float(a), float(b)) for a, b in zip(t, y, strict=False)
           if math.isfinite(float(a)) and math.isfinite(float(b))]
    if len(pts) > n:
        step = (len(pts) - 1) / (n - 1)
        pts = [pts[round(i * step)] for i in range(n)]
    return [[round(a, 3), round(b, 1)] for a, b in pts]


def curve_from_reps(report: dict[str, Any]) -> Curve:
    """A stand-in curve when only the report is known: each rep's bottom, top (held) and bottom."""
    pts: Curve = []
    for r in report.get("reps", []):
        top: Any = (r.get("measurements") or {}).get("hip_ext_deg")
        rom, hold = r.get("rom"), r.get("hold_s") or 0.0
        if None in (top, rom, r.get("start_s"), r.get("top_s"), r.get("end_s")):
            continue
        low = round(top - rom, 1)
        half = min(hold / 2, r["top_s"] - r["start_s"], r["end_s"] - r["top_s"])
        pts += [[r["start_s"], low], [round(r["top_s"] - half, 3), top], [round(r["top_s"] + half, 3), top],
                [r["end_s"], low]]
    return pts


def check_report(obj: Any, where: str) -> dict[str, Any]:
    """The dict if it is a formcheck report this history reads, else one clear error."""
    if not isinstance(obj, dict) or obj.get("schema") != REPORT_SCHEMA:
        raise FormcheckError(f"{where}: not a formcheck JSON report (no \"schema\": \"{REPORT_SCHEMA}\")",
                             ExitCode.USAGE)
    if obj.get("schema_version") not in REPORT_VERSIONS:
        raise FormcheckError(f"{where}: report schema_version {obj.get('schema_version')!r} is not one this "
                             f"formcheck reads ({', '.join(map(str, REPORT_VERSIONS))}); upgrade formcheck",
                             ExitCode.USAGE)
    for key, kind in (("source", str), ("exercise", str), ("reps", list), ("summary", dict)):
        if not isinstance(obj.get(key), kind):
            raise FormcheckError(f"{where}: the report has no valid {key!r}", ExitCode.USAGE)
    return obj


def identity(report: dict[str, Any], sha256: str | None) -> str:
    """What makes two scorings the same set: the source file's content, else what the report says of it."""
    if sha256:
        return f"sha256:{sha256}"
    return f"report:{report['source']}|{report.get('duration_s')}|{report.get('frames')}"


MP4_EXTS = (".mp4", ".mov", ".m4v", ".3gp", ".3g2")
_MP4_EPOCH = dt.datetime(1904, 1, 1, tzinfo=dt.UTC)


def filmed_at(path: str | os.PathLike[str] | None) -> str | None:
    """When a clip was filmed: the container's creation time (MP4/MOV `mvhd`, which phones and
    cameras set), else the file's modification time; ISO 8601 UTC, None if unreadable."""
    if path is not None and str(path).lower().endswith(MP4_EXTS):
        when = container_time(path)
        if when is not None:
            return iso(when)
    return file_time(path)


def container_time(path: str | os.PathLike[str]) -> dt.datetime | None:
    """`creation_time` of an MP4/MOV file's movie header (UTC), read from the box headers only
    (a few small reads, also with the index at the end); None when absent, zero or implausible.
    OpenCV does not expose it, and running ffprobe per file would cost more than the read."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            moov = _find_box(fh, b"moov", 0, size)
            mvhd = _find_box(fh, b"mvhd", moov[0], moov[1]) if moov else None
            if mvhd is None:
                return None
            fh.seek(mvhd[0])
            head = fh.read(12)
    except OSError:
        return None
    wide = bool(head) and head[0] == 1  # version 1: 64-bit times
    if len(head) < (12 if wide else 8):
        return None
    secs = int.from_bytes(head[4:12] if wide else head[4:8], "big")
    if secs == 0:
        return None
    try:
        when = _MP4_EPOCH + dt.timedelta(seconds=secs)
    except OverflowError:
        return None
    if not dt.datetime(1990, 1, 1, tzinfo=dt.UTC) <= when <= dt.datetime.now(dt.UTC) + dt.timedelta(days=1):
        return None  # a camera with an unset clock, or garbage
    return when


def _find_box(fh: Any, kind: bytes, start: int, end: int) -> tuple[int, int] | None:
    """(payload start, payload end) of the first `kind` box in [start, end) of an ISO BMFF file."""
    pos, steps = start, 0
    while pos + 8 <= end and steps < 10_000:
        steps += 1
        fh.seek(pos)
        head = fh.read(16)
        if len(head) < 8:
            return None
        n, typ, skip = int.from_bytes(head[:4], "big"), head[4:8], 8
        if n == 1:
            if len(head) < 16:
                return None
            n, skip = int.from_bytes(head[8:16], "big"), 16
        elif n == 0:
            n = end - pos
        if n < skip:
            return None
        if typ == kind:
            return pos + skip, min(pos + n, end)
        pos += n
    return None


def file_time(path: str | os.PathLike[str] | None) -> str | None:
    """A file's modification time (when a phone wrote the clip), ISO 8601 UTC; None if unreadable."""
    if path is None:
        return None
    try:
        t = os.stat(path).st_mtime
    except OSError:
        return None
    return iso(dt.datetime.fromtimestamp(t, dt.UTC))


def iso(when: dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.astimezone()
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(text: str) -> str:
    """`2026-03-01` or `2026-03-01T18:30` (local time unless it says otherwise) -> ISO UTC."""
    try:
        return iso(dt.datetime.fromisoformat(text))
    except ValueError:
        raise FormcheckError(f"--date {text!r}: not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM",
                             ExitCode.USAGE) from None


def now() -> str:
    return iso(dt.datetime.now(dt.UTC))


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_name(name: str | None, what: str = "--lifter") -> str | None:
    if name is None:
        return None
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME or _CONTROL.search(name):
        raise FormcheckError(f"{what} {name!r}: a lifter's name is 1 to {MAX_NAME} printable characters",
                             ExitCode.USAGE)
    return name


def check_extras(load_kg: float | None, rpe: float | None, note: str | None) -> None:
    if load_kg is not None and not (0 <= load_kg < 2000 and math.isfinite(load_kg)):
        raise FormcheckError(f"--load {load_kg}: the load is in kg, 0 to 2000", ExitCode.USAGE)
    if rpe is not None and not 1 <= rpe <= 10:
        raise FormcheckError(f"--rpe {rpe}: RPE is 1 to 10", ExitCode.USAGE)
    if note is not None and len(note) > MAX_NOTE:
        raise FormcheckError(f"--note: at most {MAX_NOTE} characters", ExitCode.USAGE)


def from_report(report: dict[str, Any], *, sha256: str | None = None, recorded_at: str | None = None,
                source_path: str | os.PathLike[str] | None = None, report_path: str | os.PathLike[str] | None = None,
                curve: Curve | None = None, lifter: str | None = None, load_kg: float | None = None,
                rpe: float | None = None, note: str | None = None) -> SetRecord:
    check_extras(load_kg, rpe, note)
    return SetRecord(
        identity=identity(report, sha256),
        report=report,
        recorded_at=recorded_at or filmed_at(source_path) or file_time(report_path) or now(),
        date_given=recorded_at is not None,
        sha256=sha256,
        source_path=os.path.abspath(source_path) if source_path else None,
        report_path=os.path.abspath(report_path) if report_path else None,
        curve=curve if curve else curve_from_reps(report),
        curve_kind="measured" if curve else "from_reps",
        lifter=clean_name(lifter),
        load_kg=load_kg,
        rpe=rpe,
        note=note,
    )
