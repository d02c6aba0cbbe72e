"""Kinematics: joint angles and body measures per frame, from a smoothed pose track.

Angle conventions (degrees):
- hip_ext: angle at the hip between the shoulder and the knee; 180 = shoulders, hips and
  knees in one line (lockout). Signed in side views: above 180 means the hips are pushed
  past the shoulder-knee line (lumbar hyperextension, "rib flare").
- knee: angle at the knee between hip and ankle (180 = straight leg).
- shin: shin (ankle->knee) from vertical; positive = knee ahead of the ankle, towards the toes.
- torso: hip->shoulder line from horizontal; positive = shoulders above the hips.
- neck: head line (shoulder->ear) relative to the torso line (hip->shoulder); positive =
  chin towards the chest (flexion), negative = head thrown back (extension).
- lift: hip height above the planted (lower) ankle, in body-scale units (torso length).
- head_pitch: the ears->face line (face = nose, eyes, mouth) above the image horizontal,
  facing the lifter's feet; positive = face turned up. It is the head's pitch in the room,
  not relative to the torso (compare it with `torso` for that).
- heel_height: near heel above the near toe, in shin lengths (image; side views).

2-D angles are measured in the image on the side nearest the camera and hold only in the
plane the camera faces (a side view); in front and oblique views, hip_ext and knee come
from MediaPipe's 3-D world landmarks, averaged over both sides.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from formcheck.pose.track import (
    L_ANKLE,
    L_EAR,
    L_FOOT,
    L_HEEL,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    NOSE,
    R_ANKLE,
    R_EAR,
    R_FOOT,
    R_HEEL,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    PoseTrack,
)

# Within 12 degrees of a true side view, 2-D sagittal angles are off by 2 % at most (cos 12°).
SIDE_VIEW_MIN_YAW_DEG = 78.0
# Below this, the camera looks along the lifter's body axis (from the feet or the head).
FRONT_VIEW_MAX_YAW_DEG = 30.0

LEFT = (L_SHOULDER, L_HIP, L_KNEE, L_ANKLE, L_HEEL, L_FOOT, L_EAR)
RIGHT = (R_SHOULDER, R_HIP, R_KNEE, R_ANKLE, R_HEEL, R_FOOT, R_EAR)
# Face points for head pitch: nose, the six eye points, the two mouth corners.
FACE = (NOSE, 1, 2, 3, 4, 5, 6, 9, 10)


class View(StrEnum):
    SIDE_LEFT = "side_left"  # the lifter's left side faces the camera
    SIDE_RIGHT = "side_right"
    FRONT = "front"
    OBLIQUE = "oblique"
    UNKNOWN = "unknown"

    @property
    def is_side(self) -> bool:
        return self in (View.SIDE_LEFT, View.SIDE_RIGHT)


@dataclass(frozen=True)
class Kinematics:
    """Per-frame measures, each (N,) and NaN where the lifter was not seen."""

    t: np.ndarray
    view: View
    yaw_deg: float  # hip/shoulder axis angle to the image plane: 90 = side view, 0 = front
    hip_ext: np.ndarray
    knee: np.ndarray
    shin: np.ndarray
    torso: np.ndarray
    neck: np.ndarray
    lift: np.ndarray
    incline: np.ndarray  # planted ankle->shoulder line from horizontal (3-D): lying ~0-40, standing ~70-90
    knee_width: np.ndarray  # knee gap / ankle gap (front views): < 1 = knees caving in
    hip_tilt: np.ndarray  # left-right hip line from horizontal, image (front views)
    feet_gap: np.ndarray  # height difference of the two ankles, body-scale units (single-leg)
    scale_px: float  # body scale: median torso length in pixels
    # Added for the coaching rules; None = not measured (e.g. Kinematics built by hand).
    head_pitch: np.ndarray | None = None  # face direction above horizontal, deg (side views)
    heel_height: np.ndarray | None = None  # heel above toe, shin lengths (side views)
    feet_in_view: np.ndarray | None = None  # (N,) bool: ankle, heel and toe inside the frame
    head_in_view: np.ndarray | None = None  # (N,) bool: ears and nose inside the frame
    near_foot_up: np.ndarray | None = None  # near ankle above the lower ankle, torso lengths (single-leg)
    # The knee of the planted leg: `knee`, except in a side view's frames where the near foot is
    # the free one (near_foot_up > FREE_LEG_MIN_RISE), where the far knee, read the same way (a
    # single-leg bridge filmed from its free leg's side: the near knee is straight, the planted
    # one bent). None (a Kinematics built by hand) = as `knee`.
    knee_planted: np.ndarray | None = None
    # Hips above the shoulders, torso lengths (image): rises in a thrust or bridge (shoulders
    # stay on the bench or floor), falls in a back extension, squat or sit-up.
    hip_over_shoulder: np.ndarray | None = None
    # Hips above the shoulder->planted-ankle line (the two supports), torso lengths: a distance,
    # so a camera that rolls does not change it (only which side is "up" uses the picture).
    hip_over_supports: np.ndarray | None = None
    # (N,) bool: an edit cut or a pose jump at this frame (formcheck.analysis.smoothing.cut_points,
    # across missing frames); None = not known (live mode, built by hand).
    cut: np.ndarray | None = None
    # (N,) bool: in a side set whose camera moves, the frames whose joint angles were read in the
    # image (profile_frames; the rest in 3-D); None = every frame read the set's one way.
    profile: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.t)


def angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Unsigned angle ABC in degrees for (..., D) points; NaN propagates."""
    v1, v2 = a - b, c - b
    n = np.linalg.norm(v1, axis=-1) * np.linalg.norm(v2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(v1 * v2, axis=-1) / n
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def signed_hip_extension(sh: np.ndarray, hip: np.ndarray, knee: np.ndarray) -> np.ndarray:
    """2-D hip angle in [0, 360): over 180 when the hip sits above the shoulder-knee line.

    Image y points down, so "above" is the side of the shoulder->knee line with smaller y.
    """
    a = angle(sh, hip, knee)
    d = knee - sh
    rel = hip - sh
    cross = d[..., 0] * rel[..., 1] - d[..., 1] * rel[..., 0]
    # Orientation of "up" relative to the line direction: positive cross means the hip is on
    # the up side when the line runs left-to-right; flip for lines drawn right-to-left.
    up_side = np.sign(d[..., 0]) * cross < 0
    return np.where(up_side, 360.0 - a, a)


def _axis_yaw(a: np.ndarray) -> np.ndarray:
    """Yaw (deg) of left->right axes (..., 3) to the image plane: 90 = side view, 0 = front."""
    return np.degrees(np.arctan2(np.abs(a[..., 2]), np.abs(a[..., 0])))


def view_of(track: PoseTrack) -> tuple[View, float]:
    """Camera view from the 3-D hip and shoulder axes: along the image = front, into it = side."""
    w = track.world
    axes = np.concatenate([w[:, R_HIP] - w[:, L_HIP], w[:, R_SHOULDER] - w[:, L_SHOULDER]])
    ok = ~np.isnan(axes).any(axis=1)
    if not ok.any():
        return View.UNKNOWN, float("nan")
    a = axes[ok]
    yaw = float(np.median(_axis_yaw(a)))
    if yaw >= SIDE_VIEW_MIN_YAW_DEG:
        # The near side is closer to the camera: smaller MediaPipe z.
        dz = np.nanmedian(w[:, [L_HIP, L_SHOULDER], 2] - w[:, [R_HIP, R_SHOULDER], 2])
        return (View.SIDE_LEFT if dz < 0 else View.SIDE_RIGHT), yaw
    if yaw <= FRONT_VIEW_MAX_YAW_DEG:
        return View.FRONT, yaw
    return View.OBLIQUE, yaw


# A set seen mostly from the side can have a stretch seen from the front or steeply (a camera
# that walks round the lifter, a compilation's other shots), where 2-D profile angles mean
# nothing: a synthetic set whose first rep is filmed from the feet lost it that way. When at
# least MOVING_VIEW_SHARE of a side set's frames are seen more than 30° off the side (yaw under
# PROFILE_MIN_YAW_DEG, a 1 s rolling median), each frame's joint angles come from the reading
# that holds in its own view: the image in profile, the 3-D world landmarks elsewhere. On the dev
# clips only the edited compilation (24 % of its frames) has such stretches.
PROFILE_MIN_YAW_DEG = 60.0
MOVING_VIEW_SHARE = 0.2
YAW_WINDOW_S = 1.0


def profile_frames(track: PoseTrack) -> np.ndarray | None:
    """(N,) bool: the frames seen close enough to the side for 2-D profile angles, in a side set
    whose camera moves (MOVING_VIEW_SHARE); None when the whole set can be read in profile."""
    if len(track) < 3:
        return None
    w = track.world
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames with no pose: NaN
        yaw = np.nanmedian(np.stack([_axis_yaw(w[:, R_HIP] - w[:, L_HIP]),
                                     _axis_yaw(w[:, R_SHOULDER] - w[:, L_SHOULDER])]), axis=0)
    ok = np.isfinite(yaw)
    if ok.sum() < 3:
        return None
    profile = rolling_median(track.t, yaw, ok, YAW_WINDOW_S, "nearest") >= PROFILE_MIN_YAW_DEG
    if float(np.mean(~profile[ok])) < MOVING_VIEW_SHARE:
        return None
    return np.asarray(profile)


# The angles, as data (as Sports2D's angle table): a name, the points and how it is read.
# Points are body parts of the side nearest the camera ("hip" = LEFT[1] or RIGHT[1]) or fixed
# landmarks (ints); a group of points is their mean.
PART = {"shoulder": 0, "hip": 1, "knee": 2, "ankle": 3, "heel": 4, "toe": 5, "ear": 6}  # index in LEFT/RIGHT
# In a single-leg set, a near ankle this far (torso lengths) above the other is the free leg.
FREE_LEG_MIN_RISE = 0.3
Points = tuple[str | int, ...]


@dataclass(frozen=True)
class JointAngle:
    """The angle at the middle of three points: in the image on the near side in a side view
    (`signed`: over 180 when the joint sits above the line of the other two), else the mean of
    both sides' 3-D world angle."""

    points: tuple[str, str, str]
    signed: bool = False


@dataclass(frozen=True)
class SegmentAngle:
    """The direction of the segment `tail` -> `head` in the image, against `ref`:
    "vertical" (from straight up, positive towards the toes), "horizontal" (from the image
    horizontal, positive up), "tilt" (from the horizontal, positive down the picture),
    "facing" (from the horizontal towards the toes, positive up)."""

    tail: Points
    head: Points
    ref: str


JOINT_ANGLES: dict[str, JointAngle] = {
    "hip_ext": JointAngle(("shoulder", "hip", "knee"), signed=True),
    "knee": JointAngle(("hip", "knee", "ankle")),
}
SEGMENT_ANGLES: dict[str, SegmentAngle] = {
    "shin": SegmentAngle(("ankle",), ("knee",), "vertical"),
    "torso": SegmentAngle(("hip",), ("shoulder",), "horizontal"),
    "hip_tilt": SegmentAngle((L_HIP,), (R_HIP,), "tilt"),
    "head_pitch": SegmentAngle((L_EAR, R_EAR), FACE, "facing"),
}


def _at(im: np.ndarray, near: tuple[int, ...], points: Points) -> np.ndarray:
    """(N, D): one point, or the mean of a group, with named parts on the near side."""
    idx = [near[PART[p]] if isinstance(p, str) else p for p in points]
    if len(idx) == 1:
        return im[:, idx[0]]
    return np.mean(im[:, idx], axis=1) if len(im) else np.empty((0, im.shape[-1]))


def joint_angle(track: PoseTrack, view: View, near: tuple[int, ...], spec: JointAngle,
                profile: np.ndarray | None = None) -> np.ndarray:
    """The angle per frame: in the image on the near side in a side view (only in the `profile`
    frames, when given: profile_frames), else from the 3-D world landmarks."""
    a, b, c = spec.points
    im, w = track.image[..., :2], track.world
    if not len(track):
        return np.empty(0)
    if view.is_side:
        if spec.signed:
            flat = signed_hip_extension(_at(im, near, (a,)), _at(im, near, (b,)), _at(im, near, (c,)))
        else:
            flat = angle(_at(im, near, (a,)), _at(im, near, (b,)), _at(im, near, (c,)))
        if profile is None:
            return flat
    sides = [angle(_at(w, side, (a,)), _at(w, side, (b,)), _at(w, side, (c,))) for side in (LEFT, RIGHT)]
    solid = np.mean(sides, axis=0)
    return np.where(profile, flat, solid) if view.is_side and profile is not None else solid


def segment_angle(im: np.ndarray, near: tuple[int, ...], spec: SegmentAngle, toes_dir: float) -> np.ndarray:
    v = _at(im, near, spec.head) - _at(im, near, spec.tail)
    if spec.ref == "vertical":
        return np.degrees(np.arctan2(toes_dir * v[:, 0], -v[:, 1]))
    if spec.ref == "horizontal":
        return np.degrees(np.arctan2(-v[:, 1], np.abs(v[:, 0])))
    if spec.ref == "tilt":
        return np.degrees(np.arctan2(v[:, 1], np.abs(v[:, 0])))
    if spec.ref == "facing":
        return np.degrees(np.arctan2(-v[:, 1], toes_dir * v[:, 0]))
    raise ValueError(f"unknown reference {spec.ref!r}")


def toes_direction(im: np.ndarray, near: tuple[int, ...]) -> float:
    """Which way the lifter's toes point along the image x axis (+1 or -1): from hips towards ankles."""
    toes = im[:, near[PART["ankle"]], 0] - im[:, near[PART["hip"]], 0]
    toes_dir = float(np.sign(np.median(toes[np.isfinite(toes)]))) if np.isfinite(toes).any() else 1.0
    return toes_dir or 1.0


def neck_angle(im: np.ndarray, near: tuple[int, ...], toes_dir: float) -> np.ndarray:
    """Head line (shoulder->ear) relative to the torso line (hip->shoulder); flexion positive."""
    s, h, ear = (near[PART[p]] for p in ("shoulder", "hip", "ear"))
    torso_vec = im[:, s] - im[:, h]
    head_vec = im[:, ear] - im[:, s]
    cross = torso_vec[:, 0] * head_vec[:, 1] - torso_vec[:, 1] * head_vec[:, 0]
    dot = np.sum(torso_vec * head_vec, axis=-1)
    neck = np.degrees(np.arctan2(cross, dot))
    # With the head to the image left of the shoulders the rotation sense flips; make
    # flexion (chin towards the chest, i.e. towards the thighs' side) positive either way.
    return neck * toes_dir


def heights(track: PoseTrack, near: tuple[int, ...], body: np.ndarray) -> dict[str, np.ndarray]:
    """Heights in body-scale units (torso lengths per frame): hips over the planted ankle, over
    the shoulders and over the support line; the ankles' height gap and the near foot's lift."""
    im = track.image[..., :2]
    a = near[PART["ankle"]]
    planted = np.fmax(im[:, L_ANKLE, 1], im[:, R_ANKLE, 1])  # lower ankle (y grows down)
    hip_y = np.mean(im[:, [L_HIP, R_HIP], 1], axis=1) if len(track) else np.empty(0)
    shoulder_y = np.mean(im[:, [L_SHOULDER, R_SHOULDER], 1], axis=1) if len(track) else np.empty(0)
    return {
        "lift": (planted - hip_y) / body,
        "hip_over_shoulder": (shoulder_y - hip_y) / body,
        "hip_over_supports": _above_line(im, body),
        "feet_gap": np.abs(im[:, L_ANKLE, 1] - im[:, R_ANKLE, 1]) / body,
        "near_foot_up": (planted - im[:, a, 1]) / body,
    }


def compute(track: PoseTrack) -> Kinematics:
    """All measures, from a (smoothed) track: the angle tables, heights, and the per-set view."""
    view, yaw = view_of(track)
    im, w = track.image[..., :2], track.world
    near = RIGHT if view == View.SIDE_RIGHT else LEFT
    s, h, k, a, heel, toe, _ear = near

    torso_len = np.linalg.norm(im[:, s] - im[:, h], axis=-1)
    scale = float(np.nanmedian(torso_len)) if np.isfinite(torso_len).any() else float("nan")
    body = local_scale(track.t, torso_len, scale)  # per frame: a zooming camera changes it
    toes_dir = toes_direction(im, near)

    profile = profile_frames(track) if view.is_side else None
    joints = {name: joint_angle(track, view, near, spec, profile) for name, spec in JOINT_ANGLES.items()}
    raised = heights(track, near, body)
    knee_planted = joints["knee"]  # always a series (live mode stores every field per frame)
    if view.is_side:
        far = LEFT if near == RIGHT else RIGHT
        far_knee = joint_angle(track, view, far, JOINT_ANGLES["knee"], profile)
        with np.errstate(invalid="ignore"):
            knee_planted = np.where(raised["near_foot_up"] > FREE_LEG_MIN_RISE, far_knee, joints["knee"])
    segments = {name: segment_angle(im, near, spec, toes_dir) for name, spec in SEGMENT_ANGLES.items()}

    mid_sh = (w[:, L_SHOULDER] + w[:, R_SHOULDER]) / 2
    # To the planted (lower) ankle, as the support line does: a free leg held up would lift the
    # two ankles' midpoint and flatten a single-leg thrust's incline into a bridge's.
    d = np.where(left_planted(im), w[:, L_ANKLE], w[:, R_ANKLE]) - mid_sh
    incline = np.degrees(np.arctan2(d[:, 1], np.hypot(d[:, 0], d[:, 2])))

    with np.errstate(invalid="ignore", divide="ignore"):
        knee_width = np.abs(im[:, L_KNEE, 0] - im[:, R_KNEE, 0]) / np.abs(im[:, L_ANKLE, 0] - im[:, R_ANKLE, 0])
    shin_len = np.linalg.norm(im[:, k] - im[:, a], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        heel_height = (im[:, toe, 1] - im[:, heel, 1]) / shin_len
    feet = (a, heel, toe) if view.is_side else (L_ANKLE, L_HEEL, L_FOOT, R_ANKLE, R_HEEL, R_FOOT)

    return Kinematics(
        t=track.t,
        view=view,
        yaw_deg=yaw,
        **joints,
        **segments,
        neck=neck_angle(im, near, toes_dir),
        incline=incline,
        knee_width=knee_width,
        scale_px=scale,
        heel_height=heel_height,
        feet_in_view=in_frame(track, feet),
        head_in_view=in_frame(track, (NOSE, L_EAR, R_EAR)),
        **raised,
        knee_planted=knee_planted,
        profile=profile,
    )


def left_planted(im: np.ndarray) -> np.ndarray:
    """(N, 1) bool: the left ankle is the lower one in the picture (the planted foot; y grows down)."""
    return (im[:, L_ANKLE, 1] >= im[:, R_ANKLE, 1])[:, None]


def _above_line(im: np.ndarray, body: np.ndarray) -> np.ndarray:
    """Signed distance of the mid-hip from the line mid-shoulder -> lower ankle, in body units;
    positive on the side facing up the picture."""
    sh = np.mean(im[:, [L_SHOULDER, R_SHOULDER]], axis=1) if len(im) else np.empty((0, 2))
    hip = np.mean(im[:, [L_HIP, R_HIP]], axis=1) if len(im) else np.empty((0, 2))
    ankle = np.where(left_planted(im), im[:, L_ANKLE], im[:, R_ANKLE])
    d, rel = ankle - sh, hip - sh
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = (d[:, 0] * rel[:, 1] - d[:, 1] * rel[:, 0]) / np.linalg.norm(d, axis=1)
    up = np.where(d[:, 0] > 0, -1.0, 1.0)  # the normal (-dy, dx) points up the picture when dx < 0
    return up * dist / body


# Body-scale units use the torso length over this window around each frame (a rolling median):
# long enough to ride over a rep's foreshortening, short enough to follow a camera that zooms
# or walks closer during the set.
SCALE_WINDOW_S = 3.0


def local_scale(t: np.ndarray, torso_len: np.ndarray, fallback: float) -> np.ndarray:
    """(N,) torso length in pixels around each frame (rolling median over SCALE_WINDOW_S)."""
    ok = np.isfinite(torso_len) & (torso_len > 0)
    if ok.sum() < 3 or len(t) < 3:
        return np.full(len(t), fallback)
    return rolling_median(t, torso_len, ok, SCALE_WINDOW_S, "reflect")


def rolling_median(t: np.ndarray, x: np.ndarray, ok: np.ndarray, window_s: float, mode: str) -> np.ndarray:
    """(N,) median of `x` over `window_s` around each frame, the frames not `ok` filled in a
    straight line first (scipy's median_filter, `mode` at the ends)."""
    from scipy.ndimage import median_filter

    filled = np.interp(np.arange(len(t)), np.flatnonzero(ok), x[ok])
    fs = 1.0 / float(np.median(np.diff(t)))
    return np.asarray(median_filter(filled, size=max(3, int(window_s * fs) | 1), mode=mode))


def in_frame(track: PoseTrack, points: tuple[int, ...]) -> np.ndarray:
    """(N,) bool: all `points` lie inside the image (the model also guesses points off-frame)."""
    xy = track.image[:, list(points), :2]
    with np.errstate(invalid="ignore"):
        ok = (xy[..., 0] >= 0) & (xy[..., 0] < track.width) & (xy[..., 1] >= 0) & (xy[..., 1] < track.height)
    return np.asarray(ok.all(axis=1))
