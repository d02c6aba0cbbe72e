"""Confidence on every call: the level and the reasons follow the evidence."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from builders import kinematics, sine_reps
from formcheck.analysis.confidence import Level, exercise_confidence, rep_confidence
from formcheck.analysis.exercise import Exercise, classify
from formcheck.analysis.reps import segment


def _set(**over):
    t, s = sine_reps(3)
    k = kinematics(t, s, feet_in_view=np.ones(len(t), bool), **over)
    return k, segment(k)


def test_a_clean_set_is_high_confidence():
    k, reps = _set()
    assert [rep_confidence(k, r).level for r in reps] == [Level.HIGH] * 3
    assert exercise_confidence(k, reps, classify(k, reps)).level == Level.HIGH


def test_a_borderline_rep_says_which_gate():
    k, reps = _set()
    r = replace(reps[1], margin=0.3, weakest="hip_rise")
    c = rep_confidence(k, r)
    assert c.level == Level.MEDIUM and "past the shoulders" in c.reasons[0]
    assert exercise_confidence(k, [reps[0], r, reps[2]], Exercise.HIP_THRUST).level == Level.MEDIUM


def test_feet_out_of_frame_at_the_top_lowers_confidence():
    t, s = sine_reps(3)
    k = kinematics(t, s, feet_in_view=np.zeros(len(t), bool))
    c = rep_confidence(k, segment(k)[0])
    assert c.level == Level.MEDIUM and "feet" in c.reasons[0]


@pytest.mark.parametrize(("hidden", "level"), [(0.3, Level.MEDIUM), (0.6, Level.LOW)])
def test_a_rep_seen_in_part_is_less_sure(hidden, level):
    k, reps = _set()
    r = reps[0]
    hip = k.hip_ext.copy()
    n = r.end - r.start + 1
    hip[r.start : r.start + int(hidden * n) + 1] = np.nan
    c = rep_confidence(replace(k, hip_ext=hip), r)
    assert c.level == level and any("not seen" in x for x in c.reasons)


def test_shoulders_between_bench_and_floor_make_the_class_medium():
    t, s = sine_reps(3)
    k = kinematics(t, s, incline=np.full(len(t), 14.0))
    reps = segment(k)
    c = exercise_confidence(k, reps, classify(k, reps))
    assert c.level == Level.MEDIUM and "bench and floor" in c.reasons[0]


def test_none_is_high_when_nothing_looked_like_a_thrust():
    k, _ = _set(lift=np.zeros(len(sine_reps(3)[0])))
    assert segment(k) == []
    assert exercise_confidence(k, [], Exercise.NONE).level == Level.HIGH
