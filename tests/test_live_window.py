"""Live mode's set-up check, window and recording (issue 16, items 4-6).

The set-up check on synthetic poses built to pass and to fail each check, then in a session
replayed on a shipped track; the window under Xvfb, screenshot at two sizes (the text grows
with the window); `--record`; and `formcheck live` on a dev clip cropped so the feet are out.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import SHIPPED
from formcheck.analysis.setup_check import MAX_S, SetupCheck, SetupPhase, check_setup, frame_luma
from formcheck.apps.live import LiveSession
from formcheck.pose.model import PoseSample
from formcheck.pose.track import (
    L_ANKLE,
    L_EAR,
    L_FOOT,
    L_HEEL,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    N_LANDMARKS,
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

W, H = 640, 360
FEET = [L_ANKLE, R_ANKLE, L_HEEL, R_HEEL, L_FOOT, R_FOOT]
BRIDGE = "glute_bridge_BE-PROJECTS2018_GroupNo23"

# --- synthetic poses: a lifter lying side-on, head to the right -------------------------------

# x, y in a 640x360 frame (the body spans 70 % of its width).
LYING = {NOSE: (560, 250), L_EAR: (545, 245), R_EAR: (545, 245), L_SHOULDER: (480, 255), R_SHOULDER: (480, 255),
         L_HIP: (330, 230), R_HIP: (330, 230), L_KNEE: (220, 170), R_KNEE: (220, 170), L_ANKLE: (120, 270),
         R_ANKLE: (120, 270), L_HEEL: (110, 275), R_HEEL: (110, 275), L_FOOT: (140, 280),
         R_FOOT: (140, 280)}  # fmt: skip


@dataclass(frozen=True)
class Frames:
    """n frames of one pose, as the set-up check reads them."""

    image: np.ndarray
    world: np.ndarray
    visibility: np.ndarray
    luma: np.ndarray = field(default_factory=lambda: np.full(30, 120.0))


def lying(n: int = 30, yaw_deg: float = 90.0, scale: float = 1.0, shift: tuple[float, float] = (0, 0),
          hidden: tuple[int, ...] = (), luma: float = 120.0, nobody: bool = False) -> Frames:  # fmt: skip
    """A side view (yaw 90°: the hip axis points into the image) scaled about the frame's centre."""
    img = np.full((N_LANDMARKS, 3), np.nan)
    for j, (x, y) in LYING.items():
        img[j] = ((x - W / 2) * scale + W / 2 + shift[0], (y - H / 2) * scale + H / 2 + shift[1], 0.0)
    for j in range(N_LANDMARKS):  # the joints not placed above sit at the hips
        if np.isnan(img[j, 0]):
            img[j] = img[L_HIP]
    vis = np.full(N_LANDMARKS, 0.95)
    vis[list(hidden)] = 0.1
    world = np.zeros((N_LANDMARKS, 3))
    a = np.radians(yaw_deg)
    for left, right in ((L_HIP, R_HIP), (L_SHOULDER, R_SHOULDER)):
        world[left] = (-0.1 * np.cos(a), 0, -0.1 * np.sin(a))
        world[right] = (0.1 * np.cos(a), 0, 0.1 * np.sin(a))
    rows = np.repeat(img[None], n, axis=0)
    if nobody:
        rows[:] = np.nan
    return Frames(rows, np.repeat(world[None], n, axis=0), np.repeat(vis[None], n, axis=0), np.full(n, luma))


SETUP_CASES = {
    "side-on, whole body, lit": (lying(), [], ""),
    "feet cropped out": (lying(hidden=tuple(FEET)), ["out_of_frame"], "step back: your feet are out of frame"),
    "feet past the left edge": (lying(shift=(-130, 0)), ["out_of_frame"], "your feet are out of frame"),
    "head past the right edge": (lying(shift=(100, 0)), ["out_of_frame"], "your head is out of frame"),
    "front-on": (lying(yaw_deg=5.0), ["not_side_on"], "turn the camera side-on for lockout and shins: it sees you "
                                                      "front-on"),
    "oblique (50°)": (lying(yaw_deg=50.0), ["not_side_on"], "it sees you at 50°"),
    "slightly oblique (75°) is side-on enough": (lying(yaw_deg=75.0), [], ""),
    "far away (25 % of the frame)": (lying(scale=0.36), ["too_far"], "come closer"),
    "filling the frame": (lying(scale=1.44, shift=(-28, 0)), ["too_close"], "step back: you fill the whole frame"),
    "dark": (lying(luma=25.0), ["too_dark"], "too dark"),
    "nobody": (lying(nobody=True), ["no_person"], "no one in view"),
    "dark and cropped": (lying(luma=20.0, hidden=tuple(FEET)), ["too_dark", "out_of_frame"], "too dark"),
}  # fmt: skip


