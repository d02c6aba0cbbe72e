"""The annotated video and key frames: same frames, size and rate as the source; the overlay
says the right thing at the right frame; a failed write leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import visual_builders as vb
from formcheck.analysis.exercise import Exercise
from formcheck.errors import OutputError
from formcheck.inputs.video import probe
from formcheck.pipeline.analyze import analyze_track
from formcheck.pose.track import L_ANKLE, L_KNEE
from formcheck.report import render
from formcheck.report.annotators import VERDICT_COLOR
from formcheck.rules.base import Verdict


def opened(path: Path) -> tuple[int, int, int, float]:
    cap = cv2.VideoCapture(str(path))
    try:
        assert cap.isOpened(), f"{path} does not open with OpenCV"
        n = 0
        while cap.read()[0]:
            n += 1
        return n, int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), cap.get(
            cv2.CAP_PROP_FPS
        )
    finally:
        cap.release()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- what the overlay says, frame by frame -------------------------------------------------
# Reps (fps 15): rep 1 frames 2-18 (hold 8-12), rep 2 frames 22-38 (hold 28-32); badges 1.75 s.
@pytest.mark.parametrize(
    ("frame", "done", "rep", "phase", "badges"),
    [
        (0, 0, None, "bottom", None),
        (5, 0, 0, "ascent", None),
        (8, 0, 0, "top hold", None),
        (12, 0, 0, "top hold", None),
        (13, 0, 0, "descent", None),
        (18, 1, 0, "descent", 0),  # the rep ends: counted, verdicts on screen
        (20, 1, None, "bottom", 0),
        (22, 1, 1, "ascent", 0),  # 4 frames = 0.27 s after rep 1 ended: still shown
        (37, 1, 1, "descent", 0),  # 19 frames = 1.27 s after: rep 1's verdicts over rep 2's descent
        (38, 2, 1, "descent", 1),  # rep 2 ends: its verdicts replace rep 1's
    ],
    ids=["before", "ascent", "hold-start", "hold-end", "descent", "rep-ends", "after", "next-rep",
         "next-descent", "next-ends"],
)
def test_timeline(frame, done, rep, phase, badges):
    a = vb.analysis(n=50)
    s = render.timeline(a)[frame]
    assert (s.done, s.total, s.rep, s.phase, s.badges) == (done, 2, rep, phase, badges)


def test_badges_go_away_after_their_time():
    a = vb.analysis(n=50, reps=(vb.rep(2, 10, 18),))
    states = render.timeline(a, badge_s=1.75)
    shown = [i for i, s in enumerate(states) if s.badges == 0]
    assert shown[0] == 18
    assert len(shown) == 27  # 1.75 s at 15 fps, the end frame included


def test_partial_reps_are_not_counted():
    a = vb.analysis(n=40, reps=(vb.rep(2, 10, 18), vb.rep(22, 30, 38, partial=True)))
    last = render.timeline(a)[39]
    assert (last.done, last.total) == (1, 1)


def test_no_exercise_no_phase():
    from dataclasses import replace

    a = replace(vb.analysis(n=20, reps=()), exercise=Exercise.NONE, checks=(), scores=())
    assert {s.phase for s in render.timeline(a)} == {""}


# --- what is drawn -------------------------------------------------------------------------
def red_pixels_near(img: np.ndarray, xy: np.ndarray, r: int = 12) -> int:
    x, y = int(xy[0]), int(xy[1])
    roi = img[max(0, y - r) : y + r, max(0, x - r) : x + r].astype(int)
    fail = np.array(VERDICT_COLOR[Verdict.FAIL])
    return int((np.abs(roi - fail).sum(axis=2) < 40).sum())


def test_the_faulty_body_part_is_highlighted_only_while_verdicts_show():
    a = vb.analysis(n=50, width=640, height=360)
    overlay = render.ClipOverlay(a, 640, 360)
    states = render.timeline(a)
    knee = a.smoothed.image[20, L_KNEE, :2]
    during = overlay.annotate(np.zeros((360, 640, 3), np.uint8), 20, states[20])
    before = overlay.annotate(np.zeros((360, 640, 3), np.uint8), 5, states[5])
    assert red_pixels_near(during, knee) > 20
    assert red_pixels_near(before, a.smoothed.image[5, L_KNEE, :2]) == 0
    # the shin (knee-ankle, both flagged) is drawn red along its length
    mid = (a.smoothed.image[20, L_KNEE, :2] + a.smoothed.image[20, L_ANKLE, :2]) / 2
    assert red_pixels_near(during, mid, 6) > 0


def test_verdict_card_shows_every_visible_check():
    a = vb.analysis(n=50, width=640, height=360)
    card, _ = render.ClipOverlay(a, 640, 360).card(0, 18)
    # A fault names the value its rule judged (the same number the HTML, CSV and JSON show).
    assert [title for _, title in card.rows] == ["Full lockout", "Vertical shins: 12.5°", "Neck: 12.5°"]
    assert card.notes == ("1 not visible from this angle",)
    assert " ".join(card.cue) == "Bring your feet in: knees over ankles."  # the fail before the warn


def ink_height(img: np.ndarray) -> int:
    rows = np.flatnonzero(img.max(axis=(1, 2)) > 0)
    return int(rows[-1] - rows[0]) if len(rows) else 0


@pytest.mark.parametrize(("small", "big"), [((360, 640), (1080, 1920)), ((640, 360), (1920, 1080))],
                         ids=["landscape", "portrait"])
def test_text_scales_with_the_frame(small, big):
    heights = []
    for w, h in (small, big):
        a = vb.analysis(n=20, width=w, height=h)
        overlay = render.ClipOverlay(a, w, h)
        scene = np.zeros((h, w, 3), np.uint8)
        overlay.counter.annotate(scene, "REPS 1/2", "rep 2 · ascent ↑")
        heights.append(ink_height(scene))
    assert heights[1] == pytest.approx(3 * heights[0], rel=0.1)
    assert heights[0] >= 0.08 * min(small)  # two lines of text: readable on a phone


def test_text_stays_inside_a_small_frame():
    a = vb.analysis(n=20, width=96, height=160, reps=(vb.rep(2, 6, 10),))
    img = render.ClipOverlay(a, 96, 160).annotate(np.zeros((160, 96, 3), np.uint8), 10, render.timeline(a)[10])
    assert img.shape == (160, 96, 3) and img.any()


# --- the video ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("width", "height", "fps"), [(320, 180, 15.0), (180, 320, 25.0)], ids=["landscape", "portrait"]
)
def test_annotated_video_has_the_source_frames_size_and_rate(tmp_path, width, height, fps):
    src = vb.video(tmp_path / "in.mp4", 40, width, height, fps)
    out = tmp_path / "out" / "annotated.mp4"
    render.annotate_video(src, vb.analysis(40, width, height, fps), out)
    n, w, h, got_fps = opened(out)
    assert (n, w, h) == (40, width, height)
    assert got_fps == pytest.approx(fps, rel=1e-3)
    assert leftovers(out.parent) == ["annotated.mp4"]
    cap_in, cap_out = cv2.VideoCapture(str(src)), cv2.VideoCapture(str(out))
    diff = np.abs(cap_in.read()[1].astype(int) - cap_out.read()[1].astype(int)).mean()
    assert diff > 2  # the overlay is there


def test_video_longer_than_the_track_keeps_every_frame(tmp_path):
    src = vb.video(tmp_path / "in.mp4", 40)
    out = tmp_path / "a.mp4"
    render.annotate_video(src, vb.analysis(30, reps=(vb.rep(2, 10, 18),)), out)
    assert opened(out)[0] == 40


def test_gif_in_mp4_out(tmp_path):
    frames = [Image.fromarray(np.full((60, 80, 3), 20 * i, np.uint8)) for i in range(12)]
    src = tmp_path / "in.gif"
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = tmp_path / "a.mp4"
    render.annotate_video(src, vb.analysis(12, 80, 60, 10.0, reps=(vb.rep(1, 5, 9, 10.0),)), out)
    n, w, h, fps = opened(out)
    assert (n, w, h) == (12, 80, 60) and fps == pytest.approx(10.0)


def test_a_failing_write_leaves_no_file(tmp_path, monkeypatch):
    src = vb.video(tmp_path / "in.mp4", 40)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    real = render.ClipOverlay.annotate

    def boom(self, scene, i, s):
        if i == 20:
            raise RuntimeError("disk full")
        return real(self, scene, i, s)

    monkeypatch.setattr(render.ClipOverlay, "annotate", boom)
    with pytest.raises(RuntimeError):
        render.annotate_video(src, vb.analysis(40), out_dir / "a.mp4")
    assert leftovers(out_dir) == []


def test_an_unwritable_destination_is_one_clear_error(tmp_path):
    src = vb.video(tmp_path / "in.mp4", 10)
    (tmp_path / "taken.mp4").mkdir()  # a folder where the file should go
    with pytest.raises(OutputError, match="cannot write"):
        render.annotate_video(src, vb.analysis(10, reps=()), tmp_path / "taken.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "taken.mp4"]


# --- key frames -----------------------------------------------------------------------------
def test_keyframes_one_png_per_rep_top(tmp_path):
    src = vb.video(tmp_path / "in.mp4", 40)
    a = vb.analysis(40)
    paths = render.write_keyframes(src, a, tmp_path / "kf")
    assert [p.name for p in paths] == ["rep01_top.png", "rep02_top.png"]
    assert leftovers(tmp_path / "kf") == ["rep01_top.png", "rep02_top.png"]
    img = cv2.imread(str(paths[0]))[..., ::-1]
    assert img.shape == (180, 320, 3)
    assert red_pixels_near(img, a.smoothed.image[10, L_ANKLE, :2]) > 20  # the fault drawn at the top


def test_keyframes_failing_write_leaves_nothing(tmp_path, monkeypatch):
    src = vb.video(tmp_path / "in.mp4", 40)
    monkeypatch.setattr(render.cv2, "imwrite", lambda *a, **k: False)
    with pytest.raises(OutputError):
        render.write_keyframes(src, vb.analysis(40), tmp_path / "kf")
    assert leftovers(tmp_path / "kf") == []


# --- a real dev clip (runs the pose model once, ~4 s) ---------------------------------------
@pytest.mark.video
def test_dev_clip_annotated_end_to_end(samples_dir, dev_track, tmp_path):
    name = "synthetic_glute_bridge_anvoxfit.mp4"
    src = samples_dir / name
    a = analyze_track(dev_track(name))
    out = tmp_path / "a.mp4"
    render.annotate_video(src, a, out)
    info = probe(src)
    n, w, h, fps = opened(out)
    assert (n, w, h) == (info.frame_count, info.width, info.height) == (97, 1280, 720)
    assert fps == pytest.approx(info.fps, rel=1e-3)
    assert len(render.write_keyframes(src, a, tmp_path / "kf")) == len(a.reps) >= 1


def test_partial_rep_card_says_why_and_highlights_nothing():
    a = vb.analysis(n=40, reps=(vb.rep(2, 10, 18), vb.rep(22, 30, 38, partial=True)))
    overlay = render.ClipOverlay(a, 320, 180)
    card, _ = overlay.card(1, 38)
    assert card.header == "Partial rep (not counted)" and card.rows == ()
    assert " ".join(card.cue) == "the clip ends mid-rep"
    assert overlay.highlight(1) == {} and overlay.highlight(0)
