"""Simulated cameras, radars and sonars: what each sees of the cars around, with seeded noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from propilot.core.fusion.rig import Rig, load_rig, rig_from_mapping
from propilot.core.types import ObjectClass, Pose2D, SensorKind
from propilot.sim.sensors import SensorSuite, TruthVehicle
from tests.conftest import REPO

SCANS = 400
EGO = Pose2D(0.0, 0.0, 0.0)
DEFAULT_RIG = load_rig(REPO / "sim" / "rigs" / "default.yaml")
FRONT = DEFAULT_RIG.sensor("front")


def one_sensor(sensor_id: str, **overrides) -> Rig:
    """The default rig's sensor alone, without misses and false detections unless asked."""
    sensor = DEFAULT_RIG.sensor(sensor_id)
    spec = {"detection_probability": 1.0, "false_alarms_per_scan": 0.0} | overrides
    mount = {"x_m": sensor.mount.x_m, "y_m": sensor.mount.y_m, "yaw_deg": math.degrees(sensor.mount.yaw_rad)}
    fields = {name: getattr(sensor.spec, name) for name in sensor.spec.__dataclass_fields__} | spec
    return rig_from_mapping({"sensors": [{"id": sensor_id, "kind": sensor.kind_name, "mount": mount, **fields}]},
                            "test rig")


def scan_many(rig: Rig, vehicles, ego=EGO, ego_speed_mps: float = 25.0, scans: int = SCANS, seed: int = 1):
    suite = SensorSuite(rig, seed)
    return [f for k in range(scans) for f in suite.measure(0.05 * k, ego, ego_speed_mps, 0.0, vehicles, rig.sensors)]


def car_ahead_of(sensor_id: str, distance_m: float, lateral_m: float = 0.0, speed_mps: float = 25.0,
                 name: str = "car") -> TruthVehicle:
    """A car whose centre is `distance_m` ahead of the sensor (ego at the origin, heading east)."""
    return TruthVehicle(name, DEFAULT_RIG.sensor(sensor_id).mount.x_m + distance_m, lateral_m, 0.0, speed_mps)


# --- radar ---

def test_radar_sees_a_car_50_m_ahead_at_its_rear_bumper_with_the_configured_noise():
    s = FRONT.spec
    frames = scan_many(one_sensor("front"), [car_ahead_of("front", 50.0)])

    assert all(len(f.detections) == 1 for f in frames)
    dets = [f.detections[0] for f in frames]
    ranges = np.array([d.range_m for d in dets])
    azimuths = np.array([d.azimuth_rad for d in dets])
    assert abs(ranges.mean() - (50.0 - 4.5 / 2.0)) < 4.0 * s.range_sigma_m / math.sqrt(SCANS)
    assert ranges.std() == pytest.approx(s.range_sigma_m, rel=0.15)
    assert azimuths.std() == pytest.approx(math.radians(s.azimuth_sigma_deg), rel=0.15)
    d = dets[0]
    assert d.kind == SensorKind.RADAR and frames[0].sensor_id == "front"
    assert d.x_m == pytest.approx(FRONT.mount.x_m + d.range_m * math.cos(d.azimuth_rad))  # mount + polar


def test_radar_misses_what_is_outside_its_beam_beyond_its_range_or_behind():
    beside = car_ahead_of("front", 50.0, lateral_m=25.0, name="beside")  # ~27 deg off, the beam is +-20 deg
    far = car_ahead_of("front", 250.0, name="far")
    behind = car_ahead_of("front", -30.0, name="behind")

    assert all(not f.detections for f in scan_many(one_sensor("front"), [beside, far, behind], scans=50))


def test_a_car_hidden_behind_a_nearer_one_is_not_seen_but_one_in_the_next_lane_is():
    near = car_ahead_of("front", 30.0, name="near")
    hidden = car_ahead_of("front", 60.0, name="hidden")
    next_lane = car_ahead_of("front", 60.0, lateral_m=3.5, name="next_lane")
    suite = SensorSuite(one_sensor("front"), 1)

    frames = [suite.measure(0.05 * k, EGO, 25.0, 0.0, [hidden, near, next_lane], suite.rig.sensors)[0]
              for k in range(50)]

    assert all(len(f.detections) == 2 for f in frames)
    assert suite.seen_ids == {"near", "next_lane"}
    assert all(min(d.range_m for d in f.detections) < 30.0 for f in frames)


