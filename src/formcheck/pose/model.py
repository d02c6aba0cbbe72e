"""Pose: run MediaPipe's PoseLandmarker over frames. The only module that imports mediapipe.

MediaPipe results are converted once, here, into numpy rows of a `PoseTrack`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import threading
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np

from formcheck.errors import ModelError
from formcheck.inputs.frames import Frame, Skipped
from formcheck.inputs.sampling import FramePicker, stride_for
from formcheck.inputs.video import VideoInfo
from formcheck.pose.rewind import StartRewinder
from formcheck.pose.track import L_HIP, L_SHOULDER, N_LANDMARKS, R_HIP, R_SHOULDER, PoseTrack, empty_arrays

MODEL_NAME = "pose_landmarker_full.task"
# sha256 of the bundle that scripts/build_model.py makes (deterministic); checked at load.
MODEL_SHA256 = "e6c7a129fe875e33b86457f385aa03941f4cade05e13b6bd513528900c4a1cce"
_BUNDLE_MEMBERS = {"pose_detector.tflite", "pose_landmarks_detector.tflite"}


def default_model_path() -> Path:
    """The shipped model: inside the installed package, or in the checkout's models/."""
    here = Path(__file__).resolve().parents[1]  # the package folder (this file is formcheck/pose/model.py)
    for candidate in (here / "models" / MODEL_NAME, here.parents[1] / "models" / MODEL_NAME):
        if candidate.is_file():
            return candidate
    return here.parents[1] / "models" / MODEL_NAME


def check_model(path: Path | None) -> Path:
    """Validate a model file before MediaPipe sees it (its own errors are cryptic)."""
    shipped = path is None
    p = default_model_path() if path is None else Path(path)
    if not p.is_file():
        hint = " (reinstall formcheck, or rebuild it: scripts/build_model.py)" if shipped else ""
        raise ModelError(f"pose model not found: {p}{hint}")
    if shipped:
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        if digest != MODEL_SHA256:
            raise ModelError(
                f"pose model is damaged: {p} (sha256 {digest[:12]}…, expected {MODEL_SHA256[:12]}…); "
                "restore it with `git checkout models/` or rebuild it with scripts/build_model.py"
            )
    try:
        with zipfile.ZipFile(p) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(f"{p}: not a MediaPipe .task bundle ({exc})") from exc
    if not names >= _BUNDLE_MEMBERS:
        raise ModelError(f"{p}: not a pose landmarker bundle (needs {sorted(_BUNDLE_MEMBERS)})")
    return p


@dataclass(frozen=True)
class PoseSample:
    """One person in one frame. image in pixels; world in metres."""

    image: np.ndarray  # (33, 3)
    world: np.ndarray  # (33, 3)
    visibility: np.ndarray  # (33,)


def select_person(candidates: list[PoseSample], previous: PoseSample | None) -> PoseSample | None:
    """Follow the lifter: the candidate nearest the previous pose, else the largest one.

    Someone walking through the frame is a second candidate; staying with the person we
    were tracking keeps their landmarks out of the lifter's track.
    """
    if not candidates:
        return None
    if previous is None:
        return max(candidates, key=_torso_size)
    ref = _centre(previous)
    return min(candidates, key=lambda c: float(np.linalg.norm(_centre(c) - ref)))


def _centre(p: PoseSample) -> np.ndarray:
    return p.image[[L_SHOULDER, R_SHOULDER, L_HIP, R_HIP], :2].mean(axis=0)


def _torso_size(p: PoseSample) -> float:
    xy = p.image[:, :2]
    return float(np.ptp(xy[:, 0]) * np.ptp(xy[:, 1]))


# `import mediapipe` runs the __init__ of every task package, and the vision one imports
# matplotlib.pyplot for drawing helpers formcheck never uses: 0.6 s of CPU per run (measured,
# 0.8 s vs 0.02 s), as much as 30 frames of tracking. We import the pose landmarker's own
# modules under bare package objects instead (their __init__ not run), unless mediapipe is
# already imported; any surprise falls back to the plain import.
_LEAN_PACKAGES = ("mediapipe", "mediapipe.tasks", "mediapipe.tasks.python", "mediapipe.tasks.python.vision")
_mp_lock = threading.Lock()
_mp_api: SimpleNamespace | None = None


