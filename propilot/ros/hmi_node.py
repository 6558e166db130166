"""HMI node: route-pilot engagement and what the display shows.

Subscribes /hmi/driver_input (DriverInput, queued), /planning/proposals (ProposalArray)
and /planning/route (Route), the latest of each shown, /system/fault (failed nodes), and, paired by stamp,
/localization/lane (LaneLocalization), /driver/monitor (DriverMonitor) and
/vehicle/status (VehicleStatus). Publishes /hmi/state (HmiState) once per cycle.
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from propilot_msgs.msg import (  # noqa: E402
    DriverInput,
    DriverMonitor,
    HmiState,
    LaneLocalization,
    ProposalArray,
    Route,
    VehicleStatus,
)
from rclpy.node import Node  # noqa: E402

from propilot.core.hmi.engagement import PilotHmi  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.conversions import (  # noqa: E402
    driver_input_from_msg,
    hmi_to_msg,
    lane_from_msg,
    monitor_from_msg,
    proposals_from_msg,
    route_from_msg,
    system_fault_from_msg,
    vehicle_status_from_msg,
)
from propilot.ros.node_common import StampSync, declare_settings, guarded, run_node  # noqa: E402
from propilot.stack import NODE_SETTINGS  # noqa: E402


class HmiNode(Node):
    def __init__(self, **kwargs):
        super().__init__("hmi", **kwargs)
        settings = declare_settings(self, NODE_SETTINGS["hmi"])
        self.hmi = PilotHmi(settings["hmi"])
        self.inputs = []
        self.proposals = ()
        self.route = None
        self.system_fault = ""  # what the supervisor says failed
        self.state_pub = self.create_publisher(HmiState, topics.HMI_STATE, topics.QOS)
        # Inputs first: a press and the cycle it belongs to are handled in that order.
        self.create_subscription(DriverInput, topics.DRIVER_INPUT, guarded(self, self.on_input), topics.QOS)
        self.create_subscription(ProposalArray, topics.PROPOSALS, guarded(self, self.on_proposals), topics.QOS)
        self.create_subscription(Route, topics.ROUTE, guarded(self, self.on_route), topics.QOS)
        self.create_subscription(DiagnosticArray, topics.SYSTEM_FAULT, guarded(self, self.on_system_fault), topics.QOS)
        StampSync(self, [(LaneLocalization, topics.LANE), (DriverMonitor, topics.DRIVER_MONITOR),
                         (VehicleStatus, topics.VEHICLE_STATUS)], self.on_cycle)

    def on_input(self, msg: DriverInput) -> None:
        self.inputs.append(driver_input_from_msg(msg))

    def on_proposals(self, msg: ProposalArray) -> None:
        self.proposals = proposals_from_msg(msg)  # the planner's last cycle, shown this cycle

    def on_route(self, msg: Route) -> None:
        self.route = route_from_msg(msg)

    def on_system_fault(self, msg: DiagnosticArray) -> None:
        self.system_fault = system_fault_from_msg(msg)

    def on_cycle(self, lane_msg: LaneLocalization, monitor_msg: DriverMonitor, status_msg: VehicleStatus) -> None:
        status = vehicle_status_from_msg(status_msg)
        due = [i for i in self.inputs if i.t_s <= status.t_s]
        self.inputs = [i for i in self.inputs if i.t_s > status.t_s]
        state = self.hmi.update(status.t_s, due, monitor_from_msg(monitor_msg), lane_from_msg(lane_msg),
                                status.speed_mps, status.brake_pedal, self.proposals, self.route,
                                system_fault=self.system_fault)
        self.state_pub.publish(hmi_to_msg(state))


def main(args: list[str] | None = None) -> int:
    return run_node(HmiNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
