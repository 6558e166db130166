"""Simulator speed: lockstep with the full stack, 24 sensors and 60 cars, next to highway-env's highway-v0.

In: a duration (simulated seconds) and a seed. Out: one JSON object (last line) with the
real-time factors of both, by wall time and by CPU time of this process, pinned to one
core, plus where the lockstep run spends its CPU time (shares of the step, measured by
timing each part with `time.process_time`). The machine may be shared, so the CPU-time
figures are the ones to compare; the two simulators run in the same process one after the
other, so their ratio means the same on a slow or a fast machine.

- lockstep: the `follow_slower_traffic` scenario with the default rig (7 cameras, 5 radars,
  12 sonars) and the rendered lane camera, 60 SUMO vehicles around the ego, every stack
  component (lane detection, localisation, fusion, HMI, planner, control, supervisor),
  metrics and the run.mcap recording, as `propilot regress` runs it. The SUMO-driven
  baseline pass for the travel-time metric is timed apart (`baseline_cpu_s`).
- highway-env: `highway-v0` with its defaults (50 vehicles, 4 lanes, 15 Hz simulation,
  1 Hz policy), no rendering, no sensors and no stack; the ego keeps its lane (IDLE).

    .venv/bin/python benchmarks/sim.py [--duration 60] [--seed 7] [--no-pin]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # one core: no BLAS threads
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

from propilot.rosenv import setup_ros_environment  # noqa: E402

setup_ros_environment()

from propilot.sim.scenario import RandomTraffic, load_scenario  # noqa: E402

SCENARIO = Path(__file__).resolve().parents[1] / "sim" / "scenarios" / "follow_slower_traffic.yaml"
TRAFFIC_VEHICLES = 60
HIGHWAY_ENV_ID = "highway-v0"

# (label, module, class or None, attribute): the parts of a lockstep step whose CPU time is measured.
PARTS = (
    ("world_sumo", "propilot.sim.world", "World", "advance"),
    ("world_truth", "propilot.sim.world", "World", "others"),
    ("sensor_models", "propilot.sim.sensors", "SensorSuite", "step"),
    ("ego_sensors_and_camera_render", "propilot.sim.ego_sensors", "EgoSensors", "sense"),
    ("stack_total", "propilot.stack", "Stack", "step"),
    ("stack_lane_detection", "propilot.core.perception.lane_detector", "LaneDetector", "detect"),
    ("stack_localization", "propilot.core.localization.ekf", "Localizer", "update"),
    ("stack_fusion_tracker", "propilot.core.fusion.tracker", "Tracker", "fuse"),
    ("stack_planner", "propilot.core.planning.behaviour", "BehaviourPlanner", "plan"),
    ("recording", "propilot.ros.recording", "McapRecorder", "write"),
    ("metrics", "propilot.sim.metrics", "ScenarioMetrics", "observe"),
    ("fusion_metrics", "propilot.sim.fusion_metrics", "FusionMetrics", "observe"),
    ("localization_metrics", "propilot.sim.localization_metrics", "LocalizationMetrics", "observe"),
)


class CpuTimers:
    """Wraps methods so each call adds its process CPU time to a label (nested calls count in both)."""

    def __init__(self) -> None:
        self.cpu_s: dict[str, float] = defaultdict(float)
        self._restore: list[tuple[type, str, object]] = []

    def wrap(self, label: str, owner: type, name: str) -> None:
        original = getattr(owner, name)
        totals = self.cpu_s

        def timed(*args, **kwargs):
            start = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                totals[label] += time.process_time() - start

        setattr(owner, name, timed)
        self._restore.append((owner, name, original))

    def restore(self) -> None:
        for owner, name, original in reversed(self._restore):
            setattr(owner, name, original)


def lockstep(duration_s: float, seed: int) -> dict:
    import importlib

    from propilot.sim import runner

    base = load_scenario(SCENARIO)
    spread_m = 2000.0  # 60 cars over three lanes and ~2.5 km of the map: one every ~125 m per lane
    scenario = dataclasses.replace(
        base, seed=seed, duration_s=duration_s, destination_station_m=base.ego.station_m + spread_m,
        random_traffic=RandomTraffic(TRAFFIC_VEHICLES - len(base.vehicles), 20.0, 30.0, 30.0), expectations=())
    timers = CpuTimers()
    for label, module, owner, name in PARTS:
        timers.wrap(label, getattr(importlib.import_module(module), owner), name)
    baseline_cpu = {"s": 0.0}
    original_baseline = runner.baseline_travel_time_s

    def timed_baseline(*args, **kwargs):
        start = time.process_time()
        try:
            return original_baseline(*args, **kwargs)
        finally:
            baseline_cpu["s"] += time.process_time() - start

    runner.baseline_travel_time_s = timed_baseline
    try:
        with tempfile.TemporaryDirectory() as out:
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            result = runner.run_scenario(scenario, Path(out), "lockstep", progress=False)
            cpu_s = time.process_time() - cpu_start - baseline_cpu["s"]
            wall_total_s = time.perf_counter() - wall_start
    finally:
        runner.baseline_travel_time_s = original_baseline
        timers.restore()
    rig = scenario.rig
    return {
        "sim_time_s": duration_s,
        "wall_s": result["wall_time_s"],  # the run itself, without the baseline pass
        "cpu_s": cpu_s,
        "baseline_cpu_s": baseline_cpu["s"],
        "wall_total_s": wall_total_s,
        "vehicles": TRAFFIC_VEHICLES,
        "sensors": len(rig.sensors),
        "cpu_share": {label: round(timers.cpu_s[label] / cpu_s, 3) for label, *_ in PARTS},
        "passed_collisions": result["metrics"]["collisions"],
    }


def highway_env(duration_s: float, seed: int) -> dict:
    import gymnasium
    import highway_env  # noqa: F401  (registers the environments)

    env = gymnasium.make(HIGHWAY_ENV_ID)  # render_mode None: nothing is drawn
    config = env.unwrapped.config
    idle = env.unwrapped.action_type.actions_indexes["IDLE"]
    step_s = 1.0 / config["policy_frequency"]
    simulated, episodes = 0.0, 1
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    env.reset(seed=seed)
    while simulated < duration_s - 1e-9:
        _, _, terminated, truncated, _ = env.step(idle)
        simulated += step_s
        if terminated or truncated:
            env.reset()
            episodes += 1
    cpu_s, wall_s = time.process_time() - cpu_start, time.perf_counter() - wall_start
    env.close()
    return {"sim_time_s": simulated, "cpu_s": cpu_s, "wall_s": wall_s, "episodes": episodes,
            "vehicles": config["vehicles_count"], "simulation_frequency_hz": config["simulation_frequency"],
            "policy_frequency_hz": config["policy_frequency"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="simulated seconds of each run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one core")
    args = parser.parse_args()
    core = None
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
    ours = lockstep(args.duration, args.seed)
    theirs = highway_env(args.duration, args.seed)
    print(json.dumps({
        "realtime_factor": round(ours["sim_time_s"] / ours["wall_s"], 2),
        "highway_env_realtime_factor": round(theirs["sim_time_s"] / theirs["wall_s"], 2),
        "realtime_factor_cpu": round(ours["sim_time_s"] / ours["cpu_s"], 2),
        "highway_env_realtime_factor_cpu": round(theirs["sim_time_s"] / theirs["cpu_s"], 2),
        "vehicles": ours["vehicles"],
        "sensors": ours["sensors"],
        "highway_env_vehicles": theirs["vehicles"],
        "sim_time_s": args.duration,
        "lockstep_cpu_ms_per_step": round(1000.0 * ours["cpu_s"] / (args.duration / 0.05), 3),
        "lockstep_cpu_share": ours["cpu_share"],
        "baseline_pass_cpu_s": round(ours["baseline_cpu_s"], 3),
        "highway_env": {k: v for k, v in theirs.items() if k not in ("cpu_s", "wall_s")},
        "pinned_core": core,
        "collisions": ours["passed_collisions"],
    }))


if __name__ == "__main__":
    main()
