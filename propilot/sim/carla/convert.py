"""Conversions between CARLA and ProPilot: frames, the sensor rig, sensor data and vehicle control.

In: plain numbers (no CARLA server, no `carla` import here). Out: the same quantities in the
other convention.

Frames. CARLA (Unreal Engine 4) is left-handed: x forward, y right, z up, angles in degrees, yaw
clockwise seen from above. ProPilot uses REP-103: the map frame is ENU (x east, y north, z up),
base_link is x forward, y left, z up, angles in radians counter-clockwise. With a world made by
`generate_opendrive_world` CARLA's x is OpenDRIVE's x and CARLA's y is OpenDRIVE's -y; our map,
OpenDRIVE file and SUMO network share one frame, so: x = x, y = -y, z = z, yaw = -yaw (in rad).
A CARLA vehicle's transform is its bounding-box centre on the ground; base_link is the rear-axle
centre, `CENTRE_AHEAD_OF_AXLE_M` behind it.

Control. The stack commands an acceleration (m/s^2) and a path curvature (1/m). CARLA takes
throttle [0, 1], brake [0, 1] and a normalised steer [-1, 1] (positive: to the right):
  - steer: road-wheel angle of the kinematic bicycle, delta = atan(wheelbase * curvature),
    normalised by the vehicle's maximum road-wheel angle and negated (CARLA steers right positive);
  - longitudinal: the resistance the car meets at this speed (rolling + aerodynamic drag) is
    added to the commanded acceleration, then throttle = a / full-throttle acceleration when that
    is positive, else brake = -a / full-brake deceleration; a small closed-loop term on the
    measured acceleration corrects the open-loop map (gear shifts, slope, a different vehicle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from propilot.core.fusion.rig import Sensor
from propilot.core.settings import setting
from propilot.core.types import Detection, SensorKind
from propilot.sim.vehicle import CENTRE_AHEAD_OF_AXLE_M, WHEELBASE_M

EARTH_RADIUS_EQUATOR_M = 6378137.0  # CARLA's geo conversion (LibCarla GeoLocation: WGS84 equatorial radius)


@dataclass(frozen=True, slots=True)
class CarlaTransform:
    """A CARLA location (m) and rotation (deg), left-handed."""

    x: float
    y: float
    z: float
    roll_deg: float = 0.0
    pitch_deg: float = 0.0
    yaw_deg: float = 0.0


def enu_to_carla(x_m: float, y_m: float, z_m: float = 0.0, yaw_rad: float = 0.0) -> CarlaTransform:
    """Map frame (ENU, REP-103) -> CARLA world transform."""
    return CarlaTransform(x_m, -y_m, z_m, 0.0, 0.0, -math.degrees(yaw_rad))


def carla_to_enu(t: CarlaTransform) -> tuple[float, float, float, float]:
    """CARLA world transform -> (x_m, y_m, z_m, yaw_rad) in the map frame, yaw in (-pi, pi]."""
    yaw = -math.radians(t.yaw_deg)
    return t.x, -t.y, t.z, math.atan2(math.sin(yaw), math.cos(yaw))


def base_link_from_centre(x_m: float, y_m: float, yaw_rad: float) -> tuple[float, float]:
    """The ego's base_link (rear axle) from CARLA's actor location (box centre), map frame."""
    return x_m - CENTRE_AHEAD_OF_AXLE_M * math.cos(yaw_rad), y_m - CENTRE_AHEAD_OF_AXLE_M * math.sin(yaw_rad)


def centre_from_base_link(x_m: float, y_m: float, yaw_rad: float) -> tuple[float, float]:
    return x_m + CENTRE_AHEAD_OF_AXLE_M * math.cos(yaw_rad), y_m + CENTRE_AHEAD_OF_AXLE_M * math.sin(yaw_rad)


def mount_to_carla(x_m: float, y_m: float, z_m: float, yaw_rad: float, pitch_rad: float = 0.0) -> CarlaTransform:
    """A mount on base_link -> the sensor's transform relative to the CARLA vehicle (box centre).

    pitch_rad: positive nose down (our camera calibration); CARLA's pitch is positive nose up."""
    return CarlaTransform(x_m - CENTRE_AHEAD_OF_AXLE_M, -y_m, z_m, 0.0, -math.degrees(pitch_rad),
                          -math.degrees(yaw_rad))


