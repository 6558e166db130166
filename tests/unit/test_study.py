"""Study toolkit parts: counterbalancing, study files, the trial events of a run."""

import csv
from itertools import pairwise

import pytest

from propilot.core.settings import ConfigError
from propilot.core.types import (
    DriverMonitorReading,
    HmiState,
    PilotState,
    Proposal,
    ProposalKind,
    ProposalState,
    WarningLevel,
)
from propilot.study.events import TrialEvents, write_events
from propilot.study.order import balanced_latin_square, condition_order, participant_number
from propilot.study.spec import load_study
from tests.conftest import REPO


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_latin_square_is_balanced_for_position_and_carry_over(n):
    rows = balanced_latin_square(n)
    assert all(sorted(row) == list(range(n)) for row in rows)
    for position in range(n):  # each condition equally often in each position
        counts = [sum(row[position] == c for row in rows) for c in range(n)]
        assert len(set(counts)) == 1
    follows = {}  # each ordered pair of neighbours equally often
    for row in rows:
        for a, b in pairwise(row):
            follows[(a, b)] = follows.get((a, b), 0) + 1
    assert len(follows) == n * (n - 1) and len(set(follows.values())) == 1


def test_participant_number_picks_the_row():
    assert participant_number("P07") == 7 and participant_number("s12-b3") == 3
    assert condition_order(2, "P01") == [0, 1] and condition_order(2, "P02") == [1, 0]
    assert condition_order(2, "P03") == [0, 1]
    assert participant_number("anna") == participant_number("anna")


def test_example_study_loads():
    study = load_study(REPO / "sim" / "studies" / "proposal_modality.yaml")
    assert [c.name for c in study.conditions] == ["baseline", "silent_short"]
    assert study.conditions[1].variant.modality == "visual" and study.conditions[1].participant.reaction_s == 6.0


@pytest.mark.parametrize("text, field", [
    ("conditions: []\n", "conditions"),
    ("scenarios: [nowhere.yaml]\nconditions: [{name: a, variant: V}, {name: b, variant: V}]\n", "scenarios[0].path"),
    ("scenarios: [S]\nconditions: [{name: a, variant: V, participant: {proposals: maybe}}, {name: b, variant: V}]\n",
     "conditions[0].participant.proposals"),
    ("scenarios: [S]\nconditions: [{name: a, variant: V}, {name: a, variant: V}]\n", "conditions"),
])
def test_invalid_study_names_file_and_field(tmp_path, text, field):
    text = text.replace("V", str(REPO / "sim" / "hmi_variants" / "baseline.yaml")).replace(
        "[S]", f"[{REPO / 'sim' / 'scenarios' / 'overtake_and_return.yaml'}]")
    path = tmp_path / "study.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_study(path)
    assert error.value.field_name == field and error.value.origin == str(path)


def _proposal(state):
    return Proposal("p1", ProposalKind.OVERTAKE, state, 1, 2001, "slower vehicle ahead", True, 1.0, 11.0)


def test_trial_events_record_shown_response_latency_outcome_warnings_takeover_and_eyes_off(tmp_path):
    events = TrialEvents()
    attentive, away = DriverMonitorReading(0.0, True, True, False), DriverMonitorReading(0.0, True, False, False)
    script = [  # t, hmi, monitor
        (1.0, HmiState(1.0, PilotState.ENGAGED_HANDS_OFF, proposals=(_proposal(ProposalState.PROPOSED),)), attentive),
        (2.5, HmiState(2.5, PilotState.ENGAGED_HANDS_OFF, proposals=(_proposal(ProposalState.PROPOSED),),
                       approved_proposal_uuid="p1"), attentive),
        (2.6, HmiState(2.6, PilotState.ENGAGED_HANDS_OFF, proposals=(_proposal(ProposalState.EXECUTING),)), attentive),
        (8.0, HmiState(8.0, PilotState.ENGAGED_HANDS_OFF, proposals=(_proposal(ProposalState.SUCCEEDED),)), away),
        (13.0, HmiState(13.0, PilotState.ENGAGED_HANDS_ON, warning_level=WarningLevel.OPTICAL), away),
        (16.0, HmiState(16.0, PilotState.ENGAGED_HANDS_ON, warning_level=WarningLevel.ACOUSTIC), away),
        (21.0, HmiState(21.0, PilotState.TAKEOVER_REQUEST, warning_level=WarningLevel.DIRECT_CONTROL), away),
        (22.2, HmiState(22.2, PilotState.UNAVAILABLE), attentive),
    ]
    for t, hmi, monitor in script:
        events.before_step(t, [], monitor)
        events.after_step(t, hmi)
    rows = events.finish()
    got = [(r.event, r.response, r.latency_s, r.outcome, r.duration_s, r.warning_level) for r in rows]
    assert got == [
        ("proposal_shown", "", None, "", None, None),
        ("proposal_response", "approve", 1.5, "", None, None),
        ("proposal_outcome", "", None, "executing", None, None),
        ("proposal_outcome", "", None, "succeeded", None, None),
        ("warning", "", None, "", None, 1),
        ("warning", "", None, "", None, 2),
        ("warning", "", None, "", None, 3),
        ("takeover_request", "", None, "", None, None),
        ("eyes_off", "", None, "", 14.2, None),  # the eyes come back in the step the driver takes over
        ("takeover", "", None, "", 1.2, None),
    ]
    write_events(rows, tmp_path / "events.csv")
    with (tmp_path / "events.csv").open() as f:
        assert [r["event"] for r in csv.DictReader(f)] == [g[0] for g in got]
