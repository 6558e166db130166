"""Fusion node: radar detections + ego odometry (same stamp) -> tracked objects.

Subscribes /sensing/radar/front/detections (DetectionArray) and /localization/odometry
(Odometry), paired by stamp. Publishes /perception/objects (TrackedObjectArray) once
per pair, with each track's lane relative to the ego, gap and relative speed.
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from nav_msgs.msg import Odometry  # noqa: E402
from propilot_msgs.msg import DetectionArray, TrackedObjectArray  # noqa: E402
from rclpy.node import Node  # noqa: E402

from propilot.core.fusion.lane_assignment import MapLaneAssigner  # noqa: E402
from propilot.core.fusion.tracker import Tracker  # noqa: E402
from propilot.core.vehicle import SENSOR_MOUNTS  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.conversions import detections_from_msg, ego_from_odometry, from_time, tracks_to_msg  # noqa: E402
from propilot.ros.node_common import StampSync, declare_map, declare_settings, run_node  # noqa: E402
from propilot.stack import NODE_SETTINGS  # noqa: E402


class FusionNode(Node):
    def __init__(self, **kwargs):
        super().__init__("fusion", **kwargs)
        settings = declare_settings(self, NODE_SETTINGS["fusion"])
        self.tracker = Tracker(settings["tracker"], MapLaneAssigner(declare_map(self)), SENSOR_MOUNTS)
        self.tracks = ()
        self.objects_pub = self.create_publisher(TrackedObjectArray, topics.OBJECTS, topics.QOS)
        StampSync(self, [(DetectionArray, topics.RADAR_FRONT), (Odometry, topics.ODOMETRY)], self.on_frame)

    def on_frame(self, detections: DetectionArray, odometry: Odometry) -> None:
        ego = ego_from_odometry(odometry)
        frame = detections_from_msg(detections)
        if ego is not None:
            self.tracks = self.tracker.update(frame, ego)
        self.objects_pub.publish(tracks_to_msg(from_time(odometry.header.stamp), self.tracks))


def main(args: list[str] | None = None) -> int:
    return run_node(FusionNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
