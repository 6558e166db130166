"""The stack in one process: the core components chained in their cycle order.

In, each control cycle: the sensor data and driver inputs that arrived since the
last cycle. Out: a `StackOutput` with every intermediate result and the supervised
vehicle command. Lockstep mode calls `Stack.step` directly; in ROS mode each node
owns one of these components and calls the same methods in the same order, so both
modes compute the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from propilot.core.control.controller import control
from propilot.core.control.lateral import LateralSettings
from propilot.core.control.longitudinal import AccSettings
from propilot.core.control.supervisor import Supervisor, SupervisorSettings
from propilot.core.fusion.frame_buffer import FrameBuffer
from propilot.core.fusion.lane_assignment import MapLaneAssigner
from propilot.core.fusion.rig import Rig
from propilot.core.fusion.tracker import Tracker, TrackerSettings
from propilot.core.hmi.engagement import HmiSettings, PilotHmi
from propilot.core.localization.ekf import Localizer, LocalizerSettings
from propilot.core.map.hdmap import HDMap
from propilot.core.parking.fob import FobSettings
from propilot.core.parking.guard import GuardSettings
from propilot.core.parking.remote_park import PARKING_GROUPS, ManoeuvreSettings, MotionSettings
from propilot.core.parking.supervisor import HoldSettings
from propilot.core.perception.camera_model import CameraSettings
from propilot.core.perception.lane_detector import LaneDetector, LaneDetectorSettings
from propilot.core.planning.behaviour import BehaviourPlanner, PlannerSettings
from propilot.core.planning.lane_change import LaneChangeSettings
from propilot.core.planning.safety import SafetySettings
from propilot.core.settings import groups_from_mapping
from propilot.core.types import (
    UNMATCHED,
    CameraImage,
    DetectionFrame,
    DriverInput,
    DriverMonitorReading,
    EgoEstimate,
    GnssFix,
    HmiState,
    ImuSample,
    LaneLineFrame,
    LanePosition,
    Plan,
    Track,
    VehicleCommand,
    VehicleStatus,
)

# The parameter groups of each node: one spec declares ROS parameters, validates YAML, documents.
NODE_SETTINGS: dict[str, dict[str, type]] = {
    "lane_detection": {"front_camera": CameraSettings, "lane_detector": LaneDetectorSettings},
    "localization": {"localizer": LocalizerSettings},
    "fusion": {"tracker": TrackerSettings},
    "hmi": {"hmi": HmiSettings},
    "behaviour": {"planner": PlannerSettings, "lane_change": LaneChangeSettings, "safety": SafetySettings},
    "control": {"acc": AccSettings, "lateral": LateralSettings, "supervisor": SupervisorSettings},
    "parking": PARKING_GROUPS,
}


@dataclass(frozen=True, slots=True)
class StackSettings:
    front_camera: CameraSettings
    lane_detector: LaneDetectorSettings
    localizer: LocalizerSettings
    tracker: TrackerSettings
    hmi: HmiSettings
    planner: PlannerSettings
    lane_change: LaneChangeSettings
    safety: SafetySettings
    acc: AccSettings
    lateral: LateralSettings
    supervisor: SupervisorSettings
    fob: FobSettings  # the parking node's groups
    hold: HoldSettings
    sonar_guard: GuardSettings
    remote_park: MotionSettings
    manoeuvre: ManoeuvreSettings

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
    lane_lines: tuple[LaneLineFrame, ...] = ()  # what the camera's lane detection found this cycle


class Stack:
    def __init__(self, settings: StackSettings, hdmap: HDMap, rig: Rig):
        self.settings = settings
        self.lane_detector = LaneDetector(settings.lane_detector, settings.front_camera)
        self.localizer = Localizer(settings.localizer, hdmap)
        self.tracker = Tracker(settings.tracker, rig, MapLaneAssigner(hdmap))
        self.frames = FrameBuffer(rig)
        self.hmi = PilotHmi(settings.hmi)
        self.planner = BehaviourPlanner(settings.planner, settings.lane_change, settings.safety, hdmap)
        self.supervisor = Supervisor(settings.supervisor)
        self._tracks: tuple[Track, ...] = ()
        self._last_plan = Plan(t_s=0.0, active=False)
        self._localization: tuple[EgoEstimate | None, LanePosition] = (None, UNMATCHED)

    @property
    def last_plan(self) -> Plan:
        """The planner's last cycle (its route and proposals, for the display)."""
        return self._last_plan

    def step(
        self,
        status: VehicleStatus,
        gnss: list[GnssFix],
        detections: list[DetectionFrame],
        driver_inputs: list[DriverInput],
        monitor: DriverMonitorReading,
        imu: Sequence[ImuSample] = (),
        images: Sequence[CameraImage] = (),
        crashed: frozenset[str] = frozenset(),
    ) -> StackOutput:
        """crashed: nodes that are down this cycle (a scenario fault): no output, their inputs are lost."""
        lane_lines = () if "lane_detection" in crashed else tuple(self.lane_detector.detect(i) for i in images)
        if "localization" in crashed:
            ego, lane = self._localization
        else:
            for sample in imu:
                self.localizer.add_imu(sample)
            for fix in gnss:
                self.localizer.add_gnss(fix)
            for frame in lane_lines:
                self.localizer.add_lane_lines(frame)
            ego, lane = self._localization = self.localizer.update(status)
        if "fusion" not in crashed:
            due = self.frames.due(detections, status.t_s)
            if ego is not None:
                self._tracks = self.tracker.fuse(due, ego)
        hmi = self.hmi.update(status.t_s, driver_inputs, monitor, lane, status.speed_mps, status.brake_pedal,
                              self._last_plan.proposals, self._last_plan.route)
        plan = self._last_plan if "behaviour" in crashed else self.planner.plan(ego, lane, self._tracks, hmi)
        self._last_plan = plan  # its proposals and route are shown by the HMI next cycle, as in ROS mode
        request = control(self.settings.acc, self.settings.lateral, plan, ego, status)
        command = self.supervisor.filter(request, status.speed_mps, input_age_s=status.t_s - plan.t_s)
        return StackOutput(ego, lane, self._tracks, hmi, plan, command, lane_lines)
