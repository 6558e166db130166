"""Behaviour node: ego, lane, objects and HMI state (same stamp) -> the plan for control.

Subscribes /localization/odometry, /localization/lane, /perception/objects and
/hmi/state, paired by stamp. Publishes /planning/proposals (ProposalArray), /planning/route
(Route: where the ego is on the navigation route, events ahead) and /planning/trajectory.
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from nav_msgs.msg import Odometry  # noqa: E402
from propilot_msgs.msg import (  # noqa: E402
    HmiState,
    LaneLocalization,
    ProposalArray,
    Route,
    TrackedObjectArray,
    Trajectory,
)
from rclpy.node import Node  # noqa: E402

from propilot.core.planning.behaviour import BehaviourPlanner  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.conversions import (  # noqa: E402
    ego_from_odometry,
    hmi_from_msg,
    lane_from_msg,
    plan_to_msg,
    proposals_to_msg,
    route_to_msg,
    tracks_from_msg,
)
from propilot.ros.node_common import StampSync, declare_map, declare_settings, publisher, run_node  # noqa: E402
from propilot.stack import NODE_SETTINGS  # noqa: E402


class BehaviourNode(Node):
    def __init__(self, **kwargs):
        super().__init__("behaviour", **kwargs)
        settings = declare_settings(self, NODE_SETTINGS["behaviour"])
        self.planner = BehaviourPlanner(settings["planner"], settings["lane_change"], settings["safety"],
                                        declare_map(self))
        self.plan_pub = publisher(self, Trajectory, topics.TRAJECTORY)
        self.proposals_pub = publisher(self, ProposalArray, topics.PROPOSALS)
        self.route_pub = publisher(self, Route, topics.ROUTE)
        StampSync(self, [(Odometry, topics.ODOMETRY), (LaneLocalization, topics.LANE),
                         (TrackedObjectArray, topics.OBJECTS), (HmiState, topics.HMI_STATE)], self.on_cycle)

    def on_cycle(self, odometry: Odometry, lane: LaneLocalization, objects: TrackedObjectArray,
                 hmi: HmiState) -> None:
        plan = self.planner.plan(ego_from_odometry(odometry), lane_from_msg(lane), tracks_from_msg(objects),
                                 hmi_from_msg(hmi))
        # First: the HMI shows the proposals and the route next cycle.
        self.proposals_pub.publish(proposals_to_msg(plan.t_s, plan.proposals))
        self.route_pub.publish(route_to_msg(plan.t_s, plan.route))
        self.plan_pub.publish(plan_to_msg(plan))


def main(args: list[str] | None = None) -> int:
    return run_node(BehaviourNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
