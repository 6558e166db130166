"""Scenario metrics from ground truth, and the verdict against the expectations.

In, each step: the ego's true state, the other vehicles, the stack's command and
HMI state. Out: a metrics dict (names in `scenario.METRIC_NAMES`), the list of
expectation results `{name, passed, value, threshold}` and the run's events.
Collisions are footprint overlaps (separating-axis test on oriented rectangles);
TTC and headway are measured to vehicles whose footprint overlaps the ego's
corridor ahead. The driving score has the CARLA Leaderboard's form: route
completion times the product of each infraction's penalty coefficient raised to
its count. Travel time is the time the ego took to cover the distance it drove
along the route, compared with a SUMO-driven ego on the same traffic (the runner
measures that baseline after the run, `world.baseline_travel_time_s`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from propilot.core.map.hdmap import HDMap
from propilot.core.types import EventLog, HmiState, PilotState, ProposalState, VehicleCommand
from propilot.sim.annex8 import lateral_maxima
from propilot.sim.lane_change_metrics import LaneChangeMetrics
from propilot.sim.scenario import Expectation, Scenario
from propilot.sim.sensors import TruthVehicle
from propilot.sim.truth import ego_frame, vehicles_ahead
from propilot.sim.vehicle import LENGTH_M, WIDTH_M, EgoState

LANE_WIDTH_M = 3.5  # lateral position across the carriageway is counted in these
SERIES_COLUMNS = ("t_s", "x_m", "y_m", "speed_mps", "accel_mps2", "lat_accel_mps2", "pilot_state",
                  "warning_level", "turn_signal", "accel_cmd_mps2", "gap_ahead_m")

_NEAR_M = 8.0  # only vehicles this close can touch the ego

# Infraction penalty coefficients of the CARLA Leaderboard 2.0 driving score (carla-simulator/leaderboard,
# branch leaderboard-2.0, leaderboard/utils/statistics_manager.py PENALTY_VALUE_DICT; also
# https://leaderboard.carla.org/#driving-score). Driving score = route completion x prod(coefficient ** count).
# Our highway simulation has neither pedestrians, static obstacles, traffic lights, stop signs nor emergency
# vehicles, so only vehicle collisions occur; the others are listed so the score means the same thing.
LEADERBOARD_PENALTIES = {
    "collision_pedestrian": 0.50,
    "collision_vehicle": 0.60,
    "collision_static": 0.65,
    "red_light": 0.70,
    "stop_sign": 0.80,
    "scenario_timeout": 0.70,
    "yield_to_emergency_vehicle": 0.70,
}


def driving_score(route_completion: float, infractions: dict[str, int]) -> float:
    """Leaderboard form: route completion (0-1) x prod(penalty ** count); the Leaderboard prints it x 100."""
    unknown = sorted(set(infractions) - set(LEADERBOARD_PENALTIES))
    if unknown:
        raise ValueError(f"unknown infractions {unknown} (known: {', '.join(LEADERBOARD_PENALTIES)})")
    penalty = math.prod(LEADERBOARD_PENALTIES[kind] ** count for kind, count in infractions.items())
    return route_completion * penalty


def travel_time_ratio(travel_time_s: float, baseline_travel_time_s: float) -> float:
    """The stack's travel time over the SUMO-driven ego's (> 1: slower); inf when either is unknown."""
    if not (math.isfinite(travel_time_s) and math.isfinite(baseline_travel_time_s)) or baseline_travel_time_s <= 0:
        return math.inf
    return round(travel_time_s / baseline_travel_time_s, 4)


def _corners(x: float, y: float, yaw: float, length: float, width: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    half = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]]) * [length / 2.0, width / 2.0]
    return half @ np.array([[c, s], [-s, c]]) + [x, y]


def footprints_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating-axis test for two convex quadrilaterals given as (4, 2) corners."""
    for poly in (a, b):
        edges = np.roll(poly, -1, axis=0) - poly
        for nx, ny in np.stack([-edges[:, 1], edges[:, 0]], axis=1):
            pa, pb = a @ (nx, ny), b @ (nx, ny)
            if pa.max() < pb.min() or pb.max() < pa.min():
                return False
    return True


