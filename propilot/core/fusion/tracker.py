"""Object tracker: sensor detections in, confirmed tracks in the map frame out.

In: `DetectionFrame`s of any sensor (radar now; cameras, corner radars and sonars
later), each with the `EgoEstimate` of the localiser. Out: the confirmed `Track`s,
sorted by track id, with their lane and bumper gap relative to the ego.

Every frame: predict all tracks to the frame time -> convert the detections to map
positions with their covariance -> gate (Mahalanobis, chi-square) -> associate
(global nearest neighbour, Hungarian algorithm) -> update the associated tracks
(one filterpy Kalman filter each, constant velocity, state [x, y, vx, vy] in the map
frame) -> manage: confirm by M of N, delete after `delete_after_misses_s` without a
detection, start tentative tracks from the detections left over.

Tracks live in the map frame, so ego motion is compensated by placing the detections
with the ego pose. The radar sees the nearer face of a car; the track is the box
centre, half a default car length further along the ego heading. The range rate starts
a track's velocity (the object is assumed to drive parallel to the ego) and then
updates it along the line of sight (`fuse_range_rate`). A detection that just misses
the gate of a track that got no detection starts no track: it is that track's outlier.
Frames older than the last processed one are dropped and counted. A track without a
detection in a frame counts a miss whatever the sensor; with several sensors, misses
should only count for tracks inside that sensor's field of view (not done yet).
Lanes come from an injected `LaneAssigner`, so this module does not depend on the map.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from filterpy.common import Q_discrete_white_noise
from filterpy.kalman import KalmanFilter
from scipy.optimize import linear_sum_assignment

from propilot.core.settings import setting
from propilot.core.types import DetectionFrame, EgoEstimate, Pose2D, SensorKind, Track
from propilot.core.vehicle import EGO

DEFAULT_OBJECT_LENGTH_M = 4.5  # a car; sensors do not measure the length yet
MIN_LINE_OF_SIGHT_COS = 0.3  # beyond ~73 deg off the ego heading, Doppler tells little of the speed along it
FACE_SENSORS = frozenset({SensorKind.RADAR})  # report the nearer face of a car, not its centre
_INFEASIBLE = 1e9  # cost of a pair outside the gate; dropped after the assignment
_UNKNOWN_MOUNT = Pose2D(0.0, 0.0, 0.0)  # a sensor without a mount entry looks straight ahead from base_link
_MEASUREMENT_MATRIX = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    gate_chi2: float = setting(9.21, description="Mahalanobis gate on the position innovation (chi-square)",
                               minimum=0.1, source="9.21 = 99 % of the chi-square distribution with 2 dof")
    confirm_hits: int = setting(3, description="M: detections needed within the first N frames to confirm",
                                minimum=1)
    confirm_window: int = setting(5, description="N: frames a tentative track has to reach M detections",
                                  minimum=1)
    delete_after_misses_s: float = setting(0.5, unit="s", description="track deleted after this long without "
                                           "a detection", minimum=0.0)
    process_noise_accel_mps2: float = setting(2.0, unit="m/s^2", description="1-sigma white acceleration of "
                                              "the constant-velocity model", minimum=0.01)
    max_tracks: int = setting(128, description="no new tracks beyond this many", minimum=1)
    init_speed_sigma_mps: float = setting(2.0, unit="m/s", description="new track: speed uncertainty along "
                                          "the ego heading when the range rate is known", minimum=0.01)
    init_speed_sigma_no_doppler_mps: float = setting(10.0, unit="m/s", description="new track: speed "
                                                     "uncertainty along the ego heading without range rate",
                                                     minimum=0.01)
    init_lateral_speed_sigma_mps: float = setting(1.0, unit="m/s", description="new track: speed uncertainty "
                                                  "across the ego heading", minimum=0.01)
    birth_gate_chi2: float = setting(
        25.0, description="no new track from a detection this close (Mahalanobis) to a track that got no "
        "detection in the frame: it is that track's outlier", minimum=0.0)
    fuse_range_rate: bool = setting(True, description="update the velocity with the range rate (Doppler), "
                                    "not only start it")
    existence_gain: float = setting(0.2, description="per-frame smoothing gain of the existence value "
                                    "(hit -> 1, miss -> 0)", minimum=0.0, maximum=1.0)

    def check(self) -> tuple[str, str] | None:
        if self.confirm_hits > self.confirm_window:
            return "confirm_hits", f"{self.confirm_hits} is more than confirm_window ({self.confirm_window})"
        return None


class LaneAssigner(Protocol):
    """Where an object is relative to the ego: (relative_lane, lanelet_id, gap_m).

    relative_lane: ego lane index minus object lane index (+1 = one lane left of the
    ego, -1 right, 0 same), None when unknown; lanelet_id 0 when not on the map;
    gap_m bumper to bumper along the lane, negative behind, 0 when alongside.
    """

    def __call__(self, x_m: float, y_m: float, ego: EgoEstimate) -> tuple[int | None, int, float]: ...


def bumper_gap(centre_distance_m: float, object_length_m: float = DEFAULT_OBJECT_LENGTH_M) -> float:
    """Signed centre distance (ahead > 0) minus the half lengths; 0 when the boxes overlap."""
    half_lengths = 0.5 * (EGO.length_m + object_length_m)
    return math.copysign(max(abs(centre_distance_m) - half_lengths, 0.0), centre_distance_m)


def ego_frame_gap(x_m: float, y_m: float, ego: EgoEstimate) -> float:
    """Bumper gap along the ego heading, for when no map is at hand (ego pose = base_link, not its centre)."""
    yaw = ego.pose.yaw_rad
    longitudinal = (x_m - ego.pose.x_m) * math.cos(yaw) + (y_m - ego.pose.y_m) * math.sin(yaw)
    return bumper_gap(longitudinal - EGO.centre_from_base_m)


@dataclass(frozen=True, slots=True)
class _Measurements:
    """The detections of one frame as map-frame positions with covariances."""

    z: np.ndarray  # (n, 2) box centre in the map frame
    r: np.ndarray  # (n, 2, 2) covariance of z
    los_bearing: np.ndarray  # (n,) line of sight relative to the ego heading
    range_rate: np.ndarray  # (n,) NaN when the sensor has no Doppler
    range_rate_sigma: np.ndarray  # (n,)
    # Kalman update per detection, the first `dim` rows of [x, y, range rate + sensor velocity . los]
    update_z: np.ndarray  # (n, 3, 1)
    update_h: np.ndarray  # (n, 3, 4)
    update_r: np.ndarray  # (n, 3, 3)
    update_dim: np.ndarray  # (n,) 3 with the range rate, 2 without


class _TrackState:
    """One track: its Kalman filter and its bookkeeping."""

    __slots__ = ("track_id", "kf", "window", "confirmed", "last_hit_t_s", "existence")

    def __init__(self, track_id: int, kf: KalmanFilter, t_s: float, existence_gain: float, window: int):
        self.track_id = track_id
        self.kf = kf
        self.window: deque[bool] = deque([True], maxlen=window)  # hit (True) or miss per frame, newest last
        self.confirmed = False
        self.last_hit_t_s = t_s
        self.existence = 0.5 + 0.5 * existence_gain  # prior 0.5, then one hit


class Tracker:
    """Multi-object tracker; `update` once per sensor frame, in time order."""

    def __init__(self, settings: TrackerSettings, lane_assigner: LaneAssigner | None = None,
                 sensor_mounts: Mapping[str, Pose2D] | None = None):
        """`sensor_mounts`: mount pose in base_link per sensor id, for the line of sight of
        the polar noise; a sensor not listed is taken to look straight ahead (yaw 0)."""
        self.settings = settings
        self.lane_assigner = lane_assigner
        self.sensor_mounts = dict(sensor_mounts or {})
        self.dropped_out_of_sequence = 0
        self._tracks: list[_TrackState] = []
        self._next_id = 1
        self._t_s: float | None = None  # time the filters are at
        self._last_frame_t_s = -math.inf
        self._output: tuple[Track, ...] = ()

    def update(self, frame: DetectionFrame, ego: EgoEstimate) -> tuple[Track, ...]:
        """Fuse one frame; returns the confirmed tracks sorted by track id."""
        if frame.t_s < self._last_frame_t_s:
            self.dropped_out_of_sequence += 1
            return self._output
        s = self.settings
        ego = _ego_at(ego, frame.t_s)
        self.predict_to(frame.t_s)
        measurements = self._measurements(frame, ego)
        d2, cost = self._distances(measurements)
        pairs, missed, unused = _associate(cost, d2 <= s.gate_chi2)
        for i, j in pairs:
            self._hit(self._tracks[i], measurements, j, frame.t_s)
        for i in missed:
            self._miss(self._tracks[i])
        births = [j for j in unused if not np.any(d2[missed, j] <= s.birth_gate_chi2)]  # no track's outlier
        self._delete_lost(frame.t_s)
        self._start_tracks(measurements, births, ego, frame.t_s)
        self._last_frame_t_s = frame.t_s
        self._output = self._confirmed_tracks(ego)
        return self._output

    def predict_to(self, t_s: float) -> None:
        """Move all tracks to t_s (backwards too: a frame may be older than the last prediction)."""
        if self._t_s is None or t_s == self._t_s:
            self._t_s = t_s
            return
        dt = t_s - self._t_s
        f = np.eye(4)
        f[0, 2] = f[1, 3] = dt
        q = Q_discrete_white_noise(dim=2, dt=abs(dt), var=self.settings.process_noise_accel_mps2 ** 2,
                                   block_size=2, order_by_dim=False)  # state order [x, y, vx, vy]
        for track in self._tracks:
            track.kf.predict(F=f, Q=q)
        self._t_s = t_s

    def _mount(self, sensor_id: str) -> Pose2D:
        return self.sensor_mounts.get(sensor_id, _UNKNOWN_MOUNT)

    @property
    def track_count(self) -> int:
        """All tracks, tentative ones included."""
        return len(self._tracks)

    # --- steps of update() ---

    def _measurements(self, frame: DetectionFrame, ego: EgoEstimate) -> _Measurements:
        """Detections (base_link, polar noise) -> box centres in the map frame with covariance."""
        dets = frame.detections
        mount_yaw = self._mount(frame.sensor_id).yaw_rad
        x = np.array([d.x_m for d in dets])
        y = np.array([d.y_m for d in dets])
        rng = np.array([d.range_m for d in dets])
        los = np.array([d.azimuth_rad for d in dets]) + mount_yaw  # line of sight in base_link
        if frame.kind in FACE_SENSORS:
            # nearer face -> box centre, half a length further along the ego heading
            x = x + np.sign(np.cos(los)) * 0.5 * DEFAULT_OBJECT_LENGTH_M
        yaw = ego.pose.yaw_rad
        c, s = math.cos(yaw), math.sin(yaw)
        z = np.column_stack((ego.pose.x_m + c * x - s * y, ego.pose.y_m + s * x + c * y))
        # R = J diag(sr^2, sa^2) J^T with the polar Jacobian, taken along the map-frame line of sight
        bearing = los + yaw
        jac = np.empty((len(dets), 2, 2))
        jac[:, 0, 0], jac[:, 0, 1] = np.cos(bearing), -rng * np.sin(bearing)
        jac[:, 1, 0], jac[:, 1, 1] = np.sin(bearing), rng * np.cos(bearing)
        polar = np.zeros((len(dets), 2, 2))
        polar[:, 0, 0] = [d.range_sigma_m ** 2 for d in dets]
        polar[:, 1, 1] = [d.azimuth_sigma_rad ** 2 for d in dets]
        r = jac @ polar @ jac.transpose(0, 2, 1) + ego.position_sigma_m ** 2 * np.eye(2)
        range_rate = np.array([d.range_rate_mps for d in dets])
        range_rate_sigma = np.array([d.range_rate_sigma_mps for d in dets])
        # range rate = los . (v_obj - v_sensor): linear in the state once the line of sight is fixed
        los_map = np.column_stack((np.cos(bearing), np.sin(bearing))).reshape(-1, 2)
        n = len(dets)
        update_z = np.empty((n, 3, 1))
        update_z[:, :2, 0] = z
        update_z[:, 2, 0] = range_rate + los_map @ self._sensor_velocity(frame.sensor_id, ego)
        update_h = np.zeros((n, 3, 4))
        update_h[:, :2, :] = _MEASUREMENT_MATRIX
        update_h[:, 2, 2:] = los_map
        update_r = np.zeros((n, 3, 3))
        update_r[:, :2, :2] = r
        update_r[:, 2, 2] = range_rate_sigma ** 2
        doppler = ~np.isnan(range_rate) & self.settings.fuse_range_rate
        return _Measurements(
            z=z.reshape(-1, 2), r=r, los_bearing=los,
            range_rate=range_rate, range_rate_sigma=range_rate_sigma,
            update_z=update_z, update_h=update_h, update_r=update_r, update_dim=np.where(doppler, 3, 2),
        )

    def _sensor_velocity(self, sensor_id: str, ego: EgoEstimate) -> np.ndarray:
        """Map-frame velocity of the sensor: the ego's, plus the yaw rate turning the mount lever arm."""
        mount = self._mount(sensor_id)
        yaw = ego.pose.yaw_rad
        c, s = math.cos(yaw), math.sin(yaw)
        lever = np.array([c * mount.x_m - s * mount.y_m, s * mount.x_m + c * mount.y_m])
        return ego.speed_mps * np.array([c, s]) + ego.yaw_rate_rps * np.array([-lever[1], lever[0]])

    def _distances(self, m: _Measurements) -> tuple[np.ndarray, np.ndarray]:
        """d^2 (squared Mahalanobis distance) of each track/detection pair, and the cost d^2 + ln|S|."""
        if not self._tracks or not len(m.z):
            empty = np.zeros((len(self._tracks), len(m.z)))
            return empty, empty
        x = np.stack([t.kf.x[:2, 0] for t in self._tracks])
        p = np.stack([t.kf.P[:2, :2] for t in self._tracks])
        s = p[:, None] + m.r[None]  # innovation covariance, (tracks, detections, 2, 2)
        y = m.z[None] - x[:, None]
        s00, s01, s11 = s[..., 0, 0], s[..., 0, 1], s[..., 1, 1]
        det = s00 * s11 - s01 * s01
        d2 = (s11 * y[..., 0] ** 2 - 2.0 * s01 * y[..., 0] * y[..., 1] + s00 * y[..., 1] ** 2) / det
        # ln|S| keeps a vague tentative track from taking a detection from a firm one
        return d2, d2 + np.log(det)

    def _hit(self, track: _TrackState, m: _Measurements, j: int, t_s: float) -> None:
        s = self.settings
        dim = m.update_dim[j]
        track.kf.update(m.update_z[j, :dim], R=m.update_r[j, :dim, :dim], H=m.update_h[j, :dim])
        track.window.append(True)
        track.last_hit_t_s = t_s
        track.existence += s.existence_gain * (1.0 - track.existence)
        track.confirmed = track.confirmed or sum(track.window) >= s.confirm_hits

    def _miss(self, track: _TrackState) -> None:
        track.window.append(False)
        track.existence -= self.settings.existence_gain * track.existence

    def _delete_lost(self, t_s: float) -> None:
        s = self.settings
        self._tracks = [
            t for t in self._tracks
            if t_s - t.last_hit_t_s <= s.delete_after_misses_s
            and (t.confirmed or len(t.window) < s.confirm_window)  # tentative: M of the first N or gone
        ]

    def _start_tracks(self, m: _Measurements, detections: list[int], ego: EgoEstimate, t_s: float) -> None:
        s = self.settings
        heading = np.array([math.cos(ego.pose.yaw_rad), math.sin(ego.pose.yaw_rad)])
        lateral = np.array([-heading[1], heading[0]])
        for j in detections:
            if len(self._tracks) >= s.max_tracks:
                return
            speed, speed_sigma = _speed_along_ego(ego.speed_mps, m.range_rate[j], m.range_rate_sigma[j],
                                                  m.los_bearing[j], s)
            kf = KalmanFilter(dim_x=4, dim_z=2)
            kf.H = _MEASUREMENT_MATRIX
            kf.x = np.array([[m.z[j, 0]], [m.z[j, 1]], [speed * heading[0]], [speed * heading[1]]])
            velocity_cov = (speed_sigma ** 2 * np.outer(heading, heading)
                            + s.init_lateral_speed_sigma_mps ** 2 * np.outer(lateral, lateral))
            kf.P = np.block([[m.r[j], np.zeros((2, 2))], [np.zeros((2, 2)), velocity_cov]])
            self._tracks.append(_TrackState(self._next_id, kf, t_s, s.existence_gain, s.confirm_window))
            self._next_id += 1

    def _confirmed_tracks(self, ego: EgoEstimate) -> tuple[Track, ...]:
        cos_yaw, sin_yaw = math.cos(ego.pose.yaw_rad), math.sin(ego.pose.yaw_rad)
        out = []
        for t in sorted(self._tracks, key=lambda t: t.track_id):
            if not t.confirmed:
                continue
            x, y, vx, vy = t.kf.x[:, 0].tolist()
            p = t.kf.P
            if self.lane_assigner is not None:
                relative_lane, lanelet_id, gap = self.lane_assigner(x, y, ego)
            else:
                relative_lane, lanelet_id, gap = None, 0, ego_frame_gap(x, y, ego)
            out.append(Track(
                track_id=t.track_id, x_m=x, y_m=y, vx_mps=vx, vy_mps=vy,
                length_m=DEFAULT_OBJECT_LENGTH_M, existence=t.existence,
                position_sigma_m=math.sqrt(0.5 * float(p[0, 0] + p[1, 1])),
                relative_lane=relative_lane, lanelet_id=lanelet_id, gap_m=gap,
                relative_speed_mps=vx * cos_yaw + vy * sin_yaw - ego.speed_mps,
            ))
        return tuple(out)


