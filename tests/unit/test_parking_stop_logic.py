"""Hold-to-move and the sonar guard: when the car may move, when it must stop, and when it may go on.

Driver stories with timings taken from the settings: holds every 100 ms, a release, a lost signal,
a walk out of range, an obstacle that appears and clears.
"""

import math

import pytest

from propilot.core.fusion.rig import load_rig
from propilot.core.parking.guard import GuardSettings, SonarGuard
from propilot.core.parking.supervisor import (
    REASON_BLOCKED_TIMEOUT,
    REASON_OBSTACLE,
    REASON_OUT_OF_RANGE,
    REASON_RELEASED,
    REASON_SIGNAL_LOST,
    HoldSettings,
    HoldToMove,
    SupervisorInput,
)
from propilot.core.parking.types import FobCommandKind, ParkState, SonarReading
from propilot.core.types import SensorKind
from propilot.core.vehicle import EGO
from tests.conftest import REPO

HOLD = HoldSettings()
DT = 0.05
HOLD_PERIOD = 0.1
HOLD_CMD = FobCommandKind.HOLD


def tick(sup, t, commands=(), distance=3.0, blocked=False, clear=True, done=False, exceeded=False):
    return sup.update(SupervisorInput(t, tuple((t, c) for c in commands), distance, blocked, clear, done, exceeded))


def holding(sup, start, end, **kw):
    """The operator holds the button from start to end: a HOLD every 100 ms, a cycle every 50 ms."""
    out = None
    for k in range(int(round((end - start) / DT))):
        t = start + k * DT
        due = abs((t - start) / HOLD_PERIOD - round((t - start) / HOLD_PERIOD)) < 1e-6
        out = tick(sup, t, (HOLD_CMD,) if due else (), **kw)
    return out


def moving_supervisor():
    sup = HoldToMove(HOLD)
    tick(sup, 0.0, (FobCommandKind.START_IN,))
    sup.start(0.0)
    assert holding(sup, 0.5, 1.0).state == ParkState.MOVING
    return sup


def test_the_car_waits_for_a_hold_after_the_start_command():
    sup = HoldToMove(HOLD)
    out = tick(sup, 0.0, (FobCommandKind.START_IN,))
    assert out.start == FobCommandKind.START_IN and not out.motion_allowed
    sup.start(0.0)
    assert not tick(sup, 0.05).motion_allowed  # planned, no hold yet
    assert tick(sup, 0.1, (HOLD_CMD,)).motion_allowed


def test_releasing_the_button_stops_the_car_in_the_same_cycle():
    sup = moving_supervisor()
    out = tick(sup, 1.0, (FobCommandKind.STOP,))
    assert (out.state, out.reason, out.motion_allowed) == (ParkState.PAUSED, REASON_RELEASED, False)


def test_a_lost_signal_stops_the_car_once_a_hold_is_overdue():
    sup = moving_supervisor()  # last hold at 0.9 s
    assert tick(sup, 1.0).motion_allowed  # the next hold is due at 1.0 s: within the timeout
    out = tick(sup, 0.9 + HOLD.hold_timeout_s + DT / 2)
    assert (out.state, out.reason) == (ParkState.PAUSED, REASON_SIGNAL_LOST)
    # the first missing hold was due at 1.0 s; the stop is commanded within one cycle of that
    assert 0.9 + HOLD.hold_timeout_s + DT / 2 - 1.0 <= DT


def test_when_the_signal_returns_the_new_holds_resume_the_motion():
    sup = moving_supervisor()
    tick(sup, 1.05)
    assert tick(sup, 1.1).state == ParkState.PAUSED
    assert holding(sup, 1.5, 1.6).state == ParkState.MOVING


def test_walking_out_of_range_stops_and_only_a_new_press_moves_again():
    sup = moving_supervisor()
    out = tick(sup, 1.0, (HOLD_CMD,), distance=HOLD.max_operator_distance_m + 0.1)
    assert (out.state, out.reason) == (ParkState.PAUSED, REASON_OUT_OF_RANGE)
    # back within range while still holding the same press: stays put
    assert holding(sup, 1.1, 2.0, distance=3.0).state == ParkState.PAUSED
    # release, press again: moves
    tick(sup, 2.0, (FobCommandKind.STOP,))
    assert holding(sup, 2.5, 2.7).state == ParkState.MOVING


