"""Localisation: RTK fixes + odometry on the real map give the pose and the lane."""

import math

import numpy as np
import pytest

from propilot.core.localization.ekf import Localizer, LocalizerSettings
from propilot.core.types import GnssFix, LaneSource, RtkState, VehicleStatus

SPEED = 25.0
DT = 0.05


def main_line_lane(hdmap, lane_index):
    for lanelet_id in hdmap.lanelet_ids():
        if not hdmap.is_ramp(lanelet_id) and hdmap.lane_index(lanelet_id) == (lane_index, 3):
            if len(hdmap.centerline(lanelet_id)) > 20:
                return lanelet_id
    raise AssertionError("no such lane")


def drive_along_lane(hdmap, localizer, seconds, sigma=0.02, seed=1, corrupt=None):
    """Drive the lane-1 centreline at constant speed; GNSS at 10 Hz. Returns (errors, lanes)."""
    lanelet_id = main_line_lane(hdmap, 1)
    path = hdmap.path_ahead(lanelet_id, 0.0, SPEED * seconds + 10.0, spacing_m=SPEED * DT)
    rng = np.random.default_rng(seed)
    errors, lanes = [], []
    for k in range(int(seconds / DT)):
        t = k * DT
        x, y, yaw, curvature = path[k]
        if k % 2 == 0:
            ex, ey = rng.normal(0.0, sigma, 2)
            lat, lon = hdmap.unproject(x + ex, y + ey)
            fix = GnssFix(t, lat, lon, max(sigma, 0.01), RtkState.RTK_FIXED)
            localizer.add_gnss(corrupt(k, fix) if corrupt else fix)
        ego, lane = localizer.update(VehicleStatus(t, SPEED, yaw_rate_rps=SPEED * curvature))
        errors.append(math.hypot(ego.pose.x_m - x, ego.pose.y_m - y))
        lanes.append(lane)
    return np.array(errors), lanes


def test_rtk_fixed_drive_stays_within_centimetres_in_the_right_lane(hdmap):
    localizer = Localizer(LocalizerSettings(), hdmap)
    errors, lanes = drive_along_lane(hdmap, localizer, seconds=20)
    assert np.sqrt(np.mean(errors[20:] ** 2)) < 0.05
    assert all(lane.lane_index == 1 and lane.lane_level and lane.source == LaneSource.RTK for lane in lanes)


def test_a_multipath_jump_is_rejected_not_fused(hdmap):
    localizer = Localizer(LocalizerSettings(), hdmap)

    def jump(k, fix):
        if k == 100:  # 8 m north: a reflection, not a move
            lat, lon = hdmap.unproject(*np.add(hdmap.project(fix.latitude_deg, fix.longitude_deg), (0.0, 8.0)))
            return GnssFix(fix.t_s, lat, lon, fix.sigma_m, fix.rtk_state)
        return fix

    errors, _ = drive_along_lane(hdmap, localizer, seconds=10, corrupt=jump)
    assert errors.max() < 0.2
    assert localizer.stats.rejected_gate == 1


@pytest.mark.parametrize("bad, counter", [
    (GnssFix(0.0, float("nan"), 139.0, 0.02, RtkState.RTK_FIXED), "rejected_invalid"),
    (GnssFix(0.0, 35.0, 139.0, float("inf"), RtkState.RTK_FIXED), "rejected_invalid"),
    (GnssFix(0.0, 35.0, 139.0, 0.0, RtkState.RTK_FIXED), "rejected_invalid"),
    (GnssFix(0.0, math.nan, math.nan, math.inf, RtkState.NO_FIX), "no_fix"),
    (GnssFix(0.0, 35.5, 139.5, 0.02, RtkState.RTK_FIXED), "rejected_off_map"),  # ~60 km from the road
])
def test_invalid_fixes_are_counted_and_never_fused(hdmap, bad, counter):
    localizer = Localizer(LocalizerSettings(), hdmap)
    localizer.add_gnss(bad)
    ego, lane = localizer.update(VehicleStatus(0.0, SPEED))
    assert ego is None and not lane.matched
    assert localizer.stats.as_dict()[counter] == 1 and localizer.stats.fused == 0


def test_a_fix_older_than_the_filter_state_is_rejected_as_stale(hdmap):
    localizer = Localizer(LocalizerSettings(), hdmap)
    drive_along_lane(hdmap, localizer, seconds=1)
    x, y = hdmap.centerline(main_line_lane(hdmap, 1))[3]
    lat, lon = hdmap.unproject(x, y)
    localizer.add_gnss(GnssFix(0.0, lat, lon, 0.02, RtkState.RTK_FIXED))  # from 1 s ago, arriving now
    localizer.update(VehicleStatus(1.0, SPEED))
    assert localizer.stats.rejected_stale == 1