@pytest.mark.parametrize("frames,codes,says", SETUP_CASES.values(), ids=SETUP_CASES.keys())
def test_setup_check_passes_and_fails_each_check(frames: Frames, codes: list[str], says: str):
    v = check_setup(frames.image, frames.world, frames.visibility, W, H, frames.luma)
    assert [p.code for p in v.problems] == codes, v.messages
    assert v.ok == (not codes)
    if says:
        assert any(says in m for m in v.messages), v.messages


def test_a_part_out_of_frame_on_a_few_frames_only_is_fine():
    good, cut = lying(20), lying(10, hidden=tuple(FEET))  # the feet lost on a third of the frames
    stack = [np.concatenate([getattr(good, k), getattr(cut, k)]) for k in ("image", "world", "visibility", "luma")]
    assert check_setup(*stack[:3], W, H, stack[3]).ok


def test_frame_luma():
    assert frame_luma(np.zeros((48, 64, 3), np.uint8)) == 0.0
    assert frame_luma(np.full((48, 64, 3), 200, np.uint8)) == pytest.approx(200.0, abs=0.5)


# --- the check frame by frame ------------------------------------------------------------------


def run_check(parts: list[tuple[Frames, float]], fps: float = 30.0, rep_at: float | None = None) -> list:
    """Feed SetupCheck (frames, seconds) pieces at fps; the state after each frame."""
    c, t, out = SetupCheck(W, H), 0.0, []
    for frames, seconds in parts:
        for i in range(round(seconds * fps)):
            if rep_at is not None and t >= rep_at:
                c.started(t)
            j = i % len(frames.image)
            out.append(c.update(t, frames.image[j], frames.world[j], frames.visibility[j], float(frames.luma[j])))
            t += 1 / fps
    return out


def test_a_good_set_up_passes_after_the_first_second():
    states = run_check([(lying(), 3.0)])
    ok = next(s for s in states if s.done)
    assert ok.phase == SetupPhase.OK and ok.done_s == pytest.approx(1.0, abs=0.05)
    assert all(s.phase == SetupPhase.CHECKING for s in states[:29]) and ok.warnings() == ()


def test_advice_until_fixed_then_ok():
    states = run_check([(lying(hidden=tuple(FEET)), 4.0), (lying(), 3.0)])
    advising = [s for s in states if s.phase == SetupPhase.ADVISING]
    assert advising and advising[0].problems[0].message == "step back: your feet are out of frame"
    final = states[-1]
    assert final.phase == SetupPhase.OK and 4.4 <= final.done_s <= 5.1  # half the window fine
    assert final.warnings() == ()


def test_never_fixed_the_advice_becomes_a_warning_after_max_s():
    states = run_check([(lying(yaw_deg=5.0), MAX_S + 2)])
    final = states[-1]
    assert final.phase == SetupPhase.GAVE_UP and final.done_s == pytest.approx(MAX_S, abs=0.25)
    (w,) = final.warnings()
    assert "turn the camera side-on" in w and "not fixed" in w


def test_a_rep_before_the_set_up_is_fine_stops_the_advice():
    states = run_check([(lying(hidden=tuple(FEET)), 5.0)], rep_at=3.0)
    assert states[-1].phase == SetupPhase.STARTED and "feet" in states[-1].warnings()[0]


# --- in a session: the check never costs a rep --------------------------------------------------


