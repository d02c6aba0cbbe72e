"""The unsettled start of a file is tracked again backwards (formcheck.pose.rewind)."""

from __future__ import annotations

from contextlib import AbstractContextManager

import numpy as np
import pytest

from formcheck.inputs.frames import Frame, Skipped
from formcheck.inputs.video import VideoInfo
from formcheck.pose import rewind
from formcheck.pose.model import PoseSample, track_frames
from formcheck.pose.rewind import StartRewinder, distance, splice, unsteadiness
from formcheck.pose.track import L_HIP, L_SHOULDER, R_HIP, R_SHOULDER

W, H, FPS = 320, 240, 10.0


def body(x: float, y: float = 120.0, torso: float = 60.0) -> PoseSample:
    """A pose whose every landmark sits near (x, y); shoulders a torso length from the hips."""
    image = np.zeros((33, 3))
    image[:, 0], image[:, 1] = x, y
    image[[L_HIP, R_HIP], 0] = x + torso
    image[[L_SHOULDER, R_SHOULDER], 0] = x
    return PoseSample(image, np.zeros((33, 3)), np.ones(33))


def good(t: float) -> PoseSample:
    """The lifter, moving slowly (0.2 torso lengths a second)."""
    return body(100.0 + 12.0 * t)


def junk(t: float) -> PoseSample:
    """A wrong pose that jumps about: what a tracker follows when its first look was poor."""
    return body(20.0 + 150.0 * (int(t * FPS) % 2))


class Scripted(AbstractContextManager):
    """An estimator answering from a script of time -> pose; `fresh()` gives the backward one."""

    def __init__(self, script, backward_script=None) -> None:
        self.script, self.backward_script = script, backward_script or good
        self.calls: list[float] = []
        self.fresh_made = 0
        self.t_of: dict[float, float] = {}

    def detect(self, rgb: np.ndarray, t_s: float) -> PoseSample | None:
        self.calls.append(t_s)
        return self.script(float(rgb[0, 0, 0]) / FPS)  # the frame's own time, written in its pixels

    def fresh(self) -> Scripted:
        self.fresh_made += 1
        return Scripted(self.backward_script)

    def __exit__(self, *exc: object) -> None:
        return None


def frames(n: int, skip_every: int = 0):
    for i in range(n):
        if skip_every and i % skip_every == 1:
            yield Skipped(i, i / FPS)
            continue
        image = np.zeros((H, W, 3), np.uint8)
        image[0, 0, 0] = i  # the frame index, so the scripted estimator knows which frame it sees
        yield Frame(i, i / FPS, image)


INFO = VideoInfo("clip.mp4", W, H, FPS, 60, False)


def xs(track) -> np.ndarray:
    return track.image[:, L_SHOULDER, 0]


def test_a_start_the_tracker_settles_on_at_once_is_not_tracked_again() -> None:
    est = Scripted(good)
    track = track_frames(frames(60), INFO, est, rewind=True)  # type: ignore[arg-type]
    assert est.fresh_made == 0
    assert len(est.calls) == 60
    np.testing.assert_allclose(xs(track), [good(i / FPS).image[L_SHOULDER, 0] for i in range(60)])


def test_an_unsettled_start_is_replaced_by_the_backward_track() -> None:
    # Lost for 0.3 s, then a jumping wrong pose until 1.0 s, then the lifter.
    def forward(t: float) -> PoseSample | None:
        return None if t < 0.3 else junk(t) if t < 1.0 else good(t)

    est = Scripted(forward)
    track = track_frames(frames(60), INFO, est, rewind=True)  # type: ignore[arg-type]
    assert est.fresh_made == 1
    expected = [good(i / FPS).image[L_SHOULDER, 0] for i in range(60)]
    np.testing.assert_allclose(xs(track), expected)
    assert track.detected.all()


def test_without_rewind_the_unsettled_start_stays() -> None:
    est = Scripted(lambda t: None if t < 0.3 else good(t))
    track = track_frames(frames(60), INFO, est)  # type: ignore[arg-type]
    assert est.fresh_made == 0
    assert not track.detected[:3].any() and track.detected[3:].all()


def test_a_backward_track_that_never_agrees_is_not_used() -> None:
    # The backward tracker follows someone else all along: no frame to join the two at.
    est = Scripted(lambda t: None if t < 0.3 else good(t), backward_script=lambda t: body(250.0))
    track = track_frames(frames(60), INFO, est, rewind=True)  # type: ignore[arg-type]
    assert est.fresh_made == 1
    assert not track.detected[:3].any()
    np.testing.assert_allclose(xs(track)[3:], [good(i / FPS).image[L_SHOULDER, 0] for i in range(3, 60)])


def test_a_backward_track_no_steadier_is_not_used() -> None:
    fwd = [None, None, good(0.2), good(0.3), good(0.4)]
    back = [None, None, body(10.0), good(0.3), good(0.4)]  # agrees from frame 3, as unsteady before
    assert splice(fwd, back) == 0
    better = [good(0.0), good(0.1), good(0.2), good(0.3), good(0.4)]
    assert splice(fwd, better) == 2  # up to the first frame where both agree on two in a row


def test_skipped_frames_keep_their_place_and_are_not_tracked_again() -> None:
    est = Scripted(lambda t: None if t < 0.4 else good(t))
    track = track_frames(frames(60, skip_every=2), INFO, est, rewind=True)  # type: ignore[arg-type]
    modelled = track.modelled
    assert not modelled[1::2].any() and modelled[0::2].all()
    assert track.detected[modelled].all()  # the model frames of the lost start were found backwards
    assert not track.detected[~modelled].any()


def test_a_stream_that_never_settles_is_left_as_it_was() -> None:
    est = Scripted(junk)
    track = track_frames(frames(40), INFO, est, rewind=True)  # type: ignore[arg-type]
    assert est.fresh_made == 0
    np.testing.assert_allclose(xs(track), [junk(i / FPS).image[L_SHOULDER, 0] for i in range(40)])


def test_the_held_frames_are_bounded() -> None:
    r: StartRewinder[PoseSample] = StartRewinder()
    rows: list[PoseSample | None] = []
    for f in frames(200):
        rows.append(junk(f.t))
        assert isinstance(f, Frame)
        r.offer(len(rows) - 1, f, rows)
        assert len(r._held) <= rewind.MAX_FRAMES
        assert f.t - r._held[0].frame.t <= rewind.MAX_S


def test_distance_and_unsteadiness_are_in_torso_lengths() -> None:
    assert distance(body(100.0), body(100.0)) == 0.0
    assert distance(body(100.0), body(130.0)) == pytest.approx(0.5)  # 30 px of a 60 px torso
    assert distance(body(100.0, torso=120.0), body(130.0, torso=120.0)) == pytest.approx(0.25)
    assert unsteadiness([good(0.0), good(0.1), None, good(0.3)]) == 1
    assert unsteadiness([good(0.0), body(200.0), good(0.2)]) == 2


def test_holding_no_frames_turns_the_rewind_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rewind, "MAX_FRAMES", 0)
    est = Scripted(lambda t: None if t < 0.3 else good(t))
    track = track_frames(frames(30), INFO, est, rewind=True)  # type: ignore[arg-type]
    assert est.fresh_made == 0 and not track.detected[:3].any() and track.detected[3:].all()
