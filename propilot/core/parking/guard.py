"""Sonar guard: how much room the 12 bumper sonars leave along the way the car is going.

In: `SonarReading`s (nearest echo per sonar cycle), the sonars' mounts from the rig, the car's
geometry, and each cycle the direction of travel and speed. Out: a `GuardView`: the nearest echo
of any sonar (for the display), the clearance left along the path, `blocked` (the car would
not stop before `stop_clearance_m` at this speed) and `clear` (room again, with hysteresis, and
every sonar reporting).

An echo is placed on its sonar's boresight at the echoed range (a sonar gives a range, not a
bearing). Echoes facing the way of travel whose point lies within the car's width (plus
`corridor_margin_m`) are in the path; their clearance is the distance from the bumper to the
point, along the car's axis. An echo counts once two consecutive cycles of its sonar agree (a
single false echo does not stop the car). The stop rule:

    blocked  <=>  clearance - v * (sensing_delay_s + brake_build_up_s) - v^2 / (2 * stop_decel_mps2)
                  < stop_clearance_m

so the car stands still at `stop_clearance_m` or more even when the echo is one scan old.
A sonar silent for `stale_after_s` counts as failed: the path is then not clear.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from propilot.core.fusion.rig import Sensor
from propilot.core.parking.types import SonarReading
from propilot.core.settings import setting
from propilot.core.vehicle import VehicleGeometry


@dataclass(frozen=True, slots=True)
class GuardSettings:
    stop_clearance_m: float = setting(0.3, unit="m", minimum=0.3, maximum=2.0,
                                      description="the car stops with at least this much room to any obstacle "
                                                  "in its path",
                                      source="ProPILOT Remote Park requirement: stop >= 0.3 m from any obstacle")
    clear_hysteresis_m: float = setting(0.2, unit="m", minimum=0.0, maximum=2.0,
                                        description="room beyond the stop clearance before the path counts as "
                                                    "clear again")
    corridor_margin_m: float = setting(0.1, unit="m", minimum=0.0, maximum=1.0,
                                       description="echo points this far beside the car's width count as in "
                                                   "its path")
    sensing_delay_s: float = setting(0.3, unit="s", minimum=0.0, maximum=1.0,
                                     description="age of an echo when acted upon: two scans to confirm it + "
                                                 "latency + one control cycle")
    confirm_tolerance_m: float = setting(0.3, unit="m", minimum=0.0, maximum=2.0,
                                         description="two consecutive echoes closer than this confirm an "
                                                     "obstacle")
    brake_build_up_s: float = setting(0.1, unit="s", minimum=0.0, maximum=1.0,
                                      description="brake pressure build-up before full deceleration")
    stale_after_s: float = setting(0.35, unit="s", minimum=0.1, maximum=2.0,
                                   description="a sonar without a reading for this long counts as failed")


@dataclass(frozen=True, slots=True)
class GuardView:
    min_clearance_m: float  # nearest echo of any sonar, +inf when none
    path_clearance_m: float  # room along the way of travel, +inf when nothing is in the path
    blocked: bool
    clear: bool
    failed: tuple[str, ...] = ()  # sonars that stopped reporting


class SonarGuard:
    def __init__(self, settings: GuardSettings, sonars: Sequence[Sensor], car: VehicleGeometry,
                 stop_decel_mps2: float):
        self.settings = settings
        self.sonars = {s.sensor_id: s for s in sonars}
        self.car = car
        self.stop_decel_mps2 = stop_decel_mps2
        self.latest: dict[str, SonarReading] = {}
        self.previous: dict[str, SonarReading | None] = {}

    def add(self, readings: Iterable[SonarReading]) -> None:
        for reading in readings:
            if reading.sensor_id in self.sonars:
                old = self.latest.get(reading.sensor_id)
                if old is None or reading.t_s >= old.t_s:
                    self.previous[reading.sensor_id] = old
                    self.latest[reading.sensor_id] = reading

    def confirmed_m(self, sensor_id: str) -> float:
        """The echo range when two consecutive cycles agree (the farther of the two), else +inf:
        a single false echo (ground, cross-talk) does not stop the car."""
        now, before = self.latest.get(sensor_id), self.previous.get(sensor_id)
        if now is None or before is None or not (math.isfinite(now.range_m) and math.isfinite(before.range_m)):
            return math.inf
        if abs(now.range_m - before.range_m) > self.settings.confirm_tolerance_m:
            return math.inf
        return max(now.range_m, before.range_m)

    def path_clearance(self, direction: int) -> float:
        """Room along the car's axis to the nearest echo point inside its width, towards `direction`."""
        half_width = self.car.width_m / 2.0 + self.settings.corridor_margin_m
        bumper = self.car.front_from_base_m if direction > 0 else -self.car.rear_overhang_m
        room = math.inf
        for sensor_id in self.latest:
            sonar = self.sonars[sensor_id]
            echo_m = self.confirmed_m(sensor_id)
            if not math.isfinite(echo_m) or (sonar.mount.x_m > 0.0) != (direction > 0):
                continue
            x = sonar.mount.x_m + echo_m * math.cos(sonar.mount.yaw_rad)
            y = sonar.mount.y_m + echo_m * math.sin(sonar.mount.yaw_rad)
            if abs(y) <= half_width:
                room = min(room, max(0.0, direction * (x - bumper)))
        return room

    def stopping_room_m(self, speed_mps: float) -> float:
        """Travel before standstill when the stop starts from an echo this old, at this speed."""
        v = abs(speed_mps)
        s = self.settings
        return v * (s.sensing_delay_s + s.brake_build_up_s) + v * v / (2.0 * self.stop_decel_mps2)

    def view(self, t_s: float, direction: int, speed_mps: float) -> GuardView:
        s = self.settings
        failed = tuple(sorted(i for i in self.sonars
                              if i not in self.latest or t_s - self.latest[i].t_s > s.stale_after_s))
        ranges = [r.range_m for r in self.latest.values()]
        nearest = min(ranges, default=math.inf)
        room = self.path_clearance(direction)
        blocked = room - self.stopping_room_m(speed_mps) < s.stop_clearance_m
        clear = not failed and room >= s.stop_clearance_m + s.clear_hysteresis_m
        return GuardView(nearest, room, blocked, clear, failed)