def _associate(cost: np.ndarray, gated: np.ndarray) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Global nearest neighbour: pairs (track, detection) inside the gate, unmatched tracks and detections."""
    rows, cols = linear_sum_assignment(np.where(gated, cost, _INFEASIBLE))
    pairs = [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if gated[i, j]]
    matched_tracks = {i for i, _ in pairs}
    matched_detections = {j for _, j in pairs}
    return (pairs, [i for i in range(cost.shape[0]) if i not in matched_tracks],
            [j for j in range(cost.shape[1]) if j not in matched_detections])


def _speed_along_ego(ego_speed: float, range_rate: float, range_rate_sigma: float, los_bearing: float,
                     s: TrackerSettings) -> tuple[float, float]:
    """Object speed along the ego heading from the range rate, assuming it drives parallel to the ego.

    range_rate = (v_obj - v_ego) cos(los_bearing), so v_obj = v_ego + range_rate / cos(los_bearing);
    without Doppler, or looking too far sideways, the object is assumed as fast as the ego.
    """
    cos_los = math.cos(los_bearing)
    if math.isnan(range_rate) or abs(cos_los) < MIN_LINE_OF_SIGHT_COS:
        return ego_speed, s.init_speed_sigma_no_doppler_mps
    sigma = math.hypot(s.init_speed_sigma_mps, range_rate_sigma / abs(cos_los))
    return ego_speed + range_rate / cos_los, sigma


def _ego_at(ego: EgoEstimate, t_s: float) -> EgoEstimate:
    """Ego estimate moved to the frame time by its speed and yaw rate (frames and poses are not in step)."""
    dt = t_s - ego.t_s
    if dt == 0.0:
        return ego
    yaw = ego.pose.yaw_rad + ego.yaw_rate_rps * dt
    mid_yaw = ego.pose.yaw_rad + 0.5 * ego.yaw_rate_rps * dt
    pose = Pose2D(ego.pose.x_m + ego.speed_mps * dt * math.cos(mid_yaw),
                  ego.pose.y_m + ego.speed_mps * dt * math.sin(mid_yaw), yaw)
    return EgoEstimate(t_s, pose, ego.speed_mps, ego.yaw_rate_rps, ego.position_sigma_m)

