"""Rep segmentation on hand-built signals: counts, timing, partials, and what is not a rep."""

from __future__ import annotations

import numpy as np
import pytest

from builders import kinematics, sine_reps
from formcheck.analysis.exercise import Exercise, classify
from formcheck.analysis.reps import RepsConfig, segment, tempo


def full(reps):
    return [r for r in reps if r.full]


@pytest.mark.parametrize("n", [1, 3, 8])
def test_counts_sine_reps(n):
    t, s = sine_reps(n)
    reps = segment(kinematics(t, s))
    assert len(full(reps)) == n
    assert not [r for r in reps if r.partial]


def test_rep_timing_start_top_end():
    t, s = sine_reps(2, period_s=2.0, lead_s=0.5)
    reps = full(segment(kinematics(t, s)))
    # Tops of 1 - cos: at lead + period/2, then one period later.
    assert reps[0].top_s == pytest.approx(1.5, abs=0.05)
    assert reps[1].top_s == pytest.approx(3.5, abs=0.05)
    for r in reps:
        assert r.start_s < r.top_s < r.end_s
        assert r.rom_deg == pytest.approx(68.0, abs=1.0)
    assert reps[0].end_s <= reps[1].start_s


def test_hold_duration_measured():
    fps = 30.0
    rise = np.linspace(110, 178, 30)
    hold = np.full(int(2.0 * fps), 178.0)
    s = np.concatenate([np.full(15, 110.0), rise, hold, rise[::-1], np.full(15, 110.0)])
    t = np.arange(len(s)) / fps
    (rep,) = segment(kinematics(t, s))
    assert rep.hold_s == pytest.approx(2.0, abs=0.25)


def test_noise_at_the_top_is_not_extra_reps():
    rng = np.random.default_rng(0)
    t, s = sine_reps(4)
    s = s + rng.normal(0, 1.5, len(s))
    assert len(full(segment(kinematics(t, s)))) == 4


def test_clip_starting_at_top_and_ending_on_the_way_up_gives_partials():
    t, s = sine_reps(3, lead_s=0.0, phase=np.pi)  # starts at the top
    s = s[: len(s) - 10]  # ends on the way up, three quarters of the way
    reps = segment(kinematics(t[: len(s)], s))
    assert reps[0].partial and "starts" in reps[0].reason
    assert reps[-1].partial and "ends" in reps[-1].reason
    assert len(full(reps)) == 2


def test_short_rep_is_partial():
    t, s = sine_reps(4)
    # Third rep only goes a third of the way up.
    third = (t > 4.5) & (t < 6.5)
    s = np.where(third, 110 + (s - 110) * 0.35, s)
    reps = segment(kinematics(t, s))
    assert len(full(reps)) == 3
    (short,) = [r for r in reps if r.partial]
    assert "range" in short.reason and 4.5 < short.top_s < 6.5


def test_no_hip_lift_is_not_a_rep():
    """A dead bug: the hip angle opens as a leg slides out, but the hips stay on the floor."""
    t, s = sine_reps(5)
    reps = segment(kinematics(t, s, lift=np.zeros_like(s)))
    assert reps == []
    assert classify(kinematics(t, s), reps) == Exercise.NONE


def test_standing_is_not_a_rep():
    """A squat or deadlift: hip extension cycles while standing (steep ankle-shoulder line)."""
    t, s = sine_reps(5)
    assert segment(kinematics(t, s, incline=np.full_like(s, 80.0))) == []


def test_shoulders_rising_past_the_hips_is_not_a_rep():
    """A back extension, sit-up or kettlebell swing: hip extension and hip lift cycle, but the
    shoulders rise past the hips instead of the hips past the shoulders."""
    t, s = sine_reps(4)
    lift = (s - s.min()) / 100.0
    assert segment(kinematics(t, s, lift=lift, hip_over_shoulder=-lift)) == []
    assert segment(kinematics(t, s, lift=lift, hip_over_supports=-lift)) == []
    assert len(full(segment(kinematics(t, s, lift=lift, hip_over_shoulder=lift)))) == 4


def test_straight_legs_at_top_are_not_a_rep():
    t, s = sine_reps(3)
    assert segment(kinematics(t, s, knee=np.full_like(s, 175.0))) == []


def test_long_gap_splits_and_short_gap_does_not_invent_reps():
    t, s = sine_reps(4)
    s = s.copy()
    s[(t > 2.4) & (t < 2.6)] = np.nan  # mid-descent of rep 1: the reps around it still count
    reps = segment(kinematics(t, s))
    assert len(full(reps)) >= 3
    assert all(np.isfinite([r.rom_deg for r in reps]))


