"""Run one scenario: the world, the sensors and the driver around a stack backend.

In: a `Scenario`, an output folder and a backend (`lockstep`: the core stack in this
process; `ros`: the nodes over DDS, see `propilot.ros.sim_bridge_node`). Out: the
`result.json` of the command contract and `run.mcap`. Each step: sense the world,
hand the inputs to the stack, take its command (or the driver's, when the stack is
not driving), measure, advance the world.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from propilot.core.fusion.rig import load_rig
from propilot.core.map.hdmap import load_map
from propilot.core.types import (
    CameraImage,
    CommandMode,
    DetectionFrame,
    DriverInput,
    DriverMonitorReading,
    EgoEstimate,
    EventLog,
    GnssFix,
    HmiState,
    ImuSample,
    LanePosition,
    Track,
    VehicleCommand,
    VehicleStatus,
)
from propilot.sim.driver import VirtualDriver
from propilot.sim.ego_sensors import EgoSensors, camera_calibration
from propilot.sim.fusion_metrics import FusionMetrics
from propilot.sim.localization_metrics import LocalizationMetrics
from propilot.sim.metrics import ScenarioMetrics, evaluate
from propilot.sim.scenario import Scenario
from propilot.sim.sensors import SensorSuite
from propilot.sim.world import World

MODES = ("lockstep", "ros")


@dataclass(frozen=True, slots=True)
class StepInputs:
    status: VehicleStatus
    gnss: list[GnssFix]
    detections: list[DetectionFrame]
    driver_inputs: list[DriverInput]
    monitor: DriverMonitorReading
    imu: list[ImuSample] = field(default_factory=list)
    images: list[CameraImage] = field(default_factory=list)


class StackBackend(Protocol):
    tracks: tuple[Track, ...]  # the fused objects of the last step
    localization: tuple[EgoEstimate | None, LanePosition]  # the stack's estimate of the last step

    def step(self, inputs: StepInputs) -> tuple[HmiState, VehicleCommand]: ...

    def close(self) -> None: ...


def node_settings(scenario: Scenario) -> dict[str, Any]:
    """The scenario's node parameter overrides, with the driver's set speed for the HMI."""
    settings = {node: dict(groups or {}) for node, groups in scenario.settings.items()}
    hmi = settings.setdefault("hmi", {})
    hmi["hmi"] = {"initial_set_speed_mps": scenario.driver.set_speed_mps, **(hmi.get("hmi") or {})}
    if scenario.destination:
        behaviour = settings.setdefault("behaviour", {})
        behaviour["planner"] = {"destination": scenario.destination, **(behaviour.get("planner") or {})}
    return settings


def run_scenario(scenario: Scenario, out_dir: Path, mode: str, progress: bool = True) -> dict[str, Any]:
    """Run the scenario, write result.json and run.mcap into out_dir, return the result."""
    out_dir.mkdir(parents=True, exist_ok=True)
    hdmap = load_map(scenario.map_path)
    backend = _make_backend(scenario, out_dir, mode, hdmap)
    events = EventLog()
    metrics = ScenarioMetrics(scenario, hdmap, events)
    seeds = np.random.SeedSequence(scenario.seed).spawn(2)
    ego_sensors = EgoSensors(scenario, hdmap, camera_calibration(scenario), seeds[0])
    localization = LocalizationMetrics(hdmap, events)
    sensors = SensorSuite(scenario.rig or load_rig(scenario.rig_path), seeds[1])
    fusion = FusionMetrics(hdmap)
    driver = VirtualDriver(scenario.driver, hdmap)
    steps = int(round(scenario.duration_s / scenario.step_s))
    wall_start = time.perf_counter()
    world = World(scenario, hdmap)
    shown: HmiState | None = None  # what the display showed last cycle, for the driver
    try:
        for k in tqdm(range(steps), desc=scenario.name, unit="step", disable=not progress, leave=False):
            t_s = k * scenario.step_s
            ego, others = world.ego, world.others()
            driver_inputs = driver.inputs(t_s, shown)  # first: answers to the display decide hands and pedals
            monitor = driver.monitor(t_s)
            sensed = ego_sensors.sense(t_s, ego, others)
            status = VehicleStatus(t_s, sensed.wheel_speed_mps, ego.accel_mps2, ego.yaw_rate_rps,
                                   brake_pedal=driver.brake_pedal(t_s), hands_on_wheel=monitor.hands_on_wheel)
            frames = sensors.step(t_s, ego.pose, ego.speed_mps, ego.yaw_rate_rps, others,
                                  dropped=scenario.faulty_sensors(t_s, "sensor_dropout"),
                                  blinded=scenario.faulty_sensors(t_s, "camera_blinded"))
            inputs = StepInputs(status, sensed.gnss, frames, driver_inputs, monitor, sensed.imu, sensed.images)
            hmi, command = backend.step(inputs)
            localization.observe(t_s, ego.pose, sensed.gnss_state, *backend.localization)
            shown = hmi
            metrics.observe(t_s, ego, world.ego_centre(), others, hmi, command)
            fusion.observe(t_s, ego.pose, others, sensors.seen_ids, backend.tracks)
            if command.limited:
                events.add(t_s, "supervisor_limit", command.limited_reason)
            if command.mode == CommandMode.MANUAL:
                world.advance(*driver.manual_control(t_s, ego, world.ego_centre(), others))
            else:
                world.advance(command.accel_mps2, command.curvature_1pm)
    finally:
        world.close()
        backend.close()
    return _write_result(scenario, out_dir, mode, steps * scenario.step_s, time.perf_counter() - wall_start,
                         metrics, events, {**fusion.values(), **localization.values()})


def _make_backend(scenario: Scenario, out_dir: Path, mode: str, hdmap) -> StackBackend:
    if mode == "lockstep":
        from propilot.sim.lockstep import LockstepBackend

        return LockstepBackend(scenario, hdmap, node_settings(scenario), out_dir / "run.mcap")
    if mode in ("ros", "ros-external"):  # ros-external: the nodes were started by ros2 launch
        from propilot.ros.sim_bridge_node import RosBackend

        return RosBackend(scenario, node_settings(scenario), out_dir, launch_stack=mode == "ros")
    raise ValueError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None  # inf: the situation never arose (e.g. never closing in)


def _write_result(scenario: Scenario, out_dir: Path, mode: str, sim_time_s: float, wall_time_s: float,
                  metrics: ScenarioMetrics, events: EventLog, fusion: dict[str, float]) -> dict[str, Any]:
    values = {**metrics.values(), **fusion}
    expectations = evaluate(scenario.expectations, values)
    result = {
        "scenario": scenario.name,
        "purpose": scenario.purpose,
        "mode": mode,
        "seed": scenario.seed,
        "passed": all(e.passed for e in expectations),
        "sim_time_s": round(sim_time_s, 6),
        "wall_time_s": round(wall_time_s, 3),
        "metrics": {**{k: _json_number(v) for k, v in values.items()},
                    "proposals": list(metrics.proposals.values())},
        "expectations": [replace(e, value=_json_number(e.value)).as_dict() for e in expectations],
        "events": [{"t_s": round(e.t_s, 3), "kind": e.kind, "detail": e.detail} for e in _merge(events)],
    }
    (out_dir / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    metrics.write_series(out_dir / "series.csv")
    return result


def _merge(events: EventLog) -> list:
    """Collapse runs of the same supervisor limit into their first occurrence."""
    merged = []
    for e in events.events:
        if merged and e.kind == "supervisor_limit" and merged[-1].kind == e.kind and merged[-1].detail == e.detail:
            continue
        merged.append(e)
    return merged
