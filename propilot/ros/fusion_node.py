"""Fusion node: the detection frames of every sensor of the rig + ego odometry -> tracked objects.

Subscribes the detections of each sensor of the rig (`rig_path`), /sensing/<kind>/<id>/detections
(DetectionArray, buffered), and /localization/odometry (Odometry, one per cycle, the trigger).
On each odometry it fuses the frames that were due before its stamp (`FrameBuffer`: a frame due
in this cycle waits for the next, so the arrival order of topics never matters), in (time,
sensor) order, and publishes /perception/objects (TrackedObjectArray) at that stamp, each track
with its lane relative to the ego, gap, relative speed and existence. A sensor that stops
sending leaves the cycle running on the others.
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from nav_msgs.msg import Odometry  # noqa: E402
from propilot_msgs.msg import DetectionArray, TrackedObjectArray  # noqa: E402
from rclpy.node import Node  # noqa: E402

from propilot.core.fusion.frame_buffer import FrameBuffer  # noqa: E402
from propilot.core.fusion.lane_assignment import MapLaneAssigner  # noqa: E402
from propilot.core.fusion.tracker import Tracker  # noqa: E402
from propilot.core.types import DetectionFrame, Track  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.conversions import detections_from_msg, ego_from_odometry, from_time, tracks_to_msg  # noqa: E402
from propilot.ros.node_common import (  # noqa: E402
    declare_map,
    declare_rig,
    declare_settings,
    publisher,
    run_node,
    subscribe,
)
from propilot.stack import NODE_SETTINGS  # noqa: E402


class FusionNode(Node):
    def __init__(self, **kwargs):
        super().__init__("fusion", **kwargs)
        settings = declare_settings(self, NODE_SETTINGS["fusion"])
        rig = declare_rig(self)
        self.tracker = Tracker(settings["tracker"], rig, MapLaneAssigner(declare_map(self)))
        self.buffer = FrameBuffer(rig)
        self.tracks: tuple[Track, ...] = ()
        self.frames: list[DetectionFrame] = []
        self.objects_pub = publisher(self, TrackedObjectArray, topics.OBJECTS)
        # Detections first: frames published before the cycle's odometry are fused in that cycle.
        for sensor in rig.sensors:
            subscribe(self, DetectionArray, topics.detections_topic(sensor.kind, sensor.sensor_id), self.on_detections)
        subscribe(self, Odometry, topics.ODOMETRY, self.on_odometry)

    def on_detections(self, msg: DetectionArray) -> None:
        self.frames.append(detections_from_msg(msg))

    def on_odometry(self, odometry: Odometry) -> None:
        t_s = from_time(odometry.header.stamp)
        due = self.buffer.due(self.frames, t_s)
        self.frames = []
        ego = ego_from_odometry(odometry)
        if ego is not None:
            self.tracks = self.tracker.fuse(due, ego)
        self.objects_pub.publish(tracks_to_msg(t_s, self.tracks))


def main(args: list[str] | None = None) -> int:
    return run_node(FusionNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