def imu_to_base_link(accel_xyz: tuple[float, float, float], gyro_xyz: tuple[float, float, float]
                     ) -> tuple[float, float, float]:
    """CARLA IMU (sensor frame, left-handed) -> (accel_x, accel_y, yaw_rate) in REP-103.

    The acceleration is a vector: y flips. The angular velocity is a pseudo-vector: under the
    mirror y -> -y its x and z components flip, y stays (as carla-ros-bridge converts it)."""
    return accel_xyz[0], -accel_xyz[1], -gyro_xyz[2]


def carla_geo_to_enu(latitude_deg: float, longitude_deg: float, ref_lat_deg: float, ref_lon_deg: float
                     ) -> tuple[float, float]:
    """A CARLA GNSS reading -> map frame (x_m, y_m), inverting CARLA's scaled Mercator of its geo-reference.

    CARLA computes lat/lon from its location with a Mercator projection scaled at the reference
    latitude (LibCarla geom/GeoLocation); our map uses a local Cartesian projection, so the reading
    goes back to the map frame first and the map re-projects it (the two differ by up to metres)."""
    scale = math.cos(math.radians(ref_lat_deg))

    def mercator(lat: float, lon: float) -> tuple[float, float]:
        mx = scale * math.radians(lon) * EARTH_RADIUS_EQUATOR_M
        my = scale * EARTH_RADIUS_EQUATOR_M * math.log(math.tan(math.radians(90.0 + lat) / 2.0))
        return mx, my

    x0, y0 = mercator(ref_lat_deg, ref_lon_deg)
    x, y = mercator(latitude_deg, longitude_deg)
    return x - x0, y - y0  # CARLA's location y = -(my - my0); the map's y = -location y


def enu_to_carla_geo(x_m: float, y_m: float, ref_lat_deg: float, ref_lon_deg: float) -> tuple[float, float]:
    """Map frame -> the lat/lon CARLA's GNSS reports there (the inverse of `carla_geo_to_enu`)."""
    scale = math.cos(math.radians(ref_lat_deg))
    mx0 = scale * math.radians(ref_lon_deg) * EARTH_RADIUS_EQUATOR_M
    my0 = scale * EARTH_RADIUS_EQUATOR_M * math.log(math.tan(math.radians(90.0 + ref_lat_deg) / 2.0))
    lon = math.degrees((mx0 + x_m) / (scale * EARTH_RADIUS_EQUATOR_M))
    lat = 2.0 * math.degrees(math.atan(math.exp((my0 + y_m) / (scale * EARTH_RADIUS_EQUATOR_M)))) - 90.0
    return lat, lon


# --- the rig as CARLA blueprints -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlueprintSpec:
    """One sensor to spawn: blueprint id, attributes (CARLA takes strings) and mount on the vehicle."""

    sensor_id: str
    blueprint: str
    attributes: dict[str, str]
    transform: CarlaTransform


def _tick(rate_hz: float) -> str:
    return f"{1.0 / rate_hz:g}"


def sensor_blueprint(sensor: Sensor, image_width_px: int = 800, radar_points_per_second: int = 20000
                     ) -> BlueprintSpec | None:
    """A rig sensor -> its CARLA blueprint; None for a sonar (CARLA has none: modelled from ground truth)."""
    spec = sensor.spec
    transform = mount_to_carla(sensor.mount.x_m, sensor.mount.y_m, sensor.mount_z_m, sensor.mount.yaw_rad)
    if sensor.kind == SensorKind.CAMERA:
        height = max(1, round(image_width_px * 9 / 16))
        return BlueprintSpec(sensor.sensor_id, "sensor.camera.rgb", {
            "image_size_x": str(image_width_px), "image_size_y": str(height), "fov": f"{spec.fov_deg:g}",
            "sensor_tick": _tick(spec.rate_hz)}, transform)
    if sensor.kind == SensorKind.RADAR:
        return BlueprintSpec(sensor.sensor_id, "sensor.other.radar", {
            "horizontal_fov": f"{spec.fov_deg:g}", "vertical_fov": "10", "range": f"{spec.max_range_m:g}",
            "points_per_second": str(radar_points_per_second), "sensor_tick": _tick(spec.rate_hz)}, transform)
    return None


