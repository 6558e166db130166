"""Front radar model: what the driver's radar sees of the cars around, with seeded noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from propilot.core.settings import ConfigError, from_mapping
from propilot.core.types import Pose2D, SensorKind
from propilot.sim.sensors import RadarModel, RadarSettings, TruthVehicle

SCANS = 400
EGO = Pose2D(0.0, 0.0, 0.0)
MOUNT_X_M = RadarSettings().mount_x_m


def radar(seed: int = 1, **overrides) -> RadarModel:
    values = {"clutter_per_scan": 0.0, "detection_probability": 1.0} | overrides
    return RadarModel("front_radar", RadarSettings(**values), np.random.default_rng(seed))


def car_ahead_of_radar(distance_m: float, lateral_m: float = 0.0, speed_mps: float = 25.0, name: str = "car"):
    """A car whose centre is `distance_m` ahead of the radar (ego at the origin, heading east)."""
    return TruthVehicle(name, MOUNT_X_M + distance_m, lateral_m, 0.0, speed_mps)


def scan_many(model: RadarModel, vehicles, ego=EGO, ego_speed_mps: float = 25.0, scans: int = SCANS):
    return [model.measure(0.05 * k, ego, ego_speed_mps, vehicles) for k in range(scans)]


def test_car_50_m_ahead_in_my_lane_is_seen_at_its_rear_bumper_straight_ahead():
    s = RadarSettings()
    car = car_ahead_of_radar(50.0)
    frames = scan_many(radar(), [car])

    assert all(len(f.detections) == 1 for f in frames)
    dets = [f.detections[0] for f in frames]
    ranges = np.array([d.range_m for d in dets])
    azimuths = np.array([d.azimuth_rad for d in dets])
    expected_range = 50.0 - car.length_m / 2.0
    assert abs(ranges.mean() - expected_range) < 4.0 * s.range_sigma_m / math.sqrt(SCANS)
    assert abs(azimuths.mean()) < 4.0 * s.azimuth_sigma_rad / math.sqrt(SCANS)
    assert ranges.std() == pytest.approx(s.range_sigma_m, rel=0.15)
    assert azimuths.std() == pytest.approx(s.azimuth_sigma_rad, rel=0.15)
    d = dets[0]
    assert d.kind == SensorKind.RADAR and frames[0].kind == SensorKind.RADAR
    assert frames[0].sensor_id == "front_radar"
    assert (d.range_sigma_m, d.azimuth_sigma_rad, d.range_rate_sigma_mps) == (
        s.range_sigma_m, s.azimuth_sigma_rad, s.range_rate_sigma_mps)
    # base_link position: mount + polar
    assert d.x_m == pytest.approx(MOUNT_X_M + d.range_m * math.cos(d.azimuth_rad))
    assert d.y_m == pytest.approx(d.range_m * math.sin(d.azimuth_rad))


def test_cars_outside_the_field_of_view_beyond_range_or_behind_are_not_seen():
    beside = car_ahead_of_radar(50.0, lateral_m=25.0, name="beside")  # ~27 deg off boresight, FOV is +-20
    far = car_ahead_of_radar(250.0, name="far")
    behind = car_ahead_of_radar(-30.0, name="behind")

    frames = scan_many(radar(), [beside, far, behind], scans=100)

    assert all(not f.detections for f in frames)


def test_car_hidden_exactly_behind_a_nearer_one_is_not_seen():
    near = car_ahead_of_radar(30.0, name="near")
    hidden = car_ahead_of_radar(60.0, name="hidden")

    frames = scan_many(radar(), [hidden, near])

    ranges = [d.range_m for f in frames for d in f.detections]
    assert len(ranges) == SCANS
    assert max(ranges) < 30.0  # only the near car's rear, at 27.75 m


def test_car_in_the_next_lane_behind_a_nearer_one_is_still_seen():
    near = car_ahead_of_radar(30.0, name="near")
    next_lane = car_ahead_of_radar(60.0, lateral_m=3.5, name="next_lane")

    frames = scan_many(radar(), [near, next_lane], scans=50)

    assert all(len(f.detections) == 2 for f in frames)


def test_closing_in_on_a_slower_car_gives_negative_range_rate():
    s = RadarSettings()
    slower = car_ahead_of_radar(40.0, speed_mps=20.0)

    frames = scan_many(radar(), [slower], ego_speed_mps=30.0)

    rates = np.array([f.detections[0].range_rate_mps for f in frames])
    assert abs(rates.mean() - (-10.0)) < 4.0 * s.range_rate_sigma_mps / math.sqrt(SCANS)


def test_radar_follows_the_ego_pose_in_the_map():
    # ego heading north at (100, 50): a car 50 m further north is straight ahead
    ego = Pose2D(100.0, 50.0, math.pi / 2.0)
    car = TruthVehicle("north", 100.0, 50.0 + MOUNT_X_M + 50.0, math.pi / 2.0, 20.0)

    frames = scan_many(radar(), [car], ego=ego, ego_speed_mps=20.0, scans=100)

    dets = [f.detections[0] for f in frames]
    assert np.mean([d.range_m for d in dets]) == pytest.approx(47.75, abs=0.1)
    assert np.mean([d.azimuth_rad for d in dets]) == pytest.approx(0.0, abs=0.002)
    assert np.mean([d.range_rate_mps for d in dets]) == pytest.approx(0.0, abs=0.05)


def test_radar_misses_a_few_percent_of_scans():
    frames = scan_many(radar(detection_probability=0.9), [car_ahead_of_radar(50.0)], scans=1000)

    seen = sum(len(f.detections) for f in frames)
    assert 0.86 * 1000 < seen < 0.94 * 1000  # +-4 sigma of the binomial


def test_clutter_is_poisson_and_inside_the_field_of_view():
    s = RadarSettings(clutter_per_scan=2.0)
    model = RadarModel("front_radar", s, np.random.default_rng(3))

    frames = scan_many(model, [], scans=1000)

    counts = np.array([len(f.detections) for f in frames])
    assert counts.mean() == pytest.approx(2.0, abs=0.15)
    dets = [d for f in frames for d in f.detections]
    assert max(abs(d.azimuth_rad) for d in dets) <= math.radians(s.fov_deg) / 2.0
    assert max(d.range_m for d in dets) <= s.max_range_m


def test_sixty_cars_are_handled_in_one_scan():
    cars = [car_ahead_of_radar(10.0 + 12.0 * row, 3.5 * (lane - 2), name=f"c{row}_{lane}")
            for row in range(12) for lane in range(5)]

    frame = radar(fov_deg=120.0, occlusion_fraction=1.0).measure(0.0, EGO, 25.0, cars)

    assert len(frame.detections) == 60


def test_detection_probability_above_one_is_a_config_error():
    with pytest.raises(ConfigError, match="detection_probability"):
        from_mapping(RadarSettings, {"detection_probability": 1.5}, "radar.yaml")
