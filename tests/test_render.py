"""The annotated video and key frames: same frames, size and rate as the source; the overlay
says the right thing at the right frame; a failed write leaves nothing behind."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import visual_builders as vb
from conftest import SHIPPED
from formcheck.analysis.exercise import Exercise
from formcheck.errors import OutputError
from formcheck.inputs.video import probe
from formcheck.pipeline.analyze import analyze_track
from formcheck.pose.track import L_ANKLE, L_KNEE, PoseTrack
from formcheck.report import encode, render
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


def codec_of(path: Path) -> bytes:
    cap = cv2.VideoCapture(str(path))
    try:
        return int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little")
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
    a = replace(vb.analysis(n=20, reps=()), exercise=Exercise.NONE, checks=(), scores=())
    assert {s.phase for s in render.timeline(a)} == {""}


# --- what is drawn -------------------------------------------------------------------------
def red_pixels_near(img: np.ndarray, xy: np.ndarray, r: int = 12) -> int:
    x, y = int(xy[0]), int(xy[1])
    roi = img[max(0, y - r) : y + r, max(0, x - r) : x + r].astype(int)
    fail = np.array(VERDICT_COLOR[Verdict.FAIL])
    return int((np.abs(roi - fail).sum(axis=2) < 40).sum())


# Rep 1 (frames 2-18, top 10, hold 8-12) at 15 fps: ringed through its hold and 0.3 s (4.5 frames) about its top.
@pytest.mark.parametrize(("frame", "rings"), [(5, None), (6, 0), (10, 0), (14, 0), (15, None), (20, None), (30, 1)],
                         ids=["before", "0.27s-before", "top", "0.27s-after", "0.33s-after", "bottom", "rep2-top"])
def test_faults_are_ringed_around_the_top(frame, rings):
    assert render.timeline(vb.analysis(n=50))[frame].rings == rings


def inset_box(overlay: render.ClipOverlay, rep: int, frame: int) -> tuple[int, int, int, int]:
    x, y = overlay._place_inset(rep, frame)
    return x, y, *overlay.inset_size


def test_the_fault_is_ringed_on_the_top_pose_and_kept_in_an_inset_after():
    """"Vertical shins" ringed at the top, where the shins are judged, not on the bottom pose after the
    rep; while its card shows, a small copy of the top frame keeps the rings in view."""
    a = vb.analysis(n=50, width=640, height=360)
    overlay = render.ClipOverlay(a, 640, 360)
    states = render.timeline(a)
    frames = {i: overlay.annotate(np.zeros((360, 640, 3), np.uint8), i, states[i]) for i in range(21)}
    knee = a.smoothed.image[:, L_KNEE, :2]
    assert red_pixels_near(frames[10], knee[10]) > 20  # at the top
    assert red_pixels_near(frames[5], knee[5]) == red_pixels_near(frames[20], knee[20]) == 0  # before, after
    mid = (a.smoothed.image[10, L_KNEE, :2] + a.smoothed.image[10, L_ANKLE, :2]) / 2
    assert red_pixels_near(frames[10], mid, 6) > 0  # the shin (knee-ankle, both flagged) drawn red along its length
    x, y, w, h = inset_box(overlay, 0, 20)
    inside = frames[20][y : y + h, x : x + w]
    assert red_pixels_near(inside, knee[10] * render.INSET_SCALE) > 5  # the ring, in the inset
    card, (cx, cy) = overlay.card(0, 18)
    assert not render._overlap((x, y, w, h), (cx, cy, card.width, card.height))
    border = y - overlay.inset.border  # the inset's white frame: there while the card is, not before
    assert (frames[20][border, x : x + w] == 255).all() and not (frames[17][border, x : x + w] == 255).all()


def test_no_inset_for_a_clean_rep_or_a_partial_one():
    clean = (vb.check("full_lockout", Verdict.PASS), vb.check("neck", Verdict.PASS, (11,)))
    for a, rep in ((vb.analysis(n=50, width=640, height=360, checks=clean), 0),
                   (vb.analysis(n=50, width=640, height=360, reps=(vb.rep(2, 10, 18, partial=True),)), 0)):
        overlay = render.ClipOverlay(a, 640, 360)
        states = render.timeline(a)
        for i in range(21):
            overlay.annotate(np.zeros((360, 640, 3), np.uint8), i, states[i])
        assert rep not in overlay._insets


def test_verdict_card_shows_every_visible_check():
    a = vb.analysis(n=50, width=640, height=360)
    card, _ = render.ClipOverlay(a, 640, 360).card(0, 18)
    # A fault names the value its rule judged (the same number the HTML, CSV and JSON show).
    assert [title for _, title in card.rows] == ["Full lockout", "Vertical shins: 12.5°", "Neck: 12.5°"]
    assert card.notes == ("1 not visible from this angle",)
    assert " ".join(card.cue) == "Bring your feet in: knees over ankles."  # the fail before the warn


def test_a_wide_card_goes_below_the_counter_not_over_it():
    title = "A long checkpoint title that goes on and on, number {}"
    long = tuple(vb.check(f"rule_{i}", Verdict.PASS, title=title.format(i)) for i in range(6))
    a = vb.analysis(n=50, width=640, height=656, checks=long)
    overlay = render.ClipOverlay(a, 640, 656)
    card, (x, y) = overlay.card(0, 18)
    assert card.width > 640 - overlay.hud_width  # no room beside the counter
    assert not render._overlap((x, y, card.width, card.height), (0, 0, overlay.hud_width, overlay.counter.height()))


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
    data = out.read_bytes()
    assert codec_of(out) == b"h264" and data.index(b"moov") < data.index(b"mdat")  # browsers: H.264, index first
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


def test_webm_is_vp9_with_the_same_frames_and_rate(tmp_path):
    src = vb.video(tmp_path / "in.mp4", 20)
    out = tmp_path / "a.webm"
    render.annotate_video(src, vb.analysis(20, reps=(vb.rep(2, 6, 10),)), out)
    n, w, h, fps = opened(out)
    assert (n, w, h, codec_of(out)) == (20, 320, 180, b"VP90") and fps == pytest.approx(15.0)


def test_odd_sizes_are_padded_by_one_black_line_not_scaled(tmp_path):
    """yuv420p needs even sizes: 81×61 becomes 82×62, the picture untouched at its place."""
    src = tmp_path / "in.gif"
    frames = [Image.fromarray(np.full((61, 81, 3), 200 + i, np.uint8)) for i in range(6)]
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = tmp_path / "a.mp4"
    a = vb.analysis(6, 81, 61, 10.0, reps=())
    render.annotate_video(src, a, out)
    cap = cv2.VideoCapture(str(out))
    ok, img = cap.read()
    cap.release()
    drawn = render.ClipOverlay(a, 81, 61).annotate(np.full((61, 81, 3), 200, np.uint8), 0, render.timeline(a)[0])
    assert ok and img.shape == (62, 82, 3)
    assert np.abs(img[:61, :81, ::-1].astype(int) - drawn).mean() < 8  # the frame as drawn, at its place
    assert img[61, :].mean() < 25 and img[:, 81].mean() < 25  # the padding: black


def test_gif_frames_keep_their_own_durations(tmp_path):
    durations = [100, 300, 100, 100, 500, 100, 100, 200, 100, 100]
    src = tmp_path / "in.gif"
    frames = [Image.fromarray(np.full((60, 80, 3), 20 * i, np.uint8)) for i in range(len(durations))]
    frames[0].save(src, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    starts = np.cumsum([0, *durations[:-1]]) / 1000.0
    a = vb.analysis(len(durations), 80, 60, 10.0, reps=(vb.rep(1, 4, 8, 10.0),))
    a = replace(a, track=replace(a.track, t=starts))  # the track has the GIF's real frame times
    out = tmp_path / "a.mp4"
    render.annotate_video(src, a, out)
    cap = cv2.VideoCapture(str(out))
    shown = []
    while cap.read()[0]:
        shown.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
    cap.release()
    assert shown == pytest.approx(list(starts), abs=0.002)


def test_one_clip_per_rep_from_just_before_it_to_the_end_of_its_card(tmp_path):
    # Rep 1: frames 2-18, rep 2: 22-38 at 15 fps; a clip runs 0.5 s before to 1.75 s after.
    src = vb.video(tmp_path / "in.mp4", 80)
    paths = render.write_clips(src, vb.analysis(80), tmp_path / "clips")
    assert [p.name for p in paths] == leftovers(tmp_path / "clips") == ["rep01.mp4", "rep02.mp4"]
    assert [opened(p)[0] for p in paths] == [45, 50]  # frames 0-44 (starts at the video's start), 15-64
    assert {codec_of(p) for p in paths} == {b"h264"}
    cap = cv2.VideoCapture(str(paths[1]))
    first = cap.read()[1][:20, 200:].astype(int)  # top right: no overlay before rep 1's card
    cap.release()
    source = cv2.VideoCapture(str(src))
    diffs = [np.abs(source.read()[1][:20, 200:].astype(int) - first).mean() for _ in range(20)]
    source.release()
    assert int(np.argmin(diffs)) == 15


def test_clips_and_the_video_in_one_pass(tmp_path, monkeypatch):
    src = vb.video(tmp_path / "in.mp4", 40)
    drawn = []
    real = render.ClipOverlay.annotate
    monkeypatch.setattr(render.ClipOverlay, "annotate",
                        lambda self, scene, i, s: drawn.append(i) or real(self, scene, i, s))
    told = []
    paths = render.render_videos(src, vb.analysis(40), tmp_path / "a.mp4", tmp_path / "clips",
                                 progress=lambda done, total: told.append((done, total)))
    assert drawn == list(range(40)) and [p.name for p in paths] == ["rep01.mp4", "rep02.mp4"]
    assert opened(tmp_path / "a.mp4")[0] == 40 and opened(paths[1])[0] == 40 - 15  # the video ends in the margin
    assert told == [(i, 40) for i in range(41)]  # the total known from the start


def test_clips_alone_stop_decoding_after_the_last_clip(tmp_path):
    src = vb.video(tmp_path / "in.mp4", 80)
    told = []
    render.write_clips(src, vb.analysis(80, reps=(vb.rep(2, 10, 18),)), tmp_path / "clips",
                       progress=lambda done, total: told.append((done, total)))
    assert told[-1] == (45, 45)  # frames 0-44: rep 1 ends at 18, its card 1.75 s (26 frames) later


def test_clips_are_webm_where_ffmpeg_has_no_h264(tmp_path, monkeypatch):
    monkeypatch.setattr(encode, "encoders", lambda exe: frozenset({"libvpx-vp9", "libaom-av1"}))
    src = vb.video(tmp_path / "in.mp4", 20)
    paths = render.write_clips(src, vb.analysis(20, reps=(vb.rep(2, 6, 10),)), tmp_path / "clips")
    assert [p.name for p in paths] == ["rep01.webm"] and codec_of(paths[0]) == b"VP90"


def test_a_failure_mid_clip_leaves_no_clip(tmp_path, monkeypatch):
    src = vb.video(tmp_path / "in.mp4", 80)
    real = render.ClipOverlay.annotate

    def boom(self, scene, i, s):
        if i == 50:  # rep 1's clip (0-44) is done, rep 2's (15-64) half written
            raise RuntimeError("disk full")
        return real(self, scene, i, s)

    monkeypatch.setattr(render.ClipOverlay, "annotate", boom)
    with pytest.raises(RuntimeError):
        render.write_clips(src, vb.analysis(80), tmp_path / "clips")
    assert leftovers(tmp_path / "clips") == ["rep01.mp4"]  # the CLI removes it too (no_outputs_on_failure)


# --- the encoder: chosen by the name, before any work --------------------------------------
X264, OPENH264, VP9, SVT, AOM, VP8 = "libx264", "libopenh264", "libvpx-vp9", "libsvtav1", "libaom-av1", "libvpx"
PLANS = {
    "mp4-x264": ("a.mp4", {X264, OPENH264, VP9}, X264),
    "mp4-openh264": ("a.mp4", {OPENH264, VP9}, OPENH264),
    "mov-any-case": ("a.MOV", {X264}, X264),
    "webm-vp9": ("a.webm", {X264, VP9, SVT}, VP9),
    "webm-av1": ("a.webm", {SVT, AOM}, SVT),
    "webm-aom": ("a.webm", {AOM, VP8}, AOM),
    "webm-vp8": ("a.webm", {VP8}, VP8),
    "mp4-no-h264": ("a.mp4", {VP9}, "has none of the encoders libx264, libopenh264; name it .webm (VP9/AV1) instead"),
    "mp4-nothing": ("a.mp4", set(), "has none of the encoders libx264, libopenh264"),
    "webm-no-vp9-av1": ("a.webm", {X264}, "has none of the encoders libvpx-vp9, libsvtav1, libaom-av1, libvpx"),
    "gif": ("a.gif", {X264, VP9}, "name it .mp4 (H.264) or .webm (VP9)"),
}


@pytest.mark.parametrize(("name", "have", "expect"), PLANS.values(), ids=PLANS.keys())
def test_the_encoder_is_chosen_by_the_name_and_what_ffmpeg_has(name, have, expect, monkeypatch):
    monkeypatch.setattr(encode, "encoders", lambda exe: frozenset(have))
    if expect.startswith("lib"):
        assert encode.plan(name).codec.encoder == expect
    else:
        with pytest.raises(OutputError, match="cannot write") as e:
            encode.plan(name)
        assert expect in str(e.value) and "\n" not in str(e.value)


def test_the_bundled_ffmpeg_has_the_browser_encoders():
    have = encode.encoders(encode.ffmpeg_exe())
    assert {X264, VP9} <= have, "imageio-ffmpeg's binary lost an encoder: see docs/visual-report.md"


def test_no_ffmpeg_is_one_line(monkeypatch):
    import shutil

    import imageio_ffmpeg

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", lambda: (_ for _ in ()).throw(RuntimeError("no binary")))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(OutputError, match="needs ffmpeg: pip install imageio-ffmpeg"):
        encode.plan("a.mp4")


def test_an_encoder_failure_is_one_line_from_ffmpeg_and_no_file(tmp_path):
    bad = encode.Plan(encode.ffmpeg_exe(), "mp4", encode.Codec(X264, "H.264", ("-preset", "nonsense")))
    with pytest.raises(OutputError) as e, encode.VideoSink(tmp_path / "a.mp4", 64, 48, 10.0, plan_=bad) as sink:
        for _ in range(50):
            sink.write(np.zeros((48, 64, 3), np.uint8))
    why = "H.264 encoding failed (x264 [error]: invalid preset 'nonsense')"
    assert str(e.value) == f"cannot write {tmp_path / 'a.mp4'}: {why}"
    assert leftovers(tmp_path) == []


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


# --- a real dev clip, with the pose track saved from it (samples/: no model) -----------------
@pytest.mark.video
def test_dev_clip_annotated_end_to_end(samples_dir, tmp_path):
    name = "synthetic_glute_bridge_anvoxfit.mp4"
    src = samples_dir / name
    a = analyze_track(PoseTrack.load(SHIPPED / name.replace(".mp4", ".npz")))
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


# --- the command line: names, codecs and folders checked before the pose model is loaded -----
def refuse_the_model(monkeypatch):
    import formcheck.pose.model as model

    def loaded(*_a, **_k):
        raise AssertionError("the pose model was loaded before the outputs were checked")

    monkeypatch.setattr(model.PoseEstimator, "__init__", loaded)


def cli(*args):
    from typer.testing import CliRunner

    from formcheck.cli.analyze import app

    return CliRunner().invoke(app, [str(a) for a in args])


ALL_ENCODERS = {X264, OPENH264, VP9, SVT}
# (options, encoders ffmpeg has, the input: a video beside d, one in d named like a clip, or a track; code, says)
CLI_REFUSED = {
    "webm-without-vp9-av1": (["--annotate", "{d}/set.webm"], {X264}, "video", 7,
                             "cannot write --annotate {d}/set.webm: the ffmpeg at"),
    "mp4-without-h264": (["--annotate", "{d}/set.mp4"], {VP9}, "video", 7, "name it .webm (VP9/AV1) instead"),
    "mkv": (["--annotate", "{d}/set.mkv"], ALL_ENCODERS, "video", 2,
            "not '.mkv'; choose a name ending in .mp4 or .webm"),
    "clips-without-encoders": (["--clips", "{d}/clips"], set(), "video", 7,
                               "cannot write --clips {d}/clips: the ffmpeg"),
    "clips-is-a-file": (["--clips", "{d}/taken"], ALL_ENCODERS, "video", 7,
                        "cannot write --clips {d}/taken: it is a file"),
    "clips-over-the-video": (["--clips", "{d}"], ALL_ENCODERS, "rep01.mp4", 2,
                             "would overwrite the input video {d}/rep01.mp4 (a clip's name)"),
    "clips-from-a-track": (["--clips", "{d}/clips"], ALL_ENCODERS, "track", 2,
                           "--clips needs the video, not a saved pose track"),
}


@pytest.mark.parametrize(("args", "have", "source", "code", "says"), CLI_REFUSED.values(), ids=CLI_REFUSED.keys())
def test_video_outputs_are_refused_before_tracking(args, have, source, code, says, tmp_path, monkeypatch):
    d = tmp_path / "d"
    d.mkdir()
    (d / "taken").write_text("a file")
    video = {"video": lambda: vb.video(tmp_path / "in.mp4", 5), "rep01.mp4": lambda: vb.video(d / "rep01.mp4", 5),
             "track": lambda: SHIPPED / "synthetic_glute_bridge_anvoxfit.npz"}[source]()
    before = sorted(p.name for p in d.iterdir())
    refuse_the_model(monkeypatch)
    monkeypatch.setattr(encode, "encoders", lambda exe: frozenset(have))
    r = cli(video, *[a.format(d=d) for a in args], "--json", tmp_path / "o" / "r.json")
    assert r.exit_code == code, r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and says.format(d=d) in lines[0], r.stderr
    assert not (tmp_path / "o").exists() and sorted(p.name for p in d.iterdir()) == before


def test_annotate_webm_and_clips_from_the_command_line(tmp_path, monkeypatch):
    import formcheck.pipeline.analyze as pipeline

    video = vb.video(tmp_path / "in.mp4", 80)
    monkeypatch.setattr(pipeline, "analyze_path", lambda *_a, **_k: vb.analysis(80))
    r = cli(video, "--annotate", tmp_path / "out" / "set.webm", "--clips", tmp_path / "out" / "clips", "-q")
    assert r.exit_code == 0, r.output
    assert codec_of(tmp_path / "out" / "set.webm") == b"VP90" and opened(tmp_path / "out" / "set.webm")[0] == 80
    assert leftovers(tmp_path / "out" / "clips") == ["rep01.mp4", "rep02.mp4"]
