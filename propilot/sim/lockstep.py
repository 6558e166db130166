"""Lockstep backend: the whole stack stepped in this process, recorded like ROS mode.

In: each step's sensor data and driver inputs. Out: the HMI state and the command,
and run.mcap with the same topics and messages the recorder node writes in ROS mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from propilot.core.fusion.rig import load_rig  # noqa: E402
from propilot.core.map.hdmap import HDMap  # noqa: E402
from propilot.core.types import (  # noqa: E402
    UNMATCHED,
    EgoEstimate,
    HmiState,
    LanePosition,
    SensorKind,
    Track,
    VehicleCommand,
)
from propilot.ros import conversions as conv  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.recording import RUN_METADATA, McapRecorder, run_metadata  # noqa: E402
from propilot.sim.runner import StepInputs  # noqa: E402
from propilot.sim.scenario import Scenario  # noqa: E402
from propilot.stack import Stack, StackSettings  # noqa: E402


class LockstepBackend:
    def __init__(self, scenario: Scenario, hdmap: HDMap, node_settings: dict[str, Any], mcap_path: Path):
        settings = StackSettings.from_nodes(node_settings, f"{scenario.path}: settings")
        self.rig = scenario.rig or load_rig(scenario.rig_path)
        self.stack = Stack(settings, hdmap, self.rig)
        self.recorder = McapRecorder(mcap_path)
        self.recorder.add_metadata(RUN_METADATA, run_metadata(scenario.map_path, scenario.rig_path, node_settings))
        self.tracks: tuple[Track, ...] = ()
        self.localization: tuple[EgoEstimate | None, LanePosition] = (None, UNMATCHED)
        self._image_recorded_s = -float("inf")

    def step(self, inputs: StepInputs) -> tuple[HmiState, VehicleCommand]:
        t = inputs.status.t_s
        out = self.stack.step(inputs.status, inputs.gnss, inputs.detections, inputs.driver_inputs, inputs.monitor,
                              inputs.imu, inputs.images, inputs.crashed_nodes)
        messages = [(topics.IMU, conv.imu_to_msg(sample)) for sample in inputs.imu]
        for image in inputs.images:  # JPEG at the recording rate; the raw frames went to the stack
            if image.t_s - self._image_recorded_s >= topics.IMAGE_RECORD_PERIOD_S - 1e-9:
                self._image_recorded_s = image.t_s
                messages.append((topics.CAMERA_FRONT_COMPRESSED,
                                 conv.image_to_compressed(image, topics.IMAGE_JPEG_QUALITY)))
        messages += [(topics.LANE_LINES, conv.lane_lines_to_msg(frame)) for frame in out.lane_lines]
        for fix in inputs.gnss:
            navsat, rtk = conv.gnss_to_msgs(fix)
            messages += [(topics.GNSS_FIX, navsat), (topics.GNSS_RTK, rtk)]
        for frame in inputs.detections:
            sensor = self.rig.sensor(frame.sensor_id)
            messages.append((topics.detections_topic(sensor.kind, sensor.sensor_id), conv.detections_to_msg(frame)))
            if sensor.kind == SensorKind.SONAR:
                messages.append((topics.range_topic(sensor.sensor_id), conv.sonar_range_to_msg(frame, sensor)))
        messages += [(topics.DRIVER_INPUT, conv.driver_input_to_msg(i)) for i in inputs.driver_inputs]
        messages += [
            (topics.DRIVER_MONITOR, conv.monitor_to_msg(inputs.monitor)),
            (topics.VEHICLE_STATUS, conv.vehicle_status_to_msg(inputs.status)),
            (topics.ODOMETRY, conv.ego_to_odometry(t, out.ego)),
            (topics.LANE, conv.lane_to_msg(t, out.lane)),
            (topics.LOCALIZATION_DIAGNOSTICS,
             conv.localizer_diagnostics(t, self.stack.localizer.stats.as_dict(), out.lane)),
            (topics.OBJECTS, conv.tracks_to_msg(t, out.tracks)),
            (topics.HMI_STATE, conv.hmi_to_msg(out.hmi)),
            (topics.PROPOSALS, conv.proposals_to_msg(t, out.plan.proposals)),
            (topics.ROUTE, conv.route_to_msg(t, out.plan.route)),
            (topics.TRAJECTORY, conv.plan_to_msg(out.plan)),
            (topics.COMMAND, conv.command_to_msg(out.command)),
        ]
        for topic, message in messages:
            self.recorder.write(topic, message, conv.stamp_ns(message.header.stamp))
        self.tracks = out.tracks
        self.localization = (out.ego, out.lane)
        return out.hmi, out.command

    def close(self) -> None:
        self.recorder.close()
