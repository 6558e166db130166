"""Motion models of the tracker, vectorised over tracks: constant velocity (CV) and CTRV.

In: the states and covariances of all tracks, (T, n) and (T, n, n), and a time step (may
be negative: a frame older than the filter time is fused by predicting back). Out: the
predicted states and covariances (EKF for CTRV), the position and velocity of each track
and the velocity's Jacobian (the radar's range rate is the velocity along the line of sight:
`range_rate` gives it with its Jacobian row).

CV: state [x, y, vx, vy] (map frame), white-noise acceleration, Q from filterpy's
`Q_discrete_white_noise` per axis. CTRV: state [x, y, yaw, v, yaw_rate]: constant turn rate
and velocity, white noise on the longitudinal and the yaw acceleration, Q from the same
filterpy blocks along the heading and on (yaw, yaw_rate).
"""

from __future__ import annotations

import functools

import numpy as np
from filterpy.common import Q_discrete_white_noise

_TURN_EPS_RPS = 1e-4  # below this yaw rate CTRV uses the straight-line limit
_INITIAL_YAW_RATE_SIGMA_RPS = 0.1  # a new track's turn rate is unknown; highway traffic turns slowly


class ConstantVelocity:
    name = "cv"
    dim = 4

    def __init__(self, accel_sigma_mps2: float):
        self.accel_var = accel_sigma_mps2 ** 2

    def predict(self, x: np.ndarray, p: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        f, q = _cv_matrices(dt, self.accel_var)
        return x @ f.T, f @ p @ f.T + q

    def initial(self, position: np.ndarray, position_cov: np.ndarray, velocity: np.ndarray,
                velocity_cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New tracks' states from positions (k, 2) and velocity guesses (k, 2), with covariances (k, 2, 2)."""
        p = np.zeros((len(position), 4, 4))
        p[:, :2, :2], p[:, 2:, 2:] = position_cov, velocity_cov
        return np.concatenate((position, velocity), axis=1), p

    @staticmethod
    def position(x: np.ndarray) -> np.ndarray:
        return x[:, :2]

    @staticmethod
    def velocity(x: np.ndarray) -> np.ndarray:
        return x[:, 2:4]

    @staticmethod
    def velocity_jacobian(x: np.ndarray) -> np.ndarray:
        jac = np.zeros((len(x), 2, 4))
        jac[:, 0, 2] = jac[:, 1, 3] = 1.0
        return jac

    @staticmethod
    def range_rate(x: np.ndarray, los: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Velocity along unit lines of sight (k, 2), and its Jacobian (k, n): linear, H = [0, 0, u]."""
        h = np.zeros((len(x), 4))
        h[:, 2:] = los
        return x[:, 2] * los[:, 0] + x[:, 3] * los[:, 1], h


class Ctrv:
    name = "ctrv"
    dim = 5

    def __init__(self, accel_sigma_mps2: float, yaw_accel_sigma_rps2: float):
        self.accel_var = accel_sigma_mps2 ** 2
        self.yaw_accel_var = yaw_accel_sigma_rps2 ** 2

    def predict(self, x: np.ndarray, p: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
        yaw, v, w = x[:, 2], x[:, 3], x[:, 4]
        turning = np.abs(w) > _TURN_EPS_RPS
        w_safe = np.where(turning, w, 1.0)
        yaw_end = yaw + w * dt
        s0, c0, s1, c1 = np.sin(yaw), np.cos(yaw), np.sin(yaw_end), np.cos(yaw_end)
        dx = np.where(turning, v / w_safe * (s1 - s0), v * c0 * dt)
        dy = np.where(turning, v / w_safe * (c0 - c1), v * s0 * dt)
        out = x.copy()
        out[:, 0] += dx
        out[:, 1] += dy
        out[:, 2] = yaw_end
        f = np.broadcast_to(np.eye(5), (len(x), 5, 5)).copy()
        f[:, 0, 2] = np.where(turning, v / w_safe * (c1 - c0), -v * s0 * dt)
        f[:, 1, 2] = np.where(turning, v / w_safe * (s1 - s0), v * c0 * dt)
        f[:, 0, 3] = np.where(turning, (s1 - s0) / w_safe, c0 * dt)
        f[:, 1, 3] = np.where(turning, (c0 - c1) / w_safe, s0 * dt)
        f[:, 0, 4] = np.where(turning, v * dt * c1 / w_safe - v * (s1 - s0) / w_safe ** 2, -0.5 * v * s0 * dt ** 2)
        f[:, 1, 4] = np.where(turning, v * dt * s1 / w_safe - v * (c0 - c1) / w_safe ** 2, 0.5 * v * c0 * dt ** 2)
        f[:, 2, 4] = dt
        return out, f @ p @ f.transpose(0, 2, 1) + self._q(yaw, abs(dt))

    def _q(self, yaw: np.ndarray, dt: float) -> np.ndarray:
        # (distance along the heading, v) and (yaw, yaw rate): filterpy's white-noise blocks
        along = _white_noise_block(dt, self.accel_var)
        turn = _white_noise_block(dt, self.yaw_accel_var)
        h = np.column_stack((np.cos(yaw), np.sin(yaw)))
        q = np.zeros((len(yaw), 5, 5))
        q[:, :2, :2] = along[0, 0] * h[:, :, None] * h[:, None, :]
        q[:, :2, 3] = q[:, 3, :2] = along[0, 1] * h
        q[:, 3, 3] = along[1, 1]
        q[:, 2:5:2, 2:5:2] = turn
        return q

    def initial(self, position: np.ndarray, position_cov: np.ndarray, velocity: np.ndarray,
                velocity_cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New tracks' states from positions (k, 2) and velocity guesses (k, 2), with covariances (k, 2, 2):
        the heading from the velocity, its sideways uncertainty as a heading error, no turn yet."""
        speed = np.hypot(velocity[:, 0], velocity[:, 1])
        yaw = np.where(speed > 0.1, np.arctan2(velocity[:, 1], velocity[:, 0]), 0.0)
        h = np.column_stack((np.cos(yaw), np.sin(yaw)))
        n = np.column_stack((-h[:, 1], h[:, 0]))
        p = np.zeros((len(position), 5, 5))
        p[:, :2, :2] = position_cov
        p[:, 2, 2] = np.einsum("ki,kij,kj->k", n, velocity_cov, n) / np.maximum(speed, 5.0) ** 2
        p[:, 3, 3] = np.einsum("ki,kij,kj->k", h, velocity_cov, h)
        p[:, 4, 4] = _INITIAL_YAW_RATE_SIGMA_RPS ** 2
        return np.column_stack((position, yaw, speed, np.zeros(len(position)))), p

    @staticmethod
    def position(x: np.ndarray) -> np.ndarray:
        return x[:, :2]

    @staticmethod
    def velocity(x: np.ndarray) -> np.ndarray:
        return x[:, 3:4] * np.column_stack((np.cos(x[:, 2]), np.sin(x[:, 2])))

    @staticmethod
    def velocity_jacobian(x: np.ndarray) -> np.ndarray:
        c, s, v = np.cos(x[:, 2]), np.sin(x[:, 2]), x[:, 3]
        jac = np.zeros((len(x), 2, 5))
        jac[:, 0, 2], jac[:, 0, 3] = -v * s, c
        jac[:, 1, 2], jac[:, 1, 3] = v * c, s
        return jac

    @classmethod
    def range_rate(cls, x: np.ndarray, los: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Velocity along unit lines of sight (k, 2), and its EKF Jacobian (k, n)."""
        h = (los[:, None, :] @ cls.velocity_jacobian(x))[:, 0, :]
        return np.sum(cls.velocity(x) * los, axis=1), h


MOTION_MODELS = ("cv", "ctrv")


# The steps repeat (one per sensor latency and rate): the matrices are made once per step length.
@functools.lru_cache(maxsize=64)
def _cv_matrices(dt: float, accel_var: float) -> tuple[np.ndarray, np.ndarray]:
    f = np.eye(4)
    f[0, 2] = f[1, 3] = dt
    q = Q_discrete_white_noise(dim=2, dt=abs(dt), var=accel_var, block_size=2, order_by_dim=False)
    f.setflags(write=False)
    q.setflags(write=False)
    return f, q  # state order [x, y, vx, vy]


@functools.lru_cache(maxsize=64)
def _white_noise_block(dt: float, var: float) -> np.ndarray:
    q = Q_discrete_white_noise(dim=2, dt=dt, var=var)
    q.setflags(write=False)
    return q
