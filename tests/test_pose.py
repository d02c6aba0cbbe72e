"""The pose stage's edge: model checks, the lean mediapipe import, a landmarker that runs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from formcheck.errors import ModelError
from formcheck.pose.model import PoseEstimator, PoseSample, check_model, select_person


def test_lean_import_skips_matplotlib_and_still_tracks():
    """`import mediapipe` would pull matplotlib.pyplot (0.6 s CPU); the landmarker needs none of it."""
    code = (
        "import sys, numpy as np\n"
        "from formcheck.pose.model import PoseEstimator\n"
        "frame = np.zeros((240, 320, 3), np.uint8)\n"
        "with PoseEstimator() as est:\n"
        "    print(est.detect(frame, 0.0), est.detect(frame, 0.04))\n"
        "print(sorted(m for m in ('matplotlib', 'matplotlib.pyplot') if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.split("\n")[:2] == ["None None", "[]"]


def test_plain_import_is_used_when_mediapipe_is_already_loaded():
    code = (
        "import mediapipe\n"
        "from formcheck.pose.model import _mediapipe\n"
        "print(_mediapipe().Image is mediapipe.Image, hasattr(mediapipe, 'tasks'))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "True True"


def test_estimator_finds_nobody_in_an_empty_frame():
    with PoseEstimator() as est:
        assert est.detect(np.full((360, 640, 3), 127, np.uint8), 0.0) is None
    with pytest.raises(RuntimeError):
        est.detect(np.zeros((8, 8, 3), np.uint8), 0.1)  # closed


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "not found"), (b"not a zip", "not a MediaPipe .task bundle")],
    ids=["missing", "not-a-bundle"],
)
def test_check_model_says_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "model.task"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        check_model(path)


def _sample(cx: float, size: float) -> PoseSample:
    image = np.zeros((33, 3))
    image[:, 0] = cx + np.linspace(-size, size, 33)
    image[:, 1] = 100 + np.linspace(-size, size, 33)
    return PoseSample(image, np.zeros((33, 3)), np.ones(33))


def test_select_person_follows_the_previous_one_else_the_largest():
    small_left, big_right = _sample(100, 10), _sample(500, 50)
    assert select_person([], None) is None
    assert select_person([small_left, big_right], None) is big_right
    assert select_person([big_right, small_left], _sample(110, 10)) is small_left
