"""CARLA backend without a server: frames, the rig as blueprints, sensor data, control, settings, errors.

CARLA is left-handed (UE4: x forward, y right, z up, degrees); ProPilot is REP-103 (ENU map, base_link
x forward, y left, radians). The live tests (tests/scenario/test_carla_live.py) need a server.
"""

import inspect
import math
import socket

import numpy as np
import pytest

from propilot.core.fusion.rig import load_rig
from propilot.core.perception.camera_model import CameraSettings
from propilot.core.settings import ConfigError
from propilot.core.types import SensorKind
from propilot.sim.carla.convert import (
    RadarPoint,
    base_link_from_centre,
    bgra_to_grey,
    carla_geo_to_enu,
    carla_to_enu,
    command_to_control,
    enu_to_carla,
    enu_to_carla_geo,
    imu_to_base_link,
    mount_to_carla,
    radar_detections,
)
from propilot.sim.carla.sensors import plan_rig
from propilot.sim.carla.world import CarlaUnavailable, CarlaWorld, carla_settings, world_factory
from propilot.sim.scenario import DEFAULT_RIG_PATH
from propilot.sim.vehicle import CENTRE_AHEAD_OF_AXLE_M, WHEELBASE_M


def test_map_frame_to_carla_and_back():
    north = enu_to_carla(10.0, 20.0, 1.0, math.pi / 2)  # heading north, 20 m north of the origin
    assert (north.x, north.y, north.z, north.yaw_deg) == (10.0, -20.0, 1.0, -90.0)
    for yaw in np.linspace(-3.0, 3.0, 13):
        t = enu_to_carla(-5.0, 7.5, 0.3, yaw)
        assert carla_to_enu(t) == pytest.approx((-5.0, 7.5, 0.3, yaw))
        # UE4's forward vector of that rotation, (cos, sin) of yaw_deg in (x fwd, y right), is our heading
        forward_ue = (math.cos(math.radians(t.yaw_deg)), math.sin(math.radians(t.yaw_deg)))
        assert (forward_ue[0], -forward_ue[1]) == pytest.approx((math.cos(yaw), math.sin(yaw)))


def test_base_link_is_behind_the_carla_actor_centre():
    bx, by = base_link_from_centre(100.0, 50.0, math.pi / 2)
    assert (bx, by) == pytest.approx((100.0, 50.0 - CENTRE_AHEAD_OF_AXLE_M))


def test_sensor_mounts_on_the_carla_vehicle():
    left_corner = mount_to_carla(3.4, 0.8, 0.5, math.radians(45.0))  # front-left corner radar, looking left
    assert (left_corner.x, left_corner.y, left_corner.z) == pytest.approx((3.4 - CENTRE_AHEAD_OF_AXLE_M, -0.8, 0.5))
    assert left_corner.yaw_deg == pytest.approx(-45.0)  # CARLA: negative yaw turns left
    camera = mount_to_carla(1.9, 0.0, 1.3, 0.0, pitch_rad=0.03)  # tilted down
    assert camera.pitch_deg == pytest.approx(-math.degrees(0.03))


def test_imu_reading_turning_left():
    # Turning left at 0.1 rad/s with 2 m/s^2 to the left: CARLA's gyro z is negative, its accel y too.
    assert imu_to_base_link((0.5, -2.0, 9.81), (0.0, 0.0, -0.1)) == pytest.approx((0.5, 2.0, 0.1))


def test_carla_gnss_back_to_the_map_frame(hdmap):
    for x, y in [(1000.0, 500.0), (3800.0, -890.0), (-200.0, 40.0)]:
        lat, lon = enu_to_carla_geo(x, y, hdmap.origin_lat_deg, hdmap.origin_lon_deg)
        assert carla_geo_to_enu(lat, lon, hdmap.origin_lat_deg, hdmap.origin_lon_deg) == pytest.approx((x, y), abs=1e-6)
        # north is a higher latitude, east a higher longitude; the map's own projection agrees to 0.2 %
        map_lat, map_lon = hdmap.unproject(x, y)
        assert np.sign(lat - hdmap.origin_lat_deg) == np.sign(map_lat - hdmap.origin_lat_deg)
        assert np.sign(lon - hdmap.origin_lon_deg) == np.sign(map_lon - hdmap.origin_lon_deg)
        cx, cy = carla_geo_to_enu(map_lat, map_lon, hdmap.origin_lat_deg, hdmap.origin_lon_deg)
        assert math.hypot(cx - x, cy - y) <= 0.002 * math.hypot(x, y) + 1e-9


