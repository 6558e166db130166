"""Metrics of a remote-parking run, measured against the simulator's truth.

In, each step: the time, the world (true ego, obstacles, clearances), the fob simulator (when the
last valid hold arrived: genuine, received, operator within range) and the stack's command and
parking status. Out: `values()`, the metrics of `PARKING_METRIC_NAMES`, and a per-step series.

- `motion_without_valid_hold_s`: time the car moved more than `STOP_ALLOWANCE_S` after the
  operator's command lapsed (the last valid hold plus its period, or a release): any value above
  0 is motion the operator did not command.
- `max_stop_time_s`, `max_stop_distance_m`: from the moment a hold lapsed while moving (the next
  hold was due and did not come, the operator pressed STOP, or walked out of range) to a standstill.
- `min_clearance_m`: the smallest true distance between the car's body and any obstacle;
  `collisions`: obstacles touched. Final pose: for a manoeuvre into a space, the car centre's
  distance from the space's centre line, its heading error to the space's axis, and whether the
  whole body lies inside the space.
"""

from __future__ import annotations

import math

from shapely.geometry import Polygon

from propilot.core.map.hdmap import ParkingSpace
from propilot.core.parking.types import ParkingCommand, ParkingStatus, ParkState
from propilot.core.vehicle import EGO
from propilot.sim.parking_fob import FobSimulator
from propilot.sim.parking_scenario import ParkingScenario
from propilot.sim.parking_world import ParkingWorld, ego_box

STOP_ALLOWANCE_S = 0.3  # the car must stand within 0.3 s of a lapsed hold (remote park requirement)
MOVING_MPS = 0.02
_SPACE_TOLERANCE_M = 0.05  # the body may touch the painted line


