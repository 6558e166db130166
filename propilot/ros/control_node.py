"""Control node: plan + odometry + vehicle status (same stamp) -> supervised vehicle command.

Subscribes /planning/trajectory, /localization/odometry and /vehicle/status, paired by
stamp, and /system/heartbeat (every node's heartbeat). Publishes /control/command
(VehicleCommand) after the independent supervisor, and /system/fault (DiagnosticArray: the
nodes that fell silent, an empty array once none is). The supervisor judges the inputs'
age by their stamps against this node's clock (simulation time under the simulator). Every
20 ms a check on the node clock notices a node whose heartbeat stopped (crash or hang,
`supervisor.heartbeat_timeout_s`); every control period, when the cycle no longer completes (a
node upstream is gone), the node commands from the newest inputs it has: a stop in lane while the pilot was
driving, until the driver brakes.
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from dataclasses import replace  # noqa: E402

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402
from propilot_msgs.msg import Trajectory, VehicleCommand, VehicleStatus  # noqa: E402
from rclpy.node import Node  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from propilot.core.control.controller import control  # noqa: E402
from propilot.core.control.supervisor import HeartbeatMonitor, Supervisor  # noqa: E402
from propilot.core.hmi.engagement import BRAKE_OVERRIDE  # noqa: E402
from propilot.core.types import CommandMode, Plan  # noqa: E402
from propilot.core.types import VehicleCommand as Command  # noqa: E402
from propilot.core.types import VehicleStatus as Status  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.conversions import (  # noqa: E402
    command_to_msg,
    ego_from_odometry,
    plan_from_msg,
    system_fault_to_msg,
    vehicle_status_from_msg,
)
from propilot.ros.node_common import (  # noqa: E402
    ERROR,
    OK,
    StampSync,
    declare_settings,
    publisher,
    run_node,
    subscribe,
)
from propilot.stack import NODE_SETTINGS  # noqa: E402

# The nodes whose failure stops route driving (the recorder's does not).
MONITORED_NODES = ("lane_detection", "localization", "fusion", "hmi", "behaviour")
# Heartbeats are judged this often: a failure is seen within heartbeat_timeout_s + this (0.15 + 0.02 s).
FAULT_CHECK_PERIOD_S = 0.02


class ControlNode(Node):
    def __init__(self, **kwargs):
        super().__init__("control", **kwargs)
        self.settings = declare_settings(self, NODE_SETTINGS["control"])
        supervisor = self.settings["supervisor"]
        self.supervisor = Supervisor(supervisor)
        self.monitor = HeartbeatMonitor(supervisor.heartbeat_timeout_s, MONITORED_NODES)
        self.faults: tuple[str, ...] = ()
        self.plan: Plan | None = None  # the newest of each input, for a cycle that cannot complete
        self.odometry: Odometry | None = None
        self.status: Status | None = None
        self.commanded_s = -float("inf")  # stamp of the last command published
        self.checked_s = -float("inf")  # node clock at the last check
        self.command_pub = publisher(self, VehicleCommand, topics.COMMAND)
        self.fault_pub = publisher(self, DiagnosticArray, topics.SYSTEM_FAULT)
        StampSync(self, [(Trajectory, topics.TRAJECTORY), (Odometry, topics.ODOMETRY),
                         (VehicleStatus, topics.VEHICLE_STATUS)], self.on_cycle)
        subscribe(self, Trajectory, topics.TRAJECTORY, self.on_trajectory)
        subscribe(self, Odometry, topics.ODOMETRY, self.on_odometry)
        subscribe(self, VehicleStatus, topics.VEHICLE_STATUS, self.on_status)
        subscribe(self, Header, topics.HEARTBEAT, self.on_heartbeat)
        self.create_timer(supervisor.control_period_s, self.check)
        self.create_timer(FAULT_CHECK_PERIOD_S, self.check_faults)

    def now_s(self) -> float:
        return self.get_clock().now().nanoseconds / 1e9

    def on_trajectory(self, msg: Trajectory) -> None:
        self.plan = plan_from_msg(msg)

    def on_odometry(self, msg: Odometry) -> None:
        self.odometry = msg

    def on_status(self, msg: VehicleStatus) -> None:
        self.status = vehicle_status_from_msg(msg)

    def on_heartbeat(self, msg: Header) -> None:
        self.monitor.beat(msg.frame_id, self.now_s())

    def on_cycle(self, trajectory: Trajectory, odometry: Odometry, status_msg: VehicleStatus) -> None:
        plan = plan_from_msg(trajectory)
        status = vehicle_status_from_msg(status_msg)
        ego = ego_from_odometry(odometry)
        request = control(self.settings["acc"], self.settings["lateral"], plan, ego, status)
        self.publish(request, status, oldest_s=min(plan.t_s, status.t_s, ego.t_s if ego else status.t_s))

    def publish(self, request: Command, status: Status, oldest_s: float) -> None:
        age_s = max(0.0, self.now_s() - oldest_s)  # a clock not started yet (simulation time 0) is no age
        command = self.supervisor.filter(request, status.speed_mps, input_age_s=age_s, faults=self.faults,
                                         driver_braking=status.brake_pedal > BRAKE_OVERRIDE)
        self.commanded_s = max(self.commanded_s, status.t_s)
        self.command_pub.publish(command_to_msg(replace(command, t_s=status.t_s)))

    def check_faults(self) -> None:
        """Every FAULT_CHECK_PERIOD_S: which nodes fell silent; /system/fault when that changes."""
        now_s = self.now_s()
        late = now_s - self.checked_s > 2.0 * FAULT_CHECK_PERIOD_S
        self.checked_s = now_s
        # A check that ran late (this node was starved) does not judge: heartbeats queued meanwhile go first.
        faults = self.faults if late else self.monitor.silent(now_s)
        if faults != self.faults:
            self.faults = faults
            self.publish_faults(now_s)
            if faults:
                self.get_logger().error(f"system fault: {', '.join(faults)} silent")

    def check(self) -> None:
        """Each control period: a command when the cycle did not complete in time (or a node failed)."""
        now_s = self.now_s()
        faults = self.faults
        status = self.status
        if status is None or status.t_s <= self.commanded_s:
            return
        waited_s = now_s - status.t_s
        if not faults and waited_s <= self.settings["supervisor"].max_input_age_s:
            return
        plan = self.plan or Plan(t_s=status.t_s, active=False)
        ego = ego_from_odometry(self.odometry) if self.odometry is not None else None
        request = control(self.settings["acc"], self.settings["lateral"], plan, ego, status)
        if request.mode == CommandMode.MANUAL and plan.active:
            request = replace(request, mode=plan.mode)  # no estimate: hold the curvature, the supervisor stops
        oldest_s = min(plan.t_s, status.t_s, ego.t_s if ego is not None else -float("inf"))
        self.publish(request, status, oldest_s)

    def publish_faults(self, now_s: float) -> None:
        silent = {node: self.monitor.last_beat_s[node] for node in self.faults}
        self.fault_pub.publish(system_fault_to_msg(now_s, silent))

    def health_report(self) -> tuple[int, str, list[tuple[str, str]]]:
        """The supervisor's part of /diagnostics: which nodes failed and what it does about it."""
        state = ("driver in control" if self.supervisor.driver_took_over else "stopping in lane") if self.faults \
            else "nominal"
        values = [("supervisor_state", state), ("failed_nodes", ",".join(self.faults)),
                  ("heard_nodes", ",".join(sorted(self.monitor.last_beat_s)))]
        if self.faults:
            return ERROR, f"system fault: {', '.join(self.faults)} silent ({state})", values
        return OK, "", values


def main(args: list[str] | None = None) -> int:
    return run_node(ControlNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