# --- the full filter: IMU, wheel speed, GNSS by RTK state, camera lane lines (simulated sensors) -------------

def drive(hdmap, script, settings=None):
    """Run a scripted drive through the localiser with the OpenCV detector on the rendered frames."""
    from propilot.core.perception.camera_model import CameraSettings
    from propilot.core.perception.lane_detector import LaneDetector, LaneDetectorSettings
    from propilot.sim.lane_drive import ScriptedDrive

    localizer = Localizer(settings or LocalizerSettings(), hdmap)
    detector = LaneDetector(LaneDetectorSettings(), CameraSettings())
    log = []
    for step in ScriptedDrive(hdmap, script).steps():
        for sample in step.imu:
            localizer.add_imu(sample)
        for fix in step.gnss:
            localizer.add_gnss(fix)
        for image in step.images:
            localizer.add_lane_lines(detector.detect(image))
        ego, lane = localizer.update(step.status)
        normal = (-math.sin(step.truth.yaw_rad), math.cos(step.truth.yaw_rad))
        lateral = (ego.pose.x_m - step.truth.x_m) * normal[0] + (ego.pose.y_m - step.truth.y_m) * normal[1]
        log.append((step, lateral, lane))
    return localizer, log


TUNNEL_AT_S = 20.0  # RTK until then: the filter has learnt the gyro bias and the wheel scale


def tunnel(camera: bool, seconds: float = 10.0):
    from propilot.sim.lane_drive import DriveScript, GnssSpell

    return DriveScript(start_lane=1, start_station_m=500.0, duration_s=TUNNEL_AT_S + seconds + 2.0, speed_mps=27.0,
                       seed=4, gnss=(GnssSpell(TUNNEL_AT_S, TUNNEL_AT_S + seconds, RtkState.NO_FIX),), camera=camera)


def test_a_ten_second_tunnel_with_the_camera_keeps_the_lane_within_decimetres(hdmap):
    """Through a 10 s tunnel in the curve, lane lines hold the lateral position; lane-level stays on."""
    localizer, log = drive(hdmap, tunnel(camera=True))
    inside = [(lateral, lane) for step, lateral, lane in log if step.gnss_state == RtkState.NO_FIX]
    assert len(inside) == 200
    assert max(abs(lateral) for lateral, _ in inside) < 0.3
    assert all(lane.lane_level and lane.lane_index == 1 for _, lane in inside)
    assert inside[-1][1].source == LaneSource.CAMERA
    assert localizer.stats.no_fix == 100 and localizer.stats.fused_camera > 150


def test_a_tunnel_without_the_camera_ends_lane_level_after_the_rtk_hold(hdmap):
    """Dead reckoning alone is not lane-level: the claim ends rtk_hold_s after the last RTK fix."""
    settings = LocalizerSettings()
    _, log = drive(hdmap, tunnel(camera=False), settings)
    last_fix_s = TUNNEL_AT_S - 0.1
    for step, lateral, lane in log:
        if TUNNEL_AT_S <= step.t_s < TUNNEL_AT_S + 10.0 and abs(step.t_s - last_fix_s - settings.rtk_hold_s) > 0.01:
            expected = step.t_s - last_fix_s <= settings.rtk_hold_s
            assert lane.lane_level == expected, step.t_s
            assert lane.source == (LaneSource.RTK if expected else LaneSource.DEAD_RECKONING)
            assert abs(lateral) < 0.3  # IMU and wheels alone keep it well inside its lane
    assert log[-1][2].lane_level, "RTK back: lane-level again"


def test_the_camera_keeps_lane_level_for_camera_hold_s_after_rtk_then_the_claim_ends(hdmap):
    from propilot.sim.lane_drive import DriveScript, GnssSpell

    settings = LocalizerSettings(camera_hold_s=4.0)
    script = DriveScript(start_lane=0, start_station_m=300.0, duration_s=14.0, speed_mps=25.0, seed=6,
                         gnss=(GnssSpell(5.0, 14.0, RtkState.RTK_FLOAT),))
    _, log = drive(hdmap, script, settings)
    last_fixed_s = 5.0 - 0.1
    for step, lateral, lane in log:
        if 5.0 <= step.t_s < 14.0:
            since = step.t_s - last_fixed_s
            if since <= settings.rtk_hold_s:
                assert lane.source == LaneSource.RTK
            elif since <= settings.camera_hold_s - 0.05:
                assert lane.lane_level and lane.source == LaneSource.CAMERA, step.t_s
            elif since > settings.camera_hold_s + 0.05:
                assert not lane.lane_level and lane.source == LaneSource.CAMERA, step.t_s
            assert lane.lane_index == 0 and abs(lateral) < 0.2


