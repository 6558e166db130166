"""Fusion quality and speed: our tracker next to a Stone Soup tracker on the same recorded detections.

Records a SUMO scene once (default: sim/scenarios/fusion_dense_traffic.yaml, the ego driven by the
virtual driver, all 24 sensors of the rig, its true pose as the ego estimate), then runs both
trackers over exactly those detection frames and scores them against the ground truth with the
same code: mean GOSPA (c = 10 m, p = 2, alpha = 2), mean false and missed tracks per cycle (the
unassigned ones of that assignment), and track switches (a vehicle's assigned track id changes).
A "frame" here is one fusion cycle: every frame the 24 sensors delivered within one 50 ms step.
Every time is measured twice: as CPU time of this process (`time.process_time`; one core: numpy's
BLAS threads are set to 1), the figure the targets are judged by since other load on a shared
machine disturbs it less, and as wall time (`time.perf_counter`, the keys ending in `_wall`).

Stone Soup (stonesoup on PyPI) is set up as close to ours as it allows: constant-velocity model,
extended Kalman filter, the same polar measurements (bearing, range to the box centre, range rate;
the same face-to-centre step), GNN with a Mahalanobis gate, M-of-N-like confirmation (3 updates)
and deletion 0.5 s after the last update. Its differences: it needs frames in time order (ours
takes them as they arrive), it has no sonar (range-only) model, a track's miss is not tied to a
field of view, and new tracks start at the ego's velocity. Then the speed test: 64 vehicles
around the ego, all seen (occlusion off, so all 64 are tracked), all 24 sensors, our tracker alone.

    .venv/bin/python benchmarks/fusion.py [--seconds 20] [--scenario FILE] [--motion-model cv|ctrv]

Prints a readable table, then one JSON object (last line): gospa, ms_per_frame, ms_per_frame_wall,
false_tracks, missed_tracks, track_switches, the same under "stonesoup", ms_per_frame_64_targets
(CPU time, one core) and ms_per_frame_64_targets_wall, and "time_basis" saying so.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core

import argparse  # noqa: E402
import datetime  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from stonesoup.base import Property  # noqa: E402
from stonesoup.dataassociator.neighbour import GNNWith2DAssignment  # noqa: E402
from stonesoup.deleter.time import UpdateTimeDeleter  # noqa: E402
from stonesoup.hypothesiser.distance import DistanceHypothesiser  # noqa: E402
from stonesoup.initiator.simple import MultiMeasurementInitiator  # noqa: E402
from stonesoup.measures import Mahalanobis  # noqa: E402
from stonesoup.models.base import ReversibleModel  # noqa: E402
from stonesoup.models.measurement.nonlinear import (  # noqa: E402
    CartesianToBearingRange,
    CartesianToBearingRangeRate2D,
)
from stonesoup.models.transition.linear import CombinedLinearGaussianTransitionModel, ConstantVelocity  # noqa: E402
from stonesoup.predictor.kalman import ExtendedKalmanPredictor  # noqa: E402
from stonesoup.tracker.simple import MultiTargetTracker  # noqa: E402
from stonesoup.types.array import StateVector  # noqa: E402
from stonesoup.types.detection import Detection as StoneSoupDetection  # noqa: E402
from stonesoup.types.state import GaussianState  # noqa: E402
from stonesoup.updater.kalman import ExtendedKalmanUpdater  # noqa: E402

from propilot.core.fusion.measurement import CAR_LENGTH_M, CAR_WIDTH_M, sensor_pose  # noqa: E402
from propilot.core.fusion.motion import MOTION_MODELS  # noqa: E402
from propilot.core.fusion.rig import Rig, rig_from_mapping  # noqa: E402
from propilot.core.fusion.tracker import Tracker, TrackerSettings  # noqa: E402
from propilot.core.map.hdmap import load_map  # noqa: E402
from propilot.core.types import DetectionFrame, EgoEstimate, Pose2D, SensorKind  # noqa: E402
from propilot.sim.driver import VirtualDriver  # noqa: E402
from propilot.sim.fusion_metrics import REACH_M, TRUTH_MEMORY_S, gospa  # noqa: E402
from propilot.sim.scenario import load_scenario  # noqa: E402
from propilot.sim.sensors import SensorSuite, TruthVehicle  # noqa: E402
from propilot.sim.world import World  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SCENARIO = REPO / "sim" / "scenarios" / "fusion_dense_traffic.yaml"
EPOCH = datetime.datetime(2026, 1, 1)
GATE_SIGMAS = math.sqrt(11.34)  # Stone Soup gates the whole measurement: 99 % of chi-square with 3 dof
SPEED_TEST_TARGETS = 64
SPEED_TEST_CYCLES = 100
SPEED_TEST_WARM_UP = 20  # cycles while the tracks are born, not timed
SPEED_TEST_RUNS = 5


@dataclass(frozen=True, slots=True)
class Cycle:
    t_s: float
    ego: EgoEstimate
    frames: list[DetectionFrame]
    truth: list[TruthVehicle]  # vehicles to score against (seen lately, within reach)


def record(scenario_path: Path, seconds: float) -> tuple[Rig, list[Cycle]]:
    """Drive the scene with the virtual driver and keep every delivered frame and the ground truth."""
    scenario = load_scenario(scenario_path)
    hdmap = load_map(scenario.map_path)
    driver = VirtualDriver(scenario.driver, hdmap)
    sensors = SensorSuite(scenario.rig, np.random.SeedSequence(scenario.seed))
    world = World(scenario, hdmap)
    last_seen: dict[str, float] = {}
    cycles = []
    try:
        for k in range(int(round(seconds / scenario.step_s))):
            t_s = k * scenario.step_s
            ego, others = world.ego, world.others()
            frames = sensors.step(t_s, ego.pose, ego.speed_mps, ego.yaw_rate_rps, others)
            for vehicle_id in sensors.seen_ids:
                last_seen[vehicle_id] = t_s
            truth = [v for v in others if t_s - last_seen.get(v.vehicle_id, -math.inf) <= TRUTH_MEMORY_S
                     and math.hypot(v.x_m - ego.x_m, v.y_m - ego.y_m) <= REACH_M]
            cycles.append(Cycle(t_s, EgoEstimate(t_s, ego.pose, ego.speed_mps, ego.yaw_rate_rps, 0.05), frames,
                                truth))
            world.advance(*driver.manual_control(t_s, ego, world.ego_centre(), others))
    finally:
        world.close()
    return scenario.rig, cycles


class Score:
    """GOSPA, false and missed tracks per cycle, track switches: the same for every tracker."""

    def __init__(self):
        self.gospa: list[float] = []
        self.false: list[int] = []
        self.missed: list[int] = []
        self.switches = 0
        self._owner: dict[str, int] = {}  # vehicle id -> track id it was last assigned

    def add(self, cycle: Cycle, tracks: list[tuple[int, float, float]]) -> None:
        ego = cycle.ego.pose
        tracks = [t for t in tracks if math.hypot(t[1] - ego.x_m, t[2] - ego.y_m) <= REACH_M]
        result = gospa(np.array([t[1:] for t in tracks]).reshape(-1, 2),
                       np.array([(v.x_m, v.y_m) for v in cycle.truth]).reshape(-1, 2))
        self.gospa.append(result.value_m)
        self.false.append(result.false)
        self.missed.append(result.missed)
        for i, j in result.pairs:
            vehicle_id, track_id = cycle.truth[j].vehicle_id, tracks[i][0]
            if self._owner.get(vehicle_id, track_id) != track_id:
                self.switches += 1
            self._owner[vehicle_id] = track_id

    def figures(self, ms_per_frame: float, ms_per_frame_wall: float) -> dict[str, float]:
        return {"gospa": round(float(np.mean(self.gospa)), 3), "ms_per_frame": round(ms_per_frame, 3),
                "ms_per_frame_wall": round(ms_per_frame_wall, 3), "false_tracks": round(float(np.mean(self.false)), 3),
                "missed_tracks": round(float(np.mean(self.missed)), 3), "track_switches": self.switches}


def run_ours(rig: Rig, cycles: list[Cycle], settings: TrackerSettings) -> dict[str, float]:
    tracker = Tracker(settings, rig)
    score = Score()
    elapsed = elapsed_wall = 0.0
    for cycle in cycles:
        start, start_wall = time.process_time(), time.perf_counter()
        tracks = tracker.fuse(cycle.frames, cycle.ego)
        elapsed += time.process_time() - start
        elapsed_wall += time.perf_counter() - start_wall
        score.add(cycle, [(t.track_id, t.x_m, t.y_m) for t in tracks])
    return score.figures(1000.0 * elapsed / len(cycles), 1000.0 * elapsed_wall / len(cycles))


def run_stonesoup(rig: Rig, cycles: list[Cycle], accel_sigma_mps2: float, step_s: float) -> dict[str, float]:
    # continuous white-noise acceleration with the velocity variance ours gets per 50 ms step
    q = accel_sigma_mps2 ** 2 * step_s
    transition = CombinedLinearGaussianTransitionModel([ConstantVelocity(q), ConstantVelocity(q)])
    predictor = ExtendedKalmanPredictor(transition)
    updater = ExtendedKalmanUpdater(measurement_model=None)  # each detection carries its model
    hypothesiser = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(), missed_distance=GATE_SIGMAS)
    first = cycles[0].ego
    velocity = (first.speed_mps * math.cos(first.pose.yaw_rad), first.speed_mps * math.sin(first.pose.yaw_rad))
    prior = GaussianState([[0.0], [velocity[0]], [0.0], [velocity[1]]], np.diag([0.0, 10.0 ** 2, 0.0, 10.0 ** 2]))
    deleter = UpdateTimeDeleter(datetime.timedelta(seconds=TrackerSettings().delete_after_misses_s))
    initiator = MultiMeasurementInitiator(
        prior_state=prior, deleter=UpdateTimeDeleter(datetime.timedelta(seconds=0.3)),
        data_associator=GNNWith2DAssignment(hypothesiser), updater=updater,
        min_points=TrackerSettings().confirm_hits)
    feed = _StoneSoupFeed(rig, cycles)
    tracker = MultiTargetTracker(initiator=initiator, deleter=deleter, detector=feed,
                                 data_associator=GNNWith2DAssignment(hypothesiser), updater=updater)
    score = Score()
    ids: dict[int, int] = {}
    elapsed = elapsed_wall = 0.0
    iterator = iter(tracker)
    for cycle, n_frames in zip(cycles, feed.frames_per_cycle, strict=True):
        start, start_wall = time.process_time(), time.perf_counter()
        for _ in range(n_frames):
            next(iterator)
        elapsed += time.process_time() - start
        elapsed_wall += time.perf_counter() - start_wall
        tracks = []
        for track in tracker.tracks:
            state = track.state_vector
            x, vx, y, vy = (float(v) for v in state[:4, 0])
            dt = cycle.t_s - (track.timestamp - EPOCH).total_seconds()
            tracks.append((ids.setdefault(id(track), len(ids) + 1), x + vx * dt, y + vy * dt))
        score.add(cycle, tracks)
    return score.figures(1000.0 * elapsed / len(cycles), 1000.0 * elapsed_wall / len(cycles))


class _StoneSoupFeed:
    """The recorded frames as Stone Soup detections, one (time, detections) per frame in time order."""

    def __init__(self, rig: Rig, cycles: list[Cycle]):
        self.items = []
        self.frames_per_cycle = []
        sensors = {s.sensor_id: s for s in rig.sensors}
        for cycle in cycles:
            usable = sorted((f for f in cycle.frames if sensors[f.sensor_id].kind != SensorKind.SONAR),
                            key=lambda f: (f.t_s, f.sensor_id))
            self.frames_per_cycle.append(len(usable))
            for frame in usable:
                ego = _ego_at(cycle.ego, frame.t_s)
                pose = sensor_pose(sensors[frame.sensor_id], ego)
                when = EPOCH + datetime.timedelta(seconds=frame.t_s)
                detections = set()
                for d in frame.detections:
                    # the same face -> centre step as ours: a box parallel to the ego
                    centre_range = (d.range_m + 0.5 * CAR_LENGTH_M * abs(math.cos(d.azimuth_rad))
                                    + 0.5 * CAR_WIDTH_M * abs(math.sin(d.azimuth_rad)))
                    bearing = math.remainder(d.azimuth_rad + ego.pose.yaw_rad, 2.0 * math.pi)
                    if frame.kind == SensorKind.RADAR:
                        model = _radar_model(pose, d.azimuth_sigma_rad, d.range_sigma_m, d.range_rate_sigma_mps)
                        vector = [[bearing], [centre_range], [d.range_rate_mps]]
                    else:
                        model = _camera_model(pose, d.azimuth_sigma_rad, d.range_sigma_m)
                        vector = [[bearing], [centre_range]]
                    detections.add(StoneSoupDetection(vector, timestamp=when, measurement_model=model))
                self.items.append((when, detections))

    def __iter__(self):
        return iter(self.items)


class BearingRangeRate(CartesianToBearingRangeRate2D, ReversibleModel):
    """Stone Soup's 2-D bearing, range, range-rate model, made reversible for its initiator: the
    position from bearing and range; the velocity is left to the prior (the ego's)."""

    unused: int = Property(default=0, doc="no extra property; Stone Soup wants its classes declared")

    def inverse_function(self, detection, **kwargs):
        phi, rho = float(detection.state_vector[0, 0]), float(detection.state_vector[1, 0])
        out = StateVector(np.zeros((self.ndim_state, 1)))
        out[self.mapping[0], 0] = self.translation_offset[0, 0] + rho * math.cos(phi)
        out[self.mapping[1], 0] = self.translation_offset[1, 0] + rho * math.sin(phi)
        return out


def _camera_model(pose, azimuth_sigma: float, range_sigma: float) -> CartesianToBearingRange:
    return CartesianToBearingRange(ndim_state=4, mapping=(0, 2),
                                   noise_covar=np.diag([azimuth_sigma ** 2, range_sigma ** 2]),
                                   translation_offset=np.array([[pose.x_m], [pose.y_m]]))


def _radar_model(pose, azimuth_sigma: float, range_sigma: float, rate_sigma: float) -> BearingRangeRate:
    return BearingRangeRate(ndim_state=4, mapping=(0, 2), velocity_mapping=(1, 3),
                            noise_covar=np.diag([azimuth_sigma ** 2, range_sigma ** 2, rate_sigma ** 2]),
                            translation_offset=np.array([[pose.x_m], [pose.y_m]]),
                            velocity=np.array([[pose.vx_mps], [pose.vy_mps]]))


def _ego_at(ego: EgoEstimate, t_s: float) -> EgoEstimate:
    dt = t_s - ego.t_s
    yaw = ego.pose.yaw_rad
    pose = Pose2D(ego.pose.x_m + ego.speed_mps * dt * math.cos(yaw), ego.pose.y_m + ego.speed_mps * dt * math.sin(yaw),
                  yaw + ego.yaw_rate_rps * dt)
    return EgoEstimate(t_s, pose, ego.speed_mps, ego.yaw_rate_rps, ego.position_sigma_m)


def speed_test_64(rig_path: Path, settings: TrackerSettings) -> tuple[float, float]:
    """ms per cycle with 64 vehicles in four lanes around the ego, each seen by several of the 24 sensors:
    CPU time (one core) and wall time, each per cycle the least disturbed of the runs."""
    data = yaml.safe_load(rig_path.read_text())
    for sensor in data["sensors"]:
        if sensor["kind"] != "sonar":
            sensor["occlusion_fraction"] = 1.0  # every vehicle in view is seen: 64 live tracks
    rig = rig_from_mapping(data, f"{rig_path} (occlusion off)")
    suite = SensorSuite(rig, 1)
    speed = 25.0

    def vehicles(t_s: float) -> list[TruthVehicle]:
        return [TruthVehicle(f"v{i}", -80.0 + 10.0 * (i // 4) + 3.0 * (i % 4) + speed * t_s, 3.5 * (i % 4 - 1.5),
                             0.0, speed) for i in range(SPEED_TEST_TARGETS)]

    cycles = []
    for k in range(SPEED_TEST_CYCLES):
        t_s = 0.05 * k
        pose = Pose2D(speed * t_s, 0.0, 0.0)
        cycles.append((suite.step(t_s, pose, speed, 0.0, vehicles(t_s)), EgoEstimate(t_s, pose, speed, 0.0, 0.05)))
    # the objects left by the recording and Stone Soup are not the tracker's: no garbage-collector passes over them
    gc.collect()
    gc.freeze()
    runs, runs_wall = [], []
    for _ in range(SPEED_TEST_RUNS):  # the machine is shared: per cycle, the least disturbed of the runs
        tracker = Tracker(settings, rig)
        times, times_wall = [], []
        for frames, ego in cycles:
            start, start_wall = time.process_time(), time.perf_counter()
            tracks = tracker.fuse(frames, ego)
            times.append(time.process_time() - start)
            times_wall.append(time.perf_counter() - start_wall)
        runs.append(times)
        runs_wall.append(times_wall)
    gc.unfreeze()
    best = float(np.mean(np.min(np.array(runs), axis=0)[SPEED_TEST_WARM_UP:]))
    best_wall = float(np.mean(np.min(np.array(runs_wall), axis=0)[SPEED_TEST_WARM_UP:]))
    print(f"speed test: {len(tracks)} confirmed tracks of {SPEED_TEST_TARGETS} vehicles, "
          f"{sum(len(f.detections) for f in cycles[-1][0])} detections in {len(cycles[-1][0])} frames per cycle")
    return 1000.0 * best, 1000.0 * best_wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(SCENARIO))
    parser.add_argument("--seconds", type=float, default=20.0, help="simulated time recorded")
    parser.add_argument("--motion-model", choices=MOTION_MODELS, default=TrackerSettings().motion_model)
    args = parser.parse_args()
    settings = TrackerSettings(motion_model=args.motion_model)
    scenario = load_scenario(args.scenario)
    rig, cycles = record(Path(args.scenario), args.seconds)
    n_detections = sum(len(f.detections) for c in cycles for f in c.frames)
    print(f"recorded {len(cycles)} cycles of {scenario.name}: {n_detections} detections, "
          f"{np.mean([len(c.truth) for c in cycles]):.1f} vehicles to track per cycle")
    ours = run_ours(rig, cycles, settings)
    # before Stone Soup: once it has run in this process, our tracker's CPU time per cycle reads ~50 % higher
    ms_64, ms_64_wall = speed_test_64(scenario.rig_path, settings)
    stonesoup = run_stonesoup(rig, cycles, TrackerSettings().process_noise_accel_mps2, scenario.step_s)
    print(f"{'':18}{'ours':>10}{'stonesoup':>12}{'ours/stonesoup':>16}")
    for key in ours:
        ratio = ours[key] / stonesoup[key] if stonesoup[key] else float("nan")
        print(f"{key:18}{ours[key]:>10}{stonesoup[key]:>12}{ratio:>16.3f}")
    print(f"{'ms_per_frame_64_targets':29}{ms_64:.3f} (CPU, one core)  {ms_64_wall:.3f} (wall)")
    print(json.dumps({**ours, "stonesoup": stonesoup, "ms_per_frame_64_targets": round(ms_64, 3),
                      "ms_per_frame_64_targets_wall": round(ms_64_wall, 3),
                      "time_basis": "ms_per_frame*: CPU time of this process (time.process_time), one core "
                                    "(BLAS threads 1); *_wall: wall time (time.perf_counter)"}))


if __name__ == "__main__":
    main()