def test_an_obstacle_blocks_and_only_a_renewed_hold_after_it_cleared_resumes():
    sup = moving_supervisor()
    out = holding(sup, 1.0, 1.1, blocked=True, clear=False)
    assert (out.state, out.reason) == (ParkState.BLOCKED, REASON_OBSTACLE)
    assert holding(sup, 1.1, 3.0, clear=False).state == ParkState.BLOCKED  # still there
    assert holding(sup, 3.0, 4.0, clear=True).state == ParkState.BLOCKED  # cleared, but the same press
    tick(sup, 4.0, (FobCommandKind.STOP,))
    assert holding(sup, 4.5, 4.7, clear=True).state == ParkState.MOVING


def test_blocked_for_longer_than_the_limit_aborts():
    sup = moving_supervisor()
    holding(sup, 1.0, 1.05, blocked=True, clear=False)  # blocked at 1.0 s
    out = holding(sup, 1.05, 1.0 + HOLD.blocked_abort_s, clear=False)
    assert out.state == ParkState.BLOCKED
    out = tick(sup, 1.0 + HOLD.blocked_abort_s, clear=False)
    assert (out.state, out.reason) == (ParkState.ABORTED, REASON_BLOCKED_TIMEOUT)


def test_the_end_of_the_path_completes_and_the_travel_limit_aborts():
    sup = moving_supervisor()
    assert tick(sup, 1.0, (HOLD_CMD,), done=True).state == ParkState.COMPLETED
    sup = moving_supervisor()
    assert tick(sup, 1.0, (HOLD_CMD,), exceeded=True).state == ParkState.ABORTED


# --- the sonar guard ------------------------------------------------------------------------------------

SONARS = [s for s in load_rig(REPO / "sim" / "rigs" / "default.yaml").sensors if s.kind == SensorKind.SONAR]
GUARD = GuardSettings()
STOP_DECEL = 6.0


def guard_with(echoes, t=1.0):
    """A guard that has had two agreeing cycles of these echoes ({sensor: range}; others silent)."""
    guard = SonarGuard(GUARD, SONARS, EGO, STOP_DECEL)
    for cycle_t in (t - 0.1, t):
        guard.add([SonarReading(cycle_t, s.sensor_id, echoes.get(s.sensor_id, math.inf)) for s in SONARS])
    return guard


def test_an_obstacle_ahead_blocks_forward_travel_early_enough_to_stop_at_the_clearance():
    speed = 1.0
    room_needed = GUARD.stop_clearance_m + guard_with({}).stopping_room_m(speed)
    ahead = guard_with({"front_left_centre": room_needed - 0.05})
    assert ahead.view(1.0, +1, speed).blocked
    assert not guard_with({"front_left_centre": room_needed + 0.05}).view(1.0, +1, speed).blocked
    # standing still, the same echo leaves enough room
    assert not ahead.view(1.0, +1, 0.0).blocked


def test_an_echo_behind_does_not_stop_forward_travel_but_stops_reversing():
    guard = guard_with({"rear_left_centre": 0.4})
    assert not guard.view(1.0, +1, 1.0).blocked
    assert guard.view(1.0, -1, 1.0).blocked


def test_a_car_parked_alongside_is_not_in_the_path():
    # side sonars look sideways: their echoes lie beside the car's width
    guard = guard_with({"front_left_side": 0.5, "rear_right_side": 0.5})
    assert guard.path_clearance(+1) == math.inf
    assert guard.view(1.0, +1, 1.0).min_clearance_m == pytest.approx(0.5)


def test_a_single_false_echo_does_not_stop_the_car():
    guard = SonarGuard(GUARD, SONARS, EGO, STOP_DECEL)
    guard.add([SonarReading(0.9, s.sensor_id, math.inf) for s in SONARS])
    guard.add([SonarReading(1.0, s.sensor_id, 0.4 if s.sensor_id == "front_left_centre" else math.inf)
               for s in SONARS])
    assert not guard.view(1.0, +1, 1.0).blocked


def test_the_path_is_clear_only_with_hysteresis_and_every_sonar_reporting():
    assert not guard_with({"front_left_centre": GUARD.stop_clearance_m + 0.1}).view(1.0, +1, 0.0).clear
    assert guard_with({"front_left_centre": 2.0}).view(1.0, +1, 0.0).clear
    silent = guard_with({})
    view = silent.view(1.0 + GUARD.stale_after_s + 0.05, +1, 0.0)
    assert not view.clear and len(view.failed) == len(SONARS)
