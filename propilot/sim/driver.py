"""Virtual driver: what the person in the seat does during a scenario.

In: the scenario's driver script, the time and what the display showed last cycle.
Out: driver inputs (main switch, approvals, rejections, turn-signal requests), the
driver-monitor reading (eyes, hands), the brake pedal, and, while the stack is not
driving, the driver's own steering and speed keeping (lane follow, IDM car following).
A proposal or take-over request is answered after the script's reaction time.
"""

from __future__ import annotations

import math

from propilot.core.control.lateral import LateralSettings, pure_pursuit_curvature
from propilot.core.map.hdmap import HDMap
from propilot.core.types import (
    DriverEvent,
    DriverInput,
    DriverMonitorReading,
    HmiState,
    PathPoint,
    PilotState,
    ProposalState,
)
from propilot.sim.scenario import DriverScript
from propilot.sim.sensors import TruthVehicle
from propilot.sim.truth import vehicles_ahead
from propilot.sim.vehicle import EgoState

_STEERING = LateralSettings()
HANDS_ON_BEFORE_S = 0.5  # the hands go to the wheel just before pressing the switch
HANDS_ON_FOR_S = 8.0  # and stay there through the manoeuvre
BRAKE_PRESS_S = 1.0
BRAKE_PEDAL = 0.3
MANUAL_BRAKE_DECEL_MPS2 = 2.0  # what that pedal press does while the driver drives

# Intelligent Driver Model (Treiber et al. 2000), the human driver's car following; values as highway-env.
IDM_MAX_ACCEL_MPS2 = 1.5
IDM_COMFORT_DECEL_MPS2 = 5.0
IDM_DELTA = 4.0
IDM_TIME_GAP_S = 1.5
IDM_MIN_GAP_M = 5.0


def idm_acceleration(v: float, v0: float, s: float, v_lead: float) -> float:
    """IDM: a = a_max [1 - (v/v0)^delta - (s*/s)^2], s* = s0 + v T + v dv / (2 sqrt(a_max b))."""
    a, b = IDM_MAX_ACCEL_MPS2, IDM_COMFORT_DECEL_MPS2
    free = 1.0 - (v / v0) ** IDM_DELTA
    if not math.isfinite(s):
        return a * free
    s_star = IDM_MIN_GAP_M + max(0.0, v * IDM_TIME_GAP_S + v * (v - v_lead) / (2.0 * math.sqrt(a * b)))
    return a * (free - (s_star / max(s, 0.1)) ** 2)


class VirtualDriver:
    def __init__(self, script: DriverScript, hdmap: HDMap):
        self.script = script
        self.hdmap = hdmap
        self._engage_pressed = False
        self._planned: list[DriverInput] = [
            DriverInput(t, DriverEvent.TURN_SIGNAL_LEFT if d > 0 else DriverEvent.TURN_SIGNAL_RIGHT)
            for t, d in script.turn_signals]
        self._answered: set[str] = set()
        self._brake_times = list(script.brake_at_s)
        self._takeover_answered = False
        self._hands_needed_at = [t for t, _ in script.turn_signals]  # actions that need hands on the wheel
        self._cruise_mps: float | None = None

    def inputs(self, t_s: float, shown: HmiState | None) -> list[DriverInput]:
        """The driver's actions due at t_s, given what the display showed."""
        if shown is not None:
            self._react(t_s, shown)
        events = []
        if self.script.engage_at_s is not None and not self._engage_pressed and t_s >= self.script.engage_at_s:
            self._engage_pressed = True
            events.append(DriverInput(t_s, DriverEvent.MAIN_SWITCH))
        due = [i for i in self._planned if i.t_s <= t_s + 1e-9]
        self._planned = [i for i in self._planned if i.t_s > t_s + 1e-9]
        return events + [DriverInput(t_s, i.event, i.proposal_uuid) for i in due]

    def _react(self, t_s: float, shown: HmiState) -> None:
        respond_at = t_s + self.script.reaction_s
        for p in shown.proposals:
            if p.state != ProposalState.PROPOSED or p.uuid in self._answered or self.script.proposals == "ignore":
                continue
            self._answered.add(p.uuid)
            event = DriverEvent.APPROVE if self.script.proposals == "approve" else DriverEvent.REJECT
            self._planned.append(DriverInput(respond_at, event, p.uuid))
            self._hands_needed_at.append(respond_at)
        if shown.pilot_state == PilotState.TAKEOVER_REQUEST and self.script.takes_over and \
                not self._takeover_answered:
            self._takeover_answered = True
            self._brake_times.append(respond_at)

    def _hands_on(self, t_s: float) -> bool:
        return self.script.hands_on_wheel or any(
            at - HANDS_ON_BEFORE_S <= t_s <= at + HANDS_ON_FOR_S for at in self._hands_needed_at)

    def monitor(self, t_s: float) -> DriverMonitorReading:
        eyes_on = self.script.eyes_on_road and not any(a <= t_s < b for a, b in self.script.eyes_off)
        return DriverMonitorReading(t_s, True, eyes_on, self._hands_on(t_s))

    def brake_pedal(self, t_s: float) -> float:
        return BRAKE_PEDAL if any(at <= t_s < at + BRAKE_PRESS_S for at in self._brake_times) else 0.0

    def manual_control(self, t_s: float, ego: EgoState, centre: tuple[float, float],
                       others: list[TruthVehicle]) -> tuple[float, float]:
        """(acceleration, curvature) of a driver who follows the lane and the car ahead (IDM)."""
        if self._cruise_mps is None:
            self._cruise_mps = max(ego.speed_mps, 1.0)  # the speed the driver had when taking over
        lead = min(vehicles_ahead(centre, ego.yaw_rad, others), key=lambda a: a.gap_m, default=None)
        accel = idm_acceleration(ego.speed_mps, self._cruise_mps, lead.gap_m if lead else math.inf,
                                 lead.speed_along_mps if lead else 0.0)
        if self.brake_pedal(t_s) > 0.0:
            accel = min(accel, -MANUAL_BRAKE_DECEL_MPS2)
        lane = self.hdmap.match(ego.pose)
        if not lane.matched:
            return accel, 0.0
        path = self.hdmap.path_ahead(lane.lanelet_id, lane.arc_length_m, 40.0)
        points = tuple(PathPoint(float(x), float(y), float(yaw), float(k), ego.speed_mps) for x, y, yaw, k in path)
        return accel, pure_pursuit_curvature(_STEERING, ego.pose, ego.speed_mps, points)
