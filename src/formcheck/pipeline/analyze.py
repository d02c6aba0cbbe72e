"""The pipeline, one way: frames -> pose track -> smoothed -> kinematics -> reps -> checks.

This is the library entry point (`analyze_path`); the CLI, batch and live modes call it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from formcheck.analysis.agreement import AngleAgreement, agreement
from formcheck.analysis.confidence import Confidence, Level, exercise_confidence, rep_confidence
from formcheck.analysis.exercise import Exercise, classify
from formcheck.analysis.kinematics import Kinematics, compute
from formcheck.analysis.reps import Rep, segment
from formcheck.analysis.smoothing import cut_points, smooth_track
from formcheck.config import Config
from formcheck.errors import NotAVideo
from formcheck.pipeline.scoring import Focus, focus, score_rep, weights_of
from formcheck.pose.track import PoseTrack, is_track_file
from formcheck.rules import all_rules
from formcheck.rules.base import CheckResult

Progress = Callable[[int, int], None]  # (frames done, frames expected or 0)

# Losing more than this share of the frames the container announced is worth saying.
LOST_FRAMES_WARN = 0.02
# A person missing from more than this share of frames is worth saying.
MISSING_PERSON_WARN = 0.2


@dataclass(frozen=True)
class Analysis:
    track: PoseTrack  # raw, as the model saw it
    smoothed: PoseTrack
    k: Kinematics
    reps: tuple[Rep, ...]
    exercise: Exercise
    checks: tuple[tuple[CheckResult, ...], ...]  # per rep, same order as reps
    scores: tuple[float | None, ...]
    focus: Focus | None
    warnings: tuple[str, ...]
    # How sure each call is, with reasons (formcheck.analysis.confidence); empty/high when built by hand.
    exercise_confidence: Confidence = field(default_factory=lambda: Confidence(Level.HIGH))
    rep_confidence: tuple[Confidence, ...] = ()
    angles: tuple[AngleAgreement, ...] = ()  # per rep: 2-D and 3-D readings at the top

    @property
    def full_reps(self) -> tuple[Rep, ...]:
        return tuple(r for r in self.reps if r.full)


def track_video(
    path: str | os.PathLike[str],
    cfg: Config,
    model: Path | None = None,
    progress: Progress | None = None,
) -> PoseTrack:
    """Run the pose model over the file (every frame, or `[video] model_hz`'s share of them): in
    time chunks, tracked on all cores, when the file is long enough (formcheck.pose.chunked), else
    in one stream with decoding in a background thread. A refused stitch falls back to one stream
    at the same model rate."""
    import importlib
    import threading

    from formcheck.inputs.video import iter_sampled, probe
    from formcheck.pose.chunked import chunks_for, track_chunked
    from formcheck.pose.model import PoseEstimator, picker_for, track_frames

    # Scoring needs scipy.signal, imported lazily (~1 s of CPU): import it now, beside the
    # model, rather than after it (measured: 4.4 -> 3.9 s on a 5 s clip in one stream).
    threading.Thread(target=importlib.import_module, args=("scipy.signal",), daemon=True).start()
    info = probe(path)
    if progress is not None:  # the total from the start, before the model loads
        progress(0, info.frame_count)
    v = cfg.video
    n = chunks_for(info, v)
    track = track_chunked(path, info, v, n, model, progress) if n > 1 else None
    if track is None:  # one stream: short files, GIFs, or a stitch in doubt
        with PoseEstimator(model, v.num_poses, v.min_detection_confidence, v.min_tracking_confidence) as est:
            done = 0

            def tick(_frame: object, _sample: object) -> None:
                nonlocal done
                done += 1
                if progress is not None and done % 10 == 0:
                    progress(done, info.frame_count)

            frames = iter_sampled(path, picker_for(info, v.model_hz), v.max_side, prefetch=4)
            track = track_frames(frames, info, est, tick, rewind=True)
    if len(track) == 0:
        raise NotAVideo(f"{path}: no video frame could be decoded (damaged or truncated file)")
    if progress is not None:  # done: every frame decoded, whatever the container announced
        progress(len(track), len(track))
    return track


def analyze_track(track: PoseTrack, cfg: Config | None = None) -> Analysis:
    cfg = cfg or Config()
    smoothed = smooth_track(track, cfg.smoothing)
    k = replace(compute(smoothed), cut=cut_points(smoothed, cfg.smoothing.max_jump, cfg.smoothing.max_turn_deg))
    reps = segment(k, cfg.reps) if track.detected.any() else []
    exercise = classify(k, reps)
    if exercise == Exercise.NONE:
        reps = []
    rules = all_rules(cfg.rules)
    scored = [score_rep(rep, k, exercise, reps, rules) for rep in reps]
    checks = tuple(c for c, _ in scored)
    scores = tuple(s for _, s in scored)
    full_checks = [c for c, r in zip(checks, reps, strict=True) if r.full]
    return Analysis(
        track=track,
        smoothed=smoothed,
        k=k,
        reps=tuple(reps),
        exercise=exercise,
        checks=checks,
        scores=scores,
        focus=focus(full_checks, weights_of(rules)),
        warnings=tuple(_warnings(track, exercise)),
        exercise_confidence=exercise_confidence(k, reps, exercise),
        rep_confidence=tuple(rep_confidence(k, r) for r in reps),
        angles=tuple(agreement(smoothed, k, r) for r in reps),
    )


def _warnings(track: PoseTrack, exercise: Exercise) -> list[str]:
    out = []
    n = len(track)
    if track.frames_expected > n and (track.frames_expected - n) > max(2, LOST_FRAMES_WARN * track.frames_expected):
        expected = track.frames_expected
        pct = 100 * (expected - n) / expected
        out.append(
            f"only {n} of {expected} frames could be decoded ({pct:.0f} % lost: the file looks truncated"
            " or damaged); scored what was readable"
        )
    found = track.found_fraction  # of the frames the model saw
    if n and not found:
        out.append("no person was found in any frame")
    elif n and (1 - found) > MISSING_PERSON_WARN:
        out.append(f"no person in {100 * (1 - found):.0f} % of frames (out of view, cut away or too small)")
    if found and exercise == Exercise.NONE:
        out.append("no hip thrust or glute bridge found: the hips never rise from a lying or bench-supported position")
    return out


def analyze_path(
    path: str | os.PathLike[str],
    cfg: Config | None = None,
    model: Path | None = None,
    progress: Progress | None = None,
) -> Analysis:
    """Score a video, or re-score a saved pose track (.npz) without the video."""
    cfg = cfg or Config()
    if is_track_file(path):
        return analyze_track(PoseTrack.load(path), cfg)
    return analyze_track(track_video(path, cfg, model, progress), cfg)
