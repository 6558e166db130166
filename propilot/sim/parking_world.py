"""Parking world: the ego at walking pace in a car park, with parked cars, poles and pedestrians.

In: a `ParkingScenario`, and each step the `ParkingCommand` (acceleration along the way of travel,
curvature, gear, parking brake). Out: the ego's true state (pose of base_link, speed with its sign
from the engaged gear), the `VehicleMotion` the car reports, the obstacles present as sensor-model
boxes, and the true clearance between the car's body and each obstacle (0 = collision).

Ego dynamics: kinematic bicycle at the rear axle; the brake and drive build up with a first-order lag
of `ACCEL_LAG_S` (brake pressure at creep speed), steering with `CURVATURE_LAG_S`. A gear change
takes effect at a standstill only; PARK and the parking brake hold the car.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from shapely.geometry import Polygon

from propilot.core.parking.types import Gear, ParkingCommand, VehicleMotion
from propilot.core.types import Pose2D
from propilot.core.vehicle import EGO
from propilot.sim.parking_scenario import Obstacle, ParkingScenario
from propilot.sim.sensors import TruthVehicle

ACCEL_LAG_S = 0.1  # brake pressure / creep torque build-up
CURVATURE_LAG_S = 0.2  # steering actuator
MAX_ACCEL_MPS2 = 3.0
MAX_DECEL_MPS2 = 9.0
MAX_CURVATURE_1PM = math.tan(math.radians(35.0)) / EGO.wheelbase_m
STANDSTILL_MPS = 0.01


@dataclass(frozen=True, slots=True)
class ParkingEgo:
    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float  # >= 0, along the engaged gear's direction
    gear: Gear = Gear.PARK
    accel_mps2: float = 0.0
    curvature_1pm: float = 0.0

    @property
    def pose(self) -> Pose2D:
        return Pose2D(self.x_m, self.y_m, self.yaw_rad)

    @property
    def signed_speed_mps(self) -> float:
        return -self.speed_mps if self.gear == Gear.REVERSE else self.speed_mps

    @property
    def yaw_rate_rps(self) -> float:
        return self.signed_speed_mps * self.curvature_1pm


def box(x_m: float, y_m: float, yaw_rad: float, ahead_m: float, behind_m: float, half_width_m: float) -> Polygon:
    """A rectangle around a reference point: ahead_m forward, behind_m back, half_width_m each side."""
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    corners = [(ahead_m, half_width_m), (-behind_m, half_width_m), (-behind_m, -half_width_m),
               (ahead_m, -half_width_m)]
    return Polygon([(x_m + c * a - s * b, y_m + s * a + c * b) for a, b in corners])


def ego_box(ego: ParkingEgo) -> Polygon:
    return box(ego.x_m, ego.y_m, ego.yaw_rad, EGO.front_from_base_m, EGO.rear_overhang_m, EGO.width_m / 2.0)


def obstacle_box(o: Obstacle) -> Polygon:
    return box(o.x_m, o.y_m, o.yaw_rad, o.length_m / 2.0, o.length_m / 2.0, o.width_m / 2.0)


def step_ego(ego: ParkingEgo, dt: float, command: ParkingCommand) -> ParkingEgo:
    gear = command.gear if ego.speed_mps < STANDSTILL_MPS else ego.gear
    if command.parking_brake and ego.speed_mps < STANDSTILL_MPS or gear in (Gear.PARK, Gear.NEUTRAL):
        held = gear == Gear.PARK or command.parking_brake
        speed = 0.0 if held else max(0.0, ego.speed_mps - MAX_DECEL_MPS2 * dt)
        return replace(ego, gear=gear, speed_mps=speed, accel_mps2=0.0,
                       curvature_1pm=_steer(ego.curvature_1pm, command.curvature_1pm, dt))
    target = min(max(command.accel_mps2, -MAX_DECEL_MPS2), MAX_ACCEL_MPS2)
    accel = ego.accel_mps2 + (target - ego.accel_mps2) * min(dt / ACCEL_LAG_S, 1.0)
    speed = max(0.0, ego.speed_mps + accel * dt)
    if speed == 0.0:
        accel = max(accel, 0.0)
    curvature = _steer(ego.curvature_1pm, command.curvature_1pm, dt)
    sign = -1.0 if gear == Gear.REVERSE else 1.0
    mean = sign * 0.5 * (speed + ego.speed_mps)
    yaw = ego.yaw_rad + mean * curvature * dt
    mid = 0.5 * (yaw + ego.yaw_rad)
    return ParkingEgo(ego.x_m + mean * math.cos(mid) * dt, ego.y_m + mean * math.sin(mid) * dt,
                      math.atan2(math.sin(yaw), math.cos(yaw)), speed, gear, accel, curvature)


def _steer(current: float, wanted: float, dt: float) -> float:
    wanted = min(max(wanted, -MAX_CURVATURE_1PM), MAX_CURVATURE_1PM)
    return current + (wanted - current) * min(dt / CURVATURE_LAG_S, 1.0)


class ParkingWorld:
    def __init__(self, scenario: ParkingScenario):
        self.scenario = scenario
        self.ego = ParkingEgo(scenario.start_x_m, scenario.start_y_m, scenario.start_yaw_rad, 0.0)
        self.t_s = 0.0
        self._boxes = {o.obstacle_id: obstacle_box(o) for o in scenario.obstacles}

    def motion(self) -> VehicleMotion:
        """What the car reports: wheel speed (unsigned), yaw rate, engaged gear."""
        return VehicleMotion(self.t_s, self.ego.speed_mps, self.ego.yaw_rate_rps, self.ego.gear)

    def present(self) -> list[Obstacle]:
        return [o for o in self.scenario.obstacles if o.present(self.t_s)]

    def truth(self) -> list[TruthVehicle]:
        """The obstacles present as boxes for the sonar model."""
        return [TruthVehicle(o.obstacle_id, o.x_m, o.y_m, o.yaw_rad, 0.0, o.length_m, o.width_m)
                for o in self.present()]

    def clearances(self) -> dict[str, float]:
        """True distance from the car's body to each obstacle present (0: touching)."""
        body = ego_box(self.ego)
        return {o.obstacle_id: float(body.distance(self._boxes[o.obstacle_id])) for o in self.present()}

    def held(self, t_s: float) -> ParkingCommand:
        """What the car does with no parking command: stays where it is, parking brake on."""
        return ParkingCommand(t_s, 0.0, self.ego.curvature_1pm, self.ego.gear, parking_brake=True, active=False)

    def advance(self, command: ParkingCommand) -> None:
        self.ego = step_ego(self.ego, self.scenario.step_s, command)
        self.t_s += self.scenario.step_s
