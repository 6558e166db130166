"""Adaptive cruise control: speed tracking and constant-time-gap following.

In: the plan's target speed and lead vehicle, the ego speed. Out: the requested
longitudinal acceleration. The gap law is the constant time-gap policy of ISO 15622:
desired gap d* = d0 + v * T; a = k_gap (d - d*) + k_rel (v_lead - v), limited by
the speed-tracking law a = k_speed (v_target - v); the smaller one wins. When closing
in needs more than the comfort deceleration, a_req = (v - v_lead)^2 / (2 (d - d_min)),
the law brakes with a_req (up to the emergency deceleration) instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from propilot.core.settings import setting

MIN_STOP_GAP_M = 2.0  # what the emergency law still leaves to the vehicle ahead


@dataclass(frozen=True, slots=True)
class AccSettings:
    standstill_gap_m: float = setting(5.0, unit="m", description="d0: gap kept at standstill", minimum=2.0)
    k_speed: float = setting(0.4, unit="1/s", description="speed-tracking gain", minimum=0.0)
    k_gap: float = setting(0.25, unit="1/s^2", description="gap-error gain", minimum=0.0)
    k_rel_speed: float = setting(0.7, unit="1/s", description="relative-speed gain", minimum=0.0)
    max_accel_mps2: float = setting(1.5, unit="m/s^2", description="comfort acceleration", minimum=0.1,
                                    maximum=2.0, source="ISO 15622: ACC acceleration <= 2 m/s^2")
    comfort_decel_mps2: float = setting(
        3.0, unit="m/s^2", description="deceleration ACC asks for (magnitude)", minimum=0.5, maximum=3.5,
        source="ISO 15622: ACC deceleration <= 3.5 m/s^2 (2 s average) at speed")
    emergency_decel_mps2: float = setting(
        5.0, unit="m/s^2", description="braking when the comfort law cannot avoid the vehicle ahead", minimum=3.5,
        maximum=9.0, source="beyond ISO 15622's ACC range: collision mitigation (UN R152); capped by the supervisor")
    minimal_risk_decel_mps2: float = setting(
        2.0, unit="m/s^2", description="deceleration of the risk-mitigation stop in lane", minimum=0.5,
        maximum=4.0, source="UN R171: risk-mitigation stop in lane")


def acc_acceleration(
    settings: AccSettings,
    speed_mps: float,
    target_speed_mps: float,
    lead_valid: bool,
    lead_gap_m: float,
    lead_speed_mps: float,
    time_gap_s: float,
) -> float:
    a_speed = settings.k_speed * (target_speed_mps - speed_mps)
    a = a_speed
    if lead_valid:
        desired_gap = settings.standstill_gap_m + speed_mps * time_gap_s
        a_gap = settings.k_gap * (lead_gap_m - desired_gap) + settings.k_rel_speed * (lead_speed_mps - speed_mps)
        a = min(a_speed, a_gap)
        closing = speed_mps - lead_speed_mps
        room = lead_gap_m - MIN_STOP_GAP_M
        required = closing * closing / (2.0 * room) if room > 0.0 else math.inf
        if closing > 0.0 and required > settings.comfort_decel_mps2:
            return -min(required, settings.emergency_decel_mps2)
    return max(-settings.comfort_decel_mps2, min(settings.max_accel_mps2, a))