class ParkingMetrics:
    def __init__(self, scenario: ParkingScenario, space: ParkingSpace):
        self.scenario = scenario
        self.space = space
        self.without_hold_s = 0.0
        self.moving_s = 0.0
        self.min_clearance_m = math.inf
        self.touched: set[str] = set()
        self.stop_times: list[float] = []
        self.stop_distances: list[float] = []
        self._lapse: tuple[float, float] | None = None  # (lapse time, distance travelled since)
        self.blocked_stops = 0
        self.rejections: dict[str, int] = {}
        self.max_speed_mps = 0.0
        self.travelled_m = 0.0
        self.last_state = ParkState.IDLE
        self.series: list[dict[str, object]] = []

    def observe(self, t_s: float, world: ParkingWorld, fob: FobSimulator, command: ParkingCommand,
                status: ParkingStatus) -> None:
        dt = self.scenario.step_s
        speed = world.ego.speed_mps
        moving = speed > MOVING_MPS
        self.max_speed_mps = max(self.max_speed_mps, speed)
        self.travelled_m += speed * dt
        if moving:
            self.moving_s += dt
            if t_s > fob.valid_until_s + STOP_ALLOWANCE_S + 1e-9:
                self.without_hold_s += dt
        # a lapse while moving: a hold was due and did not come, STOP, or the operator out of range
        if self._lapse is None and moving and t_s > fob.valid_until_s + 1e-9:
            start = fob.valid_until_s
            self._lapse = (start, speed * (t_s - start))
        elif self._lapse is not None:
            if moving:
                self._lapse = (self._lapse[0], self._lapse[1] + speed * dt)
            else:
                self.stop_times.append(t_s - self._lapse[0])
                self.stop_distances.append(self._lapse[1])
                self._lapse = None
        for obstacle_id, clearance in world.clearances().items():
            self.min_clearance_m = min(self.min_clearance_m, clearance)
            if clearance <= 0.0:
                self.touched.add(obstacle_id)
        if status.state == ParkState.BLOCKED and self.last_state != ParkState.BLOCKED:
            self.blocked_stops += 1
        for reason in status.fob_rejections:
            self.rejections[reason] = self.rejections.get(reason, 0) + 1
        self.last_state = status.state
        self.series.append({
            "t_s": round(t_s, 3), "x_m": world.ego.x_m, "y_m": world.ego.y_m, "speed_mps": world.ego.signed_speed_mps,
            "accel_mps2": world.ego.accel_mps2, "accel_cmd_mps2": command.accel_mps2,
            "lat_accel_mps2": world.ego.speed_mps ** 2 * world.ego.curvature_1pm, "gap_ahead_m": "",
            "pilot_state": "OFF", "parking_state": status.state.name, "reason": status.reason,
            "gear": command.gear.name, "parking_brake": int(command.parking_brake),
            "operator_distance_m": round(fob.operator_distance_m, 3),
            "sonar_min_m": status.min_clearance_m if math.isfinite(status.min_clearance_m) else "",
        })

    def final_pose(self, world: ParkingWorld) -> dict[str, float]:
        """Where the car ended up relative to the target space."""
        sp = self.space
        c, s = math.cos(sp.heading_rad), math.sin(sp.heading_rad)
        centre_x = world.ego.x_m + EGO.centre_from_base_m * math.cos(world.ego.yaw_rad)
        centre_y = world.ego.y_m + EGO.centre_from_base_m * math.sin(world.ego.yaw_rad)
        mid_x = 0.5 * (sp.entry_xy_m[0] + sp.end_xy_m[0])
        mid_y = 0.5 * (sp.entry_xy_m[1] + sp.end_xy_m[1])
        across = -(centre_x - mid_x) * s + (centre_y - mid_y) * c
        heading = (world.ego.yaw_rad - sp.heading_rad + math.pi / 2) % math.pi - math.pi / 2  # either way round
        half_w = sp.width_m / 2.0 + _SPACE_TOLERANCE_M
        ex, ey = sp.entry_xy_m
        area = Polygon([(ex - s * half_w - c * _SPACE_TOLERANCE_M, ey + c * half_w - s * _SPACE_TOLERANCE_M),
                        (ex + s * half_w - c * _SPACE_TOLERANCE_M, ey - c * half_w - s * _SPACE_TOLERANCE_M),
                        (sp.end_xy_m[0] + s * half_w + c * _SPACE_TOLERANCE_M,
                         sp.end_xy_m[1] - c * half_w + s * _SPACE_TOLERANCE_M),
                        (sp.end_xy_m[0] - s * half_w + c * _SPACE_TOLERANCE_M,
                         sp.end_xy_m[1] + c * half_w + s * _SPACE_TOLERANCE_M)])
        return {"final_position_error_m": abs(across), "final_heading_error_deg": abs(math.degrees(heading)),
                "final_inside_space": float(area.contains(ego_box(world.ego)))}

    def values(self, world: ParkingWorld) -> dict[str, float]:
        return {
            "collisions": float(len(self.touched)),
            "min_clearance_m": self.min_clearance_m,
            "motion_without_valid_hold_s": round(self.without_hold_s, 6),
            "max_stop_time_s": max(self.stop_times, default=0.0),
            "max_stop_distance_m": max(self.stop_distances, default=0.0),
            **self.final_pose(world),
            "completed": float(self.last_state == ParkState.COMPLETED),
            "aborted": float(self.last_state == ParkState.ABORTED),
            "blocked_stops": float(self.blocked_stops),
            "fob_rejected": float(sum(self.rejections.values())),
            "fob_rejected_replayed": float(self.rejections.get("replayed", 0)),
            "fob_rejected_forged_mac": float(self.rejections.get("forged_mac", 0)),
            "fob_rejected_stale": float(self.rejections.get("stale", 0)),
            "fob_rejected_out_of_order": float(self.rejections.get("out_of_order", 0)),
            "max_speed_mps": self.max_speed_mps,
            "travelled_m": self.travelled_m,
            "moving_s": round(self.moving_s, 6),
        }
