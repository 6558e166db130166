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
_FIELDS = operator.attrgetter("range_m", "azimuth_rad", "range_sigma_m", "azimuth_sigma_rad", "range_rate_mps",
                              "range_rate_sigma_mps", "classification")


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
    los: np.ndarray  # (D, 2) unit line of sight, map frame
    range_rate: np.ndarray  # (D,) u . v_object; NaN without Doppler (camera)
    range_rate_var: np.ndarray  # (D,)
    raw_range_rate: np.ndarray  # (D,) as measured (relative to the sensor), NaN without Doppler
    classification: np.ndarray  # (D,) ObjectClass values
    frame: np.ndarray  # (D,) index of the frame the detection came from
    starts: np.ndarray  # (F + 1,) detections of frame f are starts[f]:starts[f + 1]


def point_measurements(frames: Sequence[DetectionFrame], poses: Sequence[SensorPose],
                       ego: EgoEstimate) -> PointMeasurements:
    """Radar and camera detections of frames of one time, with the pose of each frame's sensor."""
    counts = [len(f.detections) for f in frames]
    frame = np.repeat(np.arange(len(frames)), counts)
    table = np.array([_FIELDS(d) for f in frames for d in f.detections], dtype=float).reshape(-1, 7)
    pose = np.array([(q.x_m, q.y_m, q.vx_mps, q.vy_mps) for q in poses]).reshape(-1, 4)[frame]
    rng, sigma_r, sigma_a = table[:, 0], table[:, 2], table[:, 3]
    azimuth = table[:, 1]  # from base_link's x axis, so also the angle to the ego heading
    cos_b, sin_b = np.cos(azimuth + ego.pose.yaw_rad), np.sin(azimuth + ego.pose.yaw_rad)
    classification = table[:, 6].astype(np.int64)
    # a car parallel to the ego: extent along the line of sight, face -> centre (the class of one detection
    # is not trusted for this: one misclassified car would land a truck's half length off)
    centre_range = rng + 0.5 * CAR_LENGTH_M * np.abs(np.cos(azimuth)) + 0.5 * CAR_WIDTH_M * np.abs(np.sin(azimuth))
    z = np.column_stack((pose[:, 0] + centre_range * cos_b, pose[:, 1] + centre_range * sin_b))
    # polar noise through the Jacobian: sigma_r along the line of sight, range * sigma_a across it
    along_var, across_var = sigma_r ** 2, (centre_range * sigma_a) ** 2
    r = np.empty((len(rng), 2, 2))
    r[:, 0, 0] = along_var * cos_b ** 2 + across_var * sin_b ** 2 + ego.position_sigma_m ** 2
    r[:, 1, 1] = along_var * sin_b ** 2 + across_var * cos_b ** 2 + ego.position_sigma_m ** 2
    r[:, 0, 1] = r[:, 1, 0] = (along_var - across_var) * cos_b * sin_b
    raw_rate = table[:, 4]
    rate = raw_rate + cos_b * pose[:, 2] + sin_b * pose[:, 3]
    return PointMeasurements(z, r, np.column_stack((cos_b, sin_b)), rate, table[:, 5] ** 2, raw_rate,
                             classification, frame, np.concatenate(([0], np.cumsum(counts))))


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
