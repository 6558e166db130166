"""The controllers of one cycle: the driver's accelerator and steering override them."""

import pytest

from propilot.core.control.controller import STEERING_OVERRIDE_NM, control
from propilot.core.control.lateral import LateralSettings
from propilot.core.control.longitudinal import AccSettings
from propilot.core.types import CommandMode, EgoEstimate, PathPoint, Plan, Pose2D, VehicleStatus

PATH = tuple(PathPoint(float(x), 0.0, 0.0, 0.0, 30.0) for x in range(0, 100, 2))
CLOSE_SLOW_LEAD = dict(target_speed_mps=30.0, lead_valid=True, lead_gap_m=20.0, lead_speed_mps=15.0)
EGO = EgoEstimate(0.0, Pose2D(0.0, 1.0, 0.0), 25.0, 0.0, 0.02)


def command(status=None, **plan):
    return control(AccSettings(), LateralSettings(), Plan(0.0, True, PATH, **plan), EGO, status)


def test_closing_on_a_slow_lead_brakes_and_steers_back_to_the_path():
    c = command(VehicleStatus(0.0, 25.0), **CLOSE_SLOW_LEAD)
    assert c.mode == CommandMode.ROUTE_PILOT and c.accel_mps2 < 0.0 and c.curvature_1pm < 0.0


def test_driver_on_the_accelerator_is_not_braked_against():
    c = command(VehicleStatus(0.0, 25.0, accelerator_pedal=0.3), **CLOSE_SLOW_LEAD)
    assert c.accel_mps2 == 0.0


def test_driver_steering_is_followed_not_fought():
    driver_curvature = 0.004
    status = VehicleStatus(0.0, 25.0, yaw_rate_rps=25.0 * driver_curvature,
                           steering_torque_nm=STEERING_OVERRIDE_NM + 1.0)
    assert command(status).curvature_1pm == pytest.approx(driver_curvature)


def test_a_light_touch_on_the_wheel_does_not_override():
    status = VehicleStatus(0.0, 25.0, yaw_rate_rps=0.1, steering_torque_nm=1.0)
    assert command(status).curvature_1pm < 0.0


def test_inactive_plan_leaves_the_driver_in_control():
    c = control(AccSettings(), LateralSettings(), Plan(0.0, False), EGO, VehicleStatus(0.0, 25.0))
    assert c.mode == CommandMode.MANUAL
