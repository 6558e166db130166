"""Lane detection and localisation nodes on real rclpy and DDS (localhost only): images in, lanes out."""

import math

import numpy as np
import pytest

from propilot.core.perception.camera_model import CameraSettings
from propilot.core.types import GnssFix, ImuSample, LaneLine, LaneLineFrame, LaneLineSide, LaneLineType, RtkState
from propilot.core.types import VehicleStatus as Status
from propilot.ros import conversions as conv
from propilot.ros import topics
from propilot.ros.lane_detection_node import LaneDetectionNode
from propilot.ros.localization_node import LocalizationNode
from propilot.sim.camera import CameraSimSettings, FrontCamera
from tests.conftest import HIGHWAY_MAP
from tests.node.conftest import Probe, add_node
from tests.unit.test_lane_detector import HALF_LANE_M, OFFSET_TOLERANCE_M, lane_pose

pytestmark = pytest.mark.ros


def test_lane_detection_finds_the_lines_in_a_rendered_image(ros, hdmap):
    add_node(ros, LaneDetectionNode)
    probe = Probe(*ros, listen=[topics.LANE_LINES])
    probe.wait_for_subscribers(topics.CAMERA_FRONT)
    camera = FrontCamera(CameraSimSettings(), CameraSettings(), hdmap, np.random.default_rng(1))
    image = camera.render(2.5, lane_pose(hdmap, 1, 450.0, offset_m=0.3), [])
    probe.publisher(topics.CAMERA_FRONT).publish(conv.image_to_msg(image))
    frame = conv.lane_lines_from_msg(probe.spin_until(topics.LANE_LINES)[0])
    assert frame.t_s == pytest.approx(2.5)
    lines = {line.side: line for line in frame.lines}
    assert lines[LaneLineSide.LEFT].c0 == pytest.approx(HALF_LANE_M - 0.3, abs=OFFSET_TOLERANCE_M)
    assert lines[LaneLineSide.RIGHT].c0 == pytest.approx(-HALF_LANE_M - 0.3, abs=OFFSET_TOLERANCE_M)


def test_lane_detection_takes_carlas_colour_images_and_survives_a_bad_one(ros, hdmap):
    add_node(ros, LaneDetectionNode)
    probe = Probe(*ros, listen=[topics.LANE_LINES])
    probe.wait_for_subscribers(topics.CAMERA_FRONT)
    bad = conv.image_to_msg(FrontCamera(CameraSimSettings(), CameraSettings(), hdmap, np.random.default_rng(1))
                            .render(1.0, lane_pose(hdmap, 1, 450.0), []))
    bad.encoding = "yuv422"
    probe.publisher(topics.CAMERA_FRONT).publish(bad)
    grey = FrontCamera(CameraSimSettings(), CameraSettings(), hdmap, np.random.default_rng(1)).render(
        1.1, lane_pose(hdmap, 1, 450.0), []).pixels
    bgra = np.dstack([grey, grey, grey, np.full_like(grey, 255)])
    colour = conv.image_to_msg(conv.CameraImage(1.1, "front", grey))
    colour.encoding, colour.step, colour.data = "bgra8", 4 * grey.shape[1], bgra.tobytes()
    probe.publisher(topics.CAMERA_FRONT).publish(colour)
    frames = probe.spin_until(topics.LANE_LINES)
    assert [conv.from_time(f.header.stamp) for f in frames] == [pytest.approx(1.1)]
    assert len(frames[0].lines) == 2


def test_localization_fuses_imu_gnss_and_lane_lines_and_reports_what_it_did(ros, hdmap):
    """One cycle as the simulator bridge sends it: lane lines, GNSS, five IMU samples, then the status."""
    add_node(ros, LocalizationNode, map_path=str(HIGHWAY_MAP))
    probe = Probe(*ros, listen=[topics.ODOMETRY, topics.LANE, topics.LOCALIZATION_DIAGNOSTICS])
    probe.wait_for_subscribers(topics.GNSS_FIX, topics.GNSS_RTK, topics.IMU, topics.LANE_LINES, topics.VEHICLE_STATUS)
    pose = lane_pose(hdmap, 2, 450.0)
    for t in (1.0, 1.05):
        if t == 1.0:
            navsat, rtk = conv.gnss_to_msgs(GnssFix(t, *hdmap.unproject(pose.x_m, pose.y_m), 0.02, RtkState.RTK_FIXED))
            probe.publisher(topics.GNSS_FIX).publish(navsat)
            probe.publisher(topics.GNSS_RTK).publish(rtk)
        lines = (LaneLine(LaneLineSide.LEFT, LaneLineType.DASHED, 1.75, 0.0, 0.0, 0.0, 40.0, 0.9),
                 LaneLine(LaneLineSide.RIGHT, LaneLineType.SOLID, -1.75, 0.0, 0.0, 0.0, 40.0, 0.9))
        probe.publisher(topics.LANE_LINES).publish(conv.lane_lines_to_msg(LaneLineFrame(t, "front", lines)))
        for k in range(5):
            probe.publisher(topics.IMU).publish(conv.imu_to_msg(ImuSample(t - 0.04 + 0.01 * k, 0.0, 0.0, 0.0)))
        probe.publisher(topics.VEHICLE_STATUS).publish(conv.vehicle_status_to_msg(Status(t, 0.0)))
    odometry = probe.spin_until(topics.ODOMETRY, count=2)[-1]
    lane = probe.spin_until(topics.LANE, count=2)[-1]
    diagnostics = probe.spin_until(topics.LOCALIZATION_DIAGNOSTICS, count=2)[-1].status[0]
    assert math.hypot(odometry.pose.pose.position.x - pose.x_m, odometry.pose.pose.position.y - pose.y_m) < 0.05
    assert lane.lane_index == 2 and lane.lane_level
    counts = {kv.key: int(kv.value) for kv in diagnostics.values}
    # every IMU sample was in before its cycle's update (none stale); both frames' lines were fused
    assert counts["rejected_stale"] == 0 and counts["fused"] == 1 and counts["fused_camera"] == 2
    assert diagnostics.message.startswith("lane-level")


def test_localization_counts_a_tunnel_fix_and_keeps_answering(ros, hdmap):
    add_node(ros, LocalizationNode, map_path=str(HIGHWAY_MAP))
    probe = Probe(*ros, listen=[topics.LANE, topics.LOCALIZATION_DIAGNOSTICS])
    probe.wait_for_subscribers(topics.GNSS_FIX, topics.GNSS_RTK, topics.VEHICLE_STATUS)
    navsat, rtk = conv.gnss_to_msgs(GnssFix(1.0, math.nan, math.nan, math.inf, RtkState.NO_FIX))
    probe.publisher(topics.GNSS_FIX).publish(navsat)
    probe.publisher(topics.GNSS_RTK).publish(rtk)
    probe.publisher(topics.VEHICLE_STATUS).publish(conv.vehicle_status_to_msg(Status(1.0, 25.0)))
    assert probe.spin_until(topics.LANE)[0].lanelet_id == 0
    counts = {kv.key: int(kv.value) for kv in probe.spin_until(topics.LOCALIZATION_DIAGNOSTICS)[0].status[0].values}
    assert counts["no_fix"] == 1 and counts["fused"] == 0
