"""Fusion node: detection frames + ego odometry -> tracked objects, once per cycle.

Subscribes /sensing/radar/front/detections (DetectionArray, buffered) and
/localization/odometry (Odometry, one per cycle, the trigger). On each odometry it fuses
the buffered frames up to its stamp, in time order, and publishes /perception/objects
(TrackedObjectArray) with each track's lane relative to the ego, gap and relative speed.
A sensor that stops sending leaves the cycle running on the others.
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
from propilot.ros.node_common import declare_map, declare_settings, guarded, run_node  # noqa: E402
from propilot.stack import NODE_SETTINGS  # noqa: E402


class FusionNode(Node):
    def __init__(self, **kwargs):
        super().__init__("fusion", **kwargs)
        settings = declare_settings(self, NODE_SETTINGS["fusion"])
        self.tracker = Tracker(settings["tracker"], MapLaneAssigner(declare_map(self)), SENSOR_MOUNTS)
        self.tracks = ()
        self.frames = []
        self.objects_pub = self.create_publisher(TrackedObjectArray, topics.OBJECTS, topics.QOS)
        # Detections first: frames published before the cycle's odometry are fused in that cycle.
        self.create_subscription(DetectionArray, topics.RADAR_FRONT, guarded(self, self.on_detections), topics.QOS)
        self.create_subscription(Odometry, topics.ODOMETRY, guarded(self, self.on_odometry), topics.QOS)

    def on_detections(self, msg: DetectionArray) -> None:
        self.frames.append(detections_from_msg(msg))

    def on_odometry(self, odometry: Odometry) -> None:
        t_s = from_time(odometry.header.stamp)
        due = sorted((f for f in self.frames if f.t_s <= t_s), key=lambda f: f.t_s)
        self.frames = [f for f in self.frames if f.t_s > t_s]
        ego = ego_from_odometry(odometry)
        if ego is not None:
            for frame in due:
                self.tracks = self.tracker.update(frame, ego)
        self.objects_pub.publish(tracks_to_msg(t_s, self.tracks))


def main(args: list[str] | None = None) -> int:
    return run_node(FusionNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