def replay(track: PoseTrack, hide: list[int] = (), setup_check: bool = True, luma: float = 120.0):
    s = LiveSession(width=track.width, height=track.height, setup_check=setup_check)
    img = np.full((18, 32, 3), luma, np.uint8)
    states = []
    for i in range(len(track)):
        vis = track.visibility[i].copy()
        vis[list(hide)] = 0.05
        seen = np.isfinite(track.image[i, 0, 0])
        s.see(img)
        states.append(s.update(float(track.t[i]), PoseSample(track.image[i], track.world[i], vis) if seen else None))
    return s, states


def first(track: PoseTrack, n: int) -> PoseTrack:
    return PoseTrack(track.t[:n], track.image[:n], track.world[:n], track.visibility[:n], track.width, track.height)


def test_session_says_what_to_fix_and_counts_every_rep_as_without_the_check():
    track = first(PoseTrack.load(SHIPPED / f"{BRIDGE}.npz"), 120)  # 5 s, 2 reps
    plain, _ = replay(track, setup_check=False)
    cut, states = replay(track, hide=FEET)
    assert [e.rep for e in cut.events] == [e.rep for e in plain.events] and len(plain.events) == 2
    advice = [s.setup for s in states if s.setup is not None and s.setup.phase == SetupPhase.ADVISING]
    assert advice and advice[0].problems[0].message == "step back: your feet are out of frame"
    assert states[-1].setup.phase == SetupPhase.STARTED  # the first rep came before the feet did
    final = cut.finish()
    assert final is not None and any("your feet are out of frame" in w for w in final.warnings)
    assert plain.finish() is not None and states[0].setup.phase == SetupPhase.CHECKING


def test_session_on_a_fine_clip_passes_at_once_and_warns_nothing():
    track = first(PoseTrack.load(SHIPPED / f"{BRIDGE}.npz"), 60)
    s, states = replay(track)
    ok = next(st.setup for st in states if st.setup.done)
    assert ok.phase == SetupPhase.OK and ok.done_s - track.t[0] < 1.1
    assert not any(w.startswith("set-up") for w in s.finish().warnings)


def test_session_in_the_dark():
    track = first(PoseTrack.load(SHIPPED / f"{BRIDGE}.npz"), 40)
    _, states = replay(track, luma=15.0)
    assert states[-1].setup.problems[0].code == "too_dark"


# --- the picture: text sized to the window, the set-up advice, the fault's top frame ------------


