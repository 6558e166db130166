"""Recorder node: every stack topic into one MCAP file (ROS 2 profile, CDR; opens in Foxglove).

Subscribes every topic of `topics.TYPES` but the raw camera images (`topics.NOT_RECORDED`;
their JPEG topic is recorded instead), and the sensor topics of the rig at `rig_path` (optional).
Parameter `output` is the .mcap path.
Messages are logged at their header stamp, so a simulated run lines up with
simulation time.
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from pathlib import Path  # noqa: E402

from rcl_interfaces.msg import ParameterDescriptor  # noqa: E402
from rclpy.node import Node  # noqa: E402

from propilot.core.settings import ConfigError  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.conversions import stamp_ns  # noqa: E402
from propilot.ros.node_common import declare_rig, run_node  # noqa: E402
from propilot.ros.recording import McapRecorder  # noqa: E402


class RecorderNode(Node):
    def __init__(self, **kwargs):
        super().__init__("recorder", **kwargs)
        output = self.declare_parameter("output", "", ParameterDescriptor(
            description="path of the .mcap file to write", read_only=True)).value
        if not output:
            raise ConfigError("node recorder parameters", "output", "missing")
        self.recorder = McapRecorder(Path(output))
        rig = declare_rig(self, required=False)
        recorded = {**topics.TYPES, **(topics.sensor_types(rig) if rig is not None else {})}
        for name, msg_type in recorded.items():
            if name in topics.NOT_RECORDED:
                continue
            self.create_subscription(msg_type, name, lambda msg, name=name: self.on_message(name, msg),
                                     topics.qos(name))

    def on_message(self, topic: str, msg: object) -> None:
        self.recorder.write(topic, msg, stamp_ns(msg.header.stamp))

    def close(self) -> None:
        self.recorder.close()


def main(args: list[str] | None = None) -> int:
    return run_node(RecorderNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