def test_a_rep_is_counted_across_an_unseen_top():
    """A top hidden by the plate, or dropped as a tracker glitch (smoothing.glitches), for up to
    max_bridge_s: still one full rep, not two partial halves."""
    t, s = sine_reps(3, period_s=2.5)
    hidden = s.copy()
    hidden[(t > 3.85) & (t < 4.65)] = np.nan  # 0.8 s around the second top (4.25 s)
    lift = np.where(np.isnan(hidden), np.nan, (s - s.min()) / 100.0)  # unseen where the hips are
    reps = full(segment(kinematics(t, hidden, lift=lift)))
    assert len(reps) == 3
    assert reps[1].top_s == pytest.approx(4.25, abs=0.2)
    # Longer than the bridge: the stretches either side are apart, and the hidden rep is lost.
    longer = segment(kinematics(t, hidden, lift=lift), RepsConfig(max_bridge_s=0.5))
    assert len(full(longer)) == 2


@pytest.mark.parametrize("seed", range(12))
def test_a_last_rep_the_clip_cuts_near_its_top_is_partial_whatever_the_noise(seed):
    """The clip ends 15° (a knife edge of min_rom_deg) into the lowering of a 50° rep: partial
    every time, as a share of its own rise; lowered 60 % of the way it is a full rep."""
    rng = np.random.default_rng(seed)
    t, s = sine_reps(2, period_s=2.0, bottom=120.0, top=170.0)
    # Cut where the second rep has come down 15° from its top (4.5 s): 0.3 of its rise.
    x = s + rng.normal(0, 1.0, len(s))
    cut = np.flatnonzero((t > 3.5) & (s <= 155.0))[0]
    reps = segment(kinematics(t[:cut], x[:cut], lift=(s[:cut] - 120.0) / 100.0))
    assert len(full(reps)) == 1 and reps[-1].partial and "ends mid-rep" in reps[-1].reason
    further = np.flatnonzero((t > 3.5) & (s <= 140.0))[0]  # 30° of 50: 0.6
    reps = segment(kinematics(t[:further], x[:further], lift=(s[:further] - 120.0) / 100.0))
    assert len(full(reps)) == 2


def _held_rep(t: np.ndarray) -> np.ndarray:
    """One rep: up over 0.8 s from 1 s, a 1.2 s hold at 178°, down over 0.8 s."""
    up = np.clip((t - 1.0) / 0.8, 0, 1)
    down = np.clip((t - 3.0) / 0.8, 0, 1)
    return 110.0 + 68.0 * 0.5 * (1 - np.cos(np.pi * up)) - 68.0 * 0.5 * (1 - np.cos(np.pi * down))


def test_a_hold_is_read_in_time_whichever_frames_were_seen():
    """The hold's length and middle (the rep's top) come from the times the hips cross into and
    out of the hold's band, read between frames: every frame at 30 fps, a 6 fps GIF, or 0.3 s of
    frames lost where the hold begins or ends give the same top (±0.05 s) and hold (±0.12 s);
    read off the frames alone, the lost start moved the top by 0.1 s and the hold by 0.2 s."""
    t30 = np.arange(0, 5, 1 / 30)
    variants = [t30, np.arange(0.05, 5, 1 / 6), t30[(t30 < 1.55) | (t30 >= 1.85)], t30[(t30 < 3.0) | (t30 >= 3.3)]]
    got = []
    for t in variants:
        reps = full(segment(kinematics(t, _held_rep(t))))
        assert len(reps) == 1
        got.append((reps[0].top_s, reps[0].hold_s))
    (top, hold), *others = got
    assert top == pytest.approx(2.4, abs=0.05)
    for other_top, other_hold in others:
        assert other_top == pytest.approx(top, abs=0.05) and other_hold == pytest.approx(hold, abs=0.12)