def draw_at(size: tuple[int, int], until, hide: list[int] = FEET, grey: int = 128) -> np.ndarray:
    """Replay the bridge until `until(state)` and draw it at `size` on a plain grey frame."""
    from formcheck.report.live_overlay import LiveView

    track = PoseTrack.load(SHIPPED / f"{BRIDGE}.npz")
    s, view = LiveSession(width=track.width, height=track.height), LiveView(track.width)
    frame = np.full((track.height // 4, track.width // 4, 3), grey, np.uint8)
    for i in range(len(track)):
        vis = track.visibility[i].copy()
        vis[list(hide)] = 0.05
        state = s.update(float(track.t[i]), PoseSample(track.image[i], track.world[i], vis))
        view.remember(frame, state)
        if until(state):
            return view.draw(frame, state, size)
    raise AssertionError("never reached")


def rows_with(img: np.ndarray, lo: tuple[int, int, int], hi: tuple[int, int, int], box=None) -> tuple[int, int]:
    """First and last row holding a pixel within [lo, hi] (per channel), inside box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box or (0, 0, img.shape[1], img.shape[0])
    part = img[y0:y1, x0:x1].astype(int)
    hit = ((part >= lo) & (part <= hi)).all(axis=2).any(axis=1)
    ys = np.nonzero(hit)[0]
    assert len(ys), "no such pixel"
    return int(ys[0]) + y0, int(ys[-1]) + y0


AMBER = ((215, 150, 10), (245, 180, 45))  # the set-up panel's title (warn colour at 80 % on grey)
WHITE_ISH = ((222, 222, 222), (240, 240, 240))  # white text at 80 % over grey 128


def advising(state) -> bool:
    return state.setup is not None and state.setup.phase == SetupPhase.ADVISING


def counted(state) -> bool:
    return state.reps >= 1 and state.last is not None and state.t - state.last.reported_at_s > 0.3


@pytest.mark.parametrize("until,colour", [(advising, AMBER), (counted, WHITE_ISH)], ids=["set-up title", "rep count"])
def test_text_grows_with_the_window(until, colour):
    small, big = draw_at((640, 360), until), draw_at((1600, 900), until)
    heights = []
    for img in (small, big):
        box = (0, 0, img.shape[1], img.shape[0]) if until is advising else (0, 0, img.shape[1] // 3, img.shape[0] // 4)
        top, bottom = rows_with(img, *colour, box)
        heights.append(bottom - top)
    assert heights[1] / heights[0] == pytest.approx(900 / 360, rel=0.15), heights
    assert heights[1] >= 0.035 * 900  # ≥ 32 px at 900 px high: legible from 3 m


def test_the_rep_with_a_fault_shows_its_top_frame_with_the_joint_ringed():
    img = draw_at((1600, 900), lambda st: counted(st) and bool(st.last.fault), hide=[])
    right = img[:, 1100:]  # the card and the inset under it
    frame_edge = (right == 255).all(axis=2).sum()  # the inset's white frame
    assert frame_edge > 400
    ring = [(np.abs(right.astype(int) - colour).sum(axis=2) < 30).sum() for colour in ((255, 176, 0), (240, 62, 50))]
    assert sum(ring) > 50, ring  # the joint ringed in its fault's colour: warn (amber) or fail (red)


# --- the window under Xvfb -----------------------------------------------------------------------

XVFB = shutil.which("Xvfb")


@pytest.fixture(scope="module")
def display():
    if XVFB is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb; `make xvfb` does it on CI)")
    read, write = os.pipe()
    proc = subprocess.Popen([XVFB, "-displayfd", str(write), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    os.close(write)
    try:
        number = os.read(read, 32).decode().strip()
        if not number:
            pytest.skip("Xvfb did not start")
        yield f":{number}"
    finally:
        os.close(read)
        proc.terminate()
        proc.wait(timeout=10)


def _drive_window(out: Path) -> None:
    """In a child process (Qt keeps its display for the process's life): show the advice at two
    window sizes, screenshot the screen each time, toggle full screen with `f`."""
    import cv2
    from PIL import ImageGrab

    from formcheck.apps.live.window import WINDOW, Window

    class Source:
        def pause(self, on: bool) -> None: ...

    win, result = Window(Source()), {}
    frame = np.zeros((H, W, 3), np.uint8)  # the frame's shape: 16:9, as the window's
    for w, h in ((640, 360), (1600, 900)):
        win.size_for(frame.shape)  # the first call sizes the window to the frame
        cv2.resizeWindow(WINDOW, w, h)
        deadline = time.monotonic() + 10.0
        while win.size_for(frame.shape) != (w, h) and time.monotonic() < deadline:  # Qt resizes as events come
            win.show(frame)
        size = result[f"{w}"] = win.size_for(frame.shape)
        img = draw_at(size, advising)
        deadline = time.monotonic() + 10.0
        while True:  # until Qt has painted it
            win.show(img)
            cv2.waitKey(50)
            shot = ImageGrab.grab(xdisplay=os.environ["DISPLAY"])
            if np.asarray(shot)[h // 2, w // 2].any() or time.monotonic() > deadline:
                break
        shot.save(out / f"screen_{w}.png")
    win._key(ord("f"))
    result["fullscreen"] = cv2.getWindowProperty(WINDOW, cv2.WND_PROP_FULLSCREEN)
    win._key(ord("f"))
    result["windowed"] = cv2.getWindowProperty(WINDOW, cv2.WND_PROP_FULLSCREEN)
    win.close()
    (out / "window.json").write_text(json.dumps(result))


def test_window_screenshots_at_two_sizes(display: str, tmp_path: Path):
    from PIL import Image, features

    if not features.check("xcb"):
        pytest.skip("this Pillow cannot grab an X screen (built without XCB)")

    env = {**os.environ, "DISPLAY": display, "PYTHONPATH": str(Path(__file__).parent)}
    p = subprocess.run([sys.executable, __file__, str(tmp_path)], env=env, capture_output=True, text=True,
                       timeout=120)  # fmt: skip
    assert p.returncode == 0, p.stderr[-2000:]
    got = json.loads((tmp_path / "window.json").read_text())
    assert got["640"] == [640, 360] and got["1600"] == [1600, 900]  # drawn at the window's size
    assert got["fullscreen"] == 1.0 and got["windowed"] == 0.0  # key f toggles
    heights = []
    for w in (640, 1600):
        screen = np.asarray(Image.open(tmp_path / f"screen_{w}.png").convert("RGB"))
        top, bottom = rows_with(screen, *AMBER)
        heights.append(bottom - top)
    assert heights[1] / heights[0] == pytest.approx(900 / 360, rel=0.15), heights


def test_the_set_up_advice_is_said_once_and_ok_once_it_is_fixed():
    from formcheck.cli.live import _setup_news

    feet = run_check([(lying(hidden=tuple(FEET)), 2.0), (lying(yaw_deg=5.0, hidden=tuple(FEET)), 2.0), (lying(), 2.0)])
    said, lines = None, []
    for state in feet:
        said, news = _setup_news(state, said)
        lines += news
    assert lines == ["step back: your feet are out of frame",
                     "turn the camera side-on for lockout and shins: it sees you front-on", "OK, counting"]
    said, lines = None, []
    for state in run_check([(lying(), 2.0)]):  # fine at once: nothing to say
        said, news = _setup_news(state, said)
        lines += news
    assert lines == []


# --- --record ------------------------------------------------------------------------------------


def test_recorder_keeps_real_time_filling_dropped_frames(tmp_path: Path):
    import cv2

    from formcheck.apps.live.recorder import Recorder

    path = tmp_path / "set.mp4"
    times = [0.0, 0.1, 0.2, 0.5, 0.6, 1.0]  # at 10 fps; 0.3, 0.4, 0.7-0.9 were dropped by a slow loop
    with Recorder(path, fps=10.0) as rec:
        for i, t in enumerate(times):
            rec.write(t, np.full((48, 64, 3), 40 * i, np.uint8))
        assert not path.exists()  # written under a temp name until the set ends
    cap = cv2.VideoCapture(str(path))
    levels = []
    while (got := cap.read())[0]:
        levels.append(round(float(got[1].mean()) / 40))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(10.0)
    assert levels == [0, 1, 2, 2, 2, 3, 4, 4, 4, 4, 5]  # each frame held until the next: 1.1 s at 10 fps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set.mp4"]


def test_recorder_drops_its_file_when_the_session_fails(tmp_path: Path):
    from formcheck.apps.live.recorder import Recorder

    with pytest.raises(RuntimeError), Recorder(tmp_path / "set.mp4", fps=10.0) as rec:
        rec.write(0.0, np.zeros((48, 64, 3), np.uint8))
        raise RuntimeError("the camera caught fire")
    assert list(tmp_path.iterdir()) == []


runner = CliRunner()


def live(*args: object):
    from formcheck.cli.live import app

    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize(
    "args,says",
    [(["--record-overlay"], "--record-overlay needs --record"), (["--record", "set.txt"], "set.txt")],
    ids=["overlay without a path", "not a video name"],
)
def test_bad_record_options_are_one_line(args, says, tmp_path: Path):
    r = live("--source", tmp_path / "x.mp4", "--no-window", *args)
    assert r.exit_code in (2, 7) and says in r.stderr and len(r.stderr.splitlines()) == 1, r.output


@pytest.fixture(scope="module")
def feet_cut(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of the bridge, cropped so her feet are out of frame (and scaled down: fast)."""
    import imageio_ffmpeg

    out = tmp_path_factory.mktemp("cut") / "feet_cut.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-i", str(samples_dir / f"{BRIDGE}.mp4"),
                    "-t", "3", "-an", "-vf", "crop=576:432:572:288,scale=384:288", "-c:v", "libx264", "-preset",
                    "veryfast", str(out)], check=True, timeout=60)  # fmt: skip
    return out


@pytest.mark.video
def test_live_on_a_clip_with_the_feet_cropped_out_says_so_and_records_the_set(feet_cut: Path, tmp_path: Path):
    import cv2

    rec = tmp_path / "rec.mp4"
    r = live("--source", feet_cut, "--no-window", "--no-pacing", "--json", "-", "--record", rec)
    assert r.exit_code in (0, 6), r.output
    assert "set-up: step back: your feet are out of frame" in r.stderr
    report = json.loads(r.stdout)
    setup = report["live"]["setup"]
    assert "out_of_frame" in setup["problems"] and setup["view"] == "side_left"
    assert any("your feet are out of frame" in w for w in report["warnings"])
    src, got = cv2.VideoCapture(str(feet_cut)), cv2.VideoCapture(str(rec))
    assert got.get(cv2.CAP_PROP_FPS) == pytest.approx(src.get(cv2.CAP_PROP_FPS), rel=1e-3)
    assert got.get(cv2.CAP_PROP_FRAME_COUNT) == src.get(cv2.CAP_PROP_FRAME_COUNT)  # every frame, raw
    from formcheck.cli.analyze import app

    again = runner.invoke(app, [str(rec), "--json", "-", "-q"])  # the recording re-scores as the set did
    assert json.loads(again.stdout)["summary"]["reps"] == report["summary"]["reps"], again.output


# --- `formcheck live` with a fake model: the window and --record-overlay paths, in seconds ------


class TrackModel:
    """Stands in for PoseEstimator: the bridge's saved poses, at each frame's time, in its pixels."""

    def __init__(self, *args: object) -> None:
        self.track = PoseTrack.load(SHIPPED / f"{BRIDGE}.npz")

    def __enter__(self) -> TrackModel:
        return self

    def __exit__(self, *exc: object) -> None: ...

    def detect(self, rgb: np.ndarray, t_s: float) -> PoseSample | None:
        tr = self.track
        i = int(np.argmin(np.abs(tr.t - t_s)))
        s = rgb.shape[1] / tr.width
        return PoseSample(tr.image[i] * s, tr.world[i], tr.visibility[i])


def grey_clip(path: Path, seconds: float = 1.5, fps: float = 24.0) -> None:
    import cv2

    w = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (320, 180))
    for _ in range(round(seconds * fps)):
        w.write(np.full((180, 320, 3), 128, np.uint8))
    w.release()


