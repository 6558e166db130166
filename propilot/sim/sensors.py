"""Sensor models of the embedded simulator: the radar, for now.

In: the scan time, the ego pose and speed, and the true boxes of the other vehicles
(`TruthVehicle`, map frame, centre of the box). Out: one `DetectionFrame` per scan of
one sensor, detections in base_link with the noisy polar values (range, azimuth,
range rate) and the sigmas that were used, so the tracker can weigh them.

The radar sees the centre of the nearer face of each box (the rear of a car ahead,
the front of a car behind), inside its field of view and range, unless the box is
mostly hidden behind a nearer one. It misses with 1 - detection_probability and adds
Poisson clutter from the stationary world. One `RadarModel` per mounted radar: the
front long-range radar now, the corner radars later with their own mount and settings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from propilot.core.settings import setting
from propilot.core.types import Detection, DetectionFrame, Pose2D, SensorKind

_CORNER_SIGNS = ((1, 1), (1, -1), (-1, 1), (-1, -1))  # (along, across) of the four box corners


@dataclass(frozen=True, slots=True)
class RadarSettings:
    mount_x_m: float = setting(3.8, unit="m", description="radar position ahead of base_link (rear axle)",
                               minimum=-10.0, maximum=10.0)
    mount_y_m: float = setting(0.0, unit="m", description="radar position left of base_link",
                               minimum=-3.0, maximum=3.0)
    mount_yaw_rad: float = setting(0.0, unit="rad", description="boresight, counter-clockwise from x",
                                   minimum=-math.pi, maximum=math.pi)
    fov_deg: float = setting(40.0, unit="deg", description="full horizontal field of view", minimum=1.0,
                             maximum=170.0, source="typical 77 GHz long-range radar (+-20 deg far beam)")
    max_range_m: float = setting(200.0, unit="m", description="farthest detected object", minimum=1.0,
                                 source="typical 77 GHz front long-range radar")
    range_sigma_m: float = setting(0.25, unit="m", description="1-sigma range noise", minimum=0.0)
    azimuth_sigma_rad: float = setting(0.005, unit="rad", description="1-sigma azimuth noise (~0.3 deg)",
                                       minimum=0.0)
    range_rate_sigma_mps: float = setting(0.1, unit="m/s", description="1-sigma range-rate (Doppler) noise",
                                          minimum=0.0)
    detection_probability: float = setting(0.98, description="chance that a visible object is reported",
                                           minimum=0.0, maximum=1.0)
    clutter_per_scan: float = setting(0.2, description="mean number of false detections per scan (Poisson, "
                                      "uniform over the field of view)", minimum=0.0)
    occlusion_fraction: float = setting(0.7, description="share of an object's angular extent that a nearer "
                                        "object must cover to hide it (1 = no occlusion)", minimum=0.0,
                                        maximum=1.0)
    rate_hz: float = setting(20.0, unit="Hz", description="scan rate", minimum=1.0, maximum=100.0)


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


class RadarModel:
    """One mounted radar; `measure` is called once per scan (every 1 / rate_hz seconds)."""

    def __init__(self, sensor_id: str, settings: RadarSettings, rng: np.random.Generator):
        self.sensor_id = sensor_id
        self.settings = settings
        self.rng = rng
        self._half_fov_rad = math.radians(settings.fov_deg) / 2.0

    @property
    def period_s(self) -> float:
        return 1.0 / self.settings.rate_hz

    def measure(self, t_s: float, ego_pose: Pose2D, ego_speed_mps: float,
                vehicles: Sequence[TruthVehicle]) -> DetectionFrame:
        """Detections of one scan; `vehicles` are the other vehicles (not the ego)."""
        s = self.settings
        range_m, azimuth_rad, range_rate_mps = self._returns(ego_pose, ego_speed_mps, vehicles)
        reported = self.rng.random(range_m.size) < s.detection_probability
        n = int(reported.sum())
        range_m = range_m[reported] + self.rng.normal(0.0, s.range_sigma_m, n)
        azimuth_rad = azimuth_rad[reported] + self.rng.normal(0.0, s.azimuth_sigma_rad, n)
        range_rate_mps = range_rate_mps[reported] + self.rng.normal(0.0, s.range_rate_sigma_mps, n)
        clutter_range, clutter_azimuth, clutter_rate = self._clutter(ego_speed_mps)
        range_m = np.concatenate((range_m, clutter_range))
        azimuth_rad = np.concatenate((azimuth_rad, clutter_azimuth))
        range_rate_mps = np.concatenate((range_rate_mps, clutter_rate))
        # polar (sensor frame) -> base_link through the mount pose
        bearing = azimuth_rad + s.mount_yaw_rad
        x_m = s.mount_x_m + range_m * np.cos(bearing)
        y_m = s.mount_y_m + range_m * np.sin(bearing)
        detections = tuple(
            Detection(SensorKind.RADAR, float(x), float(y), float(r), float(a), float(rr),
                      s.range_sigma_m, s.azimuth_sigma_rad, s.range_rate_sigma_mps)
            for x, y, r, a, rr in zip(x_m, y_m, range_m, azimuth_rad, range_rate_mps, strict=True)
        )
        return DetectionFrame(t_s, self.sensor_id, SensorKind.RADAR, detections)

    def _returns(self, ego_pose: Pose2D, ego_speed_mps: float,
                 vehicles: Sequence[TruthVehicle]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Noise-free range, azimuth and range rate of the visible vehicles, all vectorised."""
        s = self.settings
        if not vehicles:
            return np.empty(0), np.empty(0), np.empty(0)
        sensor_xy, sensor_yaw = _sensor_pose(ego_pose, s)
        centre = np.array([(v.x_m, v.y_m) for v in vehicles])
        yaw = np.array([v.yaw_rad for v in vehicles])
        speed = np.array([v.speed_mps for v in vehicles])
        half_length = 0.5 * np.array([v.length_m for v in vehicles])[:, None]
        half_width = 0.5 * np.array([v.width_m for v in vehicles])[:, None]
        heading = np.column_stack((np.cos(yaw), np.sin(yaw)))
        normal = np.column_stack((-heading[:, 1], heading[:, 0]))

        rear, front = centre - half_length * heading, centre + half_length * heading
        rear_nearer = np.hypot(*(rear - sensor_xy).T) <= np.hypot(*(front - sensor_xy).T)
        point = np.where(rear_nearer[:, None], rear, front)
        line_of_sight = point - sensor_xy
        range_m = np.hypot(*line_of_sight.T)
        azimuth_rad = _wrap(np.arctan2(line_of_sight[:, 1], line_of_sight[:, 0]) - sensor_yaw)
        ahead = np.abs(azimuth_rad) < math.pi / 2.0

        corners = centre[:, None, :] + np.stack([
            sl * half_length * heading + sw * half_width * normal for sl, sw in _CORNER_SIGNS
        ], axis=1)
        corner_rel = corners - sensor_xy
        # extents relative to the return's azimuth, so nothing wraps at +-pi
        spread = _wrap(np.arctan2(corner_rel[..., 1], corner_rel[..., 0]) - sensor_yaw - azimuth_rad[:, None])
        low, high = azimuth_rad + spread.min(axis=1), azimuth_rad + spread.max(axis=1)
        overlap = np.clip(np.minimum(high[:, None], high[None, :]) - np.maximum(low[:, None], low[None, :]),
                          0.0, None)
        covered = overlap / np.maximum(high - low, 1e-9)[:, None]  # [i, j]: share of i that j covers
        nearer = (range_m[None, :] < range_m[:, None]) & ahead[None, :]
        occluded = np.any(nearer & (covered > s.occlusion_fraction), axis=1)

        visible = ahead & (np.abs(azimuth_rad) <= self._half_fov_rad) & (range_m <= s.max_range_m) & ~occluded
        ego_velocity = ego_speed_mps * np.array([math.cos(ego_pose.yaw_rad), math.sin(ego_pose.yaw_rad)])
        relative_velocity = speed[:, None] * heading - ego_velocity
        range_rate_mps = np.sum(relative_velocity * line_of_sight, axis=1) / np.maximum(range_m, 1e-9)
        return range_m[visible], azimuth_rad[visible], range_rate_mps[visible]

    def _clutter(self, ego_speed_mps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """False returns from the stationary world (guard rails, signs): uniform over the FOV area."""
        s = self.settings
        n = int(self.rng.poisson(s.clutter_per_scan))
        range_m = s.max_range_m * np.sqrt(self.rng.random(n))  # sqrt: uniform per area, not per range
        azimuth_rad = self.rng.uniform(-self._half_fov_rad, self._half_fov_rad, n)
        # stationary object: it closes at the ego speed projected on the line of sight
        range_rate_mps = -ego_speed_mps * np.cos(azimuth_rad + s.mount_yaw_rad)
        range_rate_mps = range_rate_mps + self.rng.normal(0.0, s.range_rate_sigma_mps, n)
        return range_m, azimuth_rad, range_rate_mps


def _sensor_pose(ego_pose: Pose2D, s: RadarSettings) -> tuple[np.ndarray, float]:
    c, si = math.cos(ego_pose.yaw_rad), math.sin(ego_pose.yaw_rad)
    xy = np.array([ego_pose.x_m + c * s.mount_x_m - si * s.mount_y_m,
                   ego_pose.y_m + si * s.mount_x_m + c * s.mount_y_m])
    return xy, ego_pose.yaw_rad + s.mount_yaw_rad


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2.0 * np.pi) - np.pi
