"""Sensor models of the embedded simulator: every camera, radar and sonar of a rig.

In, each step: the time, the ego's true pose, speed and yaw rate, the true boxes of the
other vehicles (`TruthVehicle`, map frame, centre of the box) and the sensors that a fault
has dropped out or blinded. Out: the `DetectionFrame`s delivered at this step (each stamped
with its measurement time, delivered `latency_s` later), detections in base_link.

What each kind reports (settings per sensor in the rig, `propilot.core.fusion.rig`):
- radar: range to the box's face towards the sensor, azimuth of the box centre, range rate;
- camera: azimuth of the box centre, a rough range (noise grows with the range), the seen
  width and the class (car or truck, sometimes wrong);
- sonar: the range of the nearest echo in its beam cone (one value per cycle, or none).
Radars and cameras see an object when its centre is in the field of view and range band
and no nearer object covers more than `occlusion_fraction` of its angular extent. They
miss with 1 - detection_probability and add Poisson false detections from the stationary
world. The geometry of all sensors due at a step is computed at once, (sensors x vehicles)
and (sensors x vehicles x vehicles) for the occlusion.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from propilot.core.fusion.rig import Rig, Sensor
from propilot.core.types import Detection, DetectionFrame, ObjectClass, Pose2D, SensorKind

TRUCK_MIN_LENGTH_M = 7.0  # longer boxes are trucks to the camera's classifier
_TIME_EPS_S = 1e-9
_REACH_MARGIN_M = 15.0  # more than half the longest vehicle
_CORNER_SIGNS = np.array([(1, 1), (1, -1), (-1, 1), (-1, -1)], dtype=float)  # (along, across)


@dataclass(frozen=True, slots=True)
class TruthVehicle:
    """A simulated vehicle as the sensor models need it: box centre and heading in the map frame."""

    vehicle_id: str
    x_m: float
    y_m: float
    yaw_rad: float
    speed_mps: float
    length_m: float = 4.5
    width_m: float = 1.8


@dataclass(frozen=True, slots=True)
class Geometry:
    """Noise-free view of every vehicle from every sensor of one scan, arrays (sensors, vehicles)."""

    distance_m: np.ndarray  # sensor to box centre
    face_range_m: np.ndarray  # sensor to the box's face towards it, along the line of sight
    nearest_m: np.ndarray  # sensor to the nearest point of the box
    bearing_rad: np.ndarray  # line of sight to the centre, from base_link's x axis
    off_axis_rad: np.ndarray  # line of sight to the centre, from the sensor's boresight
    extent_low_rad: np.ndarray  # angular extent of the box, from the boresight
    extent_high_rad: np.ndarray
    range_rate_mps: np.ndarray  # of the box centre, relative to the moving sensor
    visible: np.ndarray  # bool: in view, in range and not hidden (radar, camera)
    in_beam: np.ndarray  # bool: some part of the box inside the beam cone and range (sonar)


class SensorSuite:
    """All sensors of a rig with their scan schedule, latency and faults."""

    def __init__(self, rig: Rig, seed: np.random.SeedSequence | int):
        self.rig = rig
        self.rng = np.random.default_rng(seed)
        self._next_scan_s = {s.sensor_id: 0.0 for s in rig.sensors}
        self._in_flight: list[tuple[float, DetectionFrame]] = []  # (delivery time, frame)
        self.seen_ids: frozenset[str] = frozenset()  # vehicles some sensor could see at the last scan (no noise)

    def step(self, t_s: float, ego_pose: Pose2D, ego_speed_mps: float, ego_yaw_rate_rps: float,
             vehicles: Sequence[TruthVehicle], dropped: Collection[str] = (),
             blinded: Collection[str] = ()) -> list[DetectionFrame]:
        """Scan every sensor that is due and not dropped out; return the frames delivered now, in
        (measurement time, sensor id) order. A blinded sensor keeps scanning but sees nothing."""
        due = []
        for sensor in self.rig.sensors:
            if t_s + _TIME_EPS_S >= self._next_scan_s[sensor.sensor_id]:
                while self._next_scan_s[sensor.sensor_id] <= t_s + _TIME_EPS_S:
                    self._next_scan_s[sensor.sensor_id] += sensor.period_s
                if sensor.sensor_id not in dropped:
                    due.append(sensor)
        for frame in self.measure(t_s, ego_pose, ego_speed_mps, ego_yaw_rate_rps, vehicles, due, blinded):
            latency = self.rig.sensor(frame.sensor_id).spec.latency_s
            self._in_flight.append((t_s + latency, frame))
        delivered = [f for when, f in self._in_flight if when <= t_s + _TIME_EPS_S]
        self._in_flight = [(when, f) for when, f in self._in_flight if when > t_s + _TIME_EPS_S]
        return sorted(delivered, key=lambda f: (f.t_s, f.sensor_id))

    def measure(self, t_s: float, ego_pose: Pose2D, ego_speed_mps: float, ego_yaw_rate_rps: float,
                vehicles: Sequence[TruthVehicle], sensors: Sequence[Sensor],
                blinded: Collection[str] = ()) -> list[DetectionFrame]:
        """One scan of each given sensor now, no latency: one frame per sensor, in the order given."""
        reach = float(_sensor_table(self.rig.sensors)["reach_m"])
        near = [v for v in vehicles if math.hypot(v.x_m - ego_pose.x_m, v.y_m - ego_pose.y_m) <= reach]
        by_sensor: dict[str, tuple[Detection, ...]] = {}
        seen: set[str] = set()
        for kind, measure in ((SensorKind.RADAR, _radars_and_cameras), (SensorKind.SONAR, _sonars)):
            group = tuple(s for s in sensors if (s.kind == SensorKind.SONAR) == (kind == SensorKind.SONAR))
            if not group:
                continue
            geometry = view_geometry(group, ego_pose, ego_speed_mps, ego_yaw_rate_rps, near)
            visible = geometry.in_beam if kind == SensorKind.SONAR else geometry.visible
            seen.update(v.vehicle_id for v, any_sensor in zip(near, visible.any(axis=0), strict=True) if any_sensor)
            by_sensor.update(measure(group, geometry, near, self.rng, ego_speed_mps, ego_yaw_rate_rps))
        self.seen_ids = frozenset(seen)
        return [DetectionFrame(t_s, s.sensor_id, s.kind, () if s.sensor_id in blinded else by_sensor[s.sensor_id])
                for s in sensors]


def view_geometry(sensors: Sequence[Sensor], ego_pose: Pose2D, ego_speed_mps: float, ego_yaw_rate_rps: float,
                  vehicles: Sequence[TruthVehicle]) -> Geometry:
    """What each sensor sees of each vehicle before noise, all sensors and vehicles at once."""
    n_s, n_v = len(sensors), len(vehicles)
    table = _sensor_table(tuple(sensors))
    mounts = table["mounts"]
    c, si = math.cos(ego_pose.yaw_rad), math.sin(ego_pose.yaw_rad)
    sensor_xy = np.column_stack((ego_pose.x_m + c * mounts[:, 0] - si * mounts[:, 1],
                                 ego_pose.y_m + si * mounts[:, 0] + c * mounts[:, 1]))
    boresight = ego_pose.yaw_rad + mounts[:, 2]
    # sensor velocity: the ego's plus the yaw rate turning the lever arm
    lever = sensor_xy - (ego_pose.x_m, ego_pose.y_m)
    sensor_velocity = (ego_speed_mps * np.array([c, si])[None, :]
                       + ego_yaw_rate_rps * np.column_stack((-lever[:, 1], lever[:, 0])))
    if n_v == 0:
        empty = np.zeros((n_s, 0))
        return Geometry(empty, empty, empty, empty, empty, empty, empty, empty, empty.astype(bool),
                        empty.astype(bool))
    box = np.array([(v.x_m, v.y_m, v.yaw_rad, v.speed_mps, v.length_m / 2.0, v.width_m / 2.0) for v in vehicles])
    centre, yaw, speed, half_l, half_w = box[:, :2], box[:, 2], box[:, 3], box[:, 4], box[:, 5]
    heading = np.column_stack((np.cos(yaw), np.sin(yaw)))

    dx = centre[None, :, 0] - sensor_xy[:, None, 0]  # (S, V)
    dy = centre[None, :, 1] - sensor_xy[:, None, 1]
    distance = np.maximum(np.hypot(dx, dy), 1e-6)
    ux, uy = dx / distance, dy / distance
    # the sensor in box coordinates (along, across the heading)
    along = -(dx * heading[:, 0] + dy * heading[:, 1])
    across = -(dy * heading[:, 0] - dx * heading[:, 1])
    # support of the box towards the sensor: its face along the line of sight
    face_range = distance - (half_l * np.abs(along) + half_w * np.abs(across)) / distance
    # nearest point of the box: the sensor clamped to the box
    nearest = np.hypot(along - np.clip(along, -half_l, half_l), across - np.clip(across, -half_w, half_w))

    bearing_map = np.arctan2(dy, dx)
    off_axis = _wrap(bearing_map - boresight[:, None])
    bearing = _wrap(bearing_map - ego_pose.yaw_rad)
    # angular half extent of the box seen from the sensor: the corners' spread around the centre
    corner_along = along[..., None] + _CORNER_SIGNS[:, 0] * half_l[:, None]  # (S, V, 4), sensor - corner
    corner_across = across[..., None] + _CORNER_SIGNS[:, 1] * half_w[:, None]
    # angle of each corner relative to the centre's line of sight (both in box coordinates)
    spread = _wrap(np.arctan2(corner_across, corner_along) - np.arctan2(across, along)[..., None])
    low, high = off_axis + spread.min(axis=2), off_axis + spread.max(axis=2)

    range_rate = ((speed * heading[:, 0])[None, :] - sensor_velocity[:, None, 0]) * ux + (
        (speed * heading[:, 1])[None, :] - sensor_velocity[:, None, 1]) * uy

    fov = table["half_fov_rad"][:, None]
    min_range = table["min_range_m"][:, None]
    max_range = table["max_range_m"][:, None]
    in_beam = (low <= fov) & (high >= -fov) & (nearest >= min_range) & (nearest <= max_range)
    visible = (np.abs(off_axis) <= fov) & (face_range >= min_range) & (face_range <= max_range)
    occlusion = table["occlusion_fraction"]
    rows = np.flatnonzero(visible.any(axis=1) & (occlusion < 1.0))
    if rows.size and n_v > 1:
        # [s, i, j]: share of i's angular extent that a nearer j (ahead of the sensor) covers
        lo, hi, rng_ = low[rows], high[rows], face_range[rows]
        overlap = np.clip(np.minimum(hi[:, :, None], hi[:, None, :]) - np.maximum(lo[:, :, None], lo[:, None, :]),
                          0.0, None)
        covered = overlap > occlusion[rows, None, None] * np.maximum(hi - lo, 1e-9)[:, :, None]
        nearer = (rng_[:, None, :] < rng_[:, :, None]) & (np.abs(off_axis[rows]) < math.pi / 2.0)[:, None, :]
        visible[rows] &= ~np.any(nearer & covered, axis=2)
    return Geometry(distance, face_range, nearest, bearing, off_axis, low, high, range_rate, visible, in_beam)


def _radars_and_cameras(sensors: tuple[Sensor, ...], g: Geometry, vehicles: Sequence[TruthVehicle],
                        rng: np.random.Generator, ego_speed_mps: float,
                        ego_yaw_rate_rps: float) -> dict[str, tuple[Detection, ...]]:
    """Noisy detections of the visible vehicles plus false ones, for all these sensors at once."""
    n_s = len(sensors)
    p = _sensor_table(sensors)
    velocity_x = ego_speed_mps - ego_yaw_rate_rps * p["mount_y_m"]  # of each sensor, base_link axes
    velocity_y = ego_yaw_rate_rps * p["mount_x_m"]
    hit_s, hit_v = np.nonzero(g.visible & (rng.random(g.visible.shape) < p["detection_probability"][:, None]))
    # false detections from the stationary world, uniform per area of the field of view
    false_s = np.repeat(np.arange(n_s), rng.poisson(p["false_alarms_per_scan"]))
    n_false = false_s.size
    false_range = np.sqrt(rng.uniform(p["min_range_m"][false_s] ** 2, p["max_range_m"][false_s] ** 2))
    false_off_axis = rng.uniform(-1.0, 1.0, n_false) * p["half_fov_rad"][false_s]
    false_bearing = _wrap(false_off_axis + p["mount_yaw_rad"][false_s])
    # a stationary thing closes at the sensor's own speed along the line of sight (base_link axes)
    false_rate = -(velocity_x[false_s] * np.cos(false_bearing) + velocity_y[false_s] * np.sin(false_bearing))

    sensor = np.concatenate((hit_s, false_s))
    true_range = np.concatenate((g.face_range_m[hit_s, hit_v], false_range))
    range_sigma = np.hypot(p["range_sigma_m"][sensor], p["range_sigma_fraction"][sensor] * true_range)
    real = np.arange(sensor.size) < hit_s.size  # false detections are random already: no noise on top
    range_m = np.maximum(true_range + rng.normal(0.0, 1.0, sensor.size) * range_sigma * real, 0.0)
    azimuth_sigma = p["azimuth_sigma_rad"][sensor]
    azimuth = _wrap(np.concatenate((g.bearing_rad[hit_s, hit_v], false_bearing))
                    + rng.normal(0.0, 1.0, sensor.size) * azimuth_sigma * real)
    rate_sigma = p["range_rate_sigma_mps"][sensor]
    rate = (np.concatenate((g.range_rate_mps[hit_s, hit_v], false_rate))
            + rng.normal(0.0, 1.0, sensor.size) * rate_sigma * real)
    x = p["mount_x_m"][sensor] + range_m * np.cos(azimuth)
    y = p["mount_y_m"][sensor] + range_m * np.sin(azimuth)
    # cameras: the class from the box length (sometimes wrong), the width from the angular extent
    length = np.array([vehicles[v].length_m for v in hit_v])
    truck = np.concatenate((length >= TRUCK_MIN_LENGTH_M, rng.random(n_false) < 0.2))
    truck ^= rng.random(sensor.size) < p["class_error_probability"][sensor]
    width = np.concatenate(((g.extent_high_rad[hit_s, hit_v] - g.extent_low_rad[hit_s, hit_v])
                            * g.face_range_m[hit_s, hit_v], rng.uniform(1.5, 2.5, n_false)))
    width = np.maximum(width + rng.normal(0.0, 1.0, sensor.size) * p["width_sigma_m"][sensor], 0.1)

    radar = p["radar"][sensor]
    columns = zip(sensor.tolist(), x.tolist(), y.tolist(), range_m.tolist(), azimuth.tolist(), rate.tolist(),
                  range_sigma.tolist(), azimuth_sigma.tolist(), rate_sigma.tolist(), radar.tolist(), truck.tolist(),
                  width.tolist(), strict=True)
    out: dict[str, list[Detection]] = {s.sensor_id: [] for s in sensors}
    for k, xi, yi, ri, ai, rri, rs, az_s, rr_s, is_radar, is_truck, wi in columns:
        if is_radar:
            det = Detection(SensorKind.RADAR, xi, yi, ri, ai, rri, rs, az_s, rr_s)
        else:
            det = Detection(SensorKind.CAMERA, xi, yi, ri, ai, range_sigma_m=rs, azimuth_sigma_rad=az_s,
                            classification=ObjectClass.TRUCK if is_truck else ObjectClass.CAR, width_m=wi)
        out[sensors[k].sensor_id].append(det)
    return {k: tuple(v) for k, v in out.items()}


def _sonars(sensors: tuple[Sensor, ...], g: Geometry, vehicles: Sequence[TruthVehicle], rng: np.random.Generator,
            ego_speed_mps: float, ego_yaw_rate_rps: float) -> dict[str, tuple[Detection, ...]]:
    """Each sonar: the nearest echo in its beam, an object (if it answers) or a false echo, whichever is nearer."""
    p = _sensor_table(sensors)
    answers = g.in_beam & (rng.random(g.in_beam.shape) < p["detection_probability"][:, None])
    echo = np.where(answers, g.nearest_m, np.inf).min(axis=1, initial=np.inf)
    false_echo = np.where(rng.random(len(sensors)) < p["false_alarms_per_scan"],
                          rng.uniform(p["min_range_m"], p["max_range_m"]), np.inf)
    echo = np.minimum(echo, false_echo)
    noisy = np.maximum(echo + rng.normal(0.0, 1.0, len(sensors)) * p["range_sigma_m"], p["min_range_m"])
    out: dict[str, tuple[Detection, ...]] = {}
    for k, sensor in enumerate(sensors):
        if not math.isfinite(echo[k]):
            out[sensor.sensor_id] = ()
            continue
        r, yaw = float(noisy[k]), sensor.mount.yaw_rad
        out[sensor.sensor_id] = (Detection(
            SensorKind.SONAR, sensor.mount.x_m + r * math.cos(yaw), sensor.mount.y_m + r * math.sin(yaw), r, yaw,
            range_sigma_m=sensor.spec.range_sigma_m, azimuth_sigma_rad=sensor.half_fov_rad / math.sqrt(3.0)),)
    return out


def _sensor_table(sensors: tuple[Sensor, ...]) -> dict[str, np.ndarray]:
    """Per-sensor settings as arrays (0 where a kind lacks the setting), cached by the sensors' ids and the
    sensors themselves (ids hash fast; a different sensor under the same id gets its own table)."""
    key = tuple(s.sensor_id for s in sensors)
    cached = _TABLES.get(key)
    if cached is not None and all(a is b for a, b in zip(cached[0], sensors, strict=True)):
        return cached[1]
    table = _build_table(sensors)
    if len(_TABLES) > 256:
        _TABLES.clear()
    _TABLES[key] = (sensors, table)
    return table


_TABLES: dict[tuple[str, ...], tuple[tuple[Sensor, ...], dict[str, np.ndarray]]] = {}


def _build_table(sensors: tuple[Sensor, ...]) -> dict[str, np.ndarray]:
    def column(name: str) -> np.ndarray:
        return np.array([float(getattr(s.spec, name, 0.0)) for s in sensors])

    table = {name: column(name) for name in (
        "detection_probability", "false_alarms_per_scan", "min_range_m", "max_range_m", "range_sigma_m",
        "range_sigma_fraction", "range_rate_sigma_mps", "width_sigma_m", "class_error_probability")}
    table["azimuth_sigma_rad"] = np.radians(column("azimuth_sigma_deg"))
    table["half_fov_rad"] = np.array([s.half_fov_rad for s in sensors])
    table["mount_x_m"] = np.array([s.mount.x_m for s in sensors])
    table["mount_y_m"] = np.array([s.mount.y_m for s in sensors])
    table["mount_yaw_rad"] = np.array([s.mount.yaw_rad for s in sensors])
    table["radar"] = np.array([s.kind == SensorKind.RADAR for s in sensors])
    table["occlusion_fraction"] = np.array([getattr(s.spec, "occlusion_fraction", 1.0) for s in sensors])
    table["mounts"] = np.array([(s.mount.x_m, s.mount.y_m, s.mount.yaw_rad) for s in sensors]).reshape(-1, 3)
    # vehicles whose centre is farther than this from base_link are out of range of all these sensors
    table["reach_m"] = np.array(_REACH_MARGIN_M + max(math.hypot(s.mount.x_m, s.mount.y_m) + s.spec.max_range_m
                                                      for s in sensors))
    return table


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2.0 * np.pi) - np.pi
