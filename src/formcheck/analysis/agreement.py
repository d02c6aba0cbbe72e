"""Image (2-D) and world (3-D) angles side by side, per rep: which one the rules used, and how
well the two agree.

The 2-D angle, on the side nearest the camera, is exact in a true side view and foreshortened
as the camera turns; MediaPipe's world landmarks hold their angles in any view but guess depth,
and on the dev clips read a side-view hip angle at the top 5-40° lower than the image does.
Neither is the truth: showing both, and the gap, tells a coach how far to trust the number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from formcheck.analysis.kinematics import LEFT, RIGHT, Kinematics, View, angle, signed_hip_extension
from formcheck.analysis.reps import Rep
from formcheck.pose.track import L_ANKLE, L_HIP, L_KNEE, L_SHOULDER, R_ANKLE, R_HIP, R_KNEE, R_SHOULDER, PoseTrack


@dataclass(frozen=True)
class AngleAgreement:
    # "image" (2-D, the near side; side views) or "world" (3-D, both sides averaged; other views,
    # and the reps a moving camera saw from the front in a side set: kinematics.profile_frames)
    source: str
    hip_image_deg: float  # hip extension at the top, each way
    hip_world_deg: float
    knee_image_deg: float
    knee_world_deg: float

    @property
    def hip_gap_deg(self) -> float:
        return abs(self.hip_image_deg - self.hip_world_deg)

    def to_dict(self) -> dict[str, object]:
        def num(x: float) -> float | None:
            return round(float(x), 1) if np.isfinite(x) else None

        return {
            "source": self.source,
            "hip_ext_image_deg": num(self.hip_image_deg),
            "hip_ext_world_deg": num(self.hip_world_deg),
            "knee_image_deg": num(self.knee_image_deg),
            "knee_world_deg": num(self.knee_world_deg),
            "hip_gap_deg": num(self.hip_gap_deg),
        }


def _median(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if len(x) else float("nan")


def agreement(track: PoseTrack, k: Kinematics, rep: Rep) -> AngleAgreement:
    """Both readings of the hip and knee over the rep's hold at the top (`track` smoothed)."""
    top = slice(rep.hold_start, rep.hold_end + 1)
    im, w = track.image[top, :, :2], track.world[top]
    s, h, kn, a = (RIGHT if k.view == View.SIDE_RIGHT else LEFT)[:4]
    hip_2d = signed_hip_extension(im[:, s], im[:, h], im[:, kn])
    knee_2d = angle(im[:, h], im[:, kn], im[:, a])
    hip_3d = np.mean([angle(w[:, L_SHOULDER], w[:, L_HIP], w[:, L_KNEE]),
                      angle(w[:, R_SHOULDER], w[:, R_HIP], w[:, R_KNEE])], axis=0)
    knee_3d = np.mean([angle(w[:, L_HIP], w[:, L_KNEE], w[:, L_ANKLE]),
                       angle(w[:, R_HIP], w[:, R_KNEE], w[:, R_ANKLE])], axis=0)
    in_profile = k.view.is_side and (k.profile is None or bool(np.mean(k.profile[top]) >= 0.5))
    return AngleAgreement(
        source="image" if in_profile else "world",
        hip_image_deg=_median(hip_2d),
        hip_world_deg=_median(hip_3d),
        knee_image_deg=_median(knee_2d),
        knee_world_deg=_median(knee_3d),
    )