def lane_camera_blueprint(width_px: int, height_px: int, hfov_deg: float, mount_x_m: float, mount_y_m: float,
                          mount_height_m: float, pitch_rad: float, rate_hz: float) -> BlueprintSpec:
    """The stack's front lane camera (its calibration settings) as a CARLA RGB camera."""
    return BlueprintSpec("lane_camera", "sensor.camera.rgb", {
        "image_size_x": str(width_px), "image_size_y": str(height_px), "fov": f"{hfov_deg:g}",
        "sensor_tick": _tick(rate_hz)}, mount_to_carla(mount_x_m, mount_y_m, mount_height_m, 0.0, pitch_rad))


def gnss_blueprint(antenna_height_m: float, sigma_m: float, rate_hz: float) -> BlueprintSpec:
    """GNSS antenna above base_link; CARLA's noise is in degrees (1 deg latitude ~ 111 km)."""
    sigma_deg = sigma_m / 111_320.0
    return BlueprintSpec("gnss", "sensor.other.gnss", {
        "noise_lat_stddev": f"{sigma_deg:.3e}", "noise_lon_stddev": f"{sigma_deg:.3e}", "noise_alt_stddev": "0",
        "sensor_tick": _tick(rate_hz)}, mount_to_carla(0.0, 0.0, antenna_height_m, 0.0))


def imu_blueprint(rate_hz: float, accel_sigma_mps2: float, gyro_sigma_rps: float) -> BlueprintSpec:
    """IMU at base_link with the noise of our IMU model."""
    return BlueprintSpec("imu", "sensor.other.imu", {
        "noise_accel_stddev_x": f"{accel_sigma_mps2:g}", "noise_accel_stddev_y": f"{accel_sigma_mps2:g}",
        "noise_gyro_stddev_z": f"{gyro_sigma_rps:g}", "sensor_tick": _tick(rate_hz)},
        mount_to_carla(0.0, 0.0, 0.5, 0.0))


# --- radar points -> detections ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RadarPoint:
    """One CARLA radar return: depth (m), azimuth and altitude (rad, CARLA: azimuth positive to the right),
    velocity (m/s, radial, negative when closing)."""

    depth_m: float
    azimuth_rad: float
    altitude_rad: float
    velocity_mps: float


def radar_detections(points: list[RadarPoint], sensor: Sensor, cluster_m: float = 2.5,
                     ground_clearance_m: float = 0.2) -> tuple[Detection, ...]:
    """Radar returns -> one detection per object: ground hits dropped, the rest clustered by position
    and radial speed (a car gives several returns), each cluster's mean as the detection."""
    spec = sensor.spec
    clusters: list[list[tuple[float, float, float]]] = []  # (x, y, range rate) in the sensor frame, REP-103
    for p in sorted(points, key=lambda p: p.depth_m):
        if sensor.mount_z_m + p.depth_m * math.sin(p.altitude_rad) < ground_clearance_m:
            continue  # the road
        horizontal = p.depth_m * math.cos(p.altitude_rad)
        azimuth = -p.azimuth_rad
        x, y = horizontal * math.cos(azimuth), horizontal * math.sin(azimuth)
        for cluster in clusters:
            cx, cy, cv = cluster[0]
            if math.hypot(x - cx, y - cy) <= cluster_m and abs(p.velocity_mps - cv) <= 1.0:
                cluster.append((x, y, p.velocity_mps))
                break
        else:
            clusters.append([(x, y, p.velocity_mps)])
    detections = []
    m = sensor.mount
    for cluster in clusters:
        sx = sum(c[0] for c in cluster) / len(cluster)
        sy = sum(c[1] for c in cluster) / len(cluster)
        rate = sum(c[2] for c in cluster) / len(cluster)
        bx = m.x_m + sx * math.cos(m.yaw_rad) - sy * math.sin(m.yaw_rad)
        by = m.y_m + sx * math.sin(m.yaw_rad) + sy * math.cos(m.yaw_rad)
        detections.append(Detection(SensorKind.RADAR, bx, by, math.hypot(sx, sy), math.atan2(sy, sx) + m.yaw_rad,
                                    range_rate_mps=rate, range_sigma_m=spec.range_sigma_m,
                                    azimuth_sigma_rad=math.radians(spec.azimuth_sigma_deg),
                                    range_rate_sigma_mps=spec.range_rate_sigma_mps))
    return tuple(detections)


