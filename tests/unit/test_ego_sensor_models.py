"""The simulator's GNSS receiver, IMU, wheel speed and front camera behave like the devices they model."""

import math

import numpy as np
import pytest

from propilot.core.perception.camera_model import CameraSettings, PinholeCamera
from propilot.core.types import Pose2D, RtkState
from propilot.sim.camera import ASPHALT, CameraSimSettings, FrontCamera
from propilot.sim.gnss import GnssReceiver, GnssSettings
from propilot.sim.imu import ImuModel, ImuSettings, WheelSpeedSensor, WheelSpeedSettings
from propilot.sim.sensors import TruthVehicle

SETTINGS = GnssSettings()


def errors(hdmap, state, seconds, seed=1, multipath=False):
    """Horizontal errors (m) of a receiver at rest at (900, -5) in the given state, one per epoch."""
    receiver = GnssReceiver(SETTINGS, hdmap, np.random.default_rng(seed))
    out = []
    for k in range(int(seconds * SETTINGS.rate_hz)):
        (fix,) = receiver.measure(k / SETTINGS.rate_hz, 900.0, -5.0, state, multipath)
        assert fix.rtk_state == state
        x, y = hdmap.project(fix.latitude_deg, fix.longitude_deg)
        out.append(math.hypot(x - 900.0, y + 5.0))
    return np.array(out)


def test_rtk_fixed_is_centimetres(hdmap):
    e = errors(hdmap, RtkState.RTK_FIXED, 20)
    assert 0.015 < np.sqrt(np.mean(e**2)) < 0.045 and e.max() < 0.12


def test_rtk_float_is_decimetres(hdmap):
    e = errors(hdmap, RtkState.RTK_FLOAT, 60)
    assert 0.1 < np.sqrt(np.mean(e**2)) < 0.6 and e.max() < 1.5


def test_standalone_has_metres_and_ten_to_fifteen_metre_excursions(hdmap):
    e = errors(hdmap, RtkState.STANDALONE, 40)
    assert 1.0 < np.median(e) < 8.0
    assert SETTINGS.excursion_min_m - 5.0 < e.max() < SETTINGS.excursion_max_m + 10.0  # excursion + wander


def test_no_fix_reports_the_state_without_a_position(hdmap):
    receiver = GnssReceiver(SETTINGS, hdmap, np.random.default_rng(1))
    (fix,) = receiver.measure(0.0, 900.0, -5.0, RtkState.NO_FIX)
    assert fix.rtk_state == RtkState.NO_FIX and math.isnan(fix.latitude_deg)


def test_multipath_jumps_by_metres_while_the_receiver_still_says_fixed(hdmap):
    e = errors(hdmap, RtkState.RTK_FIXED, 2, multipath=True)
    assert np.all(np.abs(e - SETTINGS.multipath_jump_m) < 0.2)


def test_fixes_come_at_the_receiver_rate(hdmap):
    receiver = GnssReceiver(SETTINGS, hdmap, np.random.default_rng(1))
    fixes = [f for k in range(200) for f in receiver.measure(k * 0.05, 900.0, -5.0)]
    assert len(fixes) == 100


def test_imu_samples_come_at_100_hz_with_a_constant_bias_and_noise():
    imu = ImuModel(ImuSettings(), np.random.default_rng(2))
    samples = [s for k in range(200) for s in imu.measure(k * 0.05, 25.0, 0.5, 0.01)]
    assert len(samples) == 1 + 199 * 5  # t = 0 and five per 0.05 s step after it
    assert np.diff([s.t_s for s in samples]) == pytest.approx(0.01)
    yaw_rates = np.array([s.yaw_rate_rps for s in samples])
    assert np.mean(yaw_rates) - 0.01 == pytest.approx(imu.gyro_bias_rps, abs=3e-4)
    assert np.std(yaw_rates) == pytest.approx(ImuSettings().gyro_noise_rps, rel=0.2)
    assert np.mean([s.accel_y_mps2 for s in samples]) == pytest.approx(25.0 * 0.01, abs=0.2)  # v * yaw rate


def test_wheel_speed_has_a_scale_error_and_reads_zero_at_rest():
    wheels = WheelSpeedSensor(WheelSpeedSettings(scale_error=0.01, noise_mps=0.0), np.random.default_rng(3))
    assert wheels.measure(30.0) == pytest.approx(30.0 * wheels.scale) and wheels.scale != 1.0
    assert wheels.measure(0.0) == 0.0


def test_the_camera_renders_frames_at_its_rate_of_the_calibrated_size(hdmap):
    camera = FrontCamera(CameraSimSettings(), CameraSettings(), hdmap, np.random.default_rng(4))
    frames = [f for k in range(20) for f in camera.capture(k * 0.05, Pose2D(900.0, -5.25, 0.0), [])]
    assert len(frames) == 10
    assert frames[0].pixels.shape == (270, 480) and frames[0].pixels.dtype == np.uint8


def test_a_vehicle_ahead_hides_the_road_behind_it(hdmap):
    """The pixel where the road 30 m ahead is seen turns to the vehicle's shade when a car stands there."""
    settings = CameraSimSettings(noise_sigma=0.0, blur_sigma_px=0.0, exposure_min=1.0, exposure_max=1.0)
    camera = FrontCamera(settings, CameraSettings(), hdmap, np.random.default_rng(5))
    ego = Pose2D(900.0, -5.25, 0.0)
    u, v = PinholeCamera(CameraSettings()).ground_to_image(np.array([[32.0, 0.0]]))[0]
    empty = camera.render(0.0, ego, []).pixels
    car = TruthVehicle("a", 900.0 + 34.0, -5.25, 0.0, 20.0)  # its rear at 31.75 m ahead of base_link
    hidden = camera.render(0.0, ego, [car]).pixels
    assert empty[int(round(v)), int(round(u))] == ASPHALT
    assert hidden[int(round(v)), int(round(u))] != ASPHALT
