"""Measurement models of the tracker, one per sensor kind, vectorised over detections.

In: the `DetectionFrame`s of one measurement time, the pose of the sensor that sent each
(`sensor_pose`: mount on base_link placed with the ego estimate) and the ego estimate at that
time. Out: what the filter fuses, in the map frame:
- radar and camera (`PointMeasurements`): the box centre with its covariance. The sensors
  report the range to the face towards them and the bearing of the box; the centre lies a
  box extent further along the line of sight, e = L/2 |u.h| + W/2 |u.n| for a box parallel
  to the ego (u line of sight, h heading, n its normal). The covariance is the polar noise
  through the Jacobian of (range, bearing) -> (x, y), plus the ego's position uncertainty.
  Radar adds the range rate, made linear in the state by moving the sensor's own velocity
  to the measurement side: range rate + u . v_sensor = u . v_object.
- sonar (`nearest_point`): the range of the nearest echo in the beam, fused as the distance
  from the sensor to the nearest point of the track's box (its gradient with respect to the
  centre is the unit vector towards that point); never starts a track.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from propilot.core.fusion.rig import Sensor
from propilot.core.types import DetectionFrame, EgoEstimate, ObjectClass

DEFAULT_LENGTH_M = {ObjectClass.TRUCK: 12.0}  # m, by class; others: a car
CAR_LENGTH_M = 4.5
CAR_WIDTH_M = 1.8
# one getter per column: a float column per attribute is faster than a table of tuples
_FIELDS = tuple(operator.attrgetter(name) for name in ("range_m", "azimuth_rad", "range_sigma_m", "azimuth_sigma_rad",
                                                       "range_rate_mps", "range_rate_sigma_mps"))
_CLASS_VALUE = {c: int(c) for c in ObjectClass}


@dataclass(frozen=True, slots=True)
class SensorPose:
    """Where the sensor is at the frame time, map frame."""

    x_m: float
    y_m: float
    yaw_rad: float  # boresight
    vx_mps: float
    vy_mps: float


def sensor_pose(sensor: Sensor, ego: EgoEstimate) -> SensorPose:
    """Map-frame pose and velocity of the sensor: the ego's, plus the yaw rate turning the mount lever arm."""
    yaw = ego.pose.yaw_rad
    c, s = math.cos(yaw), math.sin(yaw)
    lever_x, lever_y = c * sensor.mount.x_m - s * sensor.mount.y_m, s * sensor.mount.x_m + c * sensor.mount.y_m
    return SensorPose(ego.pose.x_m + lever_x, ego.pose.y_m + lever_y, yaw + sensor.mount.yaw_rad,
                      ego.speed_mps * c - ego.yaw_rate_rps * lever_y, ego.speed_mps * s + ego.yaw_rate_rps * lever_x)


@dataclass(frozen=True, slots=True)
class PointMeasurements:
    """Radar and camera detections of several frames (of one time) as box centres in the map frame."""

    z: np.ndarray  # (D, 2)
    r: np.ndarray  # (D, 2, 2)
    r_inv: np.ndarray  # (D, 2, 2) its inverse (the information of the detection)
    los: np.ndarray  # (D, 2) unit line of sight, map frame
    range_rate: np.ndarray  # (D,) u . v_object; NaN without Doppler (camera)
    has_rate: np.ndarray  # (D,) bool: a range rate was measured
    range_rate_var: np.ndarray  # (D,)
    raw_range_rate: np.ndarray  # (D,) as measured (relative to the sensor), NaN without Doppler
    classification: np.ndarray  # (D,) ObjectClass values
    frame: np.ndarray  # (D,) index of the frame the detection came from
    starts: np.ndarray  # (F + 1,) detections of frame f are starts[f]:starts[f + 1]


def sensor_poses(mounts: np.ndarray, ego: EgoEstimate) -> np.ndarray:
    """`sensor_pose` of many sensors at once: mounts (S, 3) as (x, y, yaw) on base_link in, (S, 5) as
    (x, y, yaw, vx, vy) in the map frame out."""
    yaw = ego.pose.yaw_rad
    c, s = math.cos(yaw), math.sin(yaw)
    lever_x, lever_y = c * mounts[:, 0] - s * mounts[:, 1], s * mounts[:, 0] + c * mounts[:, 1]
    return np.column_stack((ego.pose.x_m + lever_x, ego.pose.y_m + lever_y, yaw + mounts[:, 2],
                            ego.speed_mps * c - ego.yaw_rate_rps * lever_y,
                            ego.speed_mps * s + ego.yaw_rate_rps * lever_x))