def bgra_to_grey(raw: bytes, width_px: int, height_px: int):
    """CARLA's BGRA camera buffer -> 8-bit grey (ITU-R BT.601 luma), shape (height, width)."""
    import numpy as np

    bgra = np.frombuffer(raw, dtype=np.uint8).reshape(height_px, width_px, 4).astype(np.float32)
    grey = 0.114 * bgra[:, :, 0] + 0.587 * bgra[:, :, 1] + 0.299 * bgra[:, :, 2]
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)


# --- command -> control -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ControlMap:
    """How a CARLA vehicle answers throttle, brake and steer (defaults: CARLA's vehicle.lincoln.mkz_2020)."""

    max_steer_angle_deg: float = setting(70.0, unit="deg", description="road-wheel angle at steer = 1 "
                                         "(the front wheels' max_steer_angle of the vehicle's physics)",
                                         minimum=5.0, maximum=90.0)
    wheelbase_m: float = setting(WHEELBASE_M, unit="m", description="of the bicycle model", minimum=1.0,
                                 maximum=6.0)
    full_throttle_accel_mps2: float = setting(4.0, unit="m/s^2", description="acceleration at throttle 1 "
                                              "(low gears)", minimum=0.5, maximum=15.0)
    full_brake_decel_mps2: float = setting(9.0, unit="m/s^2", description="deceleration at brake 1 (dry road)",
                                           minimum=1.0, maximum=15.0)
    rolling_decel_mps2: float = setting(0.15, unit="m/s^2", description="rolling resistance and driveline drag",
                                        minimum=0.0, maximum=2.0)
    drag_1pm: float = setting(0.00035, unit="1/m", description="aerodynamic drag as deceleration per speed^2 "
                              "(rho cd A / 2m)", minimum=0.0, maximum=0.01)
    accel_feedback: float = setting(0.3, description="share of the acceleration error (command - measured) "
                                    "added to the command", minimum=0.0, maximum=2.0)


@dataclass(frozen=True, slots=True)
class CarlaControl:
    throttle: float
    brake: float
    steer: float


def command_to_control(accel_mps2: float, curvature_1pm: float, speed_mps: float, measured_accel_mps2: float,
                       vehicle: ControlMap = ControlMap()) -> CarlaControl:
    """Acceleration and curvature commands -> CARLA throttle, brake and steer (see the module docstring)."""
    delta = math.atan(vehicle.wheelbase_m * curvature_1pm)
    steer = max(-1.0, min(1.0, -delta / math.radians(vehicle.max_steer_angle_deg)))
    resistance = vehicle.rolling_decel_mps2 * (speed_mps > 0.1) + vehicle.drag_1pm * speed_mps**2
    wanted = accel_mps2 + vehicle.accel_feedback * (accel_mps2 - measured_accel_mps2)
    net = wanted + resistance
    if net >= 0.0:
        return CarlaControl(min(1.0, net / vehicle.full_throttle_accel_mps2), 0.0, steer)
    return CarlaControl(0.0, min(1.0, -net / vehicle.full_brake_decel_mps2), steer)
