"""Virtual driver: what the person in the seat does during a scenario.

In: the scenario's driver script and the time. Out: driver inputs (switch presses),
the driver-monitor reading, the pedals, and, while the stack is not driving, the
driver's own steering and speed keeping (lane follow at constant speed).
"""

from __future__ import annotations

from propilot.core.control.lateral import LateralSettings, pure_pursuit_curvature
from propilot.core.map.hdmap import HDMap
from propilot.core.types import DriverEvent, DriverInput, DriverMonitorReading, PathPoint
from propilot.sim.scenario import DriverScript
from propilot.sim.vehicle import EgoState

_STEERING = LateralSettings()


class VirtualDriver:
    def __init__(self, script: DriverScript, hdmap: HDMap):
        self.script = script
        self.hdmap = hdmap
        self._engage_pressed = False

    def inputs(self, t_s: float) -> list[DriverInput]:
        events = []
        if self.script.engage_at_s is not None and not self._engage_pressed and t_s >= self.script.engage_at_s:
            self._engage_pressed = True
            events.append(DriverInput(t_s, DriverEvent.MAIN_SWITCH))
        return events

    def monitor(self, t_s: float) -> DriverMonitorReading:
        return DriverMonitorReading(t_s, True, self.script.eyes_on_road, self.script.hands_on_wheel)

    def brake_pedal(self, t_s: float) -> float:
        return 0.0

    def manual_control(self, ego: EgoState) -> tuple[float, float]:
        """(acceleration, curvature) of a driver who holds speed and follows the lane."""
        lane = self.hdmap.match(ego.pose)
        if not lane.matched:
            return 0.0, 0.0
        path = self.hdmap.path_ahead(lane.lanelet_id, lane.arc_length_m, 40.0)
        points = tuple(PathPoint(float(x), float(y), float(yaw), float(k), ego.speed_mps) for x, y, yaw, k in path)
        return 0.0, pure_pursuit_curvature(_STEERING, ego.pose, ego.speed_mps, points)
