"""Behaviour planner on the real map: when it proposes, what it refuses, how it changes lane."""

import pytest

from propilot.core.planning.behaviour import BehaviourPlanner, PlannerSettings
from propilot.core.planning.lane_change import LaneChangeSettings
from propilot.core.planning.safety import SafetySettings
from propilot.core.types import (
    EgoEstimate,
    HmiState,
    PilotState,
    ProposalKind,
    ProposalState,
    Track,
    TurnSignal,
)

SETTINGS = PlannerSettings()
SET_SPEED = 30.0
EGO_SPEED = 25.0
DT = 0.05
TRAVEL_LANE, OVERTAKING_LANE = 2, 1  # right-hand traffic: overtake on the left


def planner(hdmap):
    return BehaviourPlanner(SETTINGS, LaneChangeSettings(), SafetySettings(), hdmap)


def ego_in_lane(hdmap, lane_index, t, station=300.0):
    lanelet = next(i for i in hdmap.lanelet_ids()
                   if not hdmap.is_ramp(i) and hdmap.lane_index(i) == (lane_index, 3) and hdmap.station(i, 0.0) < 10)
    x, y, yaw, _ = hdmap.path_ahead(lanelet, station, 0.0)[0]
    ego = EgoEstimate(t, pose(x, y, yaw), EGO_SPEED, 0.0, 0.02)
    return ego, hdmap.match(ego.pose, 0.02)


def pose(x, y, yaw):
    from propilot.core.types import Pose2D

    return Pose2D(float(x), float(y), float(yaw))


def hmi(t, **kw):
    return HmiState(t, PilotState.ENGAGED_HANDS_OFF, set_speed_mps=SET_SPEED, time_gap_s=1.8, **kw)


def slow_lead(gap=40.0):
    return Track(1, 0, 0, 0, 0, relative_lane=0, gap_m=gap, relative_speed_mps=20.0 - EGO_SPEED)


def approaching_from_behind(dv_mps, gap=-30.0):
    return Track(2, 0, 0, 0, 0, relative_lane=+1, gap_m=gap, relative_speed_mps=dv_mps)


def run(p, hdmap, seconds, tracks, start=0.0, **hmi_fields):
    plans = []
    for k in range(int(seconds / DT)):
        t = start + k * DT
        ego, lane = ego_in_lane(hdmap, TRAVEL_LANE, t)
        plans.append(p.plan(ego, lane, tracks, hmi(t, **hmi_fields)))
    return plans


def proposals(plans):
    return [q for plan in plans for q in plan.proposals]


def test_slow_lead_for_long_enough_brings_an_overtake_proposal_to_the_left(hdmap):
    plans = run(planner(hdmap), hdmap, 2.5, (slow_lead(),))
    assert not proposals(plans), "not before overtake_after_s"
    plans = run(planner(hdmap), hdmap, SETTINGS.overtake_after_s + 0.5, (slow_lead(),))
    offered = [q for q in proposals(plans) if q.state == ProposalState.PROPOSED]
    assert offered and offered[0].kind == ProposalKind.OVERTAKE and offered[0].direction == +1
    assert offered[0].expires_s - offered[0].created_s == SETTINGS.proposal_timeout_s


@pytest.mark.parametrize("dv_kph", [30, 60])
def test_no_overtake_proposed_while_a_vehicle_approaches_fast_in_the_overtaking_lane(hdmap, dv_kph):
    plans = run(planner(hdmap), hdmap, 6.0, (slow_lead(), approaching_from_behind(dv_kph / 3.6, gap=-40.0)))
    assert not proposals(plans)


def test_confirmed_overtake_signals_then_moves_towards_the_left_lane(hdmap):
    p = planner(hdmap)
    plans = run(p, hdmap, 4.0, (slow_lead(),))
    offered = next(q for q in proposals(plans) if q.state == ProposalState.PROPOSED)
    after = run(p, hdmap, 0.05, (slow_lead(),), start=4.0, approved_proposal_uuid=offered.uuid)
    assert after[-1].proposals[0].state == ProposalState.EXECUTING
    later = run(p, hdmap, 5.0, (slow_lead(),), start=4.05)
    assert all(plan.turn_signal == TurnSignal.LEFT for plan in later)


def test_an_approval_arriving_when_it_became_unsafe_does_not_start_anything(hdmap):
    p = planner(hdmap)
    plans = run(p, hdmap, 4.0, (slow_lead(),))
    offered = next(q for q in proposals(plans) if q.state == ProposalState.PROPOSED)
    danger = (slow_lead(), approaching_from_behind(60 / 3.6, gap=-20.0))
    after = run(p, hdmap, 0.05, danger, start=4.0, approved_proposal_uuid=offered.uuid)
    assert after[-1].proposals[0].state == ProposalState.PROPOSED and not after[-1].proposals[0].safe
    assert after[-1].turn_signal == TurnSignal.OFF


def test_driver_lane_change_into_an_approaching_vehicle_is_refused_with_the_reason(hdmap):
    p = planner(hdmap)
    plans = run(p, hdmap, 0.05, (approaching_from_behind(30 / 3.6, gap=-15.0),), lane_change_request=+1)
    refused = plans[-1].proposals[0]
    assert refused.kind == ProposalKind.DRIVER_REQUESTED and refused.state == ProposalState.REJECTED
    assert "approaching from behind" in refused.reason
    assert plans[-1].turn_signal == TurnSignal.OFF


def test_driver_lane_change_with_a_free_lane_starts_at_once(hdmap):
    plans = run(planner(hdmap), hdmap, 0.05, (), lane_change_request=+1)
    assert plans[-1].proposals[0].state == ProposalState.EXECUTING
    assert plans[-1].turn_signal == TurnSignal.LEFT


def test_disengaging_aborts_an_open_proposal(hdmap):
    p = planner(hdmap)
    run(p, hdmap, 4.0, (slow_lead(),))
    ego, lane = ego_in_lane(hdmap, TRAVEL_LANE, 4.0)
    plan = p.plan(ego, lane, (slow_lead(),), HmiState(4.0, PilotState.UNAVAILABLE, set_speed_mps=SET_SPEED))
    assert not plan.active
    assert [q.state for q in plan.proposals] == [ProposalState.ABORTED]
