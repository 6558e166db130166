"""The supervisor keeps every command inside the envelope, whatever the controller asks."""

import math

from propilot.core.control.supervisor import Supervisor, SupervisorSettings
from propilot.core.types import CommandMode, VehicleCommand

LIMITS = SupervisorSettings()
DT = LIMITS.control_period_s


def request(t, accel=0.0, curvature=0.0, mode=CommandMode.ROUTE_PILOT):
    return VehicleCommand(t, mode, accel_mps2=accel, curvature_1pm=curvature)


def test_acceleration_request_beyond_limits_is_clamped():
    sup = Supervisor(LIMITS)
    out = sup.filter(request(0.0, accel=9.0), speed_mps=20.0, input_age_s=0.0)
    assert out.accel_mps2 == LIMITS.max_accel_mps2
    assert out.limited and "acceleration" in out.limited_reason


def test_step_in_acceleration_is_rate_limited_to_the_jerk_limit():
    sup = Supervisor(LIMITS)
    sup.filter(request(0.0, accel=0.0), 20.0, 0.0)
    out = sup.filter(request(DT, accel=-3.0), 20.0, 0.0)
    assert math.isclose(out.accel_mps2, -LIMITS.max_jerk_mps3 * DT)
    assert "jerk" in out.limited_reason


def test_curvature_is_limited_to_three_mps2_lateral_acceleration():
    sup = Supervisor(LIMITS)
    speed = 30.0
    out = sup.filter(request(0.0, curvature=0.05), speed, 0.0)
    assert math.isclose(speed**2 * abs(out.curvature_1pm), LIMITS.max_lat_accel_mps2)


def test_lateral_jerk_is_limited():
    sup = Supervisor(LIMITS)
    speed = 30.0
    sup.filter(request(0.0, curvature=0.0), speed, 0.0)
    out = sup.filter(request(DT, curvature=0.002), speed, 0.0)
    lateral_jerk = speed**2 * out.curvature_1pm / DT
    assert math.isclose(lateral_jerk, LIMITS.max_lat_jerk_mps3)


def test_stale_inputs_bring_a_minimal_risk_stop_with_hazard_lights():
    sup = Supervisor(LIMITS)
    out = sup.filter(request(0.0, accel=1.0), 25.0, input_age_s=LIMITS.max_input_age_s + 0.1)
    assert out.mode == CommandMode.MINIMAL_RISK
    assert out.hazard_lights
    assert out.accel_mps2 < 0.0


def test_manual_mode_is_not_escalated_on_stale_inputs():
    sup = Supervisor(LIMITS)
    out = sup.filter(request(0.0, mode=CommandMode.MANUAL), 25.0, input_age_s=5.0)
    assert out.mode == CommandMode.MANUAL
