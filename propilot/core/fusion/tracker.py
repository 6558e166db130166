"""Object tracker: the detection frames of every sensor of the rig in, confirmed tracks out.

In: `DetectionFrame`s of cameras, radars and sonars (in any order: they are fused by their
timestamp), with the `EgoEstimate` of the localiser; the `Rig` (mounts, fields of view,
detection probabilities). Out: the confirmed `Track`s at the ego estimate's time, sorted by
track id, each with its lane relative to the ego, bumper gap, relative speed, existence and class.

Per measurement time, for all tracks at once (numpy over tracks and detections, no loop over
either, so 64 vehicles and 24 sensors take a few milliseconds; docs/fusion.md has the formulas
and what the time goes to):
  predict (CV or CTRV, `motion.py`; back in time for a late frame)
  -> radar and camera frames together (`measurement.py`): an exact Euclidean pre-gate (one matrix
     product over all detections and tracks) keeps the pairs that may lie in a gate; gate on the
     position and, for radar, the range rate (Mahalanobis, chi-square) -> assign per frame (global nearest neighbour,
     scipy's `linear_sum_assignment`, cost d^2 + ln|S|) -> Kalman update of each track with all
     its detections at once (information form, 4x4 inverses in closed form: `batch_inverse.py`)
  -> a miss for each track a sensor should have seen: in its field of view and range, not hidden
     behind a nearer track, and the sensor not blind (it missed every confirmed track lately)
  -> existence (Bayes on the odds: a hit times `existence_hit_odds`, a miss times 1 - P_D of that
     sensor) -> M of N: confirmed with M hits in the first N looks (a detection shared by several
     tracks does not count), else deleted
  -> new tentative tracks from the detections no track explains
  -> sonars: the nearest echo updates the nearest track in the beam; nearer tracks count a miss.
Tracks are deleted `delete_after_misses_s` after their last hit or when their existence falls
below `delete_existence`; two tracks on one object are merged. Tracks live in the map frame, so
ego motion is compensated by placing the detections with the ego pose at the frame time.
Frames older than `max_frame_age_s` behind the newest one, and frames of a sensor the rig does
not know, are dropped and counted. Lanes come from an injected `LaneAssigner`, so this module
does not depend on the map.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.optimize import linear_sum_assignment

from propilot.core.fusion.batch_inverse import inverse
from propilot.core.fusion.measurement import (
    CAR_LENGTH_M,
    CAR_WIDTH_M,
    DEFAULT_LENGTH_M,
    PointMeasurements,
    box_extent,
    nearest_point,
    point_measurements,
    sensor_poses,
)
from propilot.core.fusion.motion import MOTION_MODELS, ConstantVelocity, Ctrv
from propilot.core.fusion.rig import Rig
from propilot.core.settings import setting
from propilot.core.types import DetectionFrame, EgoEstimate, ObjectClass, Pose2D, SensorKind, Track
from propilot.core.vehicle import EGO

DEFAULT_OBJECT_LENGTH_M = CAR_LENGTH_M
MIN_LINE_OF_SIGHT_COS = 0.3  # beyond ~73 deg off the ego heading, Doppler tells little of the speed along it
_INFEASIBLE = 1e9  # cost of a pair outside the gate; dropped after the assignment
_PRE_GATE_SLACK_M2 = 1e-3  # the pre-gate keeps pairs this close to its bound (rounding of the squares)
_MAX_LOGIT = 12.0  # existence odds are kept within e^+-12
_MIN_SPEED_FOR_HEADING_MPS = 2.0  # slower tracks keep a box along the map's x axis
_GATE_MARGIN_RAD = math.radians(5.0)  # tracks this far outside a field of view may still match a detection
_GATE_MARGIN_M = 10.0  # and this far beyond its range
_CLASSES = list(ObjectClass)
_LENGTH_BY_CLASS = np.array([DEFAULT_LENGTH_M.get(c, CAR_LENGTH_M) for c in _CLASSES])  # by place in _CLASSES


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    motion_model: str = setting("cv", description="motion model: cv (constant velocity) or ctrv (constant turn "
                                "rate and velocity, EKF)")
    gate_chi2: float = setting(9.21, description="Mahalanobis gate on the position innovation (chi-square)",
                               minimum=0.1, source="9.21 = 99 % of the chi-square distribution with 2 dof")
    range_rate_gate_chi2: float = setting(6.63, description="Mahalanobis gate on a radar range rate "
                                          "(chi-square)", minimum=0.1,
                                          source="6.63 = 99 % of the chi-square distribution with 1 dof")
    range_gate_chi2: float = setting(6.63, description="Mahalanobis gate on a sonar range (chi-square)",
                                     minimum=0.1, source="6.63 = 99 % of the chi-square distribution with 1 dof")
    confirm_hits: int = setting(3, description="M: detections needed within the first N looks to confirm",
                                minimum=1)
    confirm_window: int = setting(5, description="N: looks (frames of a sensor that should see the track) a "
                                  "tentative track has to reach M detections", minimum=1)
    delete_after_misses_s: float = setting(0.5, unit="s", description="track deleted after this long without "
                                           "a detection", minimum=0.0)
    process_noise_accel_mps2: float = setting(2.0, unit="m/s^2", description="1-sigma white acceleration of "
                                              "the motion model", minimum=0.01)
    process_noise_yaw_accel_rps2: float = setting(0.1, unit="rad/s^2", description="1-sigma white yaw "
                                                  "acceleration (ctrv)", minimum=0.001)
    max_tracks: int = setting(128, description="no new tracks beyond this many", minimum=1)
    init_speed_sigma_mps: float = setting(2.0, unit="m/s", description="new track: speed uncertainty along "
                                          "the ego heading when the range rate is known", minimum=0.01)
    init_speed_sigma_no_doppler_mps: float = setting(10.0, unit="m/s", description="new track: speed "
                                                     "uncertainty along the ego heading without range rate",
                                                     minimum=0.01)
    init_lateral_speed_sigma_mps: float = setting(1.0, unit="m/s", description="new track: speed uncertainty "
                                                  "across the ego heading", minimum=0.01)
    birth_gate_chi2: float = setting(
        25.0, description="no new track from a detection this close (Mahalanobis) to an existing track: it is "
        "that track's outlier or second return", minimum=0.0)
    fuse_range_rate: bool = setting(True, description="update the velocity with the range rate (Doppler), "
                                    "not only start it")
    existence_hit_odds: float = setting(8.0, description="a detection multiplies the odds that the track is "
                                        "real by this much", minimum=1.0)
    occlusion_fraction: float = setting(0.7, description="a track hidden this much behind a nearer track "
                                        "counts no miss", minimum=0.0, maximum=1.0)
    max_frame_age_s: float = setting(0.5, unit="s", description="frames older than this behind the newest "
                                     "fused one are dropped", minimum=0.0)
    blind_after_misses: int = setting(6, description="a sensor that missed this many confirmed tracks in a row "
                                      "is taken as blind: its misses stop counting until it detects again",
                                      minimum=1)
    delete_existence: float = setting(0.01, description="a track whose existence falls below this is deleted",
                                      minimum=0.0, maximum=0.5)
    merge_distance_m: float = setting(2.5, unit="m", description="two tracks closer than this (centres) with "
                                      "similar velocities are one object: the younger is deleted", minimum=0.0,
                                      source="two cars' centres are >= 3.5 m apart side by side (lane width) and "
                                      ">= 4.5 m in line (car length)")
    merge_speed_difference_mps: float = setting(3.0, unit="m/s", description="velocity difference below which "
                                                "two close tracks are merged", minimum=0.0)

    def check(self) -> tuple[str, str] | None:
        if self.motion_model not in MOTION_MODELS:
            return "motion_model", f"{self.motion_model!r} is not one of {', '.join(MOTION_MODELS)}"
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


class Tracker:
    """Multi-object, multi-sensor tracker; `fuse` once per cycle with the frames that arrived."""

    def __init__(self, settings: TrackerSettings, rig: Rig, lane_assigner: LaneAssigner | None = None):
        self.settings = settings
        self.rig = rig
        self.lane_assigner = lane_assigner
        self.model = (ConstantVelocity(settings.process_noise_accel_mps2) if settings.motion_model == "cv"
                      else Ctrv(settings.process_noise_accel_mps2, settings.process_noise_yaw_accel_rps2))
        self._sensors = {s.sensor_id: s for s in rig.sensors}
        # per sensor of the rig, made once: arrays indexed by the sensor's place in the rig
        self._sensor_index = {s.sensor_id: i for i, s in enumerate(rig.sensors)}
        self._sensor_ids = [s.sensor_id for s in rig.sensors]
        self._is_sonar = {s.sensor_id: s.kind == SensorKind.SONAR for s in rig.sensors}
        self._is_camera = np.array([s.kind == SensorKind.CAMERA for s in rig.sensors], dtype=bool)
        self._mounts = np.array([(s.mount.x_m, s.mount.y_m, s.mount.yaw_rad) for s in rig.sensors]).reshape(-1, 3)
        self._half_fov = np.array([s.half_fov_rad for s in rig.sensors])
        self._min_range = np.array([s.spec.min_range_m for s in rig.sensors])
        self._max_range = np.array([s.spec.max_range_m for s in rig.sensors])
        self._miss_log = np.log(np.maximum(1.0 - np.array([s.spec.detection_probability for s in rig.sensors]),
                                           math.exp(-_MAX_LOGIT)))
        self._widest_gate = max(settings.gate_chi2, settings.birth_gate_chi2)
        self.dropped_out_of_sequence = 0
        self.dropped_unknown_sensor = 0
        n = self.model.dim
        self._x = np.zeros((0, n))  # states, map frame
        self._p = np.zeros((0, n, n))
        self._id = np.zeros(0, dtype=np.int64)
        self._hits = np.zeros(0, dtype=np.int64)  # detections during the M-of-N window
        self._looks = np.zeros(0, dtype=np.int64)  # frames that should have seen it, during the window
        self._confirmed = np.zeros(0, dtype=bool)
        self._last_hit_s = np.zeros(0)
        self._logit = np.zeros(0)  # log-odds of existence
        self._votes = np.zeros((0, len(ObjectClass)), dtype=np.int64)  # camera class votes
        self._next_id = 1
        self._t_s: float | None = None  # time the filters are at
        self._newest_s = -math.inf  # newest frame fused
        self._miss_streak: dict[str, int] = {}  # sensor id -> confirmed tracks missed in a row

    # --- the cycle ---

    def fuse(self, frames: Iterable[DetectionFrame], ego: EgoEstimate) -> tuple[Track, ...]:
        """Fuse the frames in time order; the confirmed tracks at the ego estimate's time."""
        self.update(frames, ego)
        return self.tracks(ego)

    def update(self, frames: Iterable[DetectionFrame], ego: EgoEstimate) -> None:
        """Fuse frames in (time, sensor id) order, all frames of one time together."""
        usable = []
        for frame in frames:
            if frame.sensor_id not in self._sensors:
                self.dropped_unknown_sensor += 1
            else:
                usable.append(frame)
        usable.sort(key=lambda f: (f.t_s, f.sensor_id))
        start = 0
        for end in range(1, len(usable) + 1):
            if end == len(usable) or usable[end].t_s != usable[start].t_s:
                self._fuse_time(usable[start:end], ego)
                start = end
        if usable:
            self._merge_duplicates()

    def predict_to(self, t_s: float) -> None:
        """Move all tracks to t_s (backwards too: a frame may be older than the last prediction)."""
        if self._t_s is not None and t_s != self._t_s and len(self._x):
            self._x, self._p = self.model.predict(self._x, self._p, t_s - self._t_s)
        self._t_s = t_s

    def tracks(self, ego: EgoEstimate) -> tuple[Track, ...]:
        """The confirmed tracks predicted to the ego estimate's time, with their lanes; the filters stay put."""
        rows = np.flatnonzero(self._confirmed)
        if not rows.size:
            return ()
        x = self._x[rows]
        p = self._p[rows]
        if self._t_s is not None and ego.t_s != self._t_s:
            x, p = self.model.predict(x, p, ego.t_s - self._t_s)
        position, velocity = self.model.position(x), self.model.velocity(x)
        cos_yaw, sin_yaw = math.cos(ego.pose.yaw_rad), math.sin(ego.pose.yaw_rad)
        relative_speed = (velocity @ (cos_yaw, sin_yaw) - ego.speed_mps).tolist()
        existence = (1.0 / (1.0 + np.exp(-self._logit[rows]))).tolist()
        sigma = np.sqrt(0.5 * (p[:, 0, 0] + p[:, 1, 1])).tolist()
        class_index = self._votes[rows].argmax(axis=1)
        classes = [_CLASSES[c] for c in class_index.tolist()]
        if self.lane_assigner is None:
            along = (position - (ego.pose.x_m, ego.pose.y_m)) @ (cos_yaw, sin_yaw) - EGO.centre_from_base_m
            gaps = np.sign(along) * np.maximum(np.abs(along) - 0.5 * (EGO.length_m + DEFAULT_OBJECT_LENGTH_M), 0.0)
            lanes = [(None, 0, gap) for gap in gaps.tolist()]
        elif hasattr(self.lane_assigner, "assign_many"):
            lanes = self.lane_assigner.assign_many(position[:, 0], position[:, 1], ego)
        else:
            lanes = [self.lane_assigner(px, py, ego) for px, py in position.tolist()]
        relative_lane, lanelet, gap = zip(*lanes, strict=True)
        # positional, column by column: Track(track_id, x, y, vx, vy, length, width, existence, sigma, lane, ...)
        return tuple(map(Track, self._id[rows].tolist(), position[:, 0].tolist(), position[:, 1].tolist(),
                         velocity[:, 0].tolist(), velocity[:, 1].tolist(), _LENGTH_BY_CLASS[class_index].tolist(),
                         itertools.repeat(CAR_WIDTH_M), existence, sigma, relative_lane, lanelet, gap, relative_speed,
                         classes))

    @property
    def track_count(self) -> int:
        """All tracks, tentative ones included."""
        return len(self._id)

    def _fuse_time(self, frames: list[DetectionFrame], ego: EgoEstimate) -> None:
        """All frames measured at one time: radars and cameras together, then the sonars."""
        t_s = frames[0].t_s
        if t_s < self._newest_s - self.settings.max_frame_age_s:
            self.dropped_out_of_sequence += len(frames)
            return
        ego = _ego_at(ego, t_s)
        self.predict_to(t_s)
        points = [f for f in frames if not self._is_sonar[f.sensor_id]]
        if points:
            self._fuse_points(points, ego)
        sonars = [f for f in frames if self._is_sonar[f.sensor_id]]
        if sonars and len(self._id):
            self._fuse_ranges(sonars, ego)
        self._newest_s = max(self._newest_s, t_s)
        self._delete_lost()

    # --- radar and camera ---

    def _fuse_points(self, frames: list[DetectionFrame], ego: EgoEstimate) -> None:
        """Frames of one time: gate every detection against the tracks its sensor may see, assign per
        sensor, update each track with all its detections, count misses, start tracks from the rest."""
        s = self.settings
        index = np.array([self._sensor_index[f.sensor_id] for f in frames])
        poses = sensor_poses(self._mounts[index], ego)
        view = self._view(index, poses)
        m = point_measurements(frames, poses, ego)
        n_tracks, n_detections = len(self._id), len(m.z)
        hit = np.zeros(view.in_view.shape, dtype=bool)  # (frames, tracks)
        hits = np.zeros(n_tracks, dtype=np.int64)
        explained = np.zeros(n_detections, dtype=bool)
        if n_tracks and n_detections:
            rows, cols = self._candidate_pairs(view.near, m)
            d2, cost = self._pair_distances(rows, cols, m)
            gated = d2 <= s.gate_chi2
            gated_cols = cols[gated]
            track, detection = _associate_per_frame(rows[gated], gated_cols, cost[gated], m.frame, len(frames))
            explained[cols[d2 <= s.birth_gate_chi2]] = True
            explained[detection] = True
            if detection.size:
                self._update_points(track, detection, m)
                frame = m.frame[detection]
                camera = self._is_camera[index[frame]]
                np.add.at(self._votes, (track[camera], m.classification[detection[camera]]), 1)
                hit[frame, track] = True
                # a detection in the gate of several tracks does not confirm a tentative one (a ghost next to a
                # real car would live on the car's detections); it still updates it and spares it a miss
                shared = np.bincount(gated_cols, minlength=n_detections)[detection] > 1
                counts = ~(shared & ~self._confirmed[track])
                hits = np.bincount(track[counts], minlength=n_tracks)
        missed = self._not_hidden(view.in_view & ~hit, view)
        missed[self._blind(index, hit, missed)] = False
        self._bookkeep(hits, missed.sum(axis=0), self._miss_log[index] @ missed, frames[0].t_s)
        if not explained.all():
            self._start_tracks(m, np.flatnonzero(~explained), ego, frames[0].t_s)

    def _blind(self, index: np.ndarray, hit: np.ndarray, missed: np.ndarray) -> np.ndarray:
        """Which of these sensors look blind (glare, dirt): they missed every one of the last
        `blind_after_misses` confirmed tracks they should have seen. Their misses do not count until
        they detect a confirmed track again, so a blinded camera cannot delete what the radars see."""
        hits = (hit & self._confirmed).sum(axis=1).tolist()
        misses = (missed & self._confirmed).sum(axis=1).tolist()
        blind = []
        for i, n_hit, n_miss in zip(index.tolist(), hits, misses, strict=True):
            sensor_id = self._sensor_ids[i]
            streak = 0 if n_hit else self._miss_streak.get(sensor_id, 0) + n_miss
            self._miss_streak[sensor_id] = streak
            blind.append(streak >= self.settings.blind_after_misses)
        return np.array(blind, dtype=bool)

    def _candidate_pairs(self, near: np.ndarray, m: PointMeasurements) -> tuple[np.ndarray, np.ndarray]:
        """(track, detection) pairs, detection-major, where the track is near the view of the detection's sensor
        (near: (frames, tracks)) and the detection may lie within the widest gate of the track.

        An exact pre-gate before the Mahalanobis distances: d^2 = y^T S^-1 y >= |y|^2 / trace(S) (the
        largest eigenvalue of the 2x2 S is at most its trace), so a pair with |y|^2 > g trace(S) is outside
        every gate g. |y|^2 - g trace(S) of all pairs is one matrix product, (D, 4) @ (4, T), with the
        positions taken from a detection nearby (so the squares do not lose digits). With 64 tracks this
        leaves about one pair in three of those the sensors could see."""
        g, x, p = self._widest_gate, self._x, self._p
        origin = m.z[0]
        z, position = m.z - origin, x[:, :2] - origin
        a = np.empty((len(z), 4))
        a[:, :2] = z
        a[:, 2] = 1.0
        a[:, 3] = z[:, 0] * z[:, 0] + z[:, 1] * z[:, 1] - g * (m.r[:, 0, 0] + m.r[:, 1, 1])
        b = np.empty((4, len(position)))
        b[:2] = -2.0 * position.T
        b[2] = position[:, 0] * position[:, 0] + position[:, 1] * position[:, 1] - g * (p[:, 0, 0] + p[:, 1, 1])
        b[3] = 1.0
        flat = np.flatnonzero(a @ b <= _PRE_GATE_SLACK_M2)  # row-major: detection by detection
        cols = flat // len(position)
        rows = flat - cols * len(position)
        keep = near[m.frame[cols], rows]
        return rows[keep], cols[keep]

    def _pair_distances(self, rows: np.ndarray, cols: np.ndarray,
                        m: PointMeasurements) -> tuple[np.ndarray, np.ndarray]:
        """Of (track, detection) pairs: d^2, the squared Mahalanobis distance of the position (inf when a
        radar's range rate disagrees), and the assignment cost d^2 + ln|S| (plus the range-rate terms)."""
        p, x, r = self._p, self._x, m.r
        s00 = p[:, 0, 0][rows] + r[:, 0, 0][cols]
        s01 = p[:, 0, 1][rows] + r[:, 0, 1][cols]
        s11 = p[:, 1, 1][rows] + r[:, 1, 1][cols]
        y0 = m.z[:, 0][cols] - x[:, 0][rows]
        y1 = m.z[:, 1][cols] - x[:, 1][rows]
        det = s00 * s11 - s01 * s01
        d2 = (s11 * y0 * y0 - 2.0 * s01 * y0 * y1 + s00 * y1 * y1) / det
        # ln|S| keeps a vague tentative track from taking a detection from a firm one
        cost = d2 + np.log(det)
        doppler = np.flatnonzero(m.has_rate[cols] & (d2 <= self._widest_gate))
        if doppler.size:
            # a radar detection must also agree in range rate: a stationary return is no moving car
            rate_d2, rate_var = self._rate_distances(rows[doppler], cols[doppler], m)
            d2[doppler[rate_d2 > self.settings.range_rate_gate_chi2]] = np.inf
            cost[doppler] += rate_d2 + np.log(rate_var)
        return d2, cost

    def _rate_distances(self, rows: np.ndarray, cols: np.ndarray,
                        m: PointMeasurements) -> tuple[np.ndarray, np.ndarray]:
        """Of (track, detection) pairs: squared Mahalanobis distance of the range rate, and its variance."""
        predicted, h = self.model.range_rate(self._x[rows], m.los[cols])
        variance = ((h[:, None, :] @ self._p[rows]) @ h[:, :, None])[:, 0, 0] + m.range_rate_var[cols]
        return (m.range_rate[cols] - predicted) ** 2 / variance, variance

    def _update_points(self, rows: np.ndarray, cols: np.ndarray, m: PointMeasurements) -> None:
        """Kalman update of the tracks `rows` with detections `cols`: all detections of a track at once."""
        n = self.model.dim
        x = self._x[rows]
        # each pair's information matrix H^T R^-1 H and vector H^T R^-1 y, packed in one row for the sums
        packed = np.zeros((len(rows), n * n + n))
        info, vector = packed[:, :n * n].reshape(-1, n, n), packed[:, n * n:]
        info[:, :2, :2] = r_inv = m.r_inv[cols]
        vector[:, :2] = (r_inv @ (m.z[cols] - x[:, :2])[:, :, None])[:, :, 0]
        # range rate: linear in the velocity once the line of sight is fixed (EKF Jacobian for CTRV)
        if self.settings.fuse_range_rate:
            doppler = np.flatnonzero(m.has_rate[cols])
            if doppler.size:
                c = cols[doppler]
                predicted, h = self.model.range_rate(x[doppler], m.los[c])
                weight = 1.0 / m.range_rate_var[c]
                info[doppler] += weight[:, None, None] * h[:, :, None] * h[:, None, :]
                vector[doppler] += (weight * (m.range_rate[c] - predicted))[:, None] * h
        self._information_update(rows, packed)

    def _information_update(self, rows: np.ndarray, packed: np.ndarray) -> None:
        """Kalman update in information form: P+ = (P^-1 + sum H^T R^-1 H)^-1, x+ = x + P+ sum H^T R^-1 y,
        the sums from rows of `packed` (information matrix flattened, then information vector) per track.

        For independent measurements of one time this is the sequential Kalman update done at once
        (the EKF linearised at the prediction), so a track seen by several sensors costs one inversion.
        """
        n = self.model.dim
        tracks = np.flatnonzero(np.bincount(rows, minlength=len(self._id)))
        total = (tracks[:, None] == rows) @ packed  # sums per track: one matrix product
        prior = self._p[tracks]
        p = inverse(np.eye(n) + prior @ total[:, :n * n].reshape(-1, n, n)) @ prior  # = (P^-1 + J)^-1
        p = 0.5 * (p + p.transpose(0, 2, 1))
        self._x[tracks] += (p @ total[:, n * n:, None])[:, :, 0]
        self._p[tracks] = p

    def _boxes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Position, heading (cos, sin) and half length of every track's box."""
        position = self.model.position(self._x)
        velocity = self.model.velocity(self._x)
        speed = np.hypot(velocity[:, 0], velocity[:, 1])
        moving = speed > _MIN_SPEED_FOR_HEADING_MPS  # a slow track keeps a box along the map's x axis
        cos_yaw = np.where(moving, velocity[:, 0] / np.maximum(speed, 1e-9), 1.0)
        sin_yaw = np.where(moving, velocity[:, 1] / np.maximum(speed, 1e-9), 0.0)
        truck = self._votes.argmax(axis=1) == ObjectClass.TRUCK
        half_length = np.where(truck, 0.5 * DEFAULT_LENGTH_M[ObjectClass.TRUCK], 0.5 * CAR_LENGTH_M)
        return position, cos_yaw, sin_yaw, half_length

    def _view(self, index: np.ndarray, poses: np.ndarray) -> _View:
        """The tracks as each of these radars and cameras (rig index, `sensor_poses`) sees them, arrays
        (frames, tracks)."""
        position, cos_yaw, sin_yaw, half_length = self._boxes()
        dx = position[None, :, 0] - poses[:, 0:1]
        dy = position[None, :, 1] - poses[:, 1:2]
        distance = np.maximum(np.hypot(dx, dy), 1e-3)
        off_axis = _wrap(np.arctan2(dy, dx) - poses[:, 2:3])
        cos_rel = np.abs(dx * cos_yaw + dy * sin_yaw) / distance
        face = distance - box_extent(cos_rel, half_length)
        half_fov, min_range, max_range = self._half_fov[index, None], self._min_range[index, None], \
            self._max_range[index, None]
        in_view = (np.abs(off_axis) <= half_fov) & (face >= min_range) & (face <= max_range)
        near = (np.abs(off_axis) <= half_fov + _GATE_MARGIN_RAD) & (face <= max_range + _GATE_MARGIN_M)
        return _View(in_view, near, off_axis, distance, face, cos_rel, half_length)

    def _not_hidden(self, candidates: np.ndarray, view: _View) -> np.ndarray:
        """(frames, tracks) candidates that no nearer track in the same sensor's view hides (angular overlap)."""
        frames, rows = np.nonzero(candidates)
        if not rows.size:
            return candidates
        # angular half extent of each box: its support across the line of sight, over the distance
        across = box_extent(np.sqrt(np.maximum(1.0 - view.cos_rel ** 2, 0.0)), view.half_length)
        half_angle = np.arctan2(across, view.distance)
        lo, hi = view.off_axis - half_angle, view.off_axis + half_angle  # (frames, tracks)
        lo_c, hi_c, face_c = lo[frames, rows], hi[frames, rows], view.face[frames, rows]
        overlap = np.clip(np.minimum(hi_c[:, None], hi[frames]) - np.maximum(lo_c[:, None], lo[frames]), 0.0, None)
        occluder = view.in_view[frames] & (view.face[frames] < face_c[:, None])
        hidden = np.any(occluder & (overlap > self.settings.occlusion_fraction * (hi_c - lo_c)[:, None]), axis=1)
        out = candidates.copy()
        out[frames[hidden], rows[hidden]] = False
        return out

    # --- sonar ---

    def _fuse_ranges(self, frames: list[DetectionFrame], ego: EgoEstimate) -> None:
        """Sonar echoes of one time. Each sonar reports its nearest echo: it updates the nearest track in
        the beam that explains it; tracks in the beam nearer than the echo (or any, without an echo) count a
        miss; tracks behind the echo are masked by it."""
        s = self.settings
        position, cos_yaw, sin_yaw, half_length = self._boxes()
        reach = max(self._sensors[f.sensor_id].spec.max_range_m for f in frames) + 10.0
        close = np.flatnonzero(np.hypot(position[:, 0] - ego.pose.x_m, position[:, 1] - ego.pose.y_m) < reach)
        if not close.size:
            return
        index = np.array([self._sensor_index[f.sensor_id] for f in frames])
        poses = sensor_poses(self._mounts[index], ego)
        predicted, los = nearest_point(poses[:, 0:1], poses[:, 1:2], position[close], cos_yaw[close],
                                       sin_yaw[close], half_length[close])  # (sonars, close tracks)
        off_axis = _wrap(np.arctan2(los[..., 1], los[..., 0]) - poses[:, 2:3])
        in_beam = (np.abs(off_axis) <= self._half_fov[index, None]) & (predicted <= self._max_range[index, None])
        echo = np.array([f.detections[0].range_m if f.detections else np.inf for f in frames])
        echo_var = np.array([f.detections[0].range_sigma_m ** 2 if f.detections else 1.0 for f in frames])
        p_pos = self._p[close, :2, :2]
        s_var = np.einsum("skj,kjl,skl->sk", los, p_pos, los) + echo_var[:, None]
        y = echo[:, None] - predicted
        gated = in_beam & (y * y / s_var <= s.range_gate_chi2)
        nearest_gated = np.argmin(np.where(gated, predicted, np.inf), axis=1)  # the nearest object echoes
        sonar = np.flatnonzero(gated.any(axis=1))
        column = nearest_gated[sonar]
        hit = np.zeros_like(gated)
        hit[sonar, column] = True
        # a miss: in the beam, not hit, and nearer than the echo (beyond it the echo masks it)
        missed = (in_beam & ~hit & (predicted >= self._min_range[index, None])
                  & (predicted < echo[:, None] - 3.0 * np.sqrt(s_var)))
        n = len(self._id)
        if sonar.size:
            d = self.model.dim
            h = los[sonar, column]
            weight = 1.0 / echo_var[sonar]
            packed = np.zeros((sonar.size, d * d + d))
            packed[:, :d * d].reshape(-1, d, d)[:, :2, :2] = weight[:, None, None] * h[:, :, None] * h[:, None, :]
            packed[:, d * d:d * d + 2] = (weight * y[sonar, column])[:, None] * h
            self._information_update(close[column], packed)
        miss_log = self._miss_log[index]
        hits = np.zeros(n, dtype=np.int64)
        hits[close] = hit.sum(axis=0)
        misses = np.zeros(n, dtype=np.int64)
        misses[close] = missed.sum(axis=0)
        miss_log_odds = np.zeros(n)
        miss_log_odds[close] = miss_log @ missed
        self._bookkeep(hits, misses, miss_log_odds, frames[0].t_s)

    # --- track management ---

    def _bookkeep(self, hits: np.ndarray, misses: np.ndarray, miss_log_odds: np.ndarray, t_s: float) -> None:
        """Hits and misses of one time (counts per track): existence, the M-of-N window, the last hit time."""
        s = self.settings
        self._logit = np.clip(self._logit + hits * math.log(s.existence_hit_odds) + miss_log_odds,
                              -_MAX_LOGIT, _MAX_LOGIT)
        self._last_hit_s = np.where(hits > 0, np.maximum(self._last_hit_s, t_s), self._last_hit_s)
        window = ~self._confirmed
        self._hits += hits * window
        self._looks += (hits + misses) * window
        self._confirmed |= self._hits >= s.confirm_hits

    def _delete_lost(self) -> None:
        """Tracks without a detection for too long, tentative ones that failed M of N, and tracks whose
        existence fell so low that the sensors that should see them say they are gone."""
        s = self.settings
        keep = ((self._newest_s - self._last_hit_s <= s.delete_after_misses_s)
                & (self._confirmed | (self._looks < s.confirm_window))
                & (self._logit >= math.log(s.delete_existence / (1.0 - s.delete_existence))))
        if not np.all(keep):
            self._select(keep)

    def _merge_duplicates(self) -> None:
        """The younger of two tracks on one object goes: two vehicles' centres cannot be that close."""
        s = self.settings
        position, velocity = self.model.position(self._x), self.model.velocity(self._x)
        dx = position[:, 0, None] - position[None, :, 0]
        dy = position[:, 1, None] - position[None, :, 1]
        i, j = np.nonzero(dx * dx + dy * dy < s.merge_distance_m ** 2)
        upper = i < j  # each pair once, not a track with itself
        if not upper.any():
            return
        i, j = i[upper], j[upper]
        same = np.hypot(*(velocity[i] - velocity[j]).T) < s.merge_speed_difference_mps
        older_first = self._id[i] < self._id[j]
        drop = np.where(older_first, j, i)[same]
        keep = np.ones(len(self._id), dtype=bool)
        keep[drop] = False
        self._select(keep)

    def _select(self, keep: np.ndarray) -> None:
        for name in ("_x", "_p", "_id", "_hits", "_looks", "_confirmed", "_last_hit_s", "_logit", "_votes"):
            setattr(self, name, getattr(self, name)[keep])

    def _start_tracks(self, m: PointMeasurements, detections: np.ndarray, ego: EgoEstimate, t_s: float) -> None:
        """New tentative tracks, frame by frame: a detection of a later frame that falls in the gate of a
        track born from an earlier frame of the same time updates it instead of starting another."""
        s = self.settings
        born_from = len(self._id)
        frame_of = m.frame[detections].tolist()  # ascending: detections are numbered frame by frame
        ends = [k for k in range(1, len(frame_of)) if frame_of[k] != frame_of[k - 1]] + [len(frame_of)]
        for start, end in zip([0, *ends[:-1]], ends, strict=True):
            cols = detections[start:end]
            if len(self._id) > born_from:
                newborn = np.arange(born_from, len(self._id))
                rows, det = np.repeat(newborn, len(cols)), np.tile(cols, len(newborn))
                d2, cost = self._pair_distances(rows, det, m)
                gated = d2 <= s.gate_chi2
                track, detection = _associate_per_frame(rows[gated], det[gated], cost[gated], m.frame,
                                                        len(m.starts) - 1)
                explained = (d2 <= s.birth_gate_chi2).reshape(len(newborn), len(cols)).any(axis=0)
                if track.size:
                    self._update_points(track, detection, m)
                    self._bookkeep(np.bincount(track, minlength=len(self._id)),
                                   np.zeros(len(self._id), dtype=np.int64), np.zeros(len(self._id)), t_s)
                cols = cols[~explained]
            self._add_tracks(m, cols[:max(s.max_tracks - len(self._id), 0)], ego, t_s)

    def _add_tracks(self, m: PointMeasurements, detections: np.ndarray, ego: EgoEstimate, t_s: float) -> None:
        """Tentative tracks from these detections: the position measured, the speed along the ego heading
        from the range rate (as fast as the ego without one), little speed across it."""
        s = self.settings
        n = detections.size
        if not n:
            return
        heading = np.array([math.cos(ego.pose.yaw_rad), math.sin(ego.pose.yaw_rad)])
        lateral = np.array([-heading[1], heading[0]])
        speed, speed_sigma = _speed_along_ego(ego.speed_mps, m.raw_range_rate[detections],
                                              np.sqrt(m.range_rate_var[detections]), m.los[detections] @ heading, s)
        velocity_cov = (speed_sigma[:, None, None] ** 2 * np.outer(heading, heading)
                        + s.init_lateral_speed_sigma_mps ** 2 * np.outer(lateral, lateral))
        x, p = self.model.initial(m.z[detections], m.r[detections], speed[:, None] * heading, velocity_cov)
        self._x = np.concatenate((self._x, x))
        self._p = np.concatenate((self._p, p))
        self._id = np.concatenate((self._id, np.arange(self._next_id, self._next_id + n)))
        self._next_id += n
        self._hits = np.concatenate((self._hits, np.ones(n, dtype=np.int64)))
        self._looks = np.concatenate((self._looks, np.ones(n, dtype=np.int64)))
        self._confirmed = np.concatenate((self._confirmed, np.full(n, s.confirm_hits <= 1)))
        self._last_hit_s = np.concatenate((self._last_hit_s, np.full(n, t_s)))
        self._logit = np.concatenate((self._logit, np.full(n, math.log(s.existence_hit_odds))))
        votes = np.zeros((n, len(ObjectClass)), dtype=np.int64)
        votes[np.arange(n), m.classification[detections]] = 1
        self._votes = np.concatenate((self._votes, votes))