@dataclass(frozen=True, slots=True)
class ExpectationResult:
    name: str
    passed: bool
    value: float
    threshold: str

    def as_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "value": self.value, "threshold": self.threshold}


class ScenarioMetrics:
    def __init__(self, scenario: Scenario, hdmap: HDMap, events: EventLog):
        self.scenario = scenario
        self.hdmap = hdmap
        self.events = events
        self._steps = 0
        self._engaged_steps = 0
        self._hands_off_steps = 0
        self._progress: list[tuple[float, float]] = []  # (t, station) each time the farthest station grew
        self._limited_steps = 0
        self._speed_sum = 0.0
        self._in_contact: set[str] = set()
        self.collisions = 0
        self.min_ttc_s = math.inf
        self.min_time_headway_s = math.inf
        self.max_lat_accel_mps2 = 0.0
        self.max_decel_mps2 = 0.0
        self._start_station: float | None = None
        self._station = 0.0
        self._last_state: HmiState | None = None
        self.lane_changes = LaneChangeMetrics(LANE_WIDTH_M)
        self._lateral_accel: list[float] = []
        self._max_warning = 0
        self._minimal_risk_steps = 0
        self._hazard_steps = 0
        self._final_speed = 0.0
        self.proposals: dict[str, dict] = {}  # uuid -> {kind, state, reason, created_s, approval_latency_s}
        self.series: list[tuple] = []  # one row per step, SERIES_COLUMNS
        self.traffic: list[tuple[float, str, float, float]] = []  # (t, id, x, y) once a second, for plots
        self._gap_ahead = math.inf

    def observe(self, t_s: float, ego: EgoState, centre: tuple[float, float], others: list[TruthVehicle],
                hmi: HmiState, command: VehicleCommand) -> None:
        self._steps += 1
        self._engaged_steps += hmi.pilot_state.engaged
        self._hands_off_steps += hmi.pilot_state == PilotState.ENGAGED_HANDS_OFF
        self._limited_steps += command.limited
        self._speed_sum += ego.speed_mps
        self.max_lat_accel_mps2 = max(self.max_lat_accel_mps2, abs(ego.lateral_accel_mps2))
        self.max_decel_mps2 = max(self.max_decel_mps2, -ego.accel_mps2)
        self._lateral_accel.append(ego.lateral_accel_mps2)
        self._max_warning = max(self._max_warning, int(hmi.warning_level))
        self._minimal_risk_steps += hmi.pilot_state == PilotState.MINIMAL_RISK
        self._hazard_steps += command.hazard_lights
        self._final_speed = ego.speed_mps
        located = self._observe_station(t_s, centre)
        self._observe_others(t_s, ego, centre, others)
        if located is not None:
            lane_index = self.hdmap.lane_index(located[0])[0]
            self.lane_changes.observe(t_s, command.turn_signal, lane_index, located[2], self._station_of(located),
                                      ego.speed_mps, LENGTH_M, lambda: self._others_on_lanes(others))
        if self._last_state is None or hmi.pilot_state != self._last_state.pilot_state:
            self.events.add(t_s, "pilot_state", f"{hmi.pilot_state.name}: {hmi.message}".rstrip(": "))
        elif hmi.message and hmi.message != self._last_state.message:
            self.events.add(t_s, "message", hmi.message)
        if hmi.sound:
            self.events.add(t_s, "sound", hmi.sound)
        self._observe_proposals(t_s, hmi)
        self._last_state = hmi
        self.series.append((round(t_s, 3), round(ego.x_m, 3), round(ego.y_m, 3), round(ego.speed_mps, 3),
                            round(ego.accel_mps2, 3), round(ego.lateral_accel_mps2, 4), hmi.pilot_state.name,
                            int(hmi.warning_level), command.turn_signal.name, round(command.accel_mps2, 3),
                            round(self._gap_ahead, 2) if math.isfinite(self._gap_ahead) else ""))
        if self._steps % max(1, int(round(1.0 / self.scenario.step_s))) == 1:
            self.traffic += [(round(t_s, 3), o.vehicle_id, round(o.x_m, 2), round(o.y_m, 2)) for o in others]

    def write_series(self, path) -> None:
        import csv

        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(SERIES_COLUMNS)
            writer.writerows(self.series)
        with open(path.with_name("traffic.csv"), "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(("t_s", "vehicle_id", "x_m", "y_m"))
            writer.writerows(self.traffic)

    def _observe_proposals(self, t_s: float, hmi: HmiState) -> None:
        for p in hmi.proposals:
            record = self.proposals.get(p.uuid)
            if record is None:  # times are when the display first showed it, the same in every mode
                record = self.proposals[p.uuid] = {
                    "kind": p.kind.name, "state": p.state.name, "reason": p.reason, "shown_s": round(t_s, 3),
                    "approval_latency_s": None}
                self.events.add(t_s, "proposal", f"{p.kind.name} {p.state.name}: {p.reason}")
            elif record["state"] != p.state.name:
                if p.state == ProposalState.EXECUTING and p.kind.name != "DRIVER_REQUESTED":
                    record["approval_latency_s"] = round(t_s - record["shown_s"], 3)
                record.update(state=p.state.name, reason=p.reason)
                self.events.add(t_s, "proposal", f"{p.kind.name} {p.state.name}: {p.reason}")

    def _station_of(self, located: tuple[int, float, float]) -> float:
        return self.hdmap.station(located[0], located[1])

    def _others_on_lanes(self, others: list[TruthVehicle]) -> list[tuple[int, float, float, float]]:
        out = []
        for o in others:
            located = self.hdmap.locate(o.x_m, o.y_m)
            if located is not None:
                out.append((self.hdmap.lane_index(located[0])[0], self._station_of(located), o.speed_mps,
                            o.length_m))
        return out

    def _observe_station(self, t_s: float, centre: tuple[float, float]) -> tuple[int, float, float] | None:
        located = self.hdmap.locate(*centre)
        if located is None:
            return None
        station = self.hdmap.station(located[0], located[1])
        if self._start_station is None:
            self._start_station = self._station = station
        if station > self._station:
            self._station = station
            self._progress.append((t_s, station))
        return located

    def _observe_others(self, t_s: float, ego: EgoState, centre: tuple[float, float],
                        others: list[TruthVehicle]) -> None:
        self._gap_ahead = math.inf
        if not others:
            return
        dx, dy = ego_frame(centre, ego.yaw_rad, others)
        ego_box = _corners(centre[0], centre[1], ego.yaw_rad, LENGTH_M, WIDTH_M)
        for i in np.nonzero(np.hypot(dx, dy) < _NEAR_M)[0]:
            o = others[i]
            touching = footprints_overlap(ego_box, _corners(o.x_m, o.y_m, o.yaw_rad, o.length_m, o.width_m))
            if touching and o.vehicle_id not in self._in_contact:
                self.collisions += 1
                self.events.add(t_s, "collision", o.vehicle_id)
            (self._in_contact.add if touching else self._in_contact.discard)(o.vehicle_id)
        for ahead in vehicles_ahead(centre, ego.yaw_rad, others, dx, dy):
            gap, closing = ahead.gap_m, ego.speed_mps - ahead.speed_along_mps
            self._gap_ahead = min(self._gap_ahead, gap)
            if gap > 0 and closing > 0:
                self.min_ttc_s = min(self.min_ttc_s, gap / closing)
            if gap > 0 and ego.speed_mps > 1.0:
                self.min_time_headway_s = min(self.min_time_headway_s, gap / ego.speed_mps)

    def route_completion(self) -> float:
        if self._start_station is None:
            return 0.0
        span = self.scenario.destination_station_m - self._start_station
        return float(min(max((self._station - self._start_station) / span, 0.0), 1.0)) if span > 0 else 1.0

    def travel_distance_m(self) -> float:
        """Distance along the route the ego covered towards the destination (stations, centre of the car)."""
        if self._start_station is None:
            return 0.0
        return max(min(self._station, self.scenario.destination_station_m) - self._start_station, 0.0)

    def travel_time_s(self) -> float:
        """When the ego first reached the end of travel_distance_m (the destination or its farthest point)."""
        if self._start_station is None or not self._progress:
            return math.inf
        end = self._start_station + self.travel_distance_m()
        return round(next(t for t, station in self._progress if station >= end - 1e-6), 3)

    def values(self) -> dict[str, float]:
        steps = max(self._steps, 1)
        lat_accel, lat_jerk = lateral_maxima(np.array(self._lateral_accel), self.scenario.step_s)
        states = [p["state"] for p in self.proposals.values()]
        kinds = [p["kind"] for p in self.proposals.values()]
        system = [s for s, k in zip(states, kinds, strict=True) if k != "DRIVER_REQUESTED"]
        latencies = [p["approval_latency_s"] for p in self.proposals.values() if p["approval_latency_s"] is not None]
        completion = round(self.route_completion(), 4)
        return {
            "collisions": self.collisions,
            "min_ttc_s": self.min_ttc_s,
            "min_time_headway_s": self.min_time_headway_s,
            "route_completion": completion,
            "driving_score": round(driving_score(completion, {"collision_vehicle": self.collisions}), 4),
            "engaged_share": round(self._engaged_steps / steps, 4),
            "hands_off_share": round(self._hands_off_steps / max(self._engaged_steps, 1), 4),
            "max_lat_accel_mps2": round(lat_accel, 4),
            "max_lat_jerk_mps3": round(lat_jerk, 4),
            "max_decel_mps2": round(self.max_decel_mps2, 4),
            "mean_speed_mps": round(self._speed_sum / steps, 4),
            "final_speed_mps": round(self._final_speed, 4),
            "supervisor_limited_share": round(self._limited_steps / steps, 4),
            "lane_changes": self.lane_changes.crossings,
            "critical_distance_margin_m": self.lane_changes.critical_margin_m,
            "indicator_to_lateral_s": self.lane_changes.indicator_to_lateral_s(),
            "lateral_duration_s": round(self.lane_changes.lateral_duration_s(), 4),
            "proposals_made": len(system),
            "proposals_accepted": sum(1 for p in self.proposals.values()
                                      if p["kind"] != "DRIVER_REQUESTED" and p["approval_latency_s"] is not None),
            "proposals_expired": system.count("EXPIRED"),
            "proposals_rejected": system.count("REJECTED"),
            "proposals_aborted": states.count("ABORTED"),
            "mean_approval_latency_s": round(sum(latencies) / len(latencies), 3) if latencies else math.inf,
            "max_approval_latency_s": max(latencies, default=math.inf),
            "refused_requests": sum(1 for s, k in zip(states, kinds, strict=True)
                                    if k == "DRIVER_REQUESTED" and s == "REJECTED"),
            "max_warning_level": self._max_warning,
            "minimal_risk_s": round(self._minimal_risk_steps * self.scenario.step_s, 3),
            "hazard_lights_s": round(self._hazard_steps * self.scenario.step_s, 3),
            "travel_time_s": self.travel_time_s(),
        }


def evaluate(expectations: tuple[Expectation, ...], values: dict[str, float]) -> list[ExpectationResult]:
    results = []
    for e in expectations:
        value = values[e.metric]
        passed = (e.minimum is None or value >= e.minimum) and (e.maximum is None or value <= e.maximum)
        bounds = [f">= {e.minimum:g}" if e.minimum is not None else "", f"<= {e.maximum:g}" if e.maximum is not None
                  else ""]
        results.append(ExpectationResult(e.metric, bool(passed), value, " and ".join(b for b in bounds if b)))
    return results
