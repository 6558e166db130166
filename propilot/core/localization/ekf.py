"""Ego pose from RTK-GNSS fixes and vehicle odometry (speed, yaw rate).

In: `GnssFix` (any rate, buffered and fused in time order) and `VehicleStatus`
(every control cycle). Out: an `EgoEstimate` in the map frame and the ego's
`LanePosition` on the HD map. An extended Kalman filter (filterpy) with state
[x, y, yaw] of base_link: odometry drives the prediction, GNSS corrects position
with a noise that follows the RTK state. Fixes whose innovation fails a chi-square
gate (jumps, multipath), that are NaN, stale or older than the filter state are
rejected and counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from filterpy.kalman import ExtendedKalmanFilter

from propilot.core.map.hdmap import HDMap
from propilot.core.settings import setting
from propilot.core.types import (
    UNMATCHED,
    EgoEstimate,
    GnssFix,
    LanePosition,
    LaneSource,
    Pose2D,
    RtkState,
    VehicleStatus,
)


@dataclass(frozen=True, slots=True)
class LocalizerSettings:
    speed_sigma_mps: float = setting(0.1, unit="m/s", description="wheel-speed noise", minimum=0.0)
    yaw_rate_sigma_rps: float = setting(0.005, unit="rad/s", description="gyro noise", minimum=0.0)
    init_yaw_sigma_rad: float = setting(0.05, unit="rad", description="yaw uncertainty when taken from the lane",
                                        minimum=0.001)
    gnss_gate_chi2: float = setting(13.8, description="chi-square gate on the GNSS innovation (2 dof, 99.9 %)",
                                    minimum=1.0)
    gnss_max_age_s: float = setting(0.5, unit="s", description="older fixes are stale and rejected", minimum=0.0)
    lane_level_max_sigma_m: float = setting(
        0.15, unit="m", description="position 1-sigma below which the lane is known, wherever in it the car is",
        minimum=0.01, maximum=0.5,
        source="RTK gives the own lane; plain GNSS (10-15 m error) cannot (ProPILOT 2.0 design)")
    rtk_hold_s: float = setting(2.0, unit="s", description="how long odometry alone keeps the lane after RTK",
                                minimum=0.0)


@dataclass(frozen=True, slots=True)
class LocalizerStats:
    fused: int
    rejected_gate: int
    rejected_invalid: int
    rejected_stale: int


class _PoseEkf(ExtendedKalmanFilter):
    """filterpy EKF with the unicycle motion model driven by odometry."""

    def predict_odometry(self, dt: float, speed: float, yaw_rate: float, q_speed: float, q_yaw: float) -> None:
        x, y, yaw = self.x
        c, s = math.cos(yaw), math.sin(yaw)
        self.x = np.array([x + speed * c * dt, y + speed * s * dt, yaw + yaw_rate * dt])
        jac_state = np.array([[1.0, 0.0, -speed * s * dt], [0.0, 1.0, speed * c * dt], [0.0, 0.0, 1.0]])
        jac_input = np.array([[c * dt, 0.0], [s * dt, 0.0], [0.0, dt]])
        noise = np.diag([q_speed**2, q_yaw**2])
        self.P = jac_state @ self.P @ jac_state.T + jac_input @ noise @ jac_input.T


_H_POSITION = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


class Localizer:
    def __init__(self, settings: LocalizerSettings, hdmap: HDMap):
        self.settings = settings
        self.hdmap = hdmap
        self._ekf: _PoseEkf | None = None
        self._t_s: float | None = None
        self._pending: list[GnssFix] = []
        self._last_rtk_fixed_s = -math.inf
        self._fused = self._rejected_gate = self._rejected_invalid = self._rejected_stale = 0

    @property
    def stats(self) -> LocalizerStats:
        return LocalizerStats(self._fused, self._rejected_gate, self._rejected_invalid, self._rejected_stale)

    def add_gnss(self, fix: GnssFix) -> None:
        if fix.rtk_state == RtkState.NO_FIX or not all(
            math.isfinite(v) for v in (fix.t_s, fix.latitude_deg, fix.longitude_deg, fix.sigma_m)
        ) or fix.sigma_m <= 0.0:
            self._rejected_invalid += 1
            return
        self._pending.append(fix)

    def update(self, status: VehicleStatus) -> tuple[EgoEstimate | None, LanePosition]:
        """Advance to the status time, fusing the fixes received up to it."""
        fixes = sorted((f for f in self._pending if f.t_s <= status.t_s), key=lambda f: f.t_s)
        self._pending = [f for f in self._pending if f.t_s > status.t_s]
        for fix in fixes:
            self._predict_to(fix.t_s, status)
            self._fuse(fix, status.t_s)
        self._predict_to(status.t_s, status)
        if self._ekf is None:
            return None, UNMATCHED
        x, y, yaw = self._ekf.x
        sigma = math.sqrt(max(self._ekf.P[0, 0], self._ekf.P[1, 1]))
        ego = EgoEstimate(status.t_s, Pose2D(float(x), float(y), float(yaw)), status.speed_mps,
                          status.yaw_rate_rps, sigma)
        return ego, self._lane(ego)

    def _predict_to(self, t_s: float, status: VehicleStatus) -> None:
        if self._ekf is not None and self._t_s is not None and t_s > self._t_s:
            self._ekf.predict_odometry(t_s - self._t_s, status.speed_mps, status.yaw_rate_rps,
                                       self.settings.speed_sigma_mps, self.settings.yaw_rate_sigma_rps)
        if self._t_s is None or t_s > self._t_s:
            self._t_s = t_s

    def _fuse(self, fix: GnssFix, now_s: float) -> None:
        out_of_sequence = self._t_s is not None and fix.t_s < self._t_s - 1e-9
        if out_of_sequence or now_s - fix.t_s > self.settings.gnss_max_age_s:
            self._rejected_stale += 1
            return
        z = np.array(self.hdmap.project(fix.latitude_deg, fix.longitude_deg))
        r = np.eye(2) * fix.sigma_m**2
        if self._ekf is None:
            if not self._initialise(z, r):
                return
        else:
            innovation = z - self._ekf.x[:2]
            s = self._ekf.P[:2, :2] + r
            if float(innovation @ np.linalg.solve(s, innovation)) > self.settings.gnss_gate_chi2:
                self._rejected_gate += 1
                return
            self._ekf.update(z, lambda _x: _H_POSITION, lambda x: x[:2], R=r)
        self._fused += 1
        if fix.rtk_state == RtkState.RTK_FIXED:
            self._last_rtk_fixed_s = fix.t_s

    def _initialise(self, position: np.ndarray, r: np.ndarray) -> bool:
        """Take the heading from the lane the first fix falls in: highways are driven along their lanes."""
        located = self.hdmap.locate(float(position[0]), float(position[1]))
        if located is None:
            self._rejected_invalid += 1  # off the map: not a place this function can start
            return False
        lanelet_id, arc_length_m, _ = located
        yaw = float(self.hdmap.path_ahead(lanelet_id, arc_length_m, 0.0)[0, 2])
        self._ekf = _PoseEkf(dim_x=3, dim_z=2)
        self._ekf.x = np.array([position[0], position[1], yaw])
        self._ekf.P = np.diag([r[0, 0], r[1, 1], self.settings.init_yaw_sigma_rad**2])
        return True

    def _lane(self, ego: EgoEstimate) -> LanePosition:
        lane = self.hdmap.match(ego.pose, ego.position_sigma_m)
        if not lane.matched:
            return lane
        recent_rtk = ego.t_s - self._last_rtk_fixed_s <= self.settings.rtk_hold_s
        # Lane-level means the position is known well enough to tell lanes apart; the match confidence
        # falls to 0.5 on a lane line even with centimetre accuracy, so it is reported, not used here.
        lane_level = recent_rtk and ego.position_sigma_m <= self.settings.lane_level_max_sigma_m
        source = LaneSource.RTK if recent_rtk else LaneSource.DEAD_RECKONING
        return LanePosition(lane.lanelet_id, lane.arc_length_m, lane.lateral_offset_m, lane.heading_error_rad,
                            lane.lane_index, lane.lane_count, lane.confidence, lane_level, source)