def _mediapipe() -> SimpleNamespace:
    """The few MediaPipe names formcheck uses, imported once (thread-safe)."""
    global _mp_api
    with _mp_lock:
        if _mp_api is None:
            os.environ.setdefault("GLOG_minloglevel", "2")
            lean = "mediapipe" not in sys.modules
            try:
                _mp_api = _import_mediapipe(lean)
            except (ImportError, AttributeError):
                if not lean:
                    raise
                for name in [n for n in sys.modules if n == "mediapipe" or n.startswith("mediapipe.")]:
                    del sys.modules[name]
                _mp_api = _import_mediapipe(False)
        return _mp_api


def _import_mediapipe(lean: bool) -> SimpleNamespace:
    if lean:
        for name in _LEAN_PACKAGES:
            spec = importlib.util.find_spec(name)
            if spec is None:
                raise ImportError(name)
            module: ModuleType = importlib.util.module_from_spec(spec)  # created, not executed
            sys.modules[name] = module
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, module)
    else:
        importlib.import_module("mediapipe")
    image = importlib.import_module("mediapipe.tasks.python.vision.core.image")
    base = importlib.import_module("mediapipe.tasks.python.core.base_options")
    landmarker = importlib.import_module("mediapipe.tasks.python.vision.pose_landmarker")
    mode = importlib.import_module("mediapipe.tasks.python.vision.core.vision_task_running_mode")
    return SimpleNamespace(
        Image=image.Image,
        ImageFormat=image.ImageFormat,
        BaseOptions=base.BaseOptions,
        PoseLandmarker=landmarker.PoseLandmarker,
        PoseLandmarkerOptions=landmarker.PoseLandmarkerOptions,
        RunningMode=mode.VisionTaskRunningMode,
    )


class PoseEstimator:
    """PoseLandmarker in VIDEO mode, as a context manager (it must be closed explicitly)."""

    def __init__(
        self,
        model_path: Path | None = None,
        num_poses: int = 1,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
    ) -> None:
        self._model_path = check_model(model_path)
        self._num_poses = num_poses
        self._det = min_detection_confidence
        self._trk = min_tracking_confidence
        self._landmarker: object | None = None
        self._previous: PoseSample | None = None
        self._last_ms = -1

    def __enter__(self) -> PoseEstimator:
        mp = self._mp = _mediapipe()
        options = mp.PoseLandmarkerOptions(
            base_options=mp.BaseOptions(model_asset_path=str(self._model_path)),
            running_mode=mp.RunningMode.VIDEO,
            num_poses=self._num_poses,
            min_pose_detection_confidence=self._det,
            min_pose_presence_confidence=self._det,
            min_tracking_confidence=self._trk,
        )
        try:
            self._landmarker = mp.PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"{self._model_path}: MediaPipe could not load this model ({exc})") from exc
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fresh(self) -> PoseEstimator:
        """Another estimator with the same model and settings, and no history (to be entered)."""
        return PoseEstimator(self._model_path, self._num_poses, self._det, self._trk)

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()  # type: ignore[attr-defined]
            self._landmarker = None

    def detect(self, rgb: np.ndarray, t_s: float) -> PoseSample | None:
        """Landmarks of the lifter in one frame, or None when nobody is found."""
        if self._landmarker is None:
            raise RuntimeError("PoseEstimator used outside its `with` block")
        t_ms = max(round(t_s * 1000.0), self._last_ms + 1)  # must strictly increase
        self._last_ms = t_ms
        h, w = rgb.shape[:2]
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        result = self._landmarker.detect_for_video(image, t_ms)  # type: ignore[attr-defined]
        candidates = [
            _to_sample(lms, world, w, h)
            for lms, world in zip(result.pose_landmarks, result.pose_world_landmarks, strict=False)
        ]
        chosen = select_person(candidates, self._previous)
        self._previous = chosen if chosen is not None else self._previous
        return chosen


