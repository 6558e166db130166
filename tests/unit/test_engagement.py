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
    assert state.warning_level == WarningLevel.DIRECT_CONTROL and state.sound == "takeover"


def test_take_over_request_unanswered_ends_in_a_stop_in_lane():
    hmi = engaged_hmi()
    hmi.update(0.2, [], ATTENTIVE, LANE_LOST, HIGHWAY_SPEED, 0.0)
    waiting = hmi.update(0.2 + SETTINGS.takeover_timeout_s - 0.1, [], ATTENTIVE, LANE_LOST, HIGHWAY_SPEED, 0.0)
    assert waiting.pilot_state == PilotState.TAKEOVER_REQUEST
    stop = hmi.update(0.2 + SETTINGS.takeover_timeout_s, [], ATTENTIVE, LANE_LOST, HIGHWAY_SPEED, 0.0)
    assert stop.pilot_state == PilotState.MINIMAL_RISK


def test_braking_answers_the_take_over_request():
    hmi = engaged_hmi()
    hmi.update(0.2, [], ATTENTIVE, LANE_LOST, HIGHWAY_SPEED, 0.0)
    state = hmi.update(1.5, [], ATTENTIVE, LANE_LOST, HIGHWAY_SPEED, brake_pedal=0.3)
    assert state.pilot_state == PilotState.UNAVAILABLE and state.message.startswith("Driver in control")


def drive_looking_away(hmi, seconds, start=1.0, looks_back_at=None, dt=0.05):
    """Eyes off the road from `start`; returns [(t, state, warning)]."""
    trace = []
    for k in range(int(seconds / dt)):
        t = start + k * dt
        monitor = ATTENTIVE if looks_back_at is not None and t >= looks_back_at else EYES_OFF
        state = hmi.update(t, [], monitor, ON_LANE, HIGHWAY_SPEED, 0.0)
        trace.append((t, state.pilot_state, state.warning_level))
    return trace


def first(trace, predicate):
    return next(t for t, state, warning in trace if predicate(state, warning))


def test_eyes_off_road_escalates_as_un_r171_asks_and_ends_in_a_stop_in_lane():
    trace = drive_looking_away(engaged_hmi(), seconds=25.0)
    s = SETTINGS
    optical = first(trace, lambda st, w: w == WarningLevel.OPTICAL) - 1.0
    acoustic = first(trace, lambda st, w: w == WarningLevel.ACOUSTIC) - 1.0
    direct = first(trace, lambda st, w: w == WarningLevel.DIRECT_CONTROL) - 1.0
    stop = first(trace, lambda st, w: st == PilotState.MINIMAL_RISK) - 1.0
    assert abs(optical - s.eyes_off_request_s) < 0.06
    assert acoustic - optical <= s.escalate_after_s + 0.06
    assert direct - acoustic <= s.direct_control_after_s + 0.06
    assert stop - acoustic <= s.risk_stop_after_s + 0.06
    assert all(st.engaged or st in (PilotState.TAKEOVER_REQUEST, PilotState.MINIMAL_RISK) for _, st, _ in trace)


def test_looking_back_before_the_stop_clears_the_warnings():
    hmi = engaged_hmi()
    trace = drive_looking_away(hmi, seconds=12.0, looks_back_at=8.0)
    assert trace[-1][1] == PilotState.ENGAGED_HANDS_OFF and trace[-1][2] == WarningLevel.NONE


def test_a_glance_shorter_than_200_ms_does_not_reset_the_escalation():
    hmi = engaged_hmi()
    drive_looking_away(hmi, seconds=6.0)  # optical warning by now
    hmi.update(7.0, [], ATTENTIVE, ON_LANE, HIGHWAY_SPEED, 0.0)  # one 50 ms glance
    state = hmi.update(7.05, [], EYES_OFF, ON_LANE, HIGHWAY_SPEED, 0.0)
    assert state.warning_level == WarningLevel.OPTICAL


def test_repeated_direct_control_alerts_lock_route_driving_out():
    hmi = PilotHmi(SETTINGS)
    t = 0.0
    for _ in range(SETTINGS.lockout_after_alerts):
        hmi.update(t, [], ATTENTIVE, ON_LANE, HIGHWAY_SPEED, 0.0)
        hmi.update(t + 0.05, press(t + 0.05), ATTENTIVE, ON_LANE, HIGHWAY_SPEED, 0.0)
        drive_looking_away(hmi, seconds=14.0, start=t + 0.1)  # past the direct-control alert
        hmi.update(t + 15.0, [], ATTENTIVE, ON_LANE, HIGHWAY_SPEED, brake_pedal=0.5)  # driver takes over
        t += 20.0
    state = hmi.update(t, [], ATTENTIVE, ON_LANE, HIGHWAY_SPEED, 0.0)
    assert state.locked_out and state.pilot_state == PilotState.UNAVAILABLE


def test_confirming_a_proposal_needs_hands_on_the_wheel():
    from propilot.core.types import Proposal, ProposalKind, ProposalState

    hmi = engaged_hmi()
    proposal = Proposal("p1", ProposalKind.OVERTAKE, ProposalState.PROPOSED, +1, 7, "slower vehicle", True, 0.0, 10.0)
    shown = hmi.update(0.2, [], ATTENTIVE, ON_LANE, HIGHWAY_SPEED, 0.0, (proposal,))
    assert shown.sound == "proposal"
    no_hands = hmi.update(0.3, press(0.3, DriverEvent.APPROVE), ATTENTIVE, ON_LANE, HIGHWAY_SPEED, 0.0, (proposal,))
    assert no_hands.approved_proposal_uuid == "" and "Hands on the wheel" in no_hands.message
    hands = DriverMonitorReading(0.4, True, True, True)
    approved = hmi.update(0.4, press(0.4, DriverEvent.APPROVE), hands, ON_LANE, HIGHWAY_SPEED, 0.0, (proposal,))
    assert approved.approved_proposal_uuid == "p1"


def test_turn_signal_with_hands_on_asks_for_a_lane_change():
    hmi = engaged_hmi()
    hands = DriverMonitorReading(0.2, True, True, True)
    state = hmi.update(0.2, press(0.2, DriverEvent.TURN_SIGNAL_RIGHT), hands, ON_LANE, HIGHWAY_SPEED, 0.0)
    assert state.lane_change_request == -1


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