def test_standalone_excursions_of_ten_metres_do_not_move_the_car_out_of_its_lane(hdmap):
    from propilot.sim.lane_drive import DriveScript, GnssSpell

    script = DriveScript(start_lane=2, start_station_m=300.0, duration_s=30.0, speed_mps=25.0, seed=7,
                         gnss=(GnssSpell(4.0, 30.5, RtkState.STANDALONE),))
    localizer, log = drive(hdmap, script, LocalizerSettings(camera_hold_s=20.0))
    standalone = [(step, lateral, lane) for step, lateral, lane in log if step.gnss_state == RtkState.STANDALONE]
    assert max(abs(lateral) for _, lateral, _ in standalone) < 0.3
    assert all(lane.lane_index == step.truth_lane_index for step, _, lane in standalone)
    assert not standalone[-1][2].lane_level  # standalone is never RTK: the claim has ended (camera_hold_s)
    assert localizer.stats.rejected_off_map + localizer.stats.fused > 0


def test_the_filter_learns_the_gyro_bias_and_the_wheel_scale_while_rtk_is_fixed(hdmap):
    from propilot.sim.lane_drive import DriveScript, ScriptedDrive

    script = DriveScript(start_lane=1, start_station_m=100.0, duration_s=30.0, speed_mps=27.0, seed=8, camera=False)
    localizer, _ = drive(hdmap, script)
    truth = ScriptedDrive(hdmap, script)  # same seed: same sensor errors
    x = localizer._filter.x
    assert x[4] == pytest.approx(truth.imu.gyro_bias_rps, abs=5e-4)
    assert 1.0 + x[5] == pytest.approx(truth.wheels.scale, abs=1e-3)


def test_imu_samples_with_nan_or_impossible_values_are_counted_and_not_used(hdmap):
    from propilot.core.types import ImuSample

    localizer = Localizer(LocalizerSettings(), hdmap)
    for sample in (ImuSample(0.01, math.nan, 0.0, 0.0), ImuSample(0.02, 0.0, 0.0, 5.0),
                   ImuSample(0.03, 40.0, 0.0, 0.0)):
        localizer.add_imu(sample)
    assert localizer.stats.rejected_invalid == 3


def test_lane_lines_of_an_impossible_lane_width_are_refused(hdmap):
    from propilot.core.types import LaneLine, LaneLineFrame, LaneLineSide, LaneLineType

    localizer = Localizer(LocalizerSettings(), hdmap)
    drive_along_lane(hdmap, localizer, seconds=1)
    squeezed = LaneLineFrame(1.0, "front", (
        LaneLine(LaneLineSide.LEFT, LaneLineType.DASHED, 0.8, 0.0, 0.0, 0.0, 40.0, 0.9),
        LaneLine(LaneLineSide.RIGHT, LaneLineType.DASHED, -0.8, 0.0, 0.0, 0.0, 40.0, 0.9)))
    localizer.add_lane_lines(squeezed)
    localizer.update(VehicleStatus(1.0, SPEED))
    assert localizer.stats.camera_rejected_invalid == 1 and localizer.stats.fused_camera == 0


def test_line_types_of_the_neighbour_lane_move_a_lost_estimate_into_it(hdmap):
    """Started from a standalone fix in lane 1 while the car is in lane 0: the solid line on the left
    says lane 0, and after lane_correction_frames in a row the estimate moves there."""
    from propilot.core.types import LaneLine, LaneLineFrame, LaneLineSide, LaneLineType

    settings = LocalizerSettings()
    localizer = Localizer(settings, hdmap)
    lane0 = hdmap.path_ahead(main_line_lane(hdmap, 0), 0.0, 400.0, spacing_m=SPEED * DT)
    lane1 = hdmap.path_ahead(main_line_lane(hdmap, 1), 0.0, 400.0, spacing_m=SPEED * DT)
    frame_lines = (LaneLine(LaneLineSide.LEFT, LaneLineType.SOLID, 1.75, 0.0, 0.0, 0.0, 40.0, 0.9),
                   LaneLine(LaneLineSide.RIGHT, LaneLineType.DASHED, -1.75, 0.0, 0.0, 0.0, 40.0, 0.9))
    lanes = []
    for k in range(60):
        t = k * DT
        if k == 0:  # where a standalone receiver put the car: the middle lane
            lat, lon = hdmap.unproject(*lane1[0][:2])
            localizer.add_gnss(GnssFix(t, lat, lon, 3.0, RtkState.STANDALONE))
        if k % 2 == 0:
            localizer.add_lane_lines(LaneLineFrame(t, "front", frame_lines))
        ego, lane = localizer.update(VehicleStatus(t, SPEED, yaw_rate_rps=SPEED * lane0[k][3]))
        lanes.append(lane.lane_index)
    assert lanes[0] == 1 and lanes[-1] == 0
    assert localizer.stats.lane_corrections == 1
    assert lanes.index(0) >= 2 * (settings.lane_correction_frames - 1)