@dataclass(frozen=True, slots=True)
class _View:
    """Tracks relative to the radars and cameras of one time; arrays (frames, tracks)."""

    in_view: np.ndarray  # inside the field of view and range band
    near: np.ndarray  # may still give a detection (field of view and range plus a margin)
    off_axis: np.ndarray
    distance: np.ndarray
    face: np.ndarray  # range to the face towards the sensor
    cos_rel: np.ndarray  # |cos| of the angle between the line of sight and the box
    half_length: np.ndarray  # (tracks,)


def _associate_per_frame(rows: np.ndarray, cols: np.ndarray, cost: np.ndarray, frame: np.ndarray,
                         n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Global nearest neighbour over gated (track, detection) pairs, a track taking at most one
    detection of each frame (frame: the frame of each detection): the tracks and their detections.

    Pairs without a choice (the detection gates one track, which gates no other detection of that
    frame) are taken at once; the rest goes to one optimal assignment (scipy) whose rows are
    (track, frame) and whose columns are detections, feasible only within a frame.
    """
    keys = rows * n_frames + frame[cols]  # (track, frame) of each pair
    per_detection = np.bincount(cols)
    per_key = np.bincount(keys)
    clear = (per_detection[cols] == 1) & (per_key[keys] == 1)
    if clear.all():
        return rows, cols
    unclear = ~clear
    keys, cols_left, cost = keys[unclear], cols[unclear], cost[unclear]
    # the keys and detections left, numbered in order (what np.unique does, without its sort)
    key_used, col_used = np.bincount(keys) > 0, np.bincount(cols_left) > 0
    row = np.cumsum(key_used)[keys] - 1
    col = np.cumsum(col_used)[cols_left] - 1
    matrix = np.full((int(key_used.sum()), int(col_used.sum())), _INFEASIBLE)
    matrix[row, col] = cost
    r, c = linear_sum_assignment(matrix)
    ok = matrix[r, c] < _INFEASIBLE
    key_ids, col_ids = np.flatnonzero(key_used), np.flatnonzero(col_used)
    return (np.concatenate((rows[clear], key_ids[r[ok]] // n_frames)),
            np.concatenate((cols[clear], col_ids[c[ok]])))


def _speed_along_ego(ego_speed: float, range_rate: np.ndarray, range_rate_sigma: np.ndarray, cos_los: np.ndarray,
                     s: TrackerSettings) -> tuple[np.ndarray, np.ndarray]:
    """Speeds along the ego heading from range rates, assuming the objects drive parallel to the ego.

    range_rate = (v_obj - v_ego) cos(los), so v_obj = v_ego + range_rate / cos(los); without
    Doppler, or looking too far sideways, an object is assumed as fast as the ego.
    """
    usable = ~np.isnan(range_rate) & (np.abs(cos_los) >= MIN_LINE_OF_SIGHT_COS)
    safe_cos = np.where(usable, cos_los, 1.0)
    speed = np.where(usable, ego_speed + np.where(usable, range_rate, 0.0) / safe_cos, ego_speed)
    rate_sigma = np.where(usable, range_rate_sigma, 0.0) / np.abs(safe_cos)
    sigma = np.where(usable, np.hypot(s.init_speed_sigma_mps, rate_sigma), s.init_speed_sigma_no_doppler_mps)
    return speed, sigma


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


def _wrap(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2.0 * np.pi) - np.pi
