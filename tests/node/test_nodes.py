"""Node tests on real rclpy and DDS (localhost only): messages in, messages out, bad input survived."""

import math
import time

import pytest
from nav_msgs.msg import Odometry
from propilot_msgs.msg import HmiState as HmiStateMsg
from propilot_msgs.msg import LaneLocalization, VehicleCommand

from propilot.core.types import (
    DriverEvent,
    DriverInput,
    DriverMonitorReading,
    EgoEstimate,
    GnssFix,
    LanePosition,
    LaneSource,
    PathPoint,
    PilotState,
    Plan,
    Pose2D,
    RtkState,
    VehicleStatus,
)
from propilot.ros import conversions as conv
from propilot.ros import topics
from propilot.ros.control_node import ControlNode
from propilot.ros.hmi_node import HmiNode
from propilot.ros.localization_node import LocalizationNode
from tests.conftest import HIGHWAY_MAP, REPO
from tests.node.conftest import Probe, add_node

pytestmark = pytest.mark.ros


def test_localization_turns_an_rtk_fix_into_odometry_and_the_right_lane(ros, hdmap):
    add_node(ros, LocalizationNode, map_path=str(HIGHWAY_MAP))
    probe = Probe(*ros, listen=[topics.ODOMETRY, topics.LANE])
    probe.wait_for_subscribers(topics.GNSS_FIX, topics.GNSS_RTK, topics.VEHICLE_STATUS)
    x, y = hdmap.centerline(hdmap_lane(hdmap, lane_index=1))[5]
    lat, lon = hdmap.unproject(x, y)
    navsat, rtk = conv.gnss_to_msgs(GnssFix(1.0, lat, lon, 0.02, RtkState.RTK_FIXED))
    probe.publish(topics.GNSS_FIX, navsat)
    probe.publish(topics.GNSS_RTK, rtk)
    probe.publish(topics.VEHICLE_STATUS, conv.vehicle_status_to_msg(VehicleStatus(1.0, 25.0)))

    odometry: Odometry = probe.spin_until(topics.ODOMETRY)[0]
    lane: LaneLocalization = probe.spin_until(topics.LANE)[0]
    assert math.hypot(odometry.pose.pose.position.x - x, odometry.pose.pose.position.y - y) < 0.05
    assert lane.lane_index == 1 and lane.lane_count == 3
    assert lane.lane_level and lane.source == LaneLocalization.SOURCE_RTK


def test_localization_survives_a_nan_fix_and_keeps_answering(ros, hdmap):
    add_node(ros, LocalizationNode, map_path=str(HIGHWAY_MAP))
    probe = Probe(*ros, listen=[topics.LANE])
    probe.wait_for_subscribers(topics.GNSS_FIX, topics.GNSS_RTK, topics.VEHICLE_STATUS)
    navsat, rtk = conv.gnss_to_msgs(GnssFix(1.0, 35.0, 139.0, 0.02, RtkState.RTK_FIXED))
    navsat.latitude = float("nan")
    probe.publish(topics.GNSS_FIX, navsat)
    probe.publish(topics.GNSS_RTK, rtk)
    probe.publish(topics.VEHICLE_STATUS, conv.vehicle_status_to_msg(VehicleStatus(1.0, 25.0)))
    lane = probe.spin_until(topics.LANE)[0]
    assert lane.lanelet_id == 0, "a NaN fix must not be fused"
    probe.publish(topics.VEHICLE_STATUS, conv.vehicle_status_to_msg(VehicleStatus(1.05, 25.0)))
    assert len(probe.spin_until(topics.LANE, count=2)) == 2


def test_hmi_offers_route_driving_and_engages_on_the_switch(ros):
    add_node(ros, HmiNode)
    probe = Probe(*ros, listen=[topics.HMI_STATE])
    probe.wait_for_subscribers(topics.LANE, topics.DRIVER_MONITOR, topics.VEHICLE_STATUS, topics.DRIVER_INPUT)
    lane = LanePosition(1001, 10.0, 0.0, 0.0, 1, 3, 0.99, True, LaneSource.RTK)

    def cycle(t):
        probe.publish(topics.LANE, conv.lane_to_msg(t, lane))
        probe.publish(topics.DRIVER_MONITOR, conv.monitor_to_msg(DriverMonitorReading(t)))
        probe.publish(topics.VEHICLE_STATUS, conv.vehicle_status_to_msg(VehicleStatus(t, 25.0)))

    cycle(0.0)
    first: HmiStateMsg = probe.spin_until(topics.HMI_STATE)[0]
    assert first.pilot_state == int(PilotState.AVAILABLE) and first.sound == "available"
    probe.publish(topics.DRIVER_INPUT, conv.driver_input_to_msg(DriverInput(0.05, DriverEvent.MAIN_SWITCH)))
    cycle(0.05)
    second = probe.spin_until(topics.HMI_STATE, count=2)[1]
    assert second.pilot_state == int(PilotState.ENGAGED_HANDS_OFF)


