"""Lockstep backend: the whole stack stepped in this process, recorded like ROS mode.

In: each step's sensor data and driver inputs. Out: the HMI state and the command,
and run.mcap with the same topics and messages the recorder node writes in ROS mode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from propilot.core.map.hdmap import HDMap  # noqa: E402
from propilot.core.types import HmiState, VehicleCommand  # noqa: E402
from propilot.ros import conversions as conv  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.recording import McapRecorder  # noqa: E402
from propilot.sim.runner import StepInputs  # noqa: E402
from propilot.sim.scenario import Scenario  # noqa: E402
from propilot.stack import Stack, StackSettings  # noqa: E402


class LockstepBackend:
    def __init__(self, scenario: Scenario, hdmap: HDMap, node_settings: dict[str, Any], mcap_path: Path):
        settings = StackSettings.from_nodes(node_settings, f"{scenario.path}: settings")
        self.stack = Stack(settings, hdmap)
        self.recorder = McapRecorder(mcap_path)

    def step(self, inputs: StepInputs) -> tuple[HmiState, VehicleCommand]:
        t = inputs.status.t_s
        out = self.stack.step(inputs.status, inputs.gnss, inputs.detections, inputs.driver_inputs, inputs.monitor)
        messages = []
        for fix in inputs.gnss:
            navsat, rtk = conv.gnss_to_msgs(fix)
            messages += [(topics.GNSS_FIX, navsat), (topics.GNSS_RTK, rtk)]
        messages += [(topics.RADAR_FRONT, conv.detections_to_msg(frame)) for frame in inputs.detections]
        messages += [(topics.DRIVER_INPUT, conv.driver_input_to_msg(i)) for i in inputs.driver_inputs]
        messages += [
            (topics.DRIVER_MONITOR, conv.monitor_to_msg(inputs.monitor)),
            (topics.VEHICLE_STATUS, conv.vehicle_status_to_msg(inputs.status)),
            (topics.ODOMETRY, conv.ego_to_odometry(t, out.ego)),
            (topics.LANE, conv.lane_to_msg(t, out.lane)),
            (topics.OBJECTS, conv.tracks_to_msg(t, out.tracks)),
            (topics.HMI_STATE, conv.hmi_to_msg(out.hmi)),
            (topics.PROPOSALS, conv.proposals_to_msg(t, out.plan.proposals)),
            (topics.TRAJECTORY, conv.plan_to_msg(out.plan)),
            (topics.COMMAND, conv.command_to_msg(out.command)),
        ]
        for topic, message in messages:
            self.recorder.write(topic, message, conv.stamp_ns(message.header.stamp))
        return out.hmi, out.command

    def close(self) -> None:
        self.recorder.close()
