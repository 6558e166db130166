"""The extended Kalman filter of the ego pose: state, motion model and the measurement models.

In: IMU (or vehicle) yaw rate and acceleration for the prediction; GNSS positions, wheel
speeds and the camera's lateral offset and heading relative to a lane for the updates.
Out: the state x = [x_m, y_m, yaw_rad, speed_mps, gyro_bias_rps, wheel_scale_error] of
base_link in the map frame and its covariance P. filterpy's `ExtendedKalmanFilter` does the update algebra;
this module supplies the models and their Jacobians:

    predict:  x += v cos(yaw) dt,  y += v sin(yaw) dt,  yaw += (w - b) dt,  v += a dt
    GNSS:     z = [x, y]                                   H = [I2 0 0 0 0]
    wheels:   z = (1 + k) v                                H = [0 0 0 1+k 0 v]
    camera:   z = [d, psi] = [(p - c) . n, yaw - theta]    H = [-sin theta, cos theta, 0 0 0 0; 0 0 1 0 0 0]

k is the wheel-speed scale error (tyre radius): unseen by the wheels themselves, GNSS shows it,
and dead reckoning through a tunnel depends on it.

where c is the lane centreline point nearest the ego, theta its heading and n = (-sin theta,
cos theta) its left normal. Each update returns the squared Mahalanobis distance of the
innovation so the caller can gate before fusing (`gate_distance`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from filterpy.kalman import ExtendedKalmanFilter

X, Y, YAW, SPEED, GYRO_BIAS, WHEEL_SCALE = range(6)
DIM = 6
_H_POSITION = np.eye(2, DIM)


@dataclass(frozen=True, slots=True)
class ProcessNoise:
    """Continuous-time noise densities of the motion model."""

    gyro_rps: float  # white yaw-rate noise, 1-sigma per sample
    accel_mps2: float  # white acceleration noise (and what the accelerometer bias leaves)
    gyro_bias_walk: float  # rad/s per sqrt(s)
    position_m_per_sqrt_s: float  # what the kinematic model misses (slip, road slope)


class PoseFilter(ExtendedKalmanFilter):
    def __init__(self, x0: np.ndarray, p0: np.ndarray, noise: ProcessNoise):
        super().__init__(dim_x=DIM, dim_z=2)
        self.x = np.asarray(x0, dtype=float).copy()
        self.P = np.asarray(p0, dtype=float).copy()
        self.noise = noise

    def predict_motion(self, dt: float, yaw_rate_rps: float, accel_mps2: float) -> None:
        """Unicycle motion over dt with the measured yaw rate (minus the bias) and acceleration."""
        if dt <= 0.0:
            return
        x, y, yaw, v, bias, scale = self.x
        c, s = math.cos(yaw), math.sin(yaw)
        self.x = np.array([x + v * c * dt, y + v * s * dt, _wrap(yaw + (yaw_rate_rps - bias) * dt),
                           max(v + accel_mps2 * dt, 0.0), bias, scale])
        f = np.eye(DIM)
        f[X, YAW], f[X, SPEED] = -v * s * dt, c * dt
        f[Y, YAW], f[Y, SPEED] = v * c * dt, s * dt
        f[YAW, GYRO_BIAS] = -dt
        n = self.noise
        q = np.diag([n.position_m_per_sqrt_s**2 * dt, n.position_m_per_sqrt_s**2 * dt, (n.gyro_rps * dt) ** 2,
                     (n.accel_mps2 * dt) ** 2, n.gyro_bias_walk**2 * dt, 0.0])
        self.P = f @ self.P @ f.T + q

    # --- measurements: each returns the gate distance first, fuses only if asked ------------------

    def position_distance(self, z: np.ndarray, sigma_m: float) -> float:
        return gate_distance(z - self.x[:2], _H_POSITION, self.P, np.eye(2) * sigma_m**2)

    def update_position(self, z: np.ndarray, sigma_m: float) -> None:
        self.update(z, lambda _x: _H_POSITION, lambda x: x[:2], R=np.eye(2) * sigma_m**2)

    def update_wheel_speed(self, speed_mps: float, sigma_mps: float) -> None:
        h = np.zeros((1, DIM))
        h[0, SPEED], h[0, WHEEL_SCALE] = 1.0 + self.x[WHEEL_SCALE], self.x[SPEED]
        self.update(np.array([speed_mps]), lambda _x: h, lambda x: np.array([(1.0 + x[WHEEL_SCALE]) * x[SPEED]]),
                    R=np.array([[sigma_mps**2]]))

    def lane_jacobian(self, lane_heading_rad: float) -> np.ndarray:
        h = np.zeros((2, DIM))
        h[0, X], h[0, Y], h[1, YAW] = -math.sin(lane_heading_rad), math.cos(lane_heading_rad), 1.0
        return h

    def lane_distance(self, innovation: np.ndarray, lane_heading_rad: float, r: np.ndarray) -> float:
        return gate_distance(innovation, self.lane_jacobian(lane_heading_rad), self.P, r)

    def update_lane(self, innovation: np.ndarray, lane_heading_rad: float, r: np.ndarray) -> None:
        """Camera offset and heading relative to the lane; the innovation is computed by the caller
        (it knows which lane the camera's lines belong to), so h(x) is the identity on it."""
        h = self.lane_jacobian(lane_heading_rad)
        self.update(innovation, lambda _x: h, lambda _x: np.zeros(2), R=r)
        self.x[YAW] = _wrap(self.x[YAW])

    def shift(self, dx_m: float, dy_m: float) -> None:
        """Move the estimate without touching its uncertainty (a lane correction)."""
        self.x[X] += dx_m
        self.x[Y] += dy_m

    def lateral_sigma(self, lane_heading_rad: float) -> float:
        n = np.array([-math.sin(lane_heading_rad), math.cos(lane_heading_rad)])
        return math.sqrt(max(float(n @ self.P[:2, :2] @ n), 0.0))


def gate_distance(innovation: np.ndarray, h: np.ndarray, p: np.ndarray, r: np.ndarray) -> float:
    """Squared Mahalanobis distance of an innovation: chi-square with len(innovation) dof."""
    s = h @ p @ h.T + r
    return float(innovation @ np.linalg.solve(s, innovation))


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2.0 * math.pi) - math.pi