def test_closing_in_on_a_slower_car_gives_its_negative_range_rate():
    frames = scan_many(one_sensor("front"), [car_ahead_of("front", 40.0, speed_mps=20.0)], ego_speed_mps=30.0)

    rates = np.array([f.detections[0].range_rate_mps for f in frames])
    assert abs(rates.mean() + 10.0) < 4.0 * FRONT.spec.range_rate_sigma_mps / math.sqrt(SCANS)


def test_a_rear_corner_radar_sees_a_car_approaching_from_90_m_behind_in_the_next_lane():
    approaching = TruthVehicle("fast", -90.0, 3.5, 0.0, 40.0)
    frames = scan_many(one_sensor("rear_left"), [approaching], scans=100)

    rates = [f.detections[0].range_rate_mps for f in frames]
    assert np.mean(rates) == pytest.approx(-15.0, abs=0.1)  # 40 m/s against the ego's 25
    assert all(abs(f.detections[0].azimuth_rad) > math.radians(170.0) for f in frames)  # straight behind


def test_radar_follows_the_ego_pose_in_the_map():
    ego = Pose2D(100.0, 50.0, math.pi / 2.0)  # heading north: a car further north is straight ahead
    car = TruthVehicle("north", 100.0, 50.0 + FRONT.mount.x_m + 50.0, math.pi / 2.0, 20.0)

    dets = [f.detections[0] for f in scan_many(one_sensor("front"), [car], ego=ego, ego_speed_mps=20.0, scans=100)]

    assert np.mean([d.range_m for d in dets]) == pytest.approx(47.75, abs=0.1)
    assert np.mean([d.azimuth_rad for d in dets]) == pytest.approx(0.0, abs=0.002)
    assert np.mean([d.range_rate_mps for d in dets]) == pytest.approx(0.0, abs=0.05)


def test_radar_misses_with_one_minus_the_detection_probability():
    frames = scan_many(one_sensor("front", detection_probability=0.9), [car_ahead_of("front", 50.0)], scans=1000)

    seen = sum(len(f.detections) for f in frames)
    assert 0.86 * 1000 < seen < 0.94 * 1000  # +-4 sigma of the binomial


def test_false_detections_are_poisson_and_inside_the_field_of_view():
    frames = scan_many(one_sensor("front", false_alarms_per_scan=2.0), [], scans=1000, seed=3)

    assert np.mean([len(f.detections) for f in frames]) == pytest.approx(2.0, abs=0.15)
    dets = [d for f in frames for d in f.detections]
    assert max(abs(d.azimuth_rad) for d in dets) <= FRONT.half_fov_rad
    assert max(d.range_m for d in dets) <= FRONT.spec.max_range_m


# --- camera ---

def test_camera_range_is_rough_and_gets_rougher_with_distance_while_the_bearing_stays_sharp():
    cam = DEFAULT_RIG.sensor("front_wide")
    near = [f.detections[0] for f in scan_many(one_sensor("front_wide"), [car_ahead_of("front_wide", 20.0)])]
    far = [f.detections[0] for f in scan_many(one_sensor("front_wide"), [car_ahead_of("front_wide", 70.0)])]

    near_std, far_std = np.std([d.range_m for d in near]), np.std([d.range_m for d in far])
    assert far_std > 2.5 * near_std
    assert far_std == pytest.approx(cam.spec.range_sigma_fraction * (70.0 - 2.25), rel=0.2)
    assert np.std([d.azimuth_rad for d in far]) == pytest.approx(math.radians(cam.spec.azimuth_sigma_deg), rel=0.15)
    assert all(math.isnan(d.range_rate_mps) for d in far)  # no Doppler


def test_camera_tells_cars_from_trucks_and_sees_the_width_of_a_car_from_behind():
    car = car_ahead_of("front_wide", 30.0, name="car")
    truck = TruthVehicle("truck", 60.0, 3.5, 0.0, 22.0, length_m=12.0, width_m=2.5)
    frames = scan_many(one_sensor("front_wide", class_error_probability=0.0), [car, truck], scans=50)

    by_class = {d.classification: d for f in frames for d in f.detections}
    assert set(by_class) == {ObjectClass.CAR, ObjectClass.TRUCK}
    widths = [d.width_m for f in frames for d in f.detections if d.classification == ObjectClass.CAR]
    assert np.mean(widths) == pytest.approx(1.8, abs=0.1)