def _run_cli(args: list[str]) -> int:
    """`formcheck live ARGS` with the fake model (in a child process, for the window's display)."""
    import formcheck.pose.model

    formcheck.pose.model.PoseEstimator = TrackModel  # type: ignore[misc,assignment]
    from formcheck.cli.live import app

    r = CliRunner().invoke(app, args)
    sys.stderr.write(r.stderr)
    return r.exit_code


def test_record_overlay_records_what_the_window_shows(tmp_path: Path, monkeypatch):
    import cv2

    import formcheck.pose.model

    clip, rec = tmp_path / "grey.mp4", tmp_path / "shown.mp4"
    grey_clip(clip)
    monkeypatch.setattr(formcheck.pose.model, "PoseEstimator", TrackModel)
    r = live("--source", clip, "--no-window", "--no-pacing", "--record", rec, "--record-overlay", "-q")
    assert r.exit_code in (0, 6), r.output
    got = cv2.VideoCapture(str(rec))
    assert got.get(cv2.CAP_PROP_FRAME_COUNT) == 36
    ok, first = got.read()
    assert ok and first[:, :, 0].std() > 10  # not the plain grey frames: the skeleton and the panels


def test_the_window_from_the_command_line(display: str, tmp_path: Path):
    """`formcheck live` with its window on Xvfb: it opens at the frame's shape fitted to 1280x800
    and draws there; --snapshot keeps the last picture drawn at the frame's size."""
    clip, snap = tmp_path / "grey.mp4", tmp_path / "last.png"
    grey_clip(clip)
    env = {**os.environ, "DISPLAY": display, "PYTHONPATH": str(Path(__file__).parent)}
    p = subprocess.run([sys.executable, __file__, "cli", "--source", str(clip), "--no-pacing", "--snapshot",
                        str(snap), "-q"], env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert p.returncode in (0, 6), p.stderr[-2000:]
    import cv2

    img = cv2.imread(str(snap))
    assert img.shape == (180, 320, 3) and img[:, :, 0].std() > 10


if __name__ == "__main__":  # the window tests' child processes
    if sys.argv[1] == "cli":
        sys.exit(_run_cli(sys.argv[2:]))
    _drive_window(Path(sys.argv[1]))
