"""Lockstep speed: the demo scenario with the whole stack, next to the bare SUMO world.

Prints one JSON object (last line): real-time factors of the full run and of the world
alone (same traffic, same steps, the ego driven by the virtual driver), and their ratio,
so the figure means the same on a slow or a fast machine.

    .venv/bin/python benchmarks/lockstep.py [--scenario FILE]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from propilot.core.map.hdmap import load_map  # noqa: E402
from propilot.sim.driver import VirtualDriver  # noqa: E402
from propilot.sim.runner import run_scenario  # noqa: E402
from propilot.sim.scenario import load_scenario  # noqa: E402
from propilot.sim.world import World  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "sim" / "scenarios" / "follow_slower_traffic.yaml"


def world_only(scenario) -> float:
    hdmap = load_map(scenario.map_path)
    driver = VirtualDriver(scenario.driver, hdmap)
    world = World(scenario, hdmap)
    start = time.perf_counter()
    try:
        for _ in range(int(round(scenario.duration_s / scenario.step_s))):
            others = world.others()
            world.advance(*driver.manual_control(world.t_s, world.ego, world.ego_centre(), others))
    finally:
        world.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(DEMO))
    scenario = load_scenario(parser.parse_args().scenario)
    baseline_s = world_only(scenario)
    with tempfile.TemporaryDirectory() as out:
        result = run_scenario(scenario, Path(out), "lockstep", progress=False)
    full_s = result["wall_time_s"]
    print(json.dumps({
        "scenario": scenario.name,
        "sim_time_s": scenario.duration_s,
        "steps": int(round(scenario.duration_s / scenario.step_s)),
        "realtime_factor": round(scenario.duration_s / full_s, 2),
        "world_only_realtime_factor": round(scenario.duration_s / baseline_s, 2),
        "full_over_world_only": round(full_s / baseline_s, 2),
        "ms_per_step": round(1000.0 * full_s / (scenario.duration_s / scenario.step_s), 3),
    }))


if __name__ == "__main__":
    main()
