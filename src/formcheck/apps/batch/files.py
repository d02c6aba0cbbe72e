"""One input's work in a batch: its Analysis (from the cached pose track when there is one) and
its output files, plus what index.html shows of it (the faults of its counted reps, a key frame).

The same for every engine: `runner.run_job` calls these in a worker process or a Ray task.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from formcheck.apps.batch.inputs import Job
from formcheck.apps.batch.records import Settings
from formcheck.apps.batch.tracks import cache_key, load_cached, save_cached
from formcheck.errors import OutputError

INDEX_THUMB_SIDE = 240  # px, the longer side of a set's key frame in index.html (~8 KB of JPEG)
INDEX_THUMB_QUALITY = 70


def analyse(job: Job, s: Settings, digest: str) -> tuple[Any, bool]:
    """(the Analysis, whether it came from the cached track). A video is tracked once per content
    and track settings (apps/batch/tracks.py); the track is kept before any output is written, so a
    failed write (a full disk) costs only the rendering on the rerun."""
    from formcheck.pipeline import analyze as pipeline
    from formcheck.pose.track import is_track_file

    if is_track_file(job.path):
        return pipeline.analyze_path(job.path, s.config, s.model), False
    key = cache_key(digest, s.track_key)
    track = load_cached(s.out, job.name, key)
    if track is not None:
        return pipeline.analyze_track(track, s.config), True
    track = pipeline.track_video(job.path, s.config, s.model)
    with contextlib.suppress(OutputError):  # no room for the cache: the result still counts
        save_cached(s.out, job.name, key, track, s.temp_dir)
    return pipeline.analyze_track(track, s.config), False


def faults_of(report: dict[str, Any]) -> tuple[str, ...]:
    """The checks that warned or failed on a counted rep of the set, by title, in rule order."""
    seen: dict[str, None] = {}
    for r in report["reps"]:
        if not r["partial"]:
            for c in r["checks"]:
                if c["verdict"] in ("warn", "fail"):
                    seen.setdefault(c["title"], None)
    return tuple(seen)


def planned(job: Job, s: Settings) -> list[str]:
    """The outputs `run_job` writes for `job`, relative to the output folder."""
    from formcheck.pose.track import is_track_file

    exts = [".json", *[e for flag, e in ((s.csv, ".csv"), (s.html, ".html")) if flag]]
    if s.annotate and not is_track_file(job.path):
        exts.append(".mp4")
    return [f"{job.name}{e}" for e in exts]


def write_outputs(job: Job, s: Settings, analysis: Any, report: dict[str, Any]) -> tuple[list[str], list[str], str]:
    """(outputs written, notes, the index's key frame as a data URL or "")."""
    from formcheck.pose.track import is_track_file
    from formcheck.report.export import write_csv, write_json

    stem = s.out / job.name
    outputs, notes = [f"{job.name}.json"], []
    write_json(report, f"{stem}.json")
    if s.csv:
        write_csv(report, f"{stem}.csv")
        outputs.append(f"{job.name}.csv")
    video = None if is_track_file(job.path) else job.path
    annotated = Path(f"{stem}.mp4") if s.annotate and video is not None else None
    tops = None
    if video is not None and analysis.reps:
        from formcheck.report.render import annotated_tops

        tops = annotated_tops(video, analysis)  # decoded once: the HTML's key frames and the index's
    if s.annotate:
        if annotated is None:
            notes.append("no annotated video: the input is a pose track, not a video")
        else:
            from formcheck.report import render

            render.annotate_video(job.path, analysis, annotated)
            outputs.append(f"{job.name}.mp4")
    if s.html:
        from formcheck.report import html_page as html_report

        html_report.write_html(analysis, report, Path(f"{stem}.html"), video, annotated=annotated,
                               tops=tops if tops is not None else [None] * len(analysis.reps))
        outputs.append(f"{job.name}.html")
    return outputs, notes, _index_thumb(analysis, tops)


def _index_thumb(analysis: Any, tops: Sequence[Any] | None) -> str:
    """The top of the set's best counted rep (the first rep when none is scored), small."""
    if not tops:
        return ""
    from formcheck.report.html_page import thumbnail

    scored = [(sc, -j) for j, (r, sc) in enumerate(zip(analysis.reps, analysis.scores, strict=True))
              if r.full and sc is not None and tops[j] is not None]
    j = -max(scored)[1] if scored else next((j for j, t in enumerate(tops) if t is not None), None)
    return "" if j is None else thumbnail(tops[j], INDEX_THUMB_SIDE, INDEX_THUMB_QUALITY)
