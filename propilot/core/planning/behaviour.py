"""Behaviour planner: the lane to drive in, lane changes, and how fast.

In, each cycle: the ego estimate, its lane position, the tracked objects and the HMI
state (engagement, set speed, the driver's approvals and turn-signal requests).
Out: a `Plan` for the controllers (a path in the map frame, target speed, lead
vehicle, turn signal, mode) carrying every proposal and its state.

One cycle, in order:
1. not engaged -> end proposals, plan nothing; minimal-risk -> stop in lane;
2. proposals: expire, take the driver's rejection or approval (approval starts only a
   safe proposal), refresh each open one's safety verdict;
3. a driver's turn-signal request -> change lane if safe, else refuse with the reason;
4. the active lane change advances (signal, move, abort, done);
5. no lane change and nothing open -> look for an overtake (slower lead for long enough,
   safe overtaking lane) or, after an overtake, the return to the travel lane;
6. path: the lane centreline, or a blend of source and target lane during a change;
   target speed: set speed, speed limit, curve speed; lead: the nearest vehicle ahead in
   the lanes the ego occupies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from propilot.core.map.hdmap import HDMap
from propilot.core.map.route import Route, RouteError
from propilot.core.planning.lane_change import LaneChange, LaneChangeSettings, Phase
from propilot.core.planning.proposals import ProposalBook
from propilot.core.planning.safety import SafetySettings, SafetyVerdict, check_lane_change
from propilot.core.settings import setting
from propilot.core.types import (
    CommandMode,
    EgoEstimate,
    HmiState,
    LanePosition,
    PathPoint,
    PilotState,
    Plan,
    ProposalKind,
    ProposalState,
    RouteNotice,
    RouteStatus,
    Track,
    TurnSignal,
)

KPH = 1.0 / 3.6
ARRIVAL_MARGIN_M = 100.0  # leaving the route this close to its end is arriving


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    path_length_min_m: float = setting(60.0, unit="m", description="shortest path handed to control", minimum=10.0)
    path_horizon_s: float = setting(4.0, unit="s", description="path length as time at the current speed",
                                    minimum=1.0)
    path_spacing_m: float = setting(2.0, unit="m", description="distance between path points", minimum=0.5,
                                    maximum=10.0)
    curve_lat_accel_mps2: float = setting(
        2.0, unit="m/s^2", description="lateral acceleration the curve speed is planned for", minimum=0.5,
        maximum=3.0, source="ISO 11270 / UN R79: lateral acceleration <= 3 m/s^2 (comfort margin below it)")
    lead_max_gap_m: float = setting(200.0, unit="m", description="farthest object treated as the lead",
                                    minimum=10.0)
    overtake_speed_margin_mps: float = setting(10 * KPH, unit="m/s",
                                               description="a lead this much slower than the set speed is slow",
                                               minimum=0.0)
    overtake_after_s: float = setting(3.0, unit="s", description="how long the lead must be slow before proposing",
                                      minimum=0.0)
    overtake_lead_gap_m: float = setting(100.0, unit="m", description="only a lead this close makes an overtake",
                                         minimum=10.0)
    return_clear_gap_m: float = setting(
        15.0, unit="m", description="the overtaken vehicle must be this far behind before the return",
        minimum=0.0)
    proposal_timeout_s: float = setting(
        10.0, unit="s", description="time the driver has to confirm a proposal", minimum=3.0, maximum=30.0,
        source="UN R171: enough time to confirm; openpilot: 10 s lane-change timeout")
    proposal_cooldown_s: float = setting(15.0, unit="s", description="quiet time after a proposal ends unused",
                                         minimum=0.0)
    destination: str = setting("", description="navigation destination: a named point of the map, a lanelet id "
                                               "or 'lat,lon'; empty: no route, in-lane and overtakes only")
    route_fallback: str = setting("handover", description="when a required lane change was not made in time: "
                                                          "'reroute' (new route from here) or 'handover'")
    route_horizon_m: float = setting(3000.0, unit="m", description="route events reported this far ahead",
                                     minimum=100.0)
    route_quiet_m: float = setting(
        2000.0, unit="m", description="no overtake proposals this close to a required lane change", minimum=0.0)

    def check(self) -> tuple[str, str] | None:
        if self.route_fallback not in ("handover", "reroute"):
            return "route_fallback", f"must be 'handover' or 'reroute', not {self.route_fallback!r}"
        return None


class BehaviourPlanner:
    def __init__(self, settings: PlannerSettings, lane_change: LaneChangeSettings, safety: SafetySettings,
                 hdmap: HDMap):
        self.settings = settings
        self.lane_change_settings = lane_change
        self.safety_settings = safety
        self.hdmap = hdmap
        self.overtaking_direction = +1 if hdmap.traffic_side == "right" else -1  # right-hand traffic: left lane
        self.book = ProposalBook(settings.proposal_timeout_s)
        self._change: LaneChange | None = None
        self._change_proposal = ""
        self._source_index = 0
        self._slow_lead_since: float | None = None
        self._quiet_until = -math.inf
        self._overtaken = False  # an overtake succeeded and the return is still to come
        self.route: Route | None = None
        self._route_failed = ""  # why no route could be planned, or why route driving must end
        self._route_travelled = 0.0

    # --- the cycle --------------------------------------------------------------------------------

    def plan(self, ego: EgoEstimate | None, lane: LanePosition, tracks: tuple[Track, ...], hmi: HmiState) -> Plan:
        t = hmi.t_s
        self.book.begin_cycle()
        route = self._route_status(ego, lane) if ego is not None and lane.matched else None
        engaged = hmi.pilot_state.engaged or hmi.pilot_state == PilotState.TAKEOVER_REQUEST
        if ego is None or not lane.matched or not (engaged or hmi.pilot_state == PilotState.MINIMAL_RISK):
            self._stop_lane_change(ProposalState.ABORTED, "route driving is off")
            if ego is None or not lane.matched:
                return Plan(t_s=t, active=False, proposals=self.book.snapshot())
            return self._in_lane_plan(ego, lane, tracks, hmi, route, active=False)
        if hmi.pilot_state == PilotState.MINIMAL_RISK:
            self._stop_lane_change(ProposalState.ABORTED, "minimal-risk stop")
            return self._in_lane_plan(ego, lane, tracks, hmi, route, active=True, mode=CommandMode.MINIMAL_RISK)

        self._handle_proposals(t, ego, lane, tracks, hmi)
        if hmi.lane_change_request and self._change is None:
            self._driver_request(t, ego, lane, tracks, hmi.lane_change_request)
        if self._change is not None:
            self._advance_lane_change(t, ego, lane, tracks)
        elif not self._route_manoeuvre(t, ego, lane, tracks, hmi) and self.book.open_proposal() is None \
                and t >= self._quiet_until:
            self._look_for_manoeuvre(t, ego, lane, tracks, hmi)
        return self._in_lane_plan(ego, lane, tracks, hmi, route, active=True)

    # --- proposals --------------------------------------------------------------------------------

    def _handle_proposals(self, t: float, ego: EgoEstimate, lane: LanePosition, tracks: tuple[Track, ...],
                          hmi: HmiState) -> None:
        before = {p.uuid for p in self.book.snapshot()}
        self.book.expire(t)
        if hmi.rejected_proposal_uuid:
            self.book.end(hmi.rejected_proposal_uuid, ProposalState.REJECTED, "declined by the driver")
        proposal = self.book.open_proposal()
        if proposal is not None and proposal.state == ProposalState.PROPOSED:
            verdict = self._verdict(lane, tracks, ego, proposal.direction, monitor_ok=hmi.eyes_on_road)
            self.book.update_safety(proposal.uuid, verdict.safe, verdict.critical_margin_m, verdict.reason)
            if hmi.approved_proposal_uuid == proposal.uuid and self.book.approve(proposal.uuid) is not None:
                self._start_lane_change(t, proposal.direction, lane, proposal.uuid)
        if before - {p.uuid for p in self.book.snapshot() if p.state.open}:
            self._quiet_until = t + self.settings.proposal_cooldown_s  # expired or declined: do not nag

    def _driver_request(self, t: float, ego: EgoEstimate, lane: LanePosition, tracks: tuple[Track, ...],
                        direction: int) -> None:
        verdict = self._verdict(lane, tracks, ego, direction, monitor_ok=True)
        if not verdict.safe:
            self.book.refused(t, ProposalKind.DRIVER_REQUESTED, direction, f"refused: {verdict.reason}",
                              verdict.critical_margin_m)
            return
        self.book.end_all(ProposalState.ABORTED, "replaced by the driver's lane change")
        target = self._neighbour(lane.lanelet_id, direction) or 0
        proposal = self.book.propose(t, ProposalKind.DRIVER_REQUESTED, direction, target, "driver's turn signal",
                                     verdict.critical_margin_m, ProposalState.EXECUTING)
        self._start_lane_change(t, direction, lane, proposal.uuid)

    def _look_for_manoeuvre(self, t: float, ego: EgoEstimate, lane: LanePosition, tracks: tuple[Track, ...],
                            hmi: HmiState) -> None:
        s = self.settings
        lead = self._lead(tracks, (0,))
        slow = (lead is not None and lead.gap_m < s.overtake_lead_gap_m
                and ego.speed_mps + lead.relative_speed_mps < hmi.set_speed_mps - s.overtake_speed_margin_mps)
        self._slow_lead_since = (self._slow_lead_since if self._slow_lead_since is not None else t) if slow else None
        overtake = self.overtaking_direction
        if self._slow_lead_since is not None and t - self._slow_lead_since >= s.overtake_after_s:
            if self._neighbour(lane.lanelet_id, overtake) is not None:
                self._propose_if_safe(t, ego, lane, tracks, hmi, ProposalKind.OVERTAKE, overtake,
                                      f"slower vehicle ahead ({ego.speed_mps + lead.relative_speed_mps:.0f} m/s)")
        elif self._overtaken and self._return_is_clear(tracks, ego, hmi):
            self._propose_if_safe(t, ego, lane, tracks, hmi, ProposalKind.RETURN, -overtake,
                                  "overtaking done: back to the travel lane")

    def _propose_if_safe(self, t: float, ego: EgoEstimate, lane: LanePosition, tracks: tuple[Track, ...],
                         hmi: HmiState, kind: ProposalKind, direction: int, reason: str,
                         last_point_m: float = math.inf) -> None:
        verdict = self._verdict(lane, tracks, ego, direction, monitor_ok=hmi.eyes_on_road)
        if verdict.safe:
            target = self._neighbour(lane.lanelet_id, direction) or 0
            self.book.propose(t, kind, direction, target, reason, verdict.critical_margin_m, last_point_m=last_point_m)

    def _return_is_clear(self, tracks: tuple[Track, ...], ego: EgoEstimate, hmi: HmiState) -> bool:
        """Nobody in the travel lane we would have to overtake again, nobody just behind us there."""
        s = self.settings
        back = -self.overtaking_direction
        for track in tracks:
            if track.relative_lane != back:
                continue
            slower = ego.speed_mps + track.relative_speed_mps < hmi.set_speed_mps - s.overtake_speed_margin_mps
            if -s.return_clear_gap_m < track.gap_m < s.overtake_lead_gap_m and (slower or track.gap_m < 0):
                return False
        return True

    # --- navigation route -------------------------------------------------------------------------

    def _route_status(self, ego: EgoEstimate, lane: LanePosition) -> RouteStatus | None:
        """Plan the route once (from here to the destination) and say where on it the ego is."""
        if not self.settings.destination:
            return None
        if self.route is None and not self._route_failed:
            self.route = self._plan_route(ego)
        if self.route is None:
            return RouteStatus(0.0, 0.0, (RouteNotice("route_drive_end", 0.0, self._route_failed),))
        here = self.route.distance_of(self.hdmap, lane.lanelet_id, lane.arc_length_m)
        if here is not None:
            self._route_travelled = here
        if here is None or self._route_failed:
            arrived = self._route_travelled >= self.route.length_m - ARRIVAL_MARGIN_M
            reason = self._route_failed or ("destination reached" if arrived else "off the route")
            return RouteStatus(self.route.length_m, 0.0, (RouteNotice("route_drive_end", 0.0, reason),))
        required = self._lane_changes_needed(lane, here)
        ended = any(e.kind == "route_drive_end" and here >= e.distance_m - 1.0 for e in self.route.events)
        end = (RouteNotice("route_drive_end", 0.0, "route driving ends here"),) if ended else ()
        ahead = end + tuple(
            RouteNotice(e.kind, e.distance_m - here, e.name, e.value if e.value is not None else math.nan,
                        required if e.kind in ("exit", "branch", "lane_drop") else 0)
            for e in self.route.events if -1.0 <= e.distance_m - here <= self.settings.route_horizon_m)
        return RouteStatus(self.route.length_m, here, ahead)

    def _plan_route(self, ego: EgoEstimate) -> Route | None:
        destination: str | int = self.settings.destination
        if destination.isdigit():
            destination = int(destination)
        try:
            return self.hdmap.route(self.hdmap.unproject(ego.pose.x_m, ego.pose.y_m), destination)
        except RouteError as exc:
            self._route_failed = f"no route: {exc}"
            return None

    def _next_route_change(self, lane: LanePosition, here: float):
        """The first lane change of the route not yet made, or None."""
        for change in self.route.lane_changes:
            if change.latest_m > here and lane.lane_index == self.hdmap.lane_index(change.from_lanelet_id)[0]:
                return change
        return None

    def _lane_changes_needed(self, lane: LanePosition, here: float) -> int:
        changes = [c for c in self.route.lane_changes if c.latest_m > here]
        if not changes:
            return 0
        return lane.lane_index - self.hdmap.lane_index(changes[-1].to_lanelet_id)[0]  # + means to the left

    def _route_takes_ramp(self) -> bool:
        return self.route is not None and any(self.hdmap.is_ramp(i) for i in self.route.lanelet_ids)

    def _route_manoeuvre(self, t: float, ego: EgoEstimate, lane: LanePosition, tracks: tuple[Track, ...],
                         hmi: HmiState) -> bool:
        """Propose the next lane change the route needs inside its window; True while one is due."""
        if self.route is None or self._route_failed:
            return False
        here = self.route.distance_of(self.hdmap, lane.lanelet_id, lane.arc_length_m)
        if here is None:
            return False
        change = self._next_route_change(lane, here)
        if change is None:  # in the right lane already: stay there when the exit or branch is near
            return any(e.kind in ("exit", "branch") and 0.0 <= e.distance_m - here <= self.settings.route_quiet_m
                       for e in self.route.events)
        if here < change.earliest_m - self.settings.route_quiet_m:
            return False
        if here < change.earliest_m:
            return True  # close to a required change: no overtakes now
        last_safe = change.latest_m - ego.speed_mps * (self.lane_change_settings.indicator_lead_s
                                                       + self.lane_change_settings.move_duration_s())
        kind = ProposalKind.EXIT if change.reason == "exit" else ProposalKind.BRANCH
        if here > last_safe:
            self._missed_route_change(ego, kind)
            return True
        direction = +1 if change.direction == "left" else -1
        if self.book.open_proposal() is None:
            self._propose_if_safe(t, ego, lane, tracks, hmi, kind, direction,
                                  f"{change.reason}: {change.latest_m - here:.0f} m left to change lane",
                                  last_point_m=last_safe - here)
        return True

    def _missed_route_change(self, ego: EgoEstimate, kind: ProposalKind) -> None:
        what = "exit" if kind == ProposalKind.EXIT else "branch"
        self.book.end_all(ProposalState.ABORTED, f"{what} missed: the last safe point has passed")
        if self.settings.route_fallback == "reroute":
            self.route = None
            self.route = self._plan_route(ego)
            if self.route is not None:
                return
        self._route_failed = f"{what} missed: please take over"

    # --- lane change ------------------------------------------------------------------------------

    def _start_lane_change(self, t: float, direction: int, lane: LanePosition, proposal_id: str) -> None:
        self._change = LaneChange(self.lane_change_settings, direction, t)
        self._change_proposal = proposal_id
        self._source_index = lane.lane_index
        self._slow_lead_since = None

    def _advance_lane_change(self, t: float, ego: EgoEstimate, lane: LanePosition,
                             tracks: tuple[Track, ...]) -> None:
        change = self._change
        crossed = lane.lane_index != self._source_index
        if crossed:
            verdict = SafetyVerdict(True, "", math.inf)
        else:
            verdict = self._verdict(lane, tracks, ego, change.direction, monitor_ok=True)
        change.update(t, verdict.safe, crossed, verdict.reason)
        if change.phase == Phase.DONE:
            kind = next((p.kind for p in self.book.snapshot() if p.uuid == self._change_proposal), None)
            self.book.end(self._change_proposal, ProposalState.SUCCEEDED, "done")
            self._overtaken = kind == ProposalKind.OVERTAKE or (
                kind == ProposalKind.DRIVER_REQUESTED and change.direction == self.overtaking_direction)
            self._change = None
        elif change.phase == Phase.CANCELLED:
            self._stop_lane_change(ProposalState.ABORTED, change.reason)

    def _stop_lane_change(self, state: ProposalState, reason: str) -> None:
        self.book.end_all(state, reason)
        self._change = None

    def _verdict(self, lane: LanePosition, tracks: tuple[Track, ...], ego: EgoEstimate, direction: int,
                 monitor_ok: bool) -> SafetyVerdict:
        target = self._neighbour(lane.lanelet_id, direction)
        if target is None:
            return SafetyVerdict(False, "no lane there", math.inf)
        if not monitor_ok:
            return SafetyVerdict(False, "driver not watching the road", math.inf)
        allowed = self.hdmap.lane_change_allowed(lane.lanelet_id, target)
        return check_lane_change(self.safety_settings, tracks, ego.speed_mps, direction, allowed)

    def _neighbour(self, lanelet_id: int, direction: int) -> int | None:
        return self.hdmap.left_of(lanelet_id) if direction > 0 else self.hdmap.right_of(lanelet_id)

    # --- path and speed ---------------------------------------------------------------------------

    def _in_lane_plan(self, ego: EgoEstimate, lane: LanePosition, tracks: tuple[Track, ...], hmi: HmiState,
                      route: RouteStatus | None, active: bool, mode: CommandMode = CommandMode.ROUTE_PILOT) -> Plan:
        s = self.settings
        length = max(s.path_length_min_m, ego.speed_mps * s.path_horizon_s)
        path = self.hdmap.path_ahead(lane.lanelet_id, lane.arc_length_m, length, s.path_spacing_m,
                                     prefer_ramp=self._route_takes_ramp())
        lanes_occupied = (0,)
        turn_signal = TurnSignal.OFF
        if self._change is not None:
            path = self._blended_path(ego, lane, path, length)
            turn_signal = self._change.turn_signal
            if self._change.phase != Phase.SIGNALLING:
                lanes_occupied = (0, self._change.direction if lane.lane_index == self._source_index
                                  else -self._change.direction)
        target = min(hmi.set_speed_mps, self.hdmap.speed_limit_mps(lane.lanelet_id), self._curve_speed(path))
        if mode == CommandMode.MINIMAL_RISK:
            target = 0.0
        points = tuple(PathPoint(float(x), float(y), float(yaw), float(k), target) for x, y, yaw, k in path)
        lead = self._lead(tracks, lanes_occupied)
        return Plan(
            t_s=ego.t_s, active=active, points=points, target_lanelet_id=lane.lanelet_id, target_speed_mps=target,
            lead_valid=lead is not None, lead_track_id=lead.track_id if lead else 0,
            lead_gap_m=lead.gap_m if lead else math.inf,
            lead_speed_mps=(ego.speed_mps + lead.relative_speed_mps) if lead else 0.0,
            time_gap_s=hmi.time_gap_s, turn_signal=turn_signal, mode=mode, proposals=self.book.snapshot(),
            route=route,
        )

    def _blended_path(self, ego: EgoEstimate, lane: LanePosition, own: np.ndarray, length: float) -> np.ndarray:
        """Source and target centrelines blended by the lane change's weight at each point's arrival time."""
        change = self._change
        in_source = lane.lane_index == self._source_index
        other_id = self._neighbour(lane.lanelet_id, change.direction if in_source else -change.direction)
        if other_id is None:
            return own
        beside = self.hdmap.arc_length_on(other_id, float(own[0, 0]), float(own[0, 1]))  # lanes are parallel
        other_path = self.hdmap.path_ahead(other_id, beside, length, self.settings.path_spacing_m)
        n = min(len(own), len(other_path))
        source, target = (own[:n], other_path[:n]) if in_source else (other_path[:n], own[:n])
        arrival = ego.t_s + np.arange(n) * self.settings.path_spacing_m / max(ego.speed_mps, 1.0)
        w = np.array([change.weight(float(t)) for t in arrival])[:, None]
        xy = (1.0 - w) * source[:, :2] + w * target[:, :2]
        yaw = np.arctan2(np.gradient(xy[:, 1]), np.gradient(xy[:, 0])) if n > 1 else source[:, 2]
        curvature = (1.0 - w[:, 0]) * source[:, 3] + w[:, 0] * target[:, 3]
        return np.column_stack([xy, yaw, curvature])

    def _curve_speed(self, path: np.ndarray) -> float:
        """v = sqrt(a_lat / |kappa|) for the tightest curvature ahead."""
        kappa = float(np.max(np.abs(path[:, 3]))) if len(path) else 0.0
        return math.sqrt(self.settings.curve_lat_accel_mps2 / kappa) if kappa > 1e-6 else math.inf

    def _lead(self, tracks: tuple[Track, ...], lanes: tuple[int, ...]) -> Track | None:
        ahead = [t for t in tracks if t.relative_lane in lanes and 0.0 < t.gap_m <= self.settings.lead_max_gap_m]
        return min(ahead, key=lambda t: t.gap_m, default=None)
