"""Proposal lifecycle in the behaviour planner, on the real map: no unsafe proposal ever starts.

Any sequence of traffic around the ego (vehicles ahead, behind and beside it, at any gap and
relative speed), driver approvals, rejections, turn-signal requests and glances away: whenever a
proposal enters EXECUTING, the safety check of UN R79 / RSS (safety.check_lane_change, evaluated
here on the same cycle's inputs) says the target lane is free, the lane exists, and a proposal the
driver confirmed was confirmed with eyes on the road.
"""

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from propilot.core.planning.behaviour import BehaviourPlanner, PlannerSettings
from propilot.core.planning.lane_change import LaneChangeSettings
from propilot.core.planning.safety import SafetySettings, check_lane_change
from propilot.core.types import (
    EgoEstimate,
    HmiState,
    PilotState,
    Pose2D,
    ProposalKind,
    ProposalState,
    Track,
)

SETTINGS = PlannerSettings(overtake_after_s=0.0, proposal_cooldown_s=0.0)  # propose as soon as it may
SAFETY = SafetySettings()
EGO_SPEED_MPS = 25.0
SET_SPEED_MPS = 33.0
TRAVEL_LANE = 1  # the middle lane of three: both neighbours exist


@dataclass(frozen=True)
class Cycle:
    dt_s: float
    tracks: tuple[Track, ...]
    approve: bool
    reject: bool
    lane_change_request: int
    eyes_on_road: bool


TRACK = st.builds(lambda i, lane, gap, dv: Track(i, 0.0, 0.0, 0.0, 0.0, relative_lane=lane, gap_m=gap,
                                                 relative_speed_mps=dv),
                  st.integers(1, 6), st.sampled_from((-1, 0, 1)),
                  st.one_of(st.floats(-150.0, 150.0), st.sampled_from((0.0, -0.0, 1e-3, -1e-3))),
                  st.floats(-25.0, 25.0))
CYCLE = st.builds(Cycle, st.sampled_from((0.05, 0.05, 0.5, 2.0)), st.lists(TRACK, max_size=4).map(tuple),
                  st.booleans(), st.integers(0, 9).map(lambda n: n == 0),
                  st.sampled_from((0, 0, 0, 0, 1, -1)), st.integers(0, 5).map(lambda n: n != 0))


def _ego(hdmap, t_s: float, station_m: float) -> tuple[EgoEstimate, object]:
    lanelet = next(i for i in hdmap.lanelet_ids()
                   if not hdmap.is_ramp(i) and hdmap.lane_index(i) == (TRAVEL_LANE, 3) and hdmap.station(i, 0.0) < 10)
    x, y, yaw, _ = hdmap.path_ahead(lanelet, station_m, 0.0)[0]
    ego = EgoEstimate(t_s, Pose2D(float(x), float(y), float(yaw)), EGO_SPEED_MPS, 0.0, 0.02)
    return ego, hdmap.match(ego.pose, 0.02)


def lane_change_starts(hdmap, cycles: list[Cycle]) -> tuple[int, list[str]]:
    """How many proposals entered EXECUTING, and each that did so although that cycle's inputs forbade it."""
    planner = BehaviourPlanner(SETTINGS, LaneChangeSettings(), SAFETY, hdmap)
    t, running, shown = 0.0, set(), ()
    problems = []
    for k, c in enumerate(cycles):
        t += c.dt_s
        ego, lane = _ego(hdmap, t, 300.0 + EGO_SPEED_MPS * t if t < 20.0 else 800.0)
        offered = next((p.uuid for p in shown if p.state == ProposalState.PROPOSED), "")
        hmi = HmiState(t, PilotState.ENGAGED_HANDS_OFF, set_speed_mps=SET_SPEED_MPS, time_gap_s=1.8,
                       approved_proposal_uuid=offered if c.approve else "",
                       rejected_proposal_uuid=offered if c.reject else "",
                       lane_change_request=c.lane_change_request, hands_on_wheel=True, eyes_on_road=c.eyes_on_road)
        plan = planner.plan(ego, lane, c.tracks, hmi)
        for p in plan.proposals:
            if p.state != ProposalState.EXECUTING or p.uuid in running:
                continue
            running.add(p.uuid)
            target = hdmap.left_of(lane.lanelet_id) if p.direction > 0 else hdmap.right_of(lane.lanelet_id)
            verdict = check_lane_change(SAFETY, c.tracks, ego.speed_mps, p.direction,
                                        target is not None and hdmap.lane_change_allowed(lane.lanelet_id, target))
            if target is None or not verdict.safe:
                problems.append(f"cycle {k}: {p.kind.name} started although {verdict.reason or 'no lane there'}")
            if p.kind != ProposalKind.DRIVER_REQUESTED and not c.eyes_on_road:
                problems.append(f"cycle {k}: {p.kind.name} started with the driver's eyes off the road")
        shown = plan.proposals
    return len(running), problems


@given(cycles=st.lists(CYCLE, min_size=1, max_size=25))
def test_no_traffic_and_driver_sequence_starts_an_unsafe_lane_change(hdmap, cycles):
    assert lane_change_starts(hdmap, cycles)[1] == []


def test_an_overtake_is_offered_and_started_when_the_lane_is_free(hdmap):
    """The property above is not empty: a free lane and a slow lead do start an overtake."""
    slow_lead = Track(1, 0.0, 0.0, 0.0, 0.0, relative_lane=0, gap_m=40.0, relative_speed_mps=-8.0)
    planner = BehaviourPlanner(SETTINGS, LaneChangeSettings(), SAFETY, hdmap)
    ego, lane = _ego(hdmap, 0.05, 300.0)
    offered = planner.plan(ego, lane, (slow_lead,), HmiState(0.05, PilotState.ENGAGED_HANDS_OFF,
                                                              set_speed_mps=SET_SPEED_MPS, time_gap_s=1.8))
    uuid = next(p.uuid for p in offered.proposals if p.state == ProposalState.PROPOSED)
    started = planner.plan(ego, lane, (slow_lead,), HmiState(0.1, PilotState.ENGAGED_HANDS_OFF,
                                                              set_speed_mps=SET_SPEED_MPS, time_gap_s=1.8,
                                                              approved_proposal_uuid=uuid))
    assert [p.state for p in started.proposals if p.uuid == uuid] == [ProposalState.EXECUTING]
    assert lane_change_starts(hdmap, [Cycle(0.05, (slow_lead,), True, False, 0, True)] * 3) == (1, [])
