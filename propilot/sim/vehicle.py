"""Ego vehicle dynamics: kinematic bicycle at the rear axle with actuator lags.

In: acceleration and curvature commands. Out: the ego's true state after each step
(pose of base_link = rear-axle centre, speed, yaw rate, longitudinal acceleration).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from propilot.core.types import Pose2D
from propilot.core.vehicle import EGO

LENGTH_M = EGO.length_m
WIDTH_M = EGO.width_m
WHEELBASE_M = EGO.wheelbase_m
CENTRE_AHEAD_OF_AXLE_M = EGO.centre_from_base_m
FRONT_AHEAD_OF_AXLE_M = EGO.front_from_base_m
ACCEL_LAG_S = 0.3  # powertrain / brake build-up
CURVATURE_LAG_S = 0.2  # steering actuator
MAX_ACCEL_MPS2 = 3.0  # what the car can do, not what the stack may ask
MAX_DECEL_MPS2 = 9.0


@dataclass(slots=True)
class EgoState:
    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float
    accel_mps2: float = 0.0
    curvature_1pm: float = 0.0

    @property
    def pose(self) -> Pose2D:
        return Pose2D(self.x_m, self.y_m, self.yaw_rad)

    @property
    def yaw_rate_rps(self) -> float:
        return self.speed_mps * self.curvature_1pm

    @property
    def lateral_accel_mps2(self) -> float:
        return self.speed_mps**2 * self.curvature_1pm

    def point_ahead(self, distance_m: float) -> tuple[float, float]:
        return (self.x_m + distance_m * math.cos(self.yaw_rad), self.y_m + distance_m * math.sin(self.yaw_rad))


def step_ego(state: EgoState, dt: float, accel_cmd: float, curvature_cmd: float) -> EgoState:
    accel_target = min(max(accel_cmd, -MAX_DECEL_MPS2), MAX_ACCEL_MPS2)
    accel = state.accel_mps2 + (accel_target - state.accel_mps2) * min(dt / ACCEL_LAG_S, 1.0)
    max_curvature = math.tan(math.radians(35.0)) / WHEELBASE_M
    curvature_target = min(max(curvature_cmd, -max_curvature), max_curvature)
    curvature = state.curvature_1pm + (curvature_target - state.curvature_1pm) * min(dt / CURVATURE_LAG_S, 1.0)
    speed = max(0.0, state.speed_mps + accel * dt)
    if speed == 0.0:
        accel = max(accel, 0.0)
    mean_speed = 0.5 * (speed + state.speed_mps)
    yaw = state.yaw_rad + mean_speed * curvature * dt
    mid_yaw = 0.5 * (yaw + state.yaw_rad)
    return EgoState(
        x_m=state.x_m + mean_speed * math.cos(mid_yaw) * dt,
        y_m=state.y_m + mean_speed * math.sin(mid_yaw) * dt,
        yaw_rad=math.atan2(math.sin(yaw), math.cos(yaw)),
        speed_mps=speed,
        accel_mps2=accel,
        curvature_1pm=curvature,
    )
