"""The controllers of one cycle: plan + ego estimate -> requested vehicle command.

In: a `Plan` and an `EgoEstimate`. Out: a `VehicleCommand` before the supervisor.
When the plan is not active the command is MANUAL (the driver drives); a minimal-risk
plan stops the car in lane with hazard lights.
"""

from __future__ import annotations

from propilot.core.control.lateral import LateralSettings, pure_pursuit_curvature
from propilot.core.control.longitudinal import AccSettings, acc_acceleration
from propilot.core.types import CommandMode, EgoEstimate, Plan, VehicleCommand


def control(acc: AccSettings, lateral: LateralSettings, plan: Plan, ego: EgoEstimate | None) -> VehicleCommand:
    if ego is None or not plan.active:
        return VehicleCommand(t_s=plan.t_s, mode=CommandMode.MANUAL)
    accel = acc_acceleration(acc, ego.speed_mps, plan.target_speed_mps, plan.lead_valid,
                             plan.lead_gap_m, plan.lead_speed_mps, plan.time_gap_s)
    minimal_risk = plan.mode == CommandMode.MINIMAL_RISK
    if minimal_risk:  # stop in lane at a steady deceleration, unless the lead needs more
        accel = min(accel, -acc.minimal_risk_decel_mps2 if ego.speed_mps > 0.1 else 0.0)
    curvature = pure_pursuit_curvature(lateral, ego.pose, ego.speed_mps, plan.points)
    return VehicleCommand(t_s=plan.t_s, mode=plan.mode, accel_mps2=accel, curvature_1pm=curvature,
                          turn_signal=plan.turn_signal, hazard_lights=minimal_risk)
