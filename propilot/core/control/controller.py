"""The controllers of one cycle: plan + ego estimate -> requested vehicle command.

In: a `Plan`, the `EgoEstimate` and the vehicle status (the driver's pedals and steering
torque). Out: a `VehicleCommand` before the supervisor. When the plan is not active the
command is MANUAL (the driver drives); a minimal-risk plan stops the car in lane with
hazard lights. Driver overrides: the accelerator pedal keeps the stack from braking
against the driver; steering torque above the override threshold makes lane centring
follow the driver's own curvature instead of fighting it. (The brake pedal disengages;
that is the HMI's decision.)
"""

from __future__ import annotations

from propilot.core.control.lateral import LateralSettings, pure_pursuit_curvature
from propilot.core.control.longitudinal import AccSettings, acc_acceleration
from propilot.core.types import CommandMode, EgoEstimate, Plan, VehicleCommand, VehicleStatus

ACCELERATOR_OVERRIDE = 0.05  # pedal travel that counts as the driver asking for more
# Steering torque that counts as the driver steering: well below the 50 N at the rim (about 9 N m)
# that UN R79 5.1.6.2.2 allows an override to need.
STEERING_OVERRIDE_NM = 3.0


def control(acc: AccSettings, lateral: LateralSettings, plan: Plan, ego: EgoEstimate | None,
            status: VehicleStatus | None = None) -> VehicleCommand:
    if ego is None or not plan.active:
        return VehicleCommand(t_s=plan.t_s, mode=CommandMode.MANUAL)
    accel = acc_acceleration(acc, ego.speed_mps, plan.target_speed_mps, plan.lead_valid,
                             plan.lead_gap_m, plan.lead_speed_mps, plan.time_gap_s)
    minimal_risk = plan.mode == CommandMode.MINIMAL_RISK
    if minimal_risk:  # stop in lane at a steady deceleration, unless the lead needs more
        accel = min(accel, -acc.minimal_risk_decel_mps2 if ego.speed_mps > 0.1 else 0.0)
    curvature = pure_pursuit_curvature(lateral, ego.pose, ego.speed_mps, plan.points)
    if status is not None and not minimal_risk:
        if status.accelerator_pedal > ACCELERATOR_OVERRIDE:
            accel = max(accel, 0.0)
        if abs(status.steering_torque_nm) > STEERING_OVERRIDE_NM and status.speed_mps > 1.0:
            curvature = status.yaw_rate_rps / status.speed_mps  # follow the driver's steering
    return VehicleCommand(t_s=plan.t_s, mode=plan.mode, accel_mps2=accel, curvature_1pm=curvature,
                          turn_signal=plan.turn_signal, hazard_lights=minimal_risk)
