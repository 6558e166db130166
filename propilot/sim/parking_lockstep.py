"""Lockstep parking backend: `RemotePark` stepped in this process, recorded like ROS mode.

In: each step's vehicle motion, fob packets and sonar frames. Out: the parking command and state,
and run.mcap with the topics the parking node reads and writes. The inputs go through the same
message conversions as in ROS mode (sonar ranges are float32 in sensor_msgs/Range), so both modes
compute the same thing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from propilot.core.fusion.rig import Rig  # noqa: E402
from propilot.core.map.hdmap import HDMap  # noqa: E402
from propilot.core.parking.fob import load_key  # noqa: E402
from propilot.core.parking.remote_park import ParkingSettings, RemotePark  # noqa: E402
from propilot.core.parking.types import ParkingCommand, ParkingStatus  # noqa: E402
from propilot.ros import conversions as conv  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.recording import McapRecorder  # noqa: E402
from propilot.sim.parking_runner import ParkingInputs  # noqa: E402


class ParkingLockstepBackend:
    def __init__(self, hdmap: HDMap, rig: Rig, node_settings: dict[str, Any], origin: str, mcap_path: Path):
        settings = ParkingSettings.from_mapping(node_settings, origin)
        self.rig = rig
        self.park = RemotePark(settings, hdmap, rig.sensors, load_key(settings.fob.key_path))
        self.recorder = McapRecorder(mcap_path)

    def step(self, inputs: ParkingInputs) -> tuple[ParkingCommand | None, ParkingStatus]:
        fob_msgs = [conv.fob_packet_to_msg(p) for p in inputs.packets]
        range_msgs = [(topics.range_topic(f.sensor_id), conv.sonar_range_to_msg(f, self.rig.sensor(f.sensor_id)))
                      for f in inputs.sonar]
        status_msg = conv.parking_motion_to_msg(inputs.motion)
        out = self.park.step(conv.parking_motion_from_msg(status_msg),
                             [conv.fob_packet_from_msg(m) for m in fob_msgs],
                             [conv.sonar_reading_from_msg(m) for _, m in range_msgs])
        command_msg = conv.parking_command_to_msg(out.command) if out.command.active else None  # as the node
        state_msg = conv.parking_status_to_msg(out.status)
        messages = [(topics.PARKING_FOB, m) for m in fob_msgs] + range_msgs + [
            (topics.VEHICLE_STATUS, status_msg), (topics.PARKING_STATE, state_msg)]
        if command_msg is not None:
            messages.append((topics.COMMAND, command_msg))
        for topic, message in messages:
            self.recorder.write(topic, message, conv.stamp_ns(message.header.stamp))
        command = None if command_msg is None else conv.parking_command_from_msg(command_msg)
        return command, conv.parking_status_from_msg(state_msg)

    def close(self) -> None:
        self.recorder.close()
