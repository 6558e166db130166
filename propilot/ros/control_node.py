"""Control node: plan + odometry + vehicle status (same stamp) -> supervised vehicle command.

Subscribes /planning/trajectory, /localization/odometry and /vehicle/status, paired by
stamp. Publishes /control/command (VehicleCommand) after the independent supervisor.
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from nav_msgs.msg import Odometry  # noqa: E402
from propilot_msgs.msg import Trajectory, VehicleCommand, VehicleStatus  # noqa: E402
from rclpy.node import Node  # noqa: E402

from propilot.core.control.controller import control  # noqa: E402
from propilot.core.control.supervisor import Supervisor  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.conversions import (  # noqa: E402
    command_to_msg,
    ego_from_odometry,
    plan_from_msg,
    vehicle_status_from_msg,
)
from propilot.ros.node_common import StampSync, declare_settings, run_node  # noqa: E402
from propilot.stack import NODE_SETTINGS  # noqa: E402


class ControlNode(Node):
    def __init__(self, **kwargs):
        super().__init__("control", **kwargs)
        self.settings = declare_settings(self, NODE_SETTINGS["control"])
        self.supervisor = Supervisor(self.settings["supervisor"])
        self.command_pub = self.create_publisher(VehicleCommand, topics.COMMAND, topics.QOS)
        StampSync(self, [(Trajectory, topics.TRAJECTORY), (Odometry, topics.ODOMETRY),
                         (VehicleStatus, topics.VEHICLE_STATUS)], self.on_cycle)

    def on_cycle(self, trajectory: Trajectory, odometry: Odometry, status_msg: VehicleStatus) -> None:
        plan = plan_from_msg(trajectory)
        status = vehicle_status_from_msg(status_msg)
        request = control(self.settings["acc"], self.settings["lateral"], plan, ego_from_odometry(odometry),
                          status)
        command = self.supervisor.filter(request, status.speed_mps, input_age_s=status.t_s - plan.t_s)
        self.command_pub.publish(command_to_msg(command))


def main(args: list[str] | None = None) -> int:
    return run_node(ControlNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
