"""HMI variants as data: validation, and what each setting changes in the HMI's behaviour."""

import pytest

from propilot.core.hmi.engagement import HmiSettings, PilotHmi
from propilot.core.hmi.variants import load_variant, merge_settings
from propilot.core.settings import ConfigError
from propilot.core.types import (
    DriverEvent,
    DriverInput,
    DriverMonitorReading,
    LanePosition,
    LaneSource,
    Proposal,
    ProposalKind,
    ProposalState,
)
from propilot.stack import StackSettings
from tests.conftest import REPO

VARIANTS = REPO / "sim" / "hmi_variants"
ON_LANE = LanePosition(1001, 10.0, 0.0, 0.0, 1, 3, 0.99, True, LaneSource.RTK)
HANDS_OFF = DriverMonitorReading(0.0, True, True, False)


def overtake(safe=True):
    return Proposal("p1", ProposalKind.OVERTAKE, ProposalState.PROPOSED, 1, 2001, "slower vehicle ahead", safe,
                    0.2, 10.2)


def engaged(settings):
    hmi = PilotHmi(settings)
    hmi.update(0.0, [], HANDS_OFF, ON_LANE, 25.0, 0.0)
    hmi.update(0.1, [DriverInput(0.1, DriverEvent.MAIN_SWITCH)], HANDS_OFF, ON_LANE, 25.0, 0.0)
    return hmi


@pytest.mark.parametrize("name", ["baseline", "silent_short", "automatic"])
def test_example_variants_are_valid_stack_settings(name):
    variant = load_variant(VARIANTS / f"{name}.yaml")
    settings = StackSettings.from_nodes(variant.node_settings(), name)
    assert settings.planner.proposal_timeout_s == variant.proposal_timeout_s
    assert settings.hmi.approval == variant.approval
    assert settings.hmi.proposal_sound == (variant.modality == "visual+sound")
    assert settings.hmi.show_countdown == variant.countdown


@pytest.mark.parametrize("text, field, reason", [
    ("modality: audio\n", "modality", "must be one of"),
    ("approval: sometimes\n", "approval", "must be one of"),
    ("countdown: 3\n", "countdown", "true or false"),
    ("proposal_timeout_s: 1.0\n", "proposal_timeout_s", "below the minimum"),
    ("warnings: {eyes_off_request_s: 8.0}\n", "warnings.eyes_off_request_s", "above the maximum 5.0"),
    ("warnings: {blink_s: 1.0}\n", "warnings.blink_s", "unknown timing"),
    ("colour: red\n", "colour", "unknown field"),
])
def test_invalid_variant_names_file_field_and_reason(tmp_path, text, field, reason):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_variant(path)
    assert error.value.origin == str(path) and error.value.field_name == field and reason in error.value.reason


def test_manual_approval_waits_for_the_driver_automatic_goes_ahead_when_safe():
    manual = engaged(HmiSettings())
    assert manual.update(0.2, [], HANDS_OFF, ON_LANE, 25.0, 0.0, (overtake(),)).approved_proposal_uuid == ""
    automatic = engaged(HmiSettings(approval="automatic"))
    state = automatic.update(0.2, [], HANDS_OFF, ON_LANE, 25.0, 0.0, (overtake(),))
    assert state.approved_proposal_uuid == "p1" and "Changing lane" in state.message
    unsafe = engaged(HmiSettings(approval="automatic"))
    assert unsafe.update(0.2, [], HANDS_OFF, ON_LANE, 25.0, 0.0, (overtake(safe=False),)).approved_proposal_uuid == ""


def test_visual_only_variant_shows_the_proposal_without_its_sound():
    sounded = engaged(HmiSettings()).update(0.2, [], HANDS_OFF, ON_LANE, 25.0, 0.0, (overtake(),))
    silent = engaged(HmiSettings(proposal_sound=False)).update(0.2, [], HANDS_OFF, ON_LANE, 25.0, 0.0, (overtake(),))
    assert sounded.sound == "proposal"
    assert silent.sound == "" and silent.message == sounded.message


def test_variant_settings_go_on_top_of_the_scenario_settings():
    merged = merge_settings({"hmi": {"hmi": {"min_speed_mps": 12.0}}},
                            load_variant(VARIANTS / "silent_short.yaml").node_settings())
    assert merged["hmi"]["hmi"] == {"min_speed_mps": 12.0, "approval": "manual", "proposal_sound": False,
                                    "show_countdown": False}
    assert merged["behaviour"]["planner"]["proposal_timeout_s"] == 5.0
