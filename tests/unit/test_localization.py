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


@pytest.mark.parametrize("bad", [
    GnssFix(0.0, float("nan"), 139.0, 0.02, RtkState.RTK_FIXED),
    GnssFix(0.0, 35.0, 139.0, float("inf"), RtkState.RTK_FIXED),
    GnssFix(0.0, 35.0, 139.0, 0.02, RtkState.NO_FIX),
])
def test_invalid_fixes_are_counted_and_never_fused(hdmap, bad):
    localizer = Localizer(LocalizerSettings(), hdmap)
    localizer.add_gnss(bad)
    ego, lane = localizer.update(VehicleStatus(0.0, SPEED))
    assert ego is None and not lane.matched
    assert localizer.stats.rejected_invalid == 1


def test_a_fix_older_than_the_filter_state_is_rejected_as_stale(hdmap):
    localizer = Localizer(LocalizerSettings(), hdmap)
    drive_along_lane(hdmap, localizer, seconds=1)
    x, y = hdmap.centerline(main_line_lane(hdmap, 1))[3]
    lat, lon = hdmap.unproject(x, y)
    localizer.add_gnss(GnssFix(0.0, lat, lon, 0.02, RtkState.RTK_FIXED))  # from 1 s ago, arriving now
    localizer.update(VehicleStatus(1.0, SPEED))
    assert localizer.stats.rejected_stale == 1
