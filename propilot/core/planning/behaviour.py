"""Behaviour planner, in-lane part: which path to follow and how fast.

In: the ego estimate, its lane position, the tracked objects and the HMI state.
Out: a `Plan` for the controllers: the ego lane's centreline ahead (from the HD
map), the target speed (driver's set speed, map speed limit, curve speed) and the
lead vehicle to follow. Lane changes (proposals) build on this in later parts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from propilot.core.map.hdmap import HDMap
from propilot.core.settings import setting
from propilot.core.types import EgoEstimate, HmiState, LanePosition, PathPoint, Plan, Track


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


class BehaviourPlanner:
    def __init__(self, settings: PlannerSettings, hdmap: HDMap):
        self.settings = settings
        self.hdmap = hdmap

    def plan(self, ego: EgoEstimate | None, lane: LanePosition, tracks: tuple[Track, ...], hmi: HmiState) -> Plan:
        if ego is None or not lane.matched:
            return Plan(t_s=hmi.t_s, active=False)
        s = self.settings
        length = max(s.path_length_min_m, ego.speed_mps * s.path_horizon_s)
        path = self.hdmap.path_ahead(lane.lanelet_id, lane.arc_length_m, length, s.path_spacing_m)
        speed_limit = self.hdmap.speed_limit_mps(lane.lanelet_id)
        curve_speed = self._curve_speed(path)
        target = min(hmi.set_speed_mps, speed_limit, curve_speed)
        points = tuple(PathPoint(float(x), float(y), float(yaw), float(k), target) for x, y, yaw, k in path)
        lead = self._lead(tracks)
        return Plan(
            t_s=ego.t_s,
            active=hmi.pilot_state.engaged,
            points=points,
            target_lanelet_id=lane.lanelet_id,
            target_speed_mps=target,
            lead_valid=lead is not None,
            lead_track_id=lead.track_id if lead else 0,
            lead_gap_m=lead.gap_m if lead else math.inf,
            lead_speed_mps=(ego.speed_mps + lead.relative_speed_mps) if lead else 0.0,
            time_gap_s=hmi.time_gap_s,
        )

    def _curve_speed(self, path: np.ndarray) -> float:
        """v = sqrt(a_lat / |kappa|) for the tightest curvature ahead."""
        kappa = float(np.max(np.abs(path[:, 3]))) if len(path) else 0.0
        return math.sqrt(self.settings.curve_lat_accel_mps2 / kappa) if kappa > 1e-6 else math.inf

    def _lead(self, tracks: tuple[Track, ...]) -> Track | None:
        ahead = [t for t in tracks if t.relative_lane == 0 and 0.0 < t.gap_m <= self.settings.lead_max_gap_m]
        return min(ahead, key=lambda t: t.gap_m, default=None)