def test_rig_as_carla_blueprints():
    rig = load_rig(DEFAULT_RIG_PATH)
    plan = plan_rig(rig, CameraSettings())
    by_id = {b.sensor_id: b for b in plan.blueprints}
    cameras = [s for s in rig.sensors if s.kind == SensorKind.CAMERA]
    radars = [s for s in rig.sensors if s.kind == SensorKind.RADAR]
    sonars = [s for s in rig.sensors if s.kind == SensorKind.SONAR]
    assert len(plan.blueprints) == len(cameras) + len(radars) + 3  # + lane camera, GNSS, IMU; sonars modelled
    assert not any(s.sensor_id in by_id for s in sonars)
    for sensor in cameras:
        b = by_id[sensor.sensor_id]
        assert b.blueprint == "sensor.camera.rgb" and float(b.attributes["fov"]) == sensor.spec.fov_deg
        assert float(b.attributes["sensor_tick"]) == pytest.approx(1.0 / sensor.spec.rate_hz)
    for sensor in radars:
        b = by_id[sensor.sensor_id]
        assert b.blueprint == "sensor.other.radar"
        assert float(b.attributes["range"]) == sensor.spec.max_range_m
        assert float(b.attributes["horizontal_fov"]) == sensor.spec.fov_deg
        assert b.transform.y == pytest.approx(-sensor.mount.y_m)
        assert b.transform.yaw_deg == pytest.approx(-math.degrees(sensor.mount.yaw_rad))
    lane = by_id["lane_camera"]
    calibration = CameraSettings()
    assert (int(lane.attributes["image_size_x"]), int(lane.attributes["image_size_y"])) == (
        calibration.width_px, calibration.height_px)
    assert float(lane.attributes["fov"]) == calibration.hfov_deg
    assert by_id["gnss"].blueprint == "sensor.other.gnss" and by_id["imu"].blueprint == "sensor.other.imu"
    assert all(isinstance(v, str) for b in plan.blueprints for v in b.attributes.values())  # CARLA takes strings


def test_radar_returns_become_one_detection_per_car():
    rig = load_rig(DEFAULT_RIG_PATH)
    front = rig.sensor("front")  # at x 3.7 m, looking ahead
    # a car 30 m ahead and 3.5 m to the left (CARLA azimuth negative), closing at 5 m/s; and road returns
    car = [RadarPoint(math.hypot(30.0 + dx, 3.5 + dy), -math.atan2(3.5 + dy, 30.0 + dx), 0.0, -5.0 + dv)
           for dx, dy, dv in [(0, 0, 0), (0.5, 0.4, 0.1), (1.0, -0.3, -0.1), (-0.2, 0.6, 0.05)]]
    road = [RadarPoint(12.0, 0.1, -math.radians(5.0), -20.0), RadarPoint(20.0, -0.2, -math.radians(3.0), -20.0)]
    detections = radar_detections(car + road, front)
    assert len(detections) == 1
    d = detections[0]
    assert d.kind == SensorKind.RADAR and d.range_rate_mps == pytest.approx(-5.0, abs=0.05)
    assert (d.x_m, d.y_m) == pytest.approx((front.mount.x_m + 30.3, 3.67), abs=0.1)
    assert d.azimuth_rad == pytest.approx(math.atan2(3.67, 30.3), abs=0.01)
    assert d.range_sigma_m == front.spec.range_sigma_m
    rear_left = rig.sensor("rear_left")  # looking back-left: a car behind-left stays behind-left
    behind = radar_detections([RadarPoint(20.0, 0.0, 0.0, 2.0)], rear_left)[0]
    assert behind.x_m < 0.0 and behind.y_m > 0.0


