"""Lane-level localisation: the fused EKF next to a GNSS-only filter on the same drive.

A 5 km drive on highway_small (two runs: the map's main line is 4 km long) with RTK-fixed
stretches, a 10 s GNSS outage (tunnel), an RTK-float stretch, a standalone stretch with its
10-15 m excursions, multipath jumps, lane changes and traffic hiding the lines. Sensors are
the simulator's models (GNSS, IMU, wheel speed, the rendered camera); the lane lines come
from the OpenCV detector on the rendered images.

- stack: `Localizer` (EKF: IMU, wheel speed, GNSS by RTK state, camera lane lines).
- baseline: GNSS only, a constant-velocity Kalman filter (filterpy) on the same fixes with the
  same RTK-state weights and chi-square gate; it coasts on its last velocity when there is no fix.

Prints a few lines of detail, then one JSON object (last line):
`lateral_rms_m` (RMS cross-track error while RTK fixed), `lane_correct_ratio` (share of
samples in the true lane, overall), `outage_max_lateral_m` (largest cross-track error during
the 10 s outage), `update_us` (estimator CPU time per 10 ms of driving: one 100 Hz IMU cycle
with the GNSS, camera and wheel-speed updates amortised; lane detection excluded and shown
in the details), the same under `baseline`, and `ratio` = stack / baseline.

    .venv/bin/python benchmarks/localization.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from filterpy.common import Q_discrete_white_noise
from filterpy.kalman import KalmanFilter

from propilot.core.localization.ekf import Localizer, LocalizerSettings
from propilot.core.map.hdmap import HDMap, load_map
from propilot.core.perception.camera_model import CameraSettings
from propilot.core.perception.lane_detector import LaneDetector, LaneDetectorSettings
from propilot.core.types import GnssFix, LanePosition, Pose2D, RtkState
from propilot.sim.lane_drive import DriveScript, GnssSpell, LaneChange, ScriptedDrive, Traffic

MAP = Path(__file__).resolve().parents[1] / "maps" / "highway_small" / "map.yaml"
SETTLE_S = 3.0  # the first seconds of a run (filters converging) are not scored
ACCEL_VAR = 4.0  # baseline's white acceleration, (m/s^2)^2: curves and speed changes of highway driving

RUNS = (
    # 3.75 km: RTK fixed, a lane change, 10 s tunnel, RTK float, lane change back, multipath.
    DriveScript(start_lane=1, start_station_m=50.0, duration_s=139.0, speed_mps=27.0, seed=1,
                lane_changes=(LaneChange(12.0, +1), LaneChange(95.0, -1)),
                gnss=(GnssSpell(30.0, 40.0, RtkState.NO_FIX), GnssSpell(60.0, 90.0, RtkState.RTK_FLOAT),
                      GnssSpell(110.0, 112.0, RtkState.RTK_FIXED, multipath=True)),
                traffic=(Traffic(1, 40.0, 25.0), Traffic(0, 120.0, 24.0), Traffic(2, -30.0, 28.0))),
    # 1.25 km: standalone stretch (10-15 m excursions) after RTK fixed, then RTK again.
    DriveScript(start_lane=2, start_station_m=200.0, duration_s=46.0, speed_mps=27.0, seed=2,
                lane_changes=(LaneChange(36.0, +1),),
                gnss=(GnssSpell(8.0, 30.0, RtkState.STANDALONE),),
                traffic=(Traffic(2, 60.0, 24.0), Traffic(1, 30.0, 26.0))),
)


class GnssOnly:
    """Constant-velocity Kalman filter on GNSS positions (filterpy), noise by RTK state."""

    def __init__(self, hdmap: HDMap, settings: LocalizerSettings):
        self.hdmap = hdmap
        self.settings = settings
        self.kf: KalmanFilter | None = None
        self.t_s = 0.0
        self.rejected_since_s: float | None = None

    def _sigma(self, fix: GnssFix) -> float:
        s = self.settings
        floor = {RtkState.RTK_FIXED: s.rtk_fixed_sigma_m, RtkState.RTK_FLOAT: s.rtk_float_sigma_m}.get(
            fix.rtk_state, s.standalone_sigma_m)
        return max(fix.sigma_m, floor)

    def step(self, t_s: float, fixes: list[GnssFix]) -> tuple[Pose2D | None, LanePosition | None]:
        for fix in fixes:
            if fix.rtk_state == RtkState.NO_FIX:
                continue
            z = np.array(self.hdmap.project(fix.latitude_deg, fix.longitude_deg))
            r = np.eye(2) * self._sigma(fix) ** 2
            if self.kf is None:
                self.kf = KalmanFilter(dim_x=4, dim_z=2)  # [x, vx, y, vy]
                self.kf.x = np.array([z[0], 0.0, z[1], 0.0])
                self.kf.P = np.diag([r[0, 0], 30.0**2, r[1, 1], 30.0**2])
                self.kf.H = np.array([[1.0, 0, 0, 0], [0, 0, 1.0, 0]])
                self.t_s = fix.t_s
                continue
            self._predict(fix.t_s)
            # The stack's gate and restart rule: jumps are not fused, a filter refused too long restarts.
            innovation = z - self.kf.H @ self.kf.x
            if innovation @ np.linalg.solve(self.kf.H @ self.kf.P @ self.kf.H.T + r, innovation) \
                    <= self.settings.gnss_gate_chi2:
                self.kf.update(z, R=r)
                self.rejected_since_s = None
            elif self.rejected_since_s is None:
                self.rejected_since_s = fix.t_s
            elif fix.t_s - self.rejected_since_s >= self.settings.gnss_reset_after_s:
                self.kf.x[[0, 2]] = z
                self.kf.P[[0, 2], [0, 2]] = r[0, 0]
                self.rejected_since_s = None
        if self.kf is None:
            return None, None
        self._predict(t_s)
        x, vx, y, vy = self.kf.x
        pose = Pose2D(float(x), float(y), math.atan2(vy, vx))
        return pose, self.hdmap.match(pose)

    def _predict(self, t_s: float) -> None:
        dt = t_s - self.t_s
        if dt <= 0.0:
            return
        f = np.array([[1.0, dt], [0.0, 1.0]])
        self.kf.F = np.block([[f, np.zeros((2, 2))], [np.zeros((2, 2)), f]])
        q = Q_discrete_white_noise(dim=2, dt=dt, var=ACCEL_VAR)
        self.kf.Q = np.block([[q, np.zeros((2, 2))], [np.zeros((2, 2)), q]])
        self.kf.predict()
        self.t_s = t_s


@dataclass
class Score:
    rtk_lateral: list[float] = field(default_factory=list)
    outage_lateral: list[float] = field(default_factory=list)
    lane_hits: int = 0
    samples: int = 0
    cpu_s: float = 0.0

    def add(self, truth: Pose2D, estimate: Pose2D | None, lane: LanePosition | None, truth_lane: int,
            state: RtkState) -> None:
        self.samples += 1
        if estimate is None or lane is None:
            return
        normal = (-math.sin(truth.yaw_rad), math.cos(truth.yaw_rad))
        lateral = (estimate.x_m - truth.x_m) * normal[0] + (estimate.y_m - truth.y_m) * normal[1]
        if state == RtkState.RTK_FIXED:
            self.rtk_lateral.append(lateral)
        if state == RtkState.NO_FIX:
            self.outage_lateral.append(lateral)
        self.lane_hits += lane.matched and lane.lane_index == truth_lane

    def figures(self, periods_10ms: int) -> dict[str, float]:
        return {
            "lateral_rms_m": round(float(np.sqrt(np.mean(np.square(self.rtk_lateral)))), 4),
            "lane_correct_ratio": round(self.lane_hits / max(self.samples, 1), 5),
            "outage_max_lateral_m": round(float(np.max(np.abs(self.outage_lateral))), 4)
            if self.outage_lateral else None,
            "update_us": round(1e6 * self.cpu_s / max(periods_10ms, 1), 1),
        }


def run(hdmap: HDMap, script: DriveScript, stack: Score, baseline: Score, detection: list[float]) -> tuple[int, dict]:
    settings = LocalizerSettings()
    localizer = Localizer(settings, hdmap)
    gnss_only = GnssOnly(hdmap, settings)
    detector = LaneDetector(LaneDetectorSettings(), CameraSettings())
    periods = 0
    for step in ScriptedDrive(hdmap, script).steps():
        frames = []
        for image in step.images:
            start = time.perf_counter()
            frames.append(detector.detect(image))
            detection.append(time.perf_counter() - start)
        start = time.perf_counter()
        for sample in step.imu:
            localizer.add_imu(sample)
        for fix in step.gnss:
            localizer.add_gnss(fix)
        for frame in frames:
            localizer.add_lane_lines(frame)
        ego, lane = localizer.update(step.status)
        stack.cpu_s += time.perf_counter() - start
        start = time.perf_counter()
        pose, base_lane = gnss_only.step(step.t_s, step.gnss)
        baseline.cpu_s += time.perf_counter() - start
        periods += len(step.imu)
        if step.t_s < SETTLE_S:
            continue
        stack.add(step.truth, ego.pose if ego else None, lane if ego else None, step.truth_lane_index,
                  step.gnss_state)
        baseline.add(step.truth, pose, base_lane, step.truth_lane_index, step.gnss_state)
    return periods, localizer.stats.as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the first 60 s of the first run")
    args = parser.parse_args()
    hdmap = load_map(MAP)
    runs = RUNS[:1] if args.quick else RUNS
    if args.quick:
        from dataclasses import replace

        runs = (replace(RUNS[0], duration_s=60.0),)
    stack, baseline, detection = Score(), Score(), []
    periods, distance_m = 0, 0.0
    for script in runs:
        n, stats = run(hdmap, script, stack, baseline, detection)
        periods += n
        distance_m += script.speed_mps * script.duration_s
        print(f"run seed {script.seed}: {script.speed_mps * script.duration_s / 1000:.2f} km, diagnostics {stats}")
    print(f"drive {distance_m / 1000:.2f} km, {stack.samples} samples at 20 Hz, lane detection "
          f"{1000 * np.mean(detection):.2f} ms per frame (p95 {1000 * np.percentile(detection, 95):.2f} ms, "
          f"{len(detection)} frames)")
    ours, theirs = stack.figures(periods), baseline.figures(periods)
    ratio = {k: round(ours[k] / theirs[k], 3) if ours[k] is not None and theirs[k] else None for k in ours}
    print(json.dumps({**ours, "baseline": theirs, "ratio": ratio}))


if __name__ == "__main__":
    main()
