"""The real thing: rep counts and exercise on the hand-labelled dev videos (../shared/samples).

Runs the pose model on each clip once per session (see conftest.dev_track).
"""

from __future__ import annotations

import pytest

from conftest import dev_labels
from formcheck.pipeline.analyze import analyze_track

LABELS = dev_labels()
COUNTED = [d for d in LABELS if d.get("count_eval") and "rep counting" in str(d.get("usable_for"))]
NEGATIVES = [d for d in LABELS if d["file"].startswith("not_a_thrust_")]
CLASSED = [d for d in LABELS if d.get("count_eval")]


def _ids(rows):
    return [d["file"].rsplit(".", 1)[0] for d in rows]


pytestmark = pytest.mark.video


@pytest.mark.parametrize("label", COUNTED or [None], ids=_ids(COUNTED) or ["no-samples"])
def test_rep_count_within_acceptable_range(label, dev_track):
    if label is None:
        pytest.skip("dev videos not found (../shared/samples)")
    a = analyze_track(dev_track(label["file"]))
    lo, hi = label["acceptable_reps"]
    assert lo <= len(a.full_reps) <= hi, [(r.top_s, r.partial, r.reason) for r in a.reps]


@pytest.mark.parametrize("label", NEGATIVES or [None], ids=_ids(NEGATIVES) or ["no-samples"])
def test_other_exercises_give_none_and_no_reps(label, dev_track):
    if label is None:
        pytest.skip("dev videos not found (../shared/samples)")
    a = analyze_track(dev_track(label["file"]))
    assert a.exercise.value == "none"
    assert a.reps == ()


@pytest.mark.parametrize("label", CLASSED or [None], ids=_ids(CLASSED) or ["no-samples"])
def test_exercise_class(label, dev_track):
    if label is None:
        pytest.skip("dev videos not found (../shared/samples)")
    a = analyze_track(dev_track(label["file"]))
    assert a.exercise.value == label["class"]


@pytest.mark.parametrize("label", COUNTED or [None], ids=_ids(COUNTED) or ["no-samples"])
def test_rep_tops_match_labelled_tops(label, dev_track):
    """Each labelled top lies inside one of our full or partial reps (start..end)."""
    if label is None:
        pytest.skip("dev videos not found (../shared/samples)")
    a = analyze_track(dev_track(label["file"]))
    for frame in label.get("rep_top_frames", []):
        assert any(r.start <= frame <= r.end for r in a.reps), frame


def test_side_views_are_side_views(dev_track):
    """Clips filmed from the side must come out as side views, with the correct near side."""
    sides = {
        "glute_bridge_BE-PROJECTS2018_GroupNo23.mp4": "side_left",
        "hip_thrust_palFitness_WORKOUT-HOME.mp4": "side_right",
    }
    for name, view in sides.items():
        assert analyze_track(dev_track(name)).k.view.value == view


def test_lifter_is_followed_with_someone_else_in_view(samples_dir, tmp_path):
    """A squatter beside the lifter (two dev clips side by side): the bridge is still scored."""
    import cv2
    import numpy as np

    from formcheck.config import Config
    from formcheck.pipeline.analyze import analyze_path

    a = cv2.VideoCapture(str(samples_dir / "glute_bridge_BE-PROJECTS2018_GroupNo23.mp4"))
    b = cv2.VideoCapture(str(samples_dir / "not_a_thrust_squat_BE-PROJECTS2018.mp4"))
    out = tmp_path / "two people.mp4"
    w = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), a.get(cv2.CAP_PROP_FPS), (1280, 360))
    while True:
        ok1, f1 = a.read()
        ok2, f2 = b.read()
        if not (ok1 and ok2):
            break
        w.write(cv2.resize(np.hstack([f2, f1]), (1280, 360)))
    w.release()
    result = analyze_path(out, Config())
    assert result.exercise.value == "glute_bridge"
    assert len(result.full_reps) == 5


@pytest.mark.parametrize("label", LABELS or [None], ids=_ids(LABELS) or ["no-samples"])
def test_fast_gives_the_same_count_and_class_as_every_frame(label, dev_track):
    """--fast (the model at ~10 Hz, the frames between filled in) on every dev clip: the same
    full-rep count and exercise as the model on every frame, and the labels still hold."""
    if label is None:
        pytest.skip("dev videos not found (../shared/samples)")
    from formcheck.pose.settings import FAST_HZ

    every = analyze_track(dev_track(label["file"]))
    fast_track = dev_track(label["file"], FAST_HZ)
    fast = analyze_track(fast_track)
    assert (fast.exercise, len(fast.full_reps)) == (every.exercise, len(every.full_reps)), (
        [round(r.top_s, 2) for r in every.full_reps], [round(r.top_s, 2) for r in fast.full_reps])
    if label in COUNTED:
        lo, hi = label["acceptable_reps"]
        assert lo <= len(fast.full_reps) <= hi
    if label in CLASSED:
        assert fast.exercise.value == label["class"]
    if not label["file"].lower().endswith(".gif"):  # GIFs: every frame (their frames are timed one by one)
        assert not fast_track.modelled.all()
