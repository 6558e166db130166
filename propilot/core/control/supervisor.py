"""Independent command supervisor: the last gate before the vehicle.

In: a requested `VehicleCommand`, the ego speed, the age of the inputs the request
was computed from (the node clock now minus their oldest stamp: judged by timestamps,
not by arrival), the stack's faults (nodes that fell silent, `HeartbeatMonitor`) and
whether the driver brakes. Out: the command clamped to the envelope (acceleration,
jerk, lateral acceleration, lateral jerk), and, when inputs are stale or a node failed
while the pilot drives, a minimal-risk command (decelerate in lane with hazard lights)
until the driver takes over by braking (then MANUAL until the fault clears). It shares no
code with the controllers, so a controller bug cannot widen the envelope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from propilot.core.settings import setting
from propilot.core.types import CommandMode, TurnSignal, VehicleCommand

_MIN_SPEED_FOR_LATERAL_LIMITS_MPS = 1.0  # below this v^2*kappa limits are meaningless


@dataclass(frozen=True, slots=True)
class SupervisorSettings:
    max_accel_mps2: float = setting(2.0, unit="m/s^2", description="largest acceleration command", minimum=0.0,
                                    maximum=4.0, source="ISO 15622: ACC acceleration <= 2 m/s^2")
    max_decel_mps2: float = setting(
        5.0, unit="m/s^2", description="largest deceleration command (magnitude)", minimum=1.0, maximum=10.0,
        source="ISO 15622 allows 3.5 m/s^2 for ACC; 5 m/s^2 kept for cut-in response (highway-env IDM b)")
    max_jerk_mps3: float = setting(
        2.5, unit="m/s^3", description="rate limit on the acceleration command", minimum=0.1,
        maximum=10.0, source="ISO 15622: jerk <= 2.5 m/s^3")
    emergency_jerk_mps3: float = setting(
        10.0, unit="m/s^3", description="rate limit when braking harder than comfort", minimum=1.0,
        maximum=30.0, source="brake build-up for emergency response (not an ACC comfort case)")
    max_lat_accel_mps2: float = setting(
        3.0, unit="m/s^2", description="largest lateral acceleration v^2 * kappa", minimum=0.5, maximum=3.0,
        source="UN R79 / ISO 11270: lateral acceleration <= 3 m/s^2")
    max_lat_jerk_mps3: float = setting(
        5.0, unit="m/s^3", description="largest lateral jerk v^2 * dkappa/dt", minimum=0.5, maximum=5.0,
        source="UN R79 / ISO 11270: lateral jerk <= 5 m/s^3")
    max_input_age_s: float = setting(0.3, unit="s", description="older inputs are stale", minimum=0.05,
                                     maximum=2.0)
    minimal_risk_decel_mps2: float = setting(
        2.0, unit="m/s^2", description="deceleration of the stop in lane", minimum=0.5, maximum=4.0,
        source="UN R171: risk-mitigation stop in lane")
    control_period_s: float = setting(0.05, unit="s", description="command period", minimum=0.001, maximum=0.2)
    heartbeat_timeout_s: float = setting(
        0.15, unit="s", description="a node whose heartbeat (20 Hz) is silent this long has failed", minimum=0.06,
        maximum=1.0, source="crash or hang noticed within 200 ms: 3 heartbeat periods + one check period")


class HeartbeatMonitor:
    """In: each node's heartbeats (node name, time on the monitor's clock). Out: the nodes heard at
    least once that have been silent longer than the timeout (crashed or hung), in name order.
    A node never heard is not counted: it has not started yet, which start-up checks report."""

    def __init__(self, timeout_s: float, nodes: tuple[str, ...]):
        self.timeout_s = timeout_s
        self.nodes = nodes
        self.last_beat_s: dict[str, float] = {}

    def beat(self, node: str, t_s: float) -> None:
        if node in self.nodes:
            self.last_beat_s[node] = t_s

    def silent(self, t_s: float) -> tuple[str, ...]:
        return tuple(sorted(n for n, last in self.last_beat_s.items() if t_s - last > self.timeout_s))


class Supervisor:
    def __init__(self, settings: SupervisorSettings):
        self.settings = settings
        self._last: VehicleCommand | None = None
        self.driver_took_over = False  # during a fault: the driver braked, the stack stays out

    def filter(self, request: VehicleCommand, speed_mps: float, input_age_s: float, faults: tuple[str, ...] = (),
               driver_braking: bool = False) -> VehicleCommand:
        s = self.settings
        reasons: list[str] = []
        command = request
        if not faults:
            self.driver_took_over = False
        elif driver_braking:
            self.driver_took_over = True
        if faults and self.driver_took_over:
            command = VehicleCommand(t_s=request.t_s, mode=CommandMode.MANUAL)
            reasons.append(f"system fault, driver in control ({', '.join(faults)} silent)")
        elif faults and request.mode != CommandMode.MANUAL:
            command = replace(request, mode=CommandMode.MINIMAL_RISK, accel_mps2=-s.minimal_risk_decel_mps2,
                              hazard_lights=True, turn_signal=TurnSignal.OFF)
            reasons.append(f"system fault: {', '.join(faults)} silent")
        elif request.mode != CommandMode.MANUAL and input_age_s > s.max_input_age_s:
            command = replace(request, mode=CommandMode.MINIMAL_RISK, accel_mps2=-s.minimal_risk_decel_mps2,
                              hazard_lights=True)
            reasons.append(f"stale inputs ({input_age_s:.2f} s)")
        requested = command.accel_mps2
        if not math.isfinite(requested):  # a controller fault: hold the last command, never pass it on
            requested = self._last.accel_mps2 if self._last is not None else 0.0
            reasons.append("acceleration not finite")
        accel = min(max(requested, -s.max_decel_mps2), s.max_accel_mps2)
        if accel != requested:
            reasons.append("acceleration")
        accel = self._rate_limit_accel(accel, reasons)
        curvature = self._limit_curvature(command.curvature_1pm, speed_mps, reasons)
        command = replace(command, accel_mps2=accel, curvature_1pm=curvature,
                          limited=bool(reasons), limited_reason=", ".join(reasons))
        self._last = command
        return command

    def _rate_limit_accel(self, accel: float, reasons: list[str]) -> float:
        if self._last is None:
            return accel
        s = self.settings
        braking_hard = accel < -3.5  # beyond ISO 15622's ACC range: emergency response
        jerk = s.emergency_jerk_mps3 if braking_hard else s.max_jerk_mps3
        step = jerk * s.control_period_s
        limited = min(max(accel, self._last.accel_mps2 - step), self._last.accel_mps2 + step)
        if limited != accel:
            reasons.append("jerk")
        return limited

    def _limit_curvature(self, curvature: float, speed_mps: float, reasons: list[str]) -> float:
        s = self.settings
        if not math.isfinite(curvature):  # a controller fault: hold the last command
            curvature = self._last.curvature_1pm if self._last is not None else 0.0
            reasons.append("curvature not finite")
        v2 = max(speed_mps, _MIN_SPEED_FOR_LATERAL_LIMITS_MPS) ** 2
        bound = s.max_lat_accel_mps2 / v2
        limited = min(max(curvature, -bound), bound)
        if limited != curvature:
            reasons.append("lateral acceleration")
        if self._last is not None:
            step = s.max_lat_jerk_mps3 / v2 * s.control_period_s
            rated = min(max(limited, self._last.curvature_1pm - step), self._last.curvature_1pm + step)
            if rated != limited:
                reasons.append("lateral jerk")
            # as speed rises the bound shrinks faster than the jerk limit lets curvature follow at low
            # speed: the lateral-acceleration limit (UN R79) wins over the comfort rate
            limited = min(max(rated, -bound), bound)
        return limited if math.isfinite(limited) else 0.0
