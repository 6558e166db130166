"""The stack in one process: the core components chained in their cycle order.

In, each control cycle: the sensor data and driver inputs that arrived since the
last cycle. Out: a `StackOutput` with every intermediate result and the supervised
vehicle command. Lockstep mode calls `Stack.step` directly; in ROS mode each node
owns one of these components and calls the same methods in the same order, so both
modes compute the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propilot.core.control.controller import control
from propilot.core.control.lateral import LateralSettings
from propilot.core.control.longitudinal import AccSettings
from propilot.core.control.supervisor import Supervisor, SupervisorSettings
from propilot.core.fusion.lane_assignment import MapLaneAssigner
from propilot.core.fusion.tracker import Tracker, TrackerSettings
from propilot.core.hmi.engagement import HmiSettings, PilotHmi
from propilot.core.localization.ekf import Localizer, LocalizerSettings
from propilot.core.map.hdmap import HDMap
from propilot.core.planning.behaviour import BehaviourPlanner, PlannerSettings
from propilot.core.planning.lane_change import LaneChangeSettings
from propilot.core.planning.safety import SafetySettings
from propilot.core.settings import groups_from_mapping
from propilot.core.types import (
    DetectionFrame,
    DriverInput,
    DriverMonitorReading,
    EgoEstimate,
    GnssFix,
    HmiState,
    LanePosition,
    Plan,
    Proposal,
    Track,
    VehicleCommand,
    VehicleStatus,
)
from propilot.core.vehicle import SENSOR_MOUNTS

# The parameter groups of each node: one spec declares ROS parameters, validates YAML, documents.
NODE_SETTINGS: dict[str, dict[str, type]] = {
    "localization": {"localizer": LocalizerSettings},
    "fusion": {"tracker": TrackerSettings},
    "hmi": {"hmi": HmiSettings},
    "behaviour": {"planner": PlannerSettings, "lane_change": LaneChangeSettings, "safety": SafetySettings},
    "control": {"acc": AccSettings, "lateral": LateralSettings, "supervisor": SupervisorSettings},
}


@dataclass(frozen=True, slots=True)
class StackSettings:
    localizer: LocalizerSettings
    tracker: TrackerSettings
    hmi: HmiSettings
    planner: PlannerSettings
    lane_change: LaneChangeSettings
    safety: SafetySettings
    acc: AccSettings
    lateral: LateralSettings
    supervisor: SupervisorSettings

    @staticmethod
    def from_nodes(values: Mapping[str, Any] | None, origin: str) -> StackSettings:
        """{node: {group: {name: value}}} -> settings; missing nodes and groups take the defaults."""
        values = values or {}
        merged: dict[str, Any] = {}
        for node, groups in NODE_SETTINGS.items():
            merged.update(groups_from_mapping(groups, values.get(node), f"{origin}: {node}"))
        return StackSettings(**merged)

    @staticmethod
    def defaults() -> StackSettings:
        return StackSettings.from_nodes(None, "defaults")


@dataclass(frozen=True, slots=True)
class StackOutput:
    ego: EgoEstimate | None
    lane: LanePosition
    tracks: tuple[Track, ...]
    hmi: HmiState
    plan: Plan
    command: VehicleCommand


class Stack:
    def __init__(self, settings: StackSettings, hdmap: HDMap):
        self.settings = settings
        self.localizer = Localizer(settings.localizer, hdmap)
        self.tracker = Tracker(settings.tracker, MapLaneAssigner(hdmap), SENSOR_MOUNTS)
        self.hmi = PilotHmi(settings.hmi)
        self.planner = BehaviourPlanner(settings.planner, settings.lane_change, settings.safety, hdmap)
        self.supervisor = Supervisor(settings.supervisor)
        self._tracks: tuple[Track, ...] = ()
        self._proposals: tuple[Proposal, ...] = ()

    def step(
        self,
        status: VehicleStatus,
        gnss: list[GnssFix],
        detections: list[DetectionFrame],
        driver_inputs: list[DriverInput],
        monitor: DriverMonitorReading,
    ) -> StackOutput:
        for fix in gnss:
            self.localizer.add_gnss(fix)
        ego, lane = self.localizer.update(status)
        if ego is not None:
            for frame in detections:
                self._tracks = self.tracker.update(frame, ego)
        hmi = self.hmi.update(status.t_s, driver_inputs, monitor, lane, status.speed_mps, status.brake_pedal,
                              self._proposals)
        plan = self.planner.plan(ego, lane, self._tracks, hmi)
        self._proposals = plan.proposals  # shown by the HMI next cycle, as in ROS mode
        request = control(self.settings.acc, self.settings.lateral, plan, ego)
        command = self.supervisor.filter(request, status.speed_mps, input_age_s=status.t_s - plan.t_s)
        return StackOutput(ego, lane, self._tracks, hmi, plan, command)


def load_stack_settings(path: Path | None) -> StackSettings:
    """Node parameter files in ROS 2 form ({node: {ros__parameters: {...}}}) or a plain mapping."""
    if path is None:
        return StackSettings.defaults()
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    plain = {node: (body or {}).get("ros__parameters", body) for node, body in data.items()}
    return StackSettings.from_nodes(plain, str(path))
