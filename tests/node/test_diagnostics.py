"""Every node's health on real rclpy and DDS: heartbeat, /diagnostics, rejected messages reported."""

import pytest
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rosgraph_msgs.msg import Clock
from std_msgs.msg import Header

from propilot.core.types import EgoEstimate, Plan, Pose2D, VehicleStatus
from propilot.ros import conversions as conv
from propilot.ros import topics
from propilot.ros.control_node import ControlNode
from propilot.ros.node_common import NodeHealth
from tests.node.conftest import Probe, add_node

pytestmark = pytest.mark.ros


def control_status(array: DiagnosticArray) -> DiagnosticStatus | None:
    return next((s for s in array.status if s.hardware_id == "control"), None)


def values(status: DiagnosticStatus) -> dict[str, str]:
    return {kv.key: kv.value for kv in status.values}


def test_a_bad_plan_and_time_going_backwards_are_rejected_reported_and_the_node_keeps_answering(ros):
    node = add_node(ros, ControlNode, use_sim_time=True)  # its clock: the /clock the probe publishes
    NodeHealth(node)
    probe = Probe(*ros, listen=[topics.COMMAND])
    diagnostics, beats = [], []
    probe.node.create_subscription(DiagnosticArray, topics.DIAGNOSTICS, diagnostics.append, topics.DIAGNOSTICS_QOS)
    probe.node.create_subscription(Header, topics.HEARTBEAT, beats.append, topics.HEARTBEAT_QOS)
    clock = probe.node.create_publisher(Clock, "/clock", 10)
    probe.wait_for_subscribers(topics.TRAJECTORY, topics.ODOMETRY, topics.VEHICLE_STATUS)
    clock.publish(Clock(clock=conv.to_time(1.0)))

    now_s = [1.0]

    def spin() -> None:  # the clock moves on, so the node's timers (heartbeat, diagnostics each 1 s) run
        now_s[0] += 0.01
        clock.publish(Clock(clock=conv.to_time(now_s[0])))
        probe.executor.spin_once(timeout_sec=0.05)
    ego = EgoEstimate(0.0, Pose2D(0.0, 0.0, 0.0), 25.0, 0.0, 0.02)

    probe.publish(topics.TRAJECTORY, conv.plan_to_msg(Plan(1.0, True, (), target_speed_mps=float("nan"))))
    probe.publish(topics.VEHICLE_STATUS, conv.vehicle_status_to_msg(VehicleStatus(1.0, 25.0)))
    probe.publish(topics.VEHICLE_STATUS, conv.vehicle_status_to_msg(VehicleStatus(0.5, 25.0)))  # time backwards
    reported = []
    for _ in range(300):  # 15 s at most
        spin()
        reported = [s for a in diagnostics if (s := control_status(a)) is not None
                    and int(values(s).get(f"{topics.VEHICLE_STATUS} rejected", "0")) >= 1
                    and int(values(s).get(f"{topics.TRAJECTORY} rejected", "0")) >= 1]
        if reported:
            break
    assert reported, f"no diagnostic reporting both rejections: {diagnostics[-1:]}"
    status = reported[-1]
    assert status.level != DiagnosticStatus.OK  # WARN for the rejections (STALE too: no odometry yet)
    assert f"1 rejected on {topics.TRAJECTORY} in the last" in status.message
    assert "target_speed_mps" in values(status)[f"{topics.TRAJECTORY} last_rejection"]
    assert "went backwards" in values(status)[f"{topics.VEHICLE_STATUS} last_rejection"]
    assert any(b.frame_id == "control" for b in beats), "heartbeat"

    # still answering: a good cycle gets its command
    t_s = now_s[0] + 0.05
    for topic, msg in ((topics.TRAJECTORY, conv.plan_to_msg(Plan(t_s, True, (), target_speed_mps=25.0))),
                       (topics.ODOMETRY, conv.ego_to_odometry(t_s, ego)),
                       (topics.VEHICLE_STATUS, conv.vehicle_status_to_msg(VehicleStatus(t_s, 25.0)))):
        probe.publish(topic, msg)
    answered = []
    for _ in range(100):
        spin()
        if answered := [c for c in probe.received[topics.COMMAND] if conv.stamp_ns(c.header.stamp)
                        == conv.stamp_ns(conv.to_time(t_s))]:
            break
    assert answered