def test_a_blinded_camera_keeps_reporting_but_sees_nothing():
    suite = SensorSuite(one_sensor("front_wide"), 1)
    car = [car_ahead_of("front_wide", 30.0)]

    frames = [suite.step(0.05 * k, EGO, 25.0, 0.0, car, blinded={"front_wide"}) for k in range(20)]

    delivered = [f for step in frames for f in step]
    assert len(delivered) == 18  # 20 Hz, delivered 0.1 s late
    assert all(not f.detections for f in delivered)


# --- sonar ---

def test_side_sonar_measures_the_distance_to_a_car_alongside():
    sonar = DEFAULT_RIG.sensor("front_right_side")  # y = -0.92, looking right
    alongside = TruthVehicle("alongside", sonar.mount.x_m - 1.0, -3.5, 0.0, 25.0)  # its left side at y = -2.6

    frames = scan_many(one_sensor("front_right_side"), [alongside], scans=100)

    ranges = [f.detections[0].range_m for f in frames]
    assert np.mean(ranges) == pytest.approx(2.6 - 0.92, abs=0.01)
    assert np.std(ranges) == pytest.approx(sonar.spec.range_sigma_m, rel=0.25)
    assert frames[0].detections[0].kind == SensorKind.SONAR


def test_sonar_reports_only_the_nearest_echo_and_nothing_beyond_its_range():
    sonar = DEFAULT_RIG.sensor("rear_left_centre")  # rear bumper, looking back, 3 m
    near = TruthVehicle("near", sonar.mount.x_m - 1.5 - 2.25, 0.3, 0.0, 0.0)
    far = TruthVehicle("far", sonar.mount.x_m - 2.5 - 2.25, 1.8, 0.0, 0.0)
    out_of_range = TruthVehicle("out", sonar.mount.x_m - 6.0 - 2.25, 0.0, 0.0, 0.0)

    (frame,) = scan_many(one_sensor("rear_left_centre"), [near, far], scans=1)
    (empty,) = scan_many(one_sensor("rear_left_centre"), [out_of_range], scans=1)

    assert len(frame.detections) == 1 and frame.detections[0].range_m == pytest.approx(1.5, abs=0.15)
    assert not empty.detections


# --- the whole rig ---

def test_frames_arrive_after_their_latency_stamped_with_the_measurement_time():
    suite = SensorSuite(DEFAULT_RIG, 1)
    car = [car_ahead_of("front", 40.0)]

    steps = [suite.step(0.05 * k, EGO, 25.0, 0.0, car) for k in range(4)]

    for k, frames in enumerate(steps):
        for frame in frames:
            latency = DEFAULT_RIG.sensor(frame.sensor_id).spec.latency_s
            assert frame.t_s == pytest.approx(0.05 * k - latency)
    measured_first = [f.sensor_id for frames in steps for f in frames if f.t_s == 0.0]
    assert sorted(measured_first) == sorted(DEFAULT_RIG.ids())  # each sensor once, delivered after its latency
    sonar_times = sorted({f.t_s for frames in steps for f in frames if f.kind == SensorKind.SONAR})
    assert sonar_times == pytest.approx([0.0, 0.05, 0.1])  # 20 Hz (remote park's sonar cycle)


def test_a_dropped_out_sensor_sends_nothing():
    suite = SensorSuite(DEFAULT_RIG, 1)

    frames = [f for k in range(10) for f in suite.step(0.05 * k, EGO, 25.0, 0.0, [], dropped={"front", "rear"})]

    assert frames and not {"front", "rear"} & {f.sensor_id for f in frames}


def test_sixty_cars_around_are_handled_in_one_scan():
    cars = [TruthVehicle(f"c{row}_{lane}", -60.0 + 12.0 * row, 3.5 * (lane - 2), 0.0, 25.0)
            for row in range(12) for lane in range(5)]
    suite = SensorSuite(DEFAULT_RIG, 1)

    frames = suite.measure(0.0, EGO, 25.0, 0.0, cars, DEFAULT_RIG.sensors)

    assert len(frames) == 24
    # many are hidden behind nearer ones, but the nearest row ahead and behind in every lane is seen
    nearest_rows = {f"c{row}_{lane}" for row in (4, 6) for lane in range(5)}
    assert nearest_rows <= suite.seen_ids
