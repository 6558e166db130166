"""The fusion node on real rclpy and DDS (localhost only): every sensor of the rig in, tracked objects out."""

import math
import time

import pytest
from nav_msgs.msg import Odometry
from propilot_msgs.msg import DetectionArray, TrackedObjectArray
from rclpy.node import Node
from rclpy.parameter import Parameter

from propilot.core.fusion.rig import load_rig
from propilot.core.types import Detection, DetectionFrame, EgoEstimate, Pose2D, SensorKind
from propilot.ros import conversions as conv
from propilot.ros import topics
from propilot.ros.fusion_node import FusionNode
from tests.conftest import HIGHWAY_MAP, REPO

pytestmark = pytest.mark.ros

RIG_PATH = REPO / "sim" / "rigs" / "default.yaml"
RIG = load_rig(RIG_PATH)
STEP_S = 0.05


def detection_of(sensor_id: str, t_s: float, x_m: float, y_m: float, range_rate_mps: float) -> DetectionFrame:
    """What a sensor reports of a car whose nearer face is at (x, y) in base_link."""
    sensor = RIG.sensor(sensor_id)
    r = math.hypot(x_m - sensor.mount.x_m, y_m - sensor.mount.y_m)
    az = math.atan2(y_m - sensor.mount.y_m, x_m - sensor.mount.x_m)
    if sensor.kind == SensorKind.RADAR:
        det = Detection(SensorKind.RADAR, x_m, y_m, r, az, range_rate_mps, 0.25, 0.005, 0.1)
    else:
        det = Detection(SensorKind.CAMERA, x_m, y_m, r, az, range_sigma_m=0.06 * r, azimuth_sigma_rad=0.004)
    return DetectionFrame(t_s, sensor_id, sensor.kind, (det,))


def test_fusion_node_fuses_radar_and_camera_into_a_lead_in_the_ego_lane_and_survives_a_bad_frame(ros, hdmap):
    context, executor = ros
    node = FusionNode(context=context, parameter_overrides=[
        Parameter("map_path", value=str(HIGHWAY_MAP)), Parameter("rig_path", value=str(RIG_PATH))])
    executor.add_node(node)
    probe = Node("probe", context=context)
    executor.add_node(probe)
    objects: list[TrackedObjectArray] = []
    probe.create_subscription(TrackedObjectArray, topics.OBJECTS, objects.append, topics.QOS)
    sensor_topics = {sid: topics.detections_topic(RIG.sensor(sid).kind, sid) for sid in ("front", "front_wide")}
    pubs = {sid: probe.create_publisher(DetectionArray, name, topics.QOS) for sid, name in sensor_topics.items()}
    odometry = probe.create_publisher(Odometry, topics.ODOMETRY, topics.QOS)
    deadline = time.monotonic() + 10.0
    while any(p.get_subscription_count() == 0 for p in [*pubs.values(), odometry]):
        assert time.monotonic() < deadline, "the fusion node did not subscribe every sensor of the rig"
        executor.spin_once(timeout_sec=0.05)
    assert len(probe.get_publishers_info_by_topic(topics.OBJECTS)) == 1

    lane = next(i for i in hdmap.lanelet_ids() if not hdmap.is_ramp(i) and hdmap.lane_index(i) == (1, 3))
    (x0, y0), (x1, y1) = hdmap.centerline(lane)[5], hdmap.centerline(lane)[6]
    yaw = math.atan2(y1 - y0, x1 - x0)
    cycles = 10
    for k in range(cycles):
        t = k * STEP_S
        for sensor_id in ("front", "front_wide"):
            frame = detection_of(sensor_id, t, 40.0, 0.0, -2.0)  # a lead 40 m ahead, 2 m/s slower
            if k == 4 and sensor_id == "front":
                msg = conv.detections_to_msg(frame)
                msg.detections[0].range_m = float("nan")  # a bad message: dropped, the node lives on
                pubs[sensor_id].publish(msg)
                continue
            pubs[sensor_id].publish(conv.detections_to_msg(frame))
        ego = EgoEstimate(t, Pose2D(x0 + 25.0 * t * math.cos(yaw), y0 + 25.0 * t * math.sin(yaw), yaw), 25.0, 0.0,
                          0.02)
        odometry.publish(conv.ego_to_odometry(t, ego))
        deadline = time.monotonic() + 10.0
        while len(objects) < k + 1:
            assert time.monotonic() < deadline, f"no objects for cycle {k}"
            executor.spin_once(timeout_sec=0.05)

    assert [conv.from_time(o.header.stamp) for o in objects] == pytest.approx([k * STEP_S for k in range(cycles)])
    tracks = conv.tracks_from_msg(objects[-1])
    assert len(tracks) == 1
    (lead,) = tracks
    assert lead.relative_lane == 0
    assert lead.relative_speed_mps == pytest.approx(-2.0, abs=0.5)
    assert lead.gap_m == pytest.approx(40.0 - 1.35 - 2.35, abs=1.5)  # face 40 m ahead of base_link
    node.destroy_node()
    probe.destroy_node()