def test_camera_image_to_grey():
    bgra = np.zeros((2, 3, 4), dtype=np.uint8)
    bgra[0, 0] = (255, 255, 255, 255)
    bgra[0, 1] = (255, 0, 0, 255)  # blue
    bgra[1, 2] = (0, 0, 255, 255)  # red
    grey = bgra_to_grey(bgra.tobytes(), 3, 2)
    assert grey.shape == (2, 3) and grey.dtype == np.uint8
    assert (grey[0, 0], grey[0, 1], grey[1, 2], grey[1, 0]) == (255, 29, 76, 0)


def test_command_to_throttle_brake_steer():
    straight = command_to_control(0.0, 0.0, 25.0, 0.0)
    assert straight.steer == 0.0 and straight.brake == 0.0 and 0.0 < straight.throttle < 0.2  # holds against drag
    left = command_to_control(0.0, 0.01, 25.0, 0.0)
    assert left.steer == pytest.approx(-math.atan(WHEELBASE_M * 0.01) / math.radians(70.0))  # CARLA: left < 0
    assert command_to_control(0.0, -0.01, 25.0, 0.0).steer == pytest.approx(-left.steer)
    assert command_to_control(0.0, 10.0, 1.0, 0.0).steer == -1.0  # saturates
    speeding_up = command_to_control(1.5, 0.0, 25.0, 1.5)
    braking = command_to_control(-3.0, 0.0, 25.0, -3.0)
    assert speeding_up.throttle > straight.throttle and speeding_up.brake == 0.0
    assert braking.throttle == 0.0 and 0.2 < braking.brake < 0.5
    assert command_to_control(-20.0, 0.0, 25.0, 0.0).brake == 1.0
    lagging = command_to_control(1.5, 0.0, 25.0, 0.0)  # the car accelerates less than asked: more throttle
    assert lagging.throttle > speeding_up.throttle
    throttles = [command_to_control(a, 0.0, 20.0, a).throttle for a in np.linspace(-1.0, 3.0, 9)]
    assert throttles == sorted(throttles)


def test_settings_are_validated():
    assert carla_settings({}).port == 2000
    with pytest.raises(ConfigError, match="carla.port: 70000 is above the maximum 65535"):
        carla_settings({"port": 70000})
    with pytest.raises(ConfigError, match="carla.tm_port: must differ from the server port"):
        carla_settings({"port": 8000})
    with pytest.raises(ConfigError, match="carla.colour: unknown setting"):
        carla_settings({"colour": "red"})
    with pytest.raises(ConfigError, match="carla.timeout_s: expected a number"):
        carla_settings({"timeout_s": "soon"})


def test_command_line_options():
    from propilot.cli import _world_factory, build_parser

    base = ["drive", "--scenario", "x.yaml", "--out", "o"]
    with pytest.raises(ConfigError, match="--carla-port: needs --sim carla"):
        _world_factory(build_parser().parse_args([*base, "--carla-port", "2000"]))
    assert _world_factory(build_parser().parse_args(base)) is None
    with pytest.raises(ConfigError, match="carla.port: 0 is below the minimum 1"):
        _world_factory(build_parser().parse_args([*base, "--sim", "carla", "--carla-port", "0"]))


def test_same_interface_as_the_embedded_world():
    from propilot.sim.runner import SimWorld
    from propilot.sim.world import World

    methods = [name for name, _ in inspect.getmembers(SimWorld, inspect.isfunction) if not name.startswith("_")]
    assert set(methods) == {"others", "ego_centre", "advance", "close"}
    for name in methods:
        wanted = list(inspect.signature(getattr(SimWorld, name)).parameters)
        assert list(inspect.signature(getattr(World, name)).parameters) == wanted
        assert list(inspect.signature(getattr(CarlaWorld, name)).parameters) == wanted
    assert "self.ego = EgoState(" in inspect.getsource(CarlaWorld)  # the true ego state, as World keeps it


def test_unreachable_server_is_a_clear_error():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(CarlaUnavailable) as error:
        world_factory(carla_settings({"host": "127.0.0.1", "port": port, "timeout_s": 0.5}))
    message = str(error.value)
    assert f"127.0.0.1:{port}" in message and "no CARLA server answered within 0.5 s" in message
    assert "--carla-host/--carla-port" in message