def test_control_follows_the_plan_within_the_supervisor_envelope(ros):
    add_node(ros, ControlNode, use_sim_time=True)  # simulation time: the stamps below are on it
    probe = Probe(*ros, listen=[topics.COMMAND])
    probe.wait_for_subscribers(topics.TRAJECTORY, topics.ODOMETRY, topics.VEHICLE_STATUS)
    path = tuple(PathPoint(float(x), 0.0, 0.0, 0.0, 30.0) for x in range(0, 100, 2))
    plan = Plan(0.0, True, path, target_speed_mps=30.0, lead_valid=True, lead_gap_m=8.0, lead_speed_mps=10.0)
    ego = EgoEstimate(0.0, Pose2D(0.0, 0.5, 0.0), 25.0, 0.0, 0.02)
    probe.publish(topics.TRAJECTORY, conv.plan_to_msg(plan))
    probe.publish(topics.ODOMETRY, conv.ego_to_odometry(0.0, ego))
    probe.publish(topics.VEHICLE_STATUS, conv.vehicle_status_to_msg(VehicleStatus(0.0, 25.0)))
    command: VehicleCommand = probe.spin_until(topics.COMMAND)[0]
    assert command.mode == VehicleCommand.MODE_ROUTE_PILOT
    assert command.accel_mps2 < 0.0, "closing fast on a near lead: brake"
    assert command.curvature_1pm < 0.0, "left of the path: steer right"
    assert 25.0**2 * abs(command.curvature_1pm) <= 3.0 + 1e-9


def test_control_drops_a_plan_with_nan_and_answers_the_next(ros):
    add_node(ros, ControlNode, use_sim_time=True)  # simulation time: the stamps below are on it
    probe = Probe(*ros, listen=[topics.COMMAND])
    probe.wait_for_subscribers(topics.TRAJECTORY, topics.ODOMETRY, topics.VEHICLE_STATUS)
    ego = EgoEstimate(0.0, Pose2D(0.0, 0.0, 0.0), 25.0, 0.0, 0.02)
    for t, speed in ((0.0, float("nan")), (0.05, 30.0)):
        probe.publish(topics.TRAJECTORY, conv.plan_to_msg(Plan(t, True, (), target_speed_mps=speed)))
        probe.publish(topics.ODOMETRY, conv.ego_to_odometry(t, ego))
        probe.publish(topics.VEHICLE_STATUS, conv.vehicle_status_to_msg(VehicleStatus(t, 25.0)))
    commands = probe.spin_until(topics.COMMAND)
    time.sleep(0.2)
    probe.executor.spin_once(timeout_sec=0.1)
    assert [conv.from_time(c.header.stamp) for c in commands] == [0.05]


def hdmap_lane(hdmap, lane_index: int) -> int:
    """A main-line lanelet with the given index from the left."""
    for lanelet_id in hdmap.lanelet_ids():
        if not hdmap.is_ramp(lanelet_id) and hdmap.lane_index(lanelet_id) == (lane_index, 3):
            return lanelet_id
    raise AssertionError("no such lane")


@pytest.mark.parametrize("name", ["lane_detection", "localization", "fusion", "hmi", "behaviour", "control"])
def test_parameter_file_sets_exactly_what_the_node_declares(ros, name):
    """Load launch/params/<name>.param.yaml into the real node: same names, values taken."""
    import yaml

    from propilot.ros.sim_bridge_node import STACK_NODES

    data = yaml.safe_load((REPO / "launch" / "params" / f"{name}.param.yaml").read_text())
    flat = {f"{group}.{key}": value
            for group, values in data[name]["ros__parameters"].items() for key, value in values.items()}
    module = __import__(STACK_NODES[name], fromlist=["main"])
    node_class = next(getattr(module, attr) for attr in dir(module)
                      if attr.endswith("Node") and attr not in ("Node",) and isinstance(getattr(module, attr), type))
    params = dict(flat, map_path=str(HIGHWAY_MAP)) if name in ("localization", "fusion", "behaviour") else flat
    if name == "fusion":
        params["rig_path"] = str(REPO / "sim" / "rigs" / "default.yaml")
    node = add_node(ros, node_class, **params)
    declared = {p for p in node._parameters
                if p not in ("use_sim_time", "map_path", "rig_path", "start_type_description_service")}
    assert declared == set(flat)
    for key, value in flat.items():
        assert node.get_parameter(key).value == value