def test_a_one_frame_spike_beside_a_long_hold_is_not_the_top():
    """An animated GIF at 7 fps is not smoothed: one frame where the tracker puts the hips 3°
    above a 1.7 s hold, after the lowering has begun, must not become the top (the hold then
    measured one frame long, 0.18 s against 1.9 s); the hold and its middle stay the real ones."""
    t = np.arange(0, 7, 1 / 7)
    up = np.clip((t - 0.5) / 1.5, 0, 1)
    down = np.clip((t - 4.4) / 1.5, 0, 1)
    s = 135.0 + 37.0 * (up - down)  # 135° -> 172°, held 2.0-4.4 s, back down
    spike = int(np.argmin(np.abs(t - 4.9)))  # the way down, ~160°
    clean = full(segment(kinematics(t, s)))
    s[spike] = 175.0
    spiked = full(segment(kinematics(t, s)))
    assert len(clean) == len(spiked) == 1
    assert spiked[0].hold_s == pytest.approx(clean[0].hold_s, abs=0.05) and clean[0].hold_s > 2.0
    assert spiked[0].top_s == pytest.approx(clean[0].top_s, abs=0.15)


@pytest.mark.parametrize(("dip_deg", "dip_s", "whole"), [(7.0, 0.15, True), (7.0, 0.6, False), (15.0, 0.15, False)],
                         ids=["wobble", "long-dip", "deep-dip"])
def test_a_brief_shallow_dip_in_a_long_hold_does_not_end_it(dip_deg, dip_s, whole):
    """A 2.4 s hold (band 5°) with a dip of 7° for 0.15 s in its middle is one pause a coach would
    time whole (the hold ended at the dip before, 1.2 s of 2.4); a dip held 0.6 s, or one of 15°
    (another band deeper), ends it, and the hold is the longer side."""
    t = np.arange(0, 7, 1 / 30)
    up = np.clip((t - 0.5) / 0.8, 0, 1)
    down = np.clip((t - 3.7) / 0.8, 0, 1)
    s = 110.0 + 68.0 * (up - down)  # held at 178° from 1.3 s to 3.7 s
    mid = np.abs(t - 2.5) <= dip_s / 2
    s[mid] -= dip_deg
    (rep,) = full(segment(kinematics(t, s)))
    if whole:
        assert rep.hold_s == pytest.approx(2.5, abs=0.1)  # 2.4 s flat, and the 5° band on either ramp
    else:
        assert rep.hold_s < 1.3


@pytest.mark.parametrize("fps", [30.0, 10.0, 7.0])
def test_lift_and_lowering_are_read_in_time_whichever_frames_were_seen(fps):
    """The ascent and descent run between the times the hips cross 20 % of the way up and the
    hold's band, read between frames: the same rep sampled at three phases of the frame clock
    gives the same tempo (±0.03 s), where reading them off the frames moved it by a frame (0.14 s
    at 7 fps), enough to tip a lowering across a tempo threshold."""
    got = []
    for phase in (0.0, 1 / 3, 2 / 3):
        t = np.arange(phase / fps, 5, 1 / fps)
        (rep,) = full(segment(kinematics(t, _held_rep(t))))
        got.append(tempo(rep, t))
    (ascent, descent), *others = got
    assert ascent == pytest.approx(descent, abs=0.05)  # the rep is symmetric
    for a, d in others:
        assert a == pytest.approx(ascent, abs=0.03) and d == pytest.approx(descent, abs=0.03)


def test_threshold_from_config():
    t, s = sine_reps(3, bottom=150, top=170)  # 20° of range
    assert len(full(segment(kinematics(t, s, lift=(s - 150) / 50)))) == 3
    assert segment(kinematics(t, s, lift=(s - 150) / 50), RepsConfig(min_rom_deg=25.0)) == []


@pytest.mark.parametrize(
    ("incline", "feet_gap", "expected"),
    [
        (30.0, 0.1, Exercise.HIP_THRUST),
        (2.0, 0.1, Exercise.GLUTE_BRIDGE),
        (2.0, 1.5, Exercise.SINGLE_LEG_GLUTE_BRIDGE),
        (30.0, 1.5, Exercise.SINGLE_LEG_HIP_THRUST),
    ],
    ids=["bench", "floor", "floor-one-leg", "bench-one-leg"],
)
def test_exercise_from_posture(incline, feet_gap, expected):
    t, s = sine_reps(2)
    k = kinematics(t, s, incline=np.full_like(s, incline), feet_gap=np.full_like(s, feet_gap))
    assert classify(k, segment(k)) == expected


