"""Driver inputs from the page and from a gamepad/wheel (pygame's real SDL event objects), and the view."""

import json
import logging
import os

import pytest

from propilot.core.settings import ConfigError
from propilot.core.types import (
    DriverEvent,
    HmiState,
    LanePosition,
    LaneSource,
    PilotState,
    Proposal,
    ProposalKind,
    ProposalState,
    RouteNotice,
    RouteStatus,
    Track,
    WarningLevel,
)
from propilot.hmi_web.inputs import parse_page_message
from propilot.hmi_web.view import display_view
from propilot.hmi_web.wheel import DEFAULT_MAPPING, WheelInput, load_wheel_mapping

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
pygame = pytest.importorskip("pygame")


def test_page_button_becomes_a_driver_input():
    message = parse_page_message(json.dumps({"type": "input", "event": "APPROVE", "proposal_uuid": "p1",
                                             "source": "display"}))
    assert message.kind == "input"
    assert (message.driver_input.event, message.driver_input.proposal_uuid, message.driver_input.source) == (
        DriverEvent.APPROVE, "p1", "display")
    assert parse_page_message('{"type": "hands_on", "value": true}').hands_on is True
    assert parse_page_message('{"type": "continue"}').kind == "continue"


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"type": "input", "event": "WARP"}',
                                  '{"type": "input", "event": "NONE"}', '{"type": "dance"}',
                                  '{"type": "input", "event": "APPROVE", "source": "telepathy"}',
                                  '{"type": "hands_on", "value": "yes"}', "x" * 5000])
def test_unknown_or_malformed_page_input_is_ignored_with_a_log(text, caplog):
    with caplog.at_level(logging.WARNING, logger="propilot.hmi_web"):
        assert parse_page_message(text) is None
    assert "display input ignored" in caplog.text


def joystick(kind, **fields):
    return pygame.event.Event(kind, joy=0, instance_id=0, **fields)


def test_wheel_mapping_turns_sdl_events_into_driver_inputs():
    wheel = WheelInput(load_wheel_mapping(DEFAULT_MAPPING))
    events = [joystick(pygame.JOYBUTTONDOWN, button=3), joystick(pygame.JOYBUTTONDOWN, button=0),
              joystick(pygame.JOYBUTTONDOWN, button=1), joystick(pygame.JOYBUTTONDOWN, button=2),
              joystick(pygame.JOYHATMOTION, hat=0, value=(0, 1)), joystick(pygame.JOYHATMOTION, hat=0, value=(0, 0)),
              joystick(pygame.JOYHATMOTION, hat=0, value=(0, -1))]
    got = [i.event for e in events for i in wheel.handle(e)]
    assert got == [DriverEvent.MAIN_SWITCH, DriverEvent.APPROVE, DriverEvent.CANCEL, DriverEvent.TIME_GAP,
                   DriverEvent.SET_SPEED_UP, DriverEvent.SET_SPEED_DOWN]
    assert all(i.source == "wheel" for e in events for i in wheel.handle(e))


def test_turn_signal_stalk_on_an_axis_fires_once_per_push():
    wheel = WheelInput(load_wheel_mapping(DEFAULT_MAPPING))
    values = [0.0, 0.4, 0.8, 0.95, 0.3, 0.0, -0.9, -1.0, 0.0]
    got = [i.event for v in values for i in wheel.handle(joystick(pygame.JOYAXISMOTION, axis=3, value=v))]
    assert got == [DriverEvent.TURN_SIGNAL_RIGHT, DriverEvent.TURN_SIGNAL_LEFT]


def test_hands_on_stand_in_button_is_held():
    wheel = WheelInput(load_wheel_mapping(DEFAULT_MAPPING))
    assert wheel.handle(joystick(pygame.JOYBUTTONDOWN, button=7)) == [] and wheel.hands_on
    wheel.handle(joystick(pygame.JOYBUTTONUP, button=7))
    assert not wheel.hands_on


def test_unmapped_button_is_ignored_with_a_log(caplog):
    wheel = WheelInput(load_wheel_mapping(DEFAULT_MAPPING))
    with caplog.at_level(logging.INFO, logger="propilot.hmi_web"):
        assert wheel.handle(joystick(pygame.JOYBUTTONDOWN, button=15)) == []
    assert "button 15 is not mapped" in caplog.text


@pytest.mark.parametrize("text, field", [("buttons: {0: HONK}\n", "buttons.0"), ("buttons: {-1: APPROVE}\n",
                                                                                  "buttons.-1"),
                                         ("hats: {diagonal: APPROVE}\n", "hats.diagonal"),
                                         ("axes: {2: {positive: APPROVE, threshold: 2}}\n", "axes.2.threshold"),
                                         ("pedals: {}\n", "pedals")])
def test_bad_wheel_mapping_names_file_and_field(tmp_path, text, field):
    path = tmp_path / "wheel.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_wheel_mapping(path)
    assert error.value.field_name == field and error.value.origin == str(path)


def test_view_shows_lead_vehicles_next_exit_and_countdown():
    proposal = Proposal("p1", ProposalKind.OVERTAKE, ProposalState.PROPOSED, 1, 2001, "slower vehicle ahead", True,
                        10.0, 20.0)
    hmi = HmiState(13.0, PilotState.ENGAGED_HANDS_OFF, "Overtake?", "proposal", WarningLevel.OPTICAL, 30.0, 1.8,
                   proposals=(proposal,))
    tracks = (Track(1, 0, 0, 0, 0, relative_lane=0, gap_m=60.0, relative_speed_mps=-5.0),
              Track(2, 0, 0, 0, 0, relative_lane=0, gap_m=30.0, relative_speed_mps=-2.0),
              Track(3, 0, 0, 0, 0, relative_lane=1, gap_m=-20.0), Track(4, 0, 0, 0, 0, relative_lane=1, gap_m=400.0))
    route = RouteStatus(5000.0, 100.0, (RouteNotice("speed_limit", 200.0), RouteNotice("exit", 850.0, "Exit 12",
                                                                                       lane_change=-1)))
    lane = LanePosition(1001, 10.0, 0.0, 0.0, 1, 3, 0.99, True, LaneSource.RTK)
    view = display_view(hmi, tracks, route, lane)
    assert view["state"] == "ENGAGED_HANDS_OFF" and view["hands_off"] and view["engaged"]
    assert view["set_speed_kph"] == 108 and view["warning_level"] == 1
    assert view["lead"]["id"] == 2 and [v["id"] for v in view["vehicles"]] == [1, 2, 3]
    assert view["next_event"] == {"kind": "exit", "name": "Exit 12", "distance_m": 850, "lane_change": -1}
    assert view["proposals"][0]["time_left_s"] == 7.0 and view["lane"] == {"index": 1, "count": 3}
    assert display_view(hmi, show_countdown=False)["proposals"][0]["time_left_s"] is None
    json.dumps(view)  # the page gets it as JSON