def picker_for(info: VideoInfo, model_hz: float) -> FramePicker | None:
    """The frames the model sees in this file at `model_hz` (None: every frame).

    The stride follows the file's own rate (60 fps at 10 Hz: every 6th frame; 24 fps: every
    2nd). Animated pictures are timed frame by frame (held frames), so their average rate is
    no stride to go by: the model sees every frame of a GIF (they are short, and cheap).
    """
    stride = 1 if info.is_gif else stride_for(info.fps, model_hz)
    return FramePicker(info.fps, stride) if stride > 1 else None


def _to_sample(lms: list, world: list, w: int, h: int) -> PoseSample:
    img = np.array([(p.x * w, p.y * h, p.z * w) for p in lms], dtype=np.float64)
    wld = np.array([(p.x, p.y, p.z) for p in world], dtype=np.float64)
    vis = np.array([p.visibility if p.visibility is not None else 1.0 for p in lms], dtype=np.float64)
    return PoseSample(img, wld, vis)


def track_frames(
    frames: Iterable[Frame | Skipped],
    info: VideoInfo,
    estimator: PoseEstimator,
    on_frame: Callable[[Frame | Skipped, PoseSample | None], None] | None = None,
    rewind: bool = False,
) -> PoseTrack:
    """Run the estimator over a stream of frames; landmarks are scaled to the source size.

    A Skipped frame (formcheck.inputs.sampling) keeps its place in the track, unmodelled.
    `rewind`: the stream is a file's start, and the frames before the tracker settles are tracked
    again backwards where it did not settle at once (formcheck.pose.rewind).
    """
    ts: list[float] = []
    rows: list[PoseSample | None] = []
    seen: list[bool] = []
    size = (info.width, info.height)
    rewinder: StartRewinder[PoseSample] | None = StartRewinder() if rewind else None
    for frame in frames:
        sample = None
        if isinstance(frame, Frame):
            sample = to_source(estimator.detect(frame.image, frame.t), frame.image.shape, size)
        ts.append(frame.t)
        rows.append(sample)
        seen.append(isinstance(frame, Frame))
        if on_frame is not None:
            on_frame(frame, sample)
        if rewinder is not None and isinstance(frame, Frame) and rewinder.offer(len(rows) - 1, frame, rows):
            if rewinder.needed:
                with estimator.fresh() as back:
                    rewinder.rewind(rows, lambda image, t: to_source(back.detect(image, t), image.shape, size))
            rewinder.finish()
            rewinder = None
    return assemble_track(ts, rows, info, seen)


def to_source(sample: PoseSample | None, shape: tuple[int, ...], size: tuple[int, int]) -> PoseSample | None:
    """Image landmarks found on a downscaled frame (`shape`), in the source's pixels (`size`: w, h)."""
    h, w = shape[:2]
    if sample is None or (w, h) == size:
        return sample
    s = size[0] / w
    return PoseSample(sample.image * s, sample.world, sample.visibility)


def assemble_track(ts: list[float], rows: list[PoseSample | None], info: VideoInfo,
                   modelled: list[bool] | None = None) -> PoseTrack:
    n = len(ts)
    image, world, vis = empty_arrays(n)
    for i, s in enumerate(rows):
        if s is not None:
            image[i], world[i], vis[i] = s.image, s.world, s.visibility
    assert image.shape[1] == N_LANDMARKS
    return PoseTrack(
        t=np.asarray(ts, dtype=np.float64),
        image=image,
        world=world,
        visibility=vis,
        width=info.width,
        height=info.height,
        source=Path(info.path).name,
        fps=info.fps,
        frames_expected=info.frame_count,
        modelled=np.asarray(modelled if modelled is not None else [], bool),
    )