def point_measurements(frames: Sequence[DetectionFrame], poses: np.ndarray, ego: EgoEstimate) -> PointMeasurements:
    """Radar and camera detections of frames of one time, with the pose of each frame's sensor (`sensor_poses`)."""
    counts = [len(f.detections) for f in frames]
    frame = np.repeat(np.arange(len(frames)), counts)
    # (every step below works on whole columns: a few dozen numpy operations for all detections)
    detections = [d for f in frames for d in f.detections]
    n = len(detections)
    table = np.array([np.fromiter(map(get, detections), float, n) for get in _FIELDS]).reshape(6, n).T
    classification = np.array([_CLASS_VALUE[d.classification] for d in detections], dtype=np.int64)
    pose = poses[frame]
    rng, sigma_r, sigma_a = table[:, 0], table[:, 2], table[:, 3]
    azimuth = table[:, 1]  # from base_link's x axis, so also the angle to the ego heading
    cos_b, sin_b = np.cos(azimuth + ego.pose.yaw_rad), np.sin(azimuth + ego.pose.yaw_rad)
    # a car parallel to the ego: extent along the line of sight, face -> centre (the class of one detection
    # is not trusted for this: one misclassified car would land a truck's half length off)
    centre_range = rng + 0.5 * CAR_LENGTH_M * np.abs(np.cos(azimuth)) + 0.5 * CAR_WIDTH_M * np.abs(np.sin(azimuth))
    z = np.empty((n, 2))
    z[:, 0], z[:, 1] = pose[:, 0] + centre_range * cos_b, pose[:, 1] + centre_range * sin_b
    # polar noise through the Jacobian: sigma_r along the line of sight, range * sigma_a across it
    along_var, across_var = sigma_r ** 2, (centre_range * sigma_a) ** 2
    cos2, sin2, cos_sin = cos_b * cos_b, sin_b * sin_b, cos_b * sin_b
    ego_var = ego.position_sigma_m ** 2
    r = np.empty((n, 2, 2))
    r[:, 0, 0] = along_var * cos2 + across_var * sin2 + ego_var
    r[:, 1, 1] = along_var * sin2 + across_var * cos2 + ego_var
    r[:, 0, 1] = r[:, 1, 0] = (along_var - across_var) * cos_sin
    # the ego's isotropic variance adds to both principal axes, so R^-1 = u u^T / a + n n^T / c
    along_info, across_info = 1.0 / (along_var + ego_var), 1.0 / (across_var + ego_var)
    r_inv = np.empty((n, 2, 2))
    r_inv[:, 0, 0] = along_info * cos2 + across_info * sin2
    r_inv[:, 1, 1] = along_info * sin2 + across_info * cos2
    r_inv[:, 0, 1] = r_inv[:, 1, 0] = (along_info - across_info) * cos_sin
    raw_rate = table[:, 4]
    rate = raw_rate + cos_b * pose[:, 3] + sin_b * pose[:, 4]
    los = np.empty((n, 2))
    los[:, 0], los[:, 1] = cos_b, sin_b
    return PointMeasurements(z, r, r_inv, los, rate, ~np.isnan(rate), table[:, 5] ** 2, raw_rate, classification,
                             frame, np.concatenate(([0], np.cumsum(counts))))


def box_extent(cos_rel: np.ndarray, half_length: np.ndarray, half_width: float = 0.5 * CAR_WIDTH_M) -> np.ndarray:
    """Distance from a box centre to its face along a line at angle a to the box (cos_rel = |cos a|)."""
    return half_length * cos_rel + half_width * np.sqrt(np.maximum(1.0 - cos_rel * cos_rel, 0.0))


def nearest_point(sensor_x_m: np.ndarray, sensor_y_m: np.ndarray, centre: np.ndarray, cos_yaw: np.ndarray,
                  sin_yaw: np.ndarray, half_length: np.ndarray,
                  half_width: float = 0.5 * CAR_WIDTH_M) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each sensor (column arrays (S, 1)) to the nearest point of each box (arrays (B,)),
    and the unit vector from the sensor to that point (the distance's gradient with respect to the box
    centre): arrays (S, B) and (S, B, 2)."""
    dx, dy = sensor_x_m - centre[:, 0], sensor_y_m - centre[:, 1]
    along, across = dx * cos_yaw + dy * sin_yaw, -dx * sin_yaw + dy * cos_yaw
    out_along = along - np.clip(along, -half_length, half_length)
    out_across = across - np.clip(across, -half_width, half_width)
    distance = np.hypot(out_along, out_across)
    safe = np.maximum(distance, 1e-6)
    # sensor -> nearest point, back in the map frame
    ux = -(out_along * cos_yaw - out_across * sin_yaw) / safe
    uy = -(out_along * sin_yaw + out_across * cos_yaw) / safe
    return distance, np.stack((ux, uy), axis=-1)
