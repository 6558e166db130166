"""Lane detection node: camera image -> the ego lane's lines, found by OpenCV on the pixels.

Subscribes /sensing/camera/front/image (sensor_msgs/Image: mono8, or 8-bit colour such as
CARLA's bgra8, converted to grey). Publishes /perception/camera/lane_lines (LaneLineArray,
stamped with the image's stamp, lines in base_link), one per image, empty when none is found.
Parameters: `front_camera.*` (the calibration) and `lane_detector.*`.
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from propilot_msgs.msg import LaneLineArray  # noqa: E402
from rclpy.node import Node  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402

from propilot.core.perception.lane_detector import LaneDetector  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.conversions import MessageError, image_from_msg, lane_lines_to_msg  # noqa: E402
from propilot.ros.node_common import declare_settings, publisher, run_node, subscribe  # noqa: E402
from propilot.stack import NODE_SETTINGS  # noqa: E402


class LaneDetectionNode(Node):
    def __init__(self, **kwargs):
        super().__init__("lane_detection", **kwargs)
        settings = declare_settings(self, NODE_SETTINGS["lane_detection"])
        self.detector = LaneDetector(settings["lane_detector"], settings["front_camera"])
        self.lines_pub = publisher(self, LaneLineArray, topics.LANE_LINES)
        subscribe(self, Image, topics.CAMERA_FRONT, self.on_image)

    def on_image(self, msg: Image) -> None:
        image = image_from_msg(msg)
        try:
            frame = self.detector.detect(image)
        except ValueError as exc:  # not the size the camera is calibrated for
            raise MessageError("Image", "width/height", str(exc)) from None
        self.lines_pub.publish(lane_lines_to_msg(frame))


def main(args: list[str] | None = None) -> int:
    return run_node(LaneDetectionNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
