"""Route-pilot engagement told as driver stories (states, messages, sounds)."""

from propilot.core.hmi.engagement import HmiSettings, PilotHmi
from propilot.core.types import (
    DriverEvent,
    DriverInput,
    DriverMonitorReading,
    LanePosition,
    LaneSource,
    PilotState,
    WarningLevel,
)

SETTINGS = HmiSettings()
ON_LANE = LanePosition(1001, 10.0, 0.0, 0.0, 1, 3, 0.99, True, LaneSource.RTK)
LANE_LOST = LanePosition(1001, 10.0, 0.0, 0.0, 1, 3, 0.4, False, LaneSource.DEAD_RECKONING)
ATTENTIVE = DriverMonitorReading(0.0, True, True, False)
EYES_OFF = DriverMonitorReading(0.0, True, False, True)
HIGHWAY_SPEED = 25.0


def press(t, event=DriverEvent.MAIN_SWITCH):
    return [DriverInput(t, event)]


def engaged_hmi():
    hmi = PilotHmi(SETTINGS)
    hmi.update(0.0, [], ATTENTIVE, ON_LANE, HIGHWAY_SPEED, 0.0)
    hmi.update(0.1, press(0.1), ATTENTIVE, ON_LANE, HIGHWAY_SPEED, 0.0)
    return hmi


def test_attentive_driver_on_the_main_line_is_told_route_driving_is_available():
    hmi = PilotHmi(SETTINGS)
    state = hmi.update(0.0, [], ATTENTIVE, ON_LANE, HIGHWAY_SPEED, 0.0)
    assert state.pilot_state == PilotState.AVAILABLE
    assert state.sound == "available" and "available" in state.message


def test_switch_press_when_available_engages_hands_off():
    hmi = engaged_hmi()
    assert hmi.state == PilotState.ENGAGED_HANDS_OFF


def test_switch_press_when_unavailable_does_nothing():
    hmi = PilotHmi(SETTINGS)
    state = hmi.update(0.0, press(0.0), ATTENTIVE, LANE_LOST, HIGHWAY_SPEED, 0.0)
    assert state.pilot_state == PilotState.UNAVAILABLE


def test_too_slow_for_route_driving_is_not_offered():
    hmi = PilotHmi(SETTINGS)
    state = hmi.update(0.0, [], ATTENTIVE, ON_LANE, SETTINGS.min_speed_mps - 1.0, 0.0)
    assert state.pilot_state == PilotState.UNAVAILABLE


def test_brake_pedal_disengages():
    hmi = engaged_hmi()
    state = hmi.update(0.2, [], ATTENTIVE, ON_LANE, HIGHWAY_SPEED, brake_pedal=0.3)
    assert not state.pilot_state.engaged
    assert state.sound == "disengage"


def test_losing_lane_level_localisation_requests_take_over_with_a_warning():
    hmi = engaged_hmi()
    state = hmi.update(0.2, [], ATTENTIVE, LANE_LOST, HIGHWAY_SPEED, 0.0)
    assert state.pilot_state == PilotState.TAKEOVER_REQUEST
    assert state.warning_level == WarningLevel.ACOUSTIC


def test_eyes_off_road_request_take_over_in_this_version():
    hmi = engaged_hmi()
    state = hmi.update(0.2, [], EYES_OFF, ON_LANE, HIGHWAY_SPEED, 0.0)
    assert state.pilot_state == PilotState.TAKEOVER_REQUEST


def test_time_gap_button_cycles_through_the_three_settings():
    hmi = engaged_hmi()
    gaps = [hmi.update(0.2 + i, press(0.2 + i, DriverEvent.TIME_GAP), ATTENTIVE, ON_LANE, HIGHWAY_SPEED,
                       0.0).time_gap_s for i in range(3)]
    assert gaps == [SETTINGS.time_gap_short_s, SETTINGS.time_gap_medium_s, SETTINGS.time_gap_long_s]


def test_set_speed_never_exceeds_the_maximum():
    hmi = engaged_hmi()
    for i in range(50):
        state = hmi.update(1.0 + i, press(1.0 + i, DriverEvent.SET_SPEED_UP), ATTENTIVE, ON_LANE,
                           HIGHWAY_SPEED, 0.0)
    assert state.set_speed_mps == SETTINGS.max_speed_mps
