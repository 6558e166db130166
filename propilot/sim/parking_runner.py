"""Run one remote-parking scenario: the car park, the fob and the sonars around a parking backend.

In: a `ParkingScenario`, an output folder and a mode (`lockstep`: `RemotePark` in this process;
`ros`: the parking node over DDS, `propilot.sim.parking_ros_backend`). Out: `result.json` in the
form of the highway scenarios (scenario, purpose, mode, passed, metrics, expectations, events),
`series.csv` and `run.mcap`. Each step: the car reports its motion, the fob's packets and the
sonar frames due are handed to the backend, its command moves the car.

The fob's key is generated for the run into a private temporary folder (0700, key file 0600) and
removed afterwards: keys never live in the repository.
"""

from __future__ import annotations

import csv
import math
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from propilot.core.fusion.rig import Rig, load_rig
from propilot.core.map.hdmap import load_map
from propilot.core.parking.fob import write_key
from propilot.core.parking.remote_park import ParkingSettings
from propilot.core.parking.types import (
    FobCommandKind,
    FobPacket,
    ParkingCommand,
    ParkingStatus,
    VehicleMotion,
)
from propilot.core.types import DetectionFrame, SensorKind
from propilot.sim.parking_fob import FobSimulator
from propilot.sim.parking_metrics import ParkingMetrics
from propilot.sim.parking_scenario import ParkingScenario
from propilot.sim.parking_world import ParkingWorld
from propilot.sim.result import write_result
from propilot.sim.sensors import SensorSuite


@dataclass(frozen=True, slots=True)
class ParkingInputs:
    motion: VehicleMotion
    packets: list[FobPacket]
    sonar: list[DetectionFrame]


class ParkingBackend(Protocol):
    def step(self, inputs: ParkingInputs) -> tuple[ParkingCommand | None, ParkingStatus]:
        """The command (None while remote park is idle: the car stays held) and the parking state."""

    def close(self) -> None: ...


def sonar_rig(rig: Rig) -> Rig:
    """Only the sonars of a rig: remote park watches with them alone."""
    return replace(rig, sensors=tuple(s for s in rig.sensors if s.kind == SensorKind.SONAR))


def parking_node_settings(scenario: ParkingScenario, key_path: Path) -> dict[str, Any]:
    """The parking node's parameters: the scenario's overrides, the space, the pose at arming, the key."""
    groups = {group: dict(values or {}) for group, values in (scenario.settings.get("parking") or {}).items()}
    groups["manoeuvre"] = {"space": scenario.space, "start_x_m": scenario.start_x_m,
                           "start_y_m": scenario.start_y_m, "start_yaw_deg": math.degrees(scenario.start_yaw_rad),
                           **groups.get("manoeuvre", {})}
    groups["fob"] = {**groups.get("fob", {}), "key_path": str(key_path)}
    return groups


def run_parking_scenario(scenario: ParkingScenario, out_dir: Path, mode: str, progress: bool = True) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    hdmap = load_map(scenario.map_path)
    rig = sonar_rig(scenario.rig or load_rig(scenario.rig_path))
    key_dir = Path(tempfile.mkdtemp(prefix="propilot-fob-"))  # mode 0700
    key = secrets.token_bytes(32)
    key_path = write_key(key_dir / "fob.key", key)
    node_settings = parking_node_settings(scenario, key_path)
    settings = ParkingSettings.from_mapping(node_settings, f"{scenario.path}: settings.parking")
    space = {s.name: s for s in hdmap.parking_spaces()}[scenario.space]
    world = ParkingWorld(scenario)
    start = FobCommandKind.START_IN if scenario.manoeuvre == "in" else FobCommandKind.START_OUT
    fob = FobSimulator(scenario.fob, key, settings.fob.vehicle_id, scenario.start_at_s, start,
                       settings.hold.max_operator_distance_m)
    sensors = SensorSuite(rig, np.random.SeedSequence(scenario.seed))
    metrics = ParkingMetrics(scenario, space)
    events: list[dict[str, Any]] = []
    steps = int(round(scenario.duration_s / scenario.step_s))
    wall_start = time.perf_counter()
    backend = _make_backend(mode, scenario, hdmap, rig, node_settings, out_dir)
    try:
        last: ParkingStatus | None = None
        for k in tqdm(range(steps), desc=scenario.name, unit="step", disable=not progress, leave=False):
            t_s = k * scenario.step_s
            ego = world.ego
            packets = fob.step(t_s, ego.pose)
            frames = sensors.step(t_s, ego.pose, ego.signed_speed_mps, ego.yaw_rate_rps, world.truth())
            command, status = backend.step(ParkingInputs(world.motion(), packets, frames))
            command = command or world.held(t_s)
            _log_events(events, t_s, last, status)
            metrics.observe(t_s, world, fob, command, status)
            last = status
            world.advance(command)
    finally:
        backend.close()
        shutil.rmtree(key_dir, ignore_errors=True)
    result = write_result(out_dir, scenario, mode, steps * scenario.step_s, time.perf_counter() - wall_start,
                          metrics.values(world), events)
    _write_series(metrics.series, out_dir / "series.csv")
    return result


def _log_events(events: list[dict[str, Any]], t_s: float, last: ParkingStatus | None, status: ParkingStatus) -> None:
    """State changes and refused packets: what the display and the fob tell the operator."""
    if last is None or (status.state, status.reason) != (last.state, last.reason):
        detail = status.state.name + (f": {status.reason}" if status.reason else "")
        events.append({"t_s": round(t_s, 3), "kind": "parking_state", "detail": detail})
    for reason in status.fob_rejections:
        events.append({"t_s": round(t_s, 3), "kind": "fob_rejected", "detail": reason})


def _write_series(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="") as f:
        if rows:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def _make_backend(mode: str, scenario: ParkingScenario, hdmap, rig: Rig, node_settings: dict[str, Any],
                  out_dir: Path) -> ParkingBackend:
    if mode == "lockstep":
        from propilot.sim.parking_lockstep import ParkingLockstepBackend

        return ParkingLockstepBackend(hdmap, rig, node_settings, f"{scenario.path}: settings.parking",
                                      out_dir / "run.mcap")
    if mode == "ros":
        from propilot.sim.parking_ros_backend import ParkingRosBackend

        return ParkingRosBackend(scenario, rig, node_settings, out_dir)
    raise ValueError(f"unknown mode {mode!r} (known: lockstep, ros)")
