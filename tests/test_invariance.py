"""Rep counts must not hinge on accidents of the recording: mirror, frame rate, direction, noise, size.

Uses the shipped pose tracks (samples/*.npz), so it runs without the videos.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from conftest import SHIPPED
from formcheck.pipeline.analyze import analyze_track
from formcheck.pose.track import PoseTrack

TRACKS = sorted(
    p for p in SHIPPED.glob("*.npz") if "power-pwa" not in p.name  # edited cuts: no stable count
)


def mirror(tr: PoseTrack) -> PoseTrack:
    image = tr.image.copy()
    image[..., 0] = tr.width - image[..., 0]
    world = tr.world.copy()
    world[..., 0] *= -1
    return replace(tr, image=image, world=world)


def half_rate(tr: PoseTrack) -> PoseTrack:
    s = slice(None, None, 2)
    n = len(tr.t[s])
    return replace(tr.take(s), frames_expected=n)


def reverse(tr: PoseTrack) -> PoseTrack:
    r = slice(None, None, -1)
    return replace(tr, t=tr.t[-1] - tr.t[r], image=tr.image[r], world=tr.world[r], visibility=tr.visibility[r],
                   modelled=tr.modelled[r])


def noisy(tr: PoseTrack) -> PoseTrack:
    rng = np.random.default_rng(7)
    scale = 0.004 * max(tr.width, tr.height)
    return replace(tr, image=tr.image + rng.normal(0, scale, tr.image.shape))


def scaled(tr: PoseTrack) -> PoseTrack:
    image = tr.image * 2.5 + np.array([100.0, 40.0, 0.0])
    return replace(tr, image=image, width=int(tr.width * 2.5 + 100), height=int(tr.height * 2.5 + 40))


CHANGES = {"mirror": mirror, "half-rate": half_rate, "reversed": reverse, "noise": noisy, "scaled": scaled}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
@pytest.mark.parametrize("path", TRACKS, ids=[p.stem[:40] for p in TRACKS])
def test_count_and_exercise_survive(path, change):
    tr = PoseTrack.load(path)
    base = analyze_track(tr)
    other = analyze_track(CHANGES[change](tr))
    assert other.exercise == base.exercise
    # Clips that start or end mid-rep may trade a partial for a full rep at the edges.
    slack = 1 if any(r.partial for r in base.reps) and change in ("reversed", "half-rate") else 0
    assert abs(len(other.full_reps) - len(base.full_reps)) <= slack


def test_mirror_swaps_the_near_side():
    tr = PoseTrack.load(SHIPPED / "glute_bridge_BE-PROJECTS2018_GroupNo23.npz")
    assert analyze_track(tr).k.view.value == "side_left"
    # A mirrored image shows the other side of the body only if the labels swap too.
    left = [11, 13, 15, 23, 25, 27, 29, 31, 7]
    right = [12, 14, 16, 24, 26, 28, 30, 32, 8]
    m = mirror(tr)
    perm = np.arange(33)
    perm[left], perm[right] = right, left
    swapped = replace(m, image=m.image[:, perm], world=m.world[:, perm], visibility=m.visibility[:, perm])
    assert analyze_track(swapped).k.view.value == "side_right"
