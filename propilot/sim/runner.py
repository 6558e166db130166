"""Run one scenario: the world, the sensors and the driver around a stack backend.

In: a `Scenario`, an output folder and a backend (`lockstep`: the core stack in this
process; `ros`: the nodes over DDS, see `propilot.ros.sim_bridge_node`). Out: the
`result.json` of the command contract and `run.mcap`. Each step: sense the world,
hand the inputs to the stack, take its command (or the driver's, when the stack is
not driving), measure, advance the world.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
from propilot.sim.metrics import ScenarioMetrics, travel_time_ratio
from propilot.sim.result import write_result
from propilot.sim.scenario import Scenario
from propilot.sim.sensors import SensorSuite, TruthVehicle
from propilot.sim.vehicle import EgoState
from propilot.sim.world import World, baseline_travel_time_s

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
    crashed_nodes: frozenset[str] = frozenset()  # stack nodes a node_crash fault has stopped (lockstep)


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


class SimWorld(Protocol):
    """What the runner needs of a simulated world: the embedded `World` (SUMO) or `CarlaWorld`."""

    ego: EgoState  # true state of base_link

    def others(self) -> list[TruthVehicle]: ...

    def ego_centre(self) -> tuple[float, float]: ...

    def advance(self, accel_cmd: float, curvature_cmd: float) -> None: ...

    def close(self) -> None: ...


class StepHook(Protocol):
    """Something riding along a run (the live display, a study recorder): adds inputs, paces, watches."""

    def before_step(self, t_s: float, inputs: list[DriverInput], monitor: DriverMonitorReading
                    ) -> tuple[list[DriverInput], DriverMonitorReading]: ...

    def after_step(self, t_s: float, hmi: HmiState, backend: StackBackend) -> None: ...


def run_scenario(scenario: Scenario, out_dir: Path, mode: str, progress: bool = True,
                 hook: StepHook | None = None, world_factory: Callable[..., SimWorld] | None = None) -> dict[str, Any]:
    """Run the scenario, write result.json and run.mcap into out_dir, return the result."""
    from propilot.sim.parking_scenario import ParkingScenario

    if isinstance(scenario, ParkingScenario):  # remote parking: its own world and runner
        from propilot.sim.parking_runner import run_parking_scenario

        return run_parking_scenario(scenario, out_dir, mode, progress)
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
    world = world_factory(scenario, hdmap) if world_factory else World(scenario, hdmap)
    measured = getattr(world, "measured", None)  # a simulator with sensors of its own (CARLA)
    shown: HmiState | None = None  # what the display showed last cycle, for the driver
    try:
        for k in tqdm(range(steps), desc=scenario.name, unit="step", disable=not progress, leave=False):
            t_s = k * scenario.step_s
            ego, others = world.ego, world.others()
            driver_inputs = driver.inputs(t_s, shown)  # first: answers to the display decide hands and pedals
            monitor = driver.monitor(t_s)
            if hook is not None:
                driver_inputs, monitor = hook.before_step(t_s, driver_inputs, monitor)
            sensed = ego_sensors.sense(t_s, ego, others)
            status = VehicleStatus(t_s, sensed.wheel_speed_mps, ego.accel_mps2, ego.yaw_rate_rps,
                                   brake_pedal=driver.brake_pedal(t_s), hands_on_wheel=monitor.hands_on_wheel)
            frames = sensors.step(t_s, ego.pose, ego.speed_mps, ego.yaw_rate_rps, others,
                                  dropped=scenario.faulty_sensors(t_s, "sensor_dropout"),
                                  blinded=scenario.faulty_sensors(t_s, "camera_blinded"))
            if measured is not None:  # its measurements replace the models' (see propilot/sim/carla/sensors.py)
                sensed, frames = measured(t_s, sensed, frames)
            inputs = StepInputs(status, sensed.gnss, frames, driver_inputs, monitor, sensed.imu, sensed.images,
                                scenario.faulty_sensors(t_s, "node_crash"))
            hmi, command = backend.step(inputs)
            if hook is not None:
                hook.after_step(t_s, hmi, backend)
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
    wall_s = time.perf_counter() - wall_start
    # The same traffic once more with SUMO driving the ego (no sensors, no stack): the travel-time reference.
    baseline_s = baseline_travel_time_s(scenario, hdmap, metrics.travel_distance_m(), 2.0 * scenario.duration_s)
    travel = {"baseline_travel_time_s": baseline_s,
              "travel_time_ratio": travel_time_ratio(metrics.travel_time_s(), baseline_s)}
    return _write_result(scenario, out_dir, mode, steps * scenario.step_s, wall_s,
                         metrics, events, {**fusion.values(), **localization.values(), **travel})


def _make_backend(scenario: Scenario, out_dir: Path, mode: str, hdmap) -> StackBackend:
    if mode == "lockstep":
        from propilot.sim.lockstep import LockstepBackend

        return LockstepBackend(scenario, hdmap, node_settings(scenario), out_dir / "run.mcap")
    if any(f.kind == "node_crash" for f in scenario.faults):
        raise ValueError(f"{scenario.path}: node_crash faults are injected in the lockstep mode only")
    if mode in ("ros", "ros-external", "ros-realtime"):  # ros-external: the nodes were started by ros2 launch
        from propilot.ros.sim_bridge_node import RosBackend

        return RosBackend(scenario, node_settings(scenario), out_dir, launch_stack=mode != "ros-external",
                          realtime=mode == "ros-realtime")
    raise ValueError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")


def _write_result(scenario: Scenario, out_dir: Path, mode: str, sim_time_s: float, wall_time_s: float,
                  metrics: ScenarioMetrics, events: EventLog, fusion: dict[str, float]) -> dict[str, Any]:
    result = write_result(out_dir, scenario, mode, sim_time_s, wall_time_s, {**metrics.values(), **fusion},
                          [{"t_s": round(e.t_s, 3), "kind": e.kind, "detail": e.detail} for e in _merge(events)],
                          {"proposals": list(metrics.proposals.values())})
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
