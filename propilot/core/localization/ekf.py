"""Lane-level localisation: RTK-GNSS, IMU, wheel speed and camera lane lines in one EKF.

In: `GnssFix`es (position and RTK state), `ImuSample`s (100 Hz), `LaneLineFrame`s from the
camera, each buffered as it arrives, and a `VehicleStatus` (wheel speed) every control cycle,
which fuses everything received up to its time, in time order. Out: an `EgoEstimate` in the
map frame and the ego's `LanePosition`, with whether it is lane-level and why.

    IMU sample   -> predict (yaw rate - estimated gyro bias, acceleration)
    GNSS fix     -> position update, noise by RTK state: max(reported, floor of the state)
    lane lines   -> lateral offset + heading update relative to the matched lane, and the
                    painted line types checked against the lane's boundaries in the map
    wheel speed  -> speed update; the vehicle's own yaw rate stands in when no IMU is heard

Lane-level (what hands-off and system lane changes need) holds when the lane confidence is
above `lane_level_confidence` and either RTK fixed was fused within `rtk_hold_s`, or the
camera has confirmed the lane within `camera_confirm_max_age_s` and RTK fixed was lost no
longer than `camera_hold_s` ago. Bad data is never fused and is counted by reason
(`LocalizerStats`): NaN or implausible values, stale or out-of-order stamps, GNSS fixes
off the map, innovations outside the chi-square gates (jumps, multipath, misdetections).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from propilot.core.localization.lane_check import (
    LaneVerdict,
    camera_measurement,
    expected_line_types,
    neighbour_that_fits,
    verdict,
)
from propilot.core.localization.pose_filter import PoseFilter, ProcessNoise
from propilot.core.map.hdmap import HDMap
from propilot.core.settings import setting
from propilot.core.types import (
    UNMATCHED,
    EgoEstimate,
    GnssFix,
    ImuSample,
    LaneLineFrame,
    LanePosition,
    LaneSource,
    Pose2D,
    RtkState,
    VehicleStatus,
)

_MAX_PREDICT_STEP_S = 0.05  # longer gaps are predicted in steps this long (linearisation)
_NOMINAL_LANE_WIDTH_M = 3.5  # until the camera has measured one (motorway lanes: 3.5-3.75 m)


@dataclass(frozen=True, slots=True)
class LocalizerSettings:
    speed_sigma_mps: float = setting(0.1, unit="m/s", description="wheel-speed noise", minimum=0.001)
    yaw_rate_sigma_rps: float = setting(0.005, unit="rad/s", description="gyro noise per sample", minimum=0.0)
    accel_sigma_mps2: float = setting(0.3, unit="m/s^2", description="acceleration noise of the motion model",
                                      minimum=0.0)
    gyro_bias_sigma_rps: float = setting(0.005, unit="rad/s", description="initial gyro bias uncertainty",
                                         minimum=0.0, source="automotive MEMS gyro: ~0.3 deg/s turn-on bias")
    gyro_bias_walk_rps_per_sqrt_s: float = setting(1e-4, unit="rad/s/sqrt(s)",
                                                   description="gyro bias drift of the model", minimum=0.0)
    wheel_scale_sigma: float = setting(0.01, description="initial uncertainty of the wheel-speed scale (tyre "
                                       "radius)", minimum=0.0, maximum=0.2, source="tyre wear and pressure: <1 %")
    position_noise_m_per_sqrt_s: float = setting(0.02, unit="m/sqrt(s)", description="what the kinematic model "
                                                 "misses (slip, slope)", minimum=0.0)
    init_yaw_sigma_rad: float = setting(0.05, unit="rad", description="yaw uncertainty when taken from the lane",
                                        minimum=0.001)
    gnss_gate_chi2: float = setting(13.8, description="chi-square gate on the GNSS innovation (2 dof, 99.9 %)",
                                    minimum=1.0)
    gnss_max_age_s: float = setting(0.5, unit="s", description="older fixes are stale and rejected", minimum=0.0)
    rtk_fixed_sigma_m: float = setting(0.02, unit="m", description="least position noise of an RTK-fixed fix",
                                       minimum=0.001, source="RTK fixed: centimetre level")
    rtk_float_sigma_m: float = setting(0.5, unit="m", description="least position noise of an RTK-float fix",
                                       minimum=0.01, source="RTK float: decimetre level")
    standalone_sigma_m: float = setting(8.0, unit="m", description="least position noise of a standalone fix",
                                        minimum=0.1, source="REFERENCE.md 1.6: plain GNSS has 10-15 m error")
    gnss_reset_after_s: float = setting(5.0, unit="s", description="GNSS rejected by the gate this long: the "
                                        "estimate is lost, restart from the fixes", minimum=0.5)
    camera_offset_sigma_m: float = setting(0.08, unit="m", description="camera lateral offset noise (two lines)",
                                           minimum=0.005)
    camera_single_line_sigma_m: float = setting(0.15, unit="m", description="camera lateral offset noise with "
                                                "one line (lane width assumed)", minimum=0.005)
    camera_heading_sigma_rad: float = setting(0.006, unit="rad", description="camera heading noise",
                                              minimum=0.0005)
    camera_gate_chi2: float = setting(13.8, description="chi-square gate on the camera innovation (2 dof, "
                                      "99.9 %)", minimum=1.0)
    camera_max_age_s: float = setting(0.5, unit="s", description="older lane-line frames are stale", minimum=0.0)
    camera_confirm_max_age_s: float = setting(1.0, unit="s", description="the camera confirms the lane while its "
                                              "last confirming frame is this recent", minimum=0.05)
    camera_confirm_frames: int = setting(5, description="confirming frames in a row before the camera's lane "
                                         "counts (no flicker when the view comes and goes)", minimum=1)
    lane_correction_frames: int = setting(10, description="frames in a row whose line types fit only a "
                                          "neighbouring lane before the estimate moves there (without RTK)",
                                          minimum=1)
    imu_timeout_s: float = setting(0.1, unit="s", description="no IMU sample this long: the vehicle's yaw rate "
                                   "drives the prediction", minimum=0.01)
    max_yaw_rate_rps: float = setting(2.0, unit="rad/s", description="larger IMU yaw rates are implausible",
                                      minimum=0.1)
    max_accel_mps2: float = setting(15.0, unit="m/s^2", description="larger IMU accelerations are implausible",
                                    minimum=1.0)
    lane_level_confidence: float = setting(
        0.95, description="lane confidence needed for lane-level localisation", minimum=0.5, maximum=1.0,
        source="RTK gives the own lane; plain GNSS (10-15 m error) cannot (ProPILOT 2.0 design)")
    rtk_hold_s: float = setting(2.0, unit="s", description="how long after the last RTK-fixed fix the lane "
                                "counts as from RTK", minimum=0.0)
    camera_hold_s: float = setting(30.0, unit="s", description="N: how long after losing RTK fixed a "
                                   "camera-confirmed lane stays lane-level", minimum=0.0,
                                   source="issue 4: camera-confirmed lane within N s of losing RTK")


@dataclass(frozen=True, slots=True)
class LocalizerStats:
    """What was fused and what was refused, by reason (published as diagnostics)."""

    fused: int = 0  # GNSS fixes fused
    fused_camera: int = 0
    rejected_gate: int = 0  # GNSS innovation outside the gate: jump, multipath
    rejected_invalid: int = 0  # NaN, non-positive sigma, implausible IMU
    rejected_stale: int = 0  # older than allowed or than the filter state
    rejected_off_map: int = 0  # GNSS fix nowhere near a lane
    no_fix: int = 0  # the receiver had no solution (tunnel)
    camera_rejected_gate: int = 0
    camera_rejected_invalid: int = 0  # implausible pair of lines
    lane_contradictions: int = 0  # frames whose line types disagree with the matched lane
    lane_corrections: int = 0  # estimate moved to the lane the camera shows
    gnss_resets: int = 0  # estimate restarted after the gate refused GNSS too long

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Localizer:
    def __init__(self, settings: LocalizerSettings, hdmap: HDMap):
        self.settings = settings
        self.hdmap = hdmap
        s = settings
        self._noise = ProcessNoise(s.yaw_rate_sigma_rps, s.accel_sigma_mps2, s.gyro_bias_walk_rps_per_sqrt_s,
                                   s.position_noise_m_per_sqrt_s)
        self._filter: PoseFilter | None = None
        self._t_s: float | None = None
        self._pending: list[tuple[float, int, object]] = []  # (stamp, order at equal stamps, item)
        self._imu: ImuSample | None = None
        self._status: VehicleStatus | None = None
        self._last_rtk_fixed_s = -math.inf
        self._last_confirmed_s = -math.inf
        self._gate_rejected_since_s: float | None = None
        self._contradictions_in_row = 0
        self._confirmations_in_row = 0
        self._lane_width_m = _NOMINAL_LANE_WIDTH_M
        self._counts = dict.fromkeys(LocalizerStats.__dataclass_fields__, 0)

    @property
    def stats(self) -> LocalizerStats:
        return LocalizerStats(**self._counts)

    # --- inputs ---------------------------------------------------------------------------------

    def add_gnss(self, fix: GnssFix) -> None:
        if fix.rtk_state == RtkState.NO_FIX:
            self._count("no_fix")
            return
        if not all(math.isfinite(v) for v in (fix.t_s, fix.latitude_deg, fix.longitude_deg, fix.sigma_m)) \
                or fix.sigma_m <= 0.0:
            self._count("rejected_invalid")
            return
        self._pending.append((fix.t_s, 1, fix))

    def add_imu(self, sample: ImuSample) -> None:
        s = self.settings
        values = (sample.t_s, sample.accel_x_mps2, sample.accel_y_mps2, sample.yaw_rate_rps)
        if not all(math.isfinite(v) for v in values) or abs(sample.yaw_rate_rps) > s.max_yaw_rate_rps \
                or math.hypot(sample.accel_x_mps2, sample.accel_y_mps2) > s.max_accel_mps2:
            self._count("rejected_invalid")
            return
        self._pending.append((sample.t_s, 0, sample))

    def add_lane_lines(self, frame: LaneLineFrame) -> None:
        if not math.isfinite(frame.t_s):
            self._count("camera_rejected_invalid")
            return
        self._pending.append((frame.t_s, 2, frame))

    # --- one cycle ------------------------------------------------------------------------------

    def update(self, status: VehicleStatus) -> tuple[EgoEstimate | None, LanePosition]:
        """Advance to the status time, fusing what was received up to it in time order."""
        self._status = status
        due = sorted((p for p in self._pending if p[0] <= status.t_s), key=lambda p: (p[0], p[1]))
        self._pending = [p for p in self._pending if p[0] > status.t_s]
        for t_s, _, item in due:
            if self._t_s is not None and t_s < self._t_s - 1e-9:
                self._count("rejected_stale")
            elif isinstance(item, ImuSample):
                self._predict_to(t_s, item)
                self._imu = item
            elif isinstance(item, GnssFix):
                self._predict_to(t_s)
                self._fuse_gnss(item, status.t_s)
            elif isinstance(item, LaneLineFrame):
                self._predict_to(t_s)
                self._fuse_lane_lines(item, status.t_s)
        self._predict_to(status.t_s)
        if self._filter is None:
            return None, UNMATCHED
        if math.isfinite(status.speed_mps) and status.speed_mps >= 0.0:
            self._filter.update_wheel_speed(status.speed_mps, self.settings.speed_sigma_mps)
        x, y, yaw, speed, bias, _ = self._filter.x
        sigma = math.sqrt(max(self._filter.P[0, 0], self._filter.P[1, 1]))
        yaw_rate = self._motion_input()[0] - bias
        ego = EgoEstimate(status.t_s, Pose2D(float(x), float(y), float(yaw)), float(speed), float(yaw_rate), sigma)
        return ego, self._lane(ego)

    def _count(self, name: str) -> None:
        self._counts[name] += 1

    def _motion_input(self, sample: ImuSample | None = None) -> tuple[float, float]:
        """(yaw rate, acceleration) driving the prediction: this IMU sample, the last one while
        fresh, else what the vehicle reports."""
        imu = sample or self._imu
        if imu is not None and self._t_s is not None and self._t_s - imu.t_s <= self.settings.imu_timeout_s:
            return imu.yaw_rate_rps, imu.accel_x_mps2
        status = self._status
        return (status.yaw_rate_rps, status.accel_mps2) if status is not None else (0.0, 0.0)

    def _predict_to(self, t_s: float, sample: ImuSample | None = None) -> None:
        if self._t_s is None or t_s <= self._t_s:
            self._t_s = t_s if self._t_s is None else max(self._t_s, t_s)
            return
        if self._filter is not None:
            yaw_rate, accel = self._motion_input(sample)
            remaining = t_s - self._t_s
            while remaining > 1e-12:
                dt = min(remaining, _MAX_PREDICT_STEP_S)
                self._filter.predict_motion(dt, yaw_rate, accel)
                remaining -= dt
        self._t_s = t_s

    # --- GNSS -----------------------------------------------------------------------------------

    def _gnss_sigma(self, fix: GnssFix) -> float:
        """The RTK state sets the weight: a receiver's own sigma is often optimistic."""
        s = self.settings
        floor = {RtkState.RTK_FIXED: s.rtk_fixed_sigma_m, RtkState.RTK_FLOAT: s.rtk_float_sigma_m}.get(
            fix.rtk_state, s.standalone_sigma_m)
        return max(fix.sigma_m, floor)

    def _fuse_gnss(self, fix: GnssFix, now_s: float) -> None:
        s = self.settings
        if now_s - fix.t_s > s.gnss_max_age_s:
            self._count("rejected_stale")
            return
        z = np.array(self.hdmap.project(fix.latitude_deg, fix.longitude_deg))
        sigma = self._gnss_sigma(fix)
        gated = self._filter is not None and self._filter.position_distance(z, sigma) > s.gnss_gate_chi2
        if not gated and self.hdmap.locate(float(z[0]), float(z[1])) is None:
            self._count("rejected_off_map")  # nowhere near a lane: not a place this function works
            return
        if self._filter is None:
            self._initialise(z, sigma)
        elif gated:
            self._count("rejected_gate")
            if self._gate_rejected_since_s is None:
                self._gate_rejected_since_s = fix.t_s
            if fix.t_s - self._gate_rejected_since_s < s.gnss_reset_after_s:
                return
            if self.hdmap.locate(float(z[0]), float(z[1])) is None:
                return
            self._count("gnss_resets")  # the filter, not the receiver, is wrong: start again from here
            self._filter.x[:2] = z
            self._filter.P[:2, :] = 0.0
            self._filter.P[:, :2] = 0.0
            self._filter.P[:2, :2] = np.eye(2) * sigma**2
        else:
            self._filter.update_position(z, sigma)
        self._gate_rejected_since_s = None
        self._count("fused")
        if fix.rtk_state == RtkState.RTK_FIXED:
            self._last_rtk_fixed_s = fix.t_s

    def _initialise(self, position: np.ndarray, sigma_m: float) -> None:
        """Heading from the lane the fix falls in (highways are driven along their lanes)."""
        s = self.settings
        lanelet_id, arc_length_m, _ = self.hdmap.locate(float(position[0]), float(position[1]))
        yaw = float(self.hdmap.path_ahead(lanelet_id, arc_length_m, 0.0)[0, 2])
        speed = self._status.speed_mps if self._status is not None else 0.0
        self._filter = PoseFilter(np.array([position[0], position[1], yaw, speed, 0.0, 0.0]),
                                  np.diag([sigma_m**2, sigma_m**2, s.init_yaw_sigma_rad**2, 1.0,
                                           s.gyro_bias_sigma_rps**2, s.wheel_scale_sigma**2]), self._noise)

    # --- camera ---------------------------------------------------------------------------------

    def _fuse_lane_lines(self, frame: LaneLineFrame, now_s: float) -> None:
        s = self.settings
        if self._filter is None or not frame.lines:
            return
        if now_s - frame.t_s > s.camera_max_age_s:
            self._count("rejected_stale")
            return
        seen = camera_measurement(frame, self._lane_width_m)
        if seen is None:
            self._count("camera_rejected_invalid")
            return
        x, y, yaw = self._filter.x[:3]
        lane = self.hdmap.match(Pose2D(float(x), float(y), float(yaw)))
        if not lane.matched:
            return
        width = seen.width_m if seen.both_lines else self._lane_width_m
        # The lines may belong to a neighbour of the matched lane (near a line): k lanes to the left.
        k = round((lane.lateral_offset_m - seen.offset_m) / width)
        innovation = np.array([seen.offset_m + k * width - lane.lateral_offset_m,
                               _wrap(seen.heading_rad - lane.heading_error_rad)])
        lane_heading = float(yaw) - lane.heading_error_rad
        sigma_d = s.camera_offset_sigma_m if seen.both_lines else s.camera_single_line_sigma_m
        r = np.diag([sigma_d**2, s.camera_heading_sigma_rad**2])
        if self._filter.lane_distance(innovation, lane_heading, r) > s.camera_gate_chi2:
            self._count("camera_rejected_gate")
            return
        self._filter.update_lane(innovation, lane_heading, r)
        self._count("fused_camera")
        if seen.both_lines:
            self._lane_width_m += 0.1 * (seen.width_m - self._lane_width_m)
        self._check_lane(frame.t_s, lane.lanelet_id, k, (seen.left_type, seen.right_type), lane_heading)

    def _check_lane(self, t_s: float, matched_id: int, k: int, types: tuple, lane_heading: float) -> None:
        """Do the painted line types fit the lane the camera is in? Move to the one they fit if not."""
        camera_lane = matched_id if k == 0 else (self.hdmap.left_of(matched_id) if k > 0
                                                 else self.hdmap.right_of(matched_id))
        if camera_lane is None or abs(k) > 1:
            return
        result = verdict(types, expected_line_types(self.hdmap, camera_lane))
        if result == LaneVerdict.CONFIRMS:
            if t_s - self._last_confirmed_s > self.settings.camera_confirm_max_age_s:
                self._confirmations_in_row = 0  # the view was lost meanwhile: start counting again
            self._confirmations_in_row += 1
            self._last_confirmed_s = t_s
            self._contradictions_in_row = 0
            return
        if result == LaneVerdict.UNDECIDED:
            return
        self._count("lane_contradictions")
        self._contradictions_in_row += 1
        self._confirmations_in_row = 0
        rtk_now = t_s - self._last_rtk_fixed_s <= self.settings.rtk_hold_s
        if rtk_now or self._contradictions_in_row < self.settings.lane_correction_frames:
            return
        direction = neighbour_that_fits(self.hdmap, camera_lane, types)
        if direction != 0:
            shift = direction * self._lane_width_m
            self._filter.shift(-math.sin(lane_heading) * shift, math.cos(lane_heading) * shift)
            self._count("lane_corrections")
            self._contradictions_in_row = 0

    # --- lane -----------------------------------------------------------------------------------

    def _lane(self, ego: EgoEstimate) -> LanePosition:
        s = self.settings
        lane = self.hdmap.match(ego.pose)
        if not lane.matched:
            return lane
        lane_heading = ego.pose.yaw_rad - lane.heading_error_rad
        lateral_sigma = self._filter.lateral_sigma(lane_heading)
        # Lane-level confidence: the lateral error stays within half a lane (as seen from the lane's
        # centre), so the lane is known even while the ego straddles a line changing lanes.
        d = lane.lateral_offset_m
        centre = Pose2D(ego.pose.x_m + d * math.sin(lane_heading), ego.pose.y_m - d * math.cos(lane_heading),
                        ego.pose.yaw_rad)
        confidence = self.hdmap.match(centre, lateral_sigma).confidence
        since_rtk = ego.t_s - self._last_rtk_fixed_s
        camera_confirmed = (ego.t_s - self._last_confirmed_s <= s.camera_confirm_max_age_s
                            and self._confirmations_in_row >= s.camera_confirm_frames
                            and self._contradictions_in_row == 0)
        if since_rtk <= s.rtk_hold_s:
            source, allowed = LaneSource.RTK, True
        elif camera_confirmed:
            source, allowed = LaneSource.CAMERA, since_rtk <= s.camera_hold_s
        else:
            source, allowed = LaneSource.DEAD_RECKONING, False
        lane_level = allowed and confidence >= s.lane_level_confidence
        return LanePosition(lane.lanelet_id, lane.arc_length_m, lane.lateral_offset_m, lane.heading_error_rad,
                            lane.lane_index, lane.lane_count, confidence, lane_level, source)


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2.0 * math.pi) - math.pi
