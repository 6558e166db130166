"""Run metrics: the Leaderboard-form driving score, hands-off share, approval latency, travel time and its
SUMO-driven baseline."""

import dataclasses
import math

import pytest
import sumolib

from propilot.core.map.hdmap import load_map
from propilot.core.types import (
    CommandMode,
    EventLog,
    HmiState,
    PilotState,
    Proposal,
    ProposalKind,
    ProposalState,
    VehicleCommand,
)
from propilot.sim.metrics import LEADERBOARD_PENALTIES, ScenarioMetrics, driving_score, travel_time_ratio
from propilot.sim.scenario import load_scenario
from propilot.sim.vehicle import EgoState
from propilot.sim.world import MainLine, baseline_travel_time_s
from tests.conftest import DEMO_SCENARIO


def test_driving_score_is_route_completion_times_penalties_to_their_counts():
    assert driving_score(0.8, {}) == pytest.approx(0.8)
    assert driving_score(1.0, {"collision_vehicle": 1}) == pytest.approx(0.6)
    assert driving_score(0.5, {"collision_vehicle": 2, "red_light": 1}) == pytest.approx(0.5 * 0.6**2 * 0.7)
    assert LEADERBOARD_PENALTIES["collision_pedestrian"] == 0.5  # Leaderboard 2.0 statistics_manager.py


def test_unknown_infraction_is_refused():
    with pytest.raises(ValueError, match="speeding"):
        driving_score(1.0, {"speeding": 1})


def test_travel_time_ratio_needs_both_times():
    assert travel_time_ratio(66.0, 60.0) == pytest.approx(1.1)
    assert math.isinf(travel_time_ratio(math.inf, 60.0))
    assert math.isinf(travel_time_ratio(60.0, math.inf))


def _hmi(t_s: float, state: PilotState, proposals=()) -> HmiState:
    return HmiState(t_s, state, proposals=tuple(proposals))


def test_hands_off_share_approval_latency_and_travel_time_from_a_drive():
    """The ego drives along the main line: 10 s engaged, 4 s of them hands-off; an overtake proposal shown at
    2 s is executing at 3.5 s; the destination is never reached, so travel time is to the farthest point."""
    scenario = load_scenario(DEMO_SCENARIO)
    hdmap = load_map(scenario.map_path)
    metrics = ScenarioMetrics(scenario, hdmap, EventLog())
    start = MainLine(sumolib.net.readNet(str(hdmap.sumo_net_path))).point(scenario.ego.lane, scenario.ego.station_m)
    proposal = Proposal("p1", ProposalKind.OVERTAKE, ProposalState.PROPOSED, direction=1, target_lanelet_id=0,
                        reason="slow lead", safe=True, created_s=2.0, expires_s=12.0)
    for k in range(200):  # 10 s at 0.05 s
        t = k * 0.05
        ego = EgoState(start.x_m + 25.0 * t * math.cos(start.yaw_rad), start.y_m + 25.0 * t * math.sin(start.yaw_rad),
                       start.yaw_rad, 25.0)
        state = PilotState.ENGAGED_HANDS_OFF if t >= 6.0 else PilotState.ENGAGED_HANDS_ON
        shown = ()
        if 2.0 <= t < 3.5:
            shown = (proposal,)
        elif t >= 3.5:
            shown = (dataclasses.replace(proposal, state=ProposalState.EXECUTING),)
        command = VehicleCommand(t, CommandMode.ROUTE_PILOT)
        metrics.observe(t, ego, ego.point_ahead(2.0), [], _hmi(t, state, shown), command)
    values = metrics.values()
    assert values["hands_off_share"] == pytest.approx(0.4, abs=0.01)
    assert values["mean_approval_latency_s"] == pytest.approx(1.5)
    assert values["proposals_accepted"] == 1
    assert values["travel_time_s"] == pytest.approx(9.95)
    assert metrics.travel_distance_m() == pytest.approx(25.0 * 9.95, abs=0.5)
    assert values["driving_score"] == values["route_completion"] > 0.1


def test_sumo_driven_baseline_drives_the_distance_at_the_set_speed():
    """No traffic: SUMO's ego holds about its start speed, 25 m/s, under the driver's set speed of 90 km/h."""
    scenario = dataclasses.replace(load_scenario(DEMO_SCENARIO), vehicles=(), random_traffic=None)
    scenario = dataclasses.replace(scenario, driver=dataclasses.replace(scenario.driver, set_speed_mps=25.0))
    hdmap = load_map(scenario.map_path)
    seconds = baseline_travel_time_s(scenario, hdmap, 500.0, 60.0)
    assert 500.0 / 25.0 <= seconds <= 500.0 / 23.0
    assert math.isinf(baseline_travel_time_s(scenario, hdmap, 5000.0, 10.0))  # not within the limit
