"""Lane-change timing (UN R79 / R171) and the lateral profile."""

import numpy as np
import pytest

from propilot.core.planning.lane_change import LaneChange, LaneChangeSettings, Phase
from propilot.core.types import TurnSignal

S = LaneChangeSettings()
DT = 0.05


def run(change, seconds, safe=lambda t: True, crossed=lambda t, w: w > 0.5):
    """Step the lane change; returns [(t, phase, weight, signal)]."""
    trace = []
    for k in range(int(seconds / DT)):
        t = change.start_s + k * DT
        w = change.weight(t)
        phase = change.update(t, safe(t), crossed(t, w), "vehicle approaching")
        trace.append((t, phase, change.weight(t), change.turn_signal))
    return trace


def test_no_lateral_movement_before_the_indicator_has_been_on_3_s():
    trace = run(LaneChange(S, +1, 10.0), 10.0)
    moving_from = next(t for t, phase, w, _ in trace if w > 0.0)
    assert moving_from - 10.0 >= S.indicator_lead_s
    assert all(signal == TurnSignal.LEFT for t, *_, signal in trace if t < moving_from)


def test_lateral_movement_completes_within_5_s_and_within_the_lateral_acceleration():
    change = LaneChange(S, -1, 0.0)
    trace = run(change, 12.0)
    assert trace[-1][1] == Phase.DONE and trace[-1][3] == TurnSignal.OFF
    duration = S.move_duration_s()
    assert duration < 5.0
    t = np.linspace(change.lateral_start_s, change.lateral_start_s + duration, 2001)
    y = np.array([change.weight(x) for x in t]) * S.lane_width_m
    accel = np.gradient(np.gradient(y, t), t)
    assert np.max(np.abs(accel)) <= S.lateral_accel_mps2 * 1.01


def test_unsafe_at_the_planned_start_waits_and_starts_when_safe():
    trace = run(LaneChange(S, +1, 0.0), 12.0, safe=lambda t: t >= 4.0)
    started = next(t for t, phase, *_ in trace if phase == Phase.MOVING)
    assert started == pytest.approx(4.0)


def test_never_safe_is_cancelled_after_5_s_without_moving():
    trace = run(LaneChange(S, +1, 0.0), 8.0, safe=lambda t: False)
    assert all(w == 0.0 for _, _, w, _ in trace)
    cancelled = next(t for t, phase, *_ in trace if phase == Phase.CANCELLED)
    assert cancelled == pytest.approx(S.max_start_delay_s)


def test_becoming_unsafe_before_crossing_aborts_back_to_the_own_lane():
    change = LaneChange(S, +1, 0.0)
    trace = run(change, 12.0, safe=lambda t: t < 4.0)
    assert Phase.ABORTING in {phase for _, phase, *_ in trace}
    assert trace[-1][1] == Phase.CANCELLED and trace[-1][2] == pytest.approx(0.0)
    assert "aborted" in change.reason


def test_becoming_unsafe_after_crossing_completes_the_change():
    trace = run(LaneChange(S, +1, 0.0), 12.0, safe=lambda t: t < 6.0)
    assert trace[-1][1] == Phase.DONE and trace[-1][2] == pytest.approx(1.0)