def _gate_set(gate: str, margin: float, n: int, seed: int, sure_first: bool):
    """n reps whose `gate` measure sits `margin` bands from its threshold (plus noise a fifth
    of a band); optionally the first rep is clear of every threshold."""
    cfg = RepsConfig()
    t, s = sine_reps(n)
    u = (s - s.min()) / (s.max() - s.min())  # 0 at the bottoms, 1 at the tops
    rng = np.random.default_rng(seed)
    first = t < 2.5  # the first rep (0.5 s lead + one 2 s period)
    over: dict[str, np.ndarray] = {"lift": u * 0.5}
    strong = u * 0.5  # the other readings clear of their thresholds
    over["hip_over_shoulder"] = over["hip_over_supports"] = strong
    if gate == "lift":
        amp = cfg.min_lift + margin * cfg.lift_band
        over["lift"] = u * np.where(sure_first & first, 0.5, amp) + rng.normal(0, cfg.lift_band / 5, len(t))
    elif gate == "hip_rise":  # one gate, read twice: both readings at their edges
        for name, lo, band in (("hip_over_shoulder", cfg.min_hip_rise, cfg.hip_rise_band),
                               ("hip_over_supports", cfg.min_hip_line, cfg.hip_line_band)):
            amp = lo + margin * band
            over[name] = u * np.where(sure_first & first, 0.5, amp) + rng.normal(0, band / 5, len(t))
    elif gate == "incline":
        val = cfg.max_incline_deg - margin * cfg.incline_band_deg
        over["incline"] = np.where(sure_first & first, 30.0, val) + rng.normal(0, cfg.incline_band_deg / 5, len(t))
    elif gate == "knee":
        val = cfg.max_top_knee_deg - margin * cfg.knee_band_deg
        over["knee"] = np.where(sure_first & first, 90.0, val) + rng.normal(0, cfg.knee_band_deg / 5, len(t))
    elif gate == "hip_open":  # bottoms at 60°, tops at the edge (the clear first one at 178°)
        top = cfg.min_top_hip_deg + margin * cfg.hip_band_deg
        amp = (top - 60.0) / 0.95  # the frames near a sine's top have their median at 95 % of it
        s = 60.0 + u * np.where(sure_first & first, 118.0, amp) + rng.normal(0, cfg.hip_band_deg / 5, len(t))
    return kinematics(t, s, **over)


GATES = ["lift", "hip_rise", "incline", "knee", "hip_open"]


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("margin", [-0.3, 0.0, 0.3], ids=["below", "at", "above"])
def test_a_set_at_a_gate_edge_gives_the_same_answer_whatever_the_noise(gate, margin):
    """Within the noise band of a threshold, with no clear rep, a set is never counted: the
    answer does not flip from one run's noise to the next."""
    counts = {len(full(segment(_gate_set(gate, margin, 4, seed, sure_first=False)))) for seed in range(12)}
    assert counts == {0}


@pytest.mark.parametrize("gate", GATES)
@pytest.mark.parametrize("margin", [-0.3, 0.0, 0.5], ids=["below", "at", "above"])
def test_edge_reps_beside_a_clear_rep_all_count_whatever_the_noise(gate, margin):
    """Hysteresis: once the set shows a clear rep, reps within the noise of a threshold count."""
    counts = {len(full(segment(_gate_set(gate, margin, 4, seed, sure_first=True)))) for seed in range(12)}
    assert counts == {4}


@pytest.mark.parametrize("gate", GATES)
def test_clearly_failing_reps_do_not_count_even_beside_a_clear_rep(gate):
    reps = full(segment(_gate_set(gate, -2.0, 4, 0, sure_first=True)))
    assert len(reps) == 1 and reps[0].top_s < 2.5 and reps[0].sure


def test_engaged_counts_edge_reps_without_a_clear_one():
    """Live mode passes `engaged` once it has seen a clear rep earlier in the set."""
    k = _gate_set("lift", 0.0, 3, 0, sure_first=False)
    assert segment(k) == []
    assert len(full(segment(k, engaged=True))) == 3


@pytest.mark.parametrize(("line", "sure"), [(0.45, True), (1.3, False)], ids=["agree", "glitch"])
def test_two_readings_of_the_hip_rise_that_disagree_cannot_vouch_together(line, sure):
    """Up the picture the hips rise 0.10 torso lengths (within that reading's noise): beside a
    line reading that agrees (0.45) the rep is sure; beside one 1.2 off (a tracker on a wrong
    pose, seen on a back extension) the weaker reading decides, so alone it counts no rep."""
    t, s = sine_reps(3)
    u = (s - s.min()) / (s.max() - s.min())
    k = kinematics(t, s, lift=u * 0.5, hip_over_shoulder=u * 0.10, hip_over_supports=u * line)
    reps = full(segment(k))
    assert (len(reps) == 3 and all(r.sure for r in reps)) if sure else reps == []
