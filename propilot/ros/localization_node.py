"""Localisation node: GNSS, IMU, wheel speed and camera lane lines -> odometry and lane position.

Subscribes /sensing/gnss/fix (NavSatFix) and /sensing/gnss/rtk_status (RtkStatus), paired by
stamp; /sensing/imu (Imu, 100 Hz) and /perception/camera/lane_lines (LaneLineArray), buffered;
and /vehicle/status (VehicleStatus: the wheel speed), which triggers one update fusing all
that arrived up to its stamp, in time order. Once IMU samples come in, a status waits for the
IMU sample of its own stamp or later: the executor takes one message per subscription per
round, so a cycle's five samples may still be queued when its status is taken, and the
update must see them all (the same inputs in the same order as lockstep mode).
Publishes /localization/odometry (Odometry), /localization/lane (LaneLocalization: lanelet,
offset, lane-level or not and why) and /localization/diagnostics (DiagnosticArray: what was
fused and what was refused, by reason), each once per update.
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from nav_msgs.msg import Odometry  # noqa: E402
from propilot_msgs.msg import LaneLineArray, LaneLocalization, RtkStatus, VehicleStatus  # noqa: E402
from rclpy.node import Node  # noqa: E402
from sensor_msgs.msg import Imu, NavSatFix  # noqa: E402

from propilot.core.localization.ekf import Localizer  # noqa: E402
from propilot.core.types import VehicleStatus as Status  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.conversions import (  # noqa: E402
    ego_to_odometry,
    gnss_from_msgs,
    imu_from_msg,
    lane_lines_from_msg,
    lane_to_msg,
    localizer_diagnostics,
    vehicle_status_from_msg,
)
from propilot.ros.node_common import (  # noqa: E402
    StampSync,
    declare_map,
    declare_settings,
    publisher,
    run_node,
    subscribe,
)
from propilot.stack import NODE_SETTINGS  # noqa: E402


class LocalizationNode(Node):
    def __init__(self, **kwargs):
        super().__init__("localization", **kwargs)
        settings = declare_settings(self, NODE_SETTINGS["localization"])
        self.localizer = Localizer(settings["localizer"], declare_map(self))
        self.waiting: list[Status] = []  # statuses whose IMU samples are not all in yet
        self.imu_until_s: float | None = None  # stamp of the newest IMU sample taken
        self.odometry_pub = publisher(self, Odometry, topics.ODOMETRY)
        self.lane_pub = publisher(self, LaneLocalization, topics.LANE)
        self.diagnostics_pub = publisher(self, DiagnosticArray, topics.LOCALIZATION_DIAGNOSTICS)
        # Measurements first: when they and a status are both waiting, they are buffered before the update.
        StampSync(self, [(NavSatFix, topics.GNSS_FIX), (RtkStatus, topics.GNSS_RTK)], self.on_gnss)
        subscribe(self, Imu, topics.IMU, self.on_imu)
        subscribe(self, LaneLineArray, topics.LANE_LINES, self.on_lane_lines)
        subscribe(self, VehicleStatus, topics.VEHICLE_STATUS, self.on_status)

    def on_gnss(self, navsat: NavSatFix, rtk: RtkStatus) -> None:
        self.localizer.add_gnss(gnss_from_msgs(navsat, rtk))

    def on_imu(self, msg: Imu) -> None:
        sample = imu_from_msg(msg)
        self.localizer.add_imu(sample)
        self.imu_until_s = sample.t_s if self.imu_until_s is None else max(self.imu_until_s, sample.t_s)
        self.run_due()

    def on_lane_lines(self, msg: LaneLineArray) -> None:
        self.localizer.add_lane_lines(lane_lines_from_msg(msg))

    def on_status(self, msg: VehicleStatus) -> None:
        self.waiting.append(vehicle_status_from_msg(msg))
        self.run_due()

    def run_due(self) -> None:
        """Update for every waiting status whose IMU samples are in (all, without an IMU), and for
        one that newer statuses have overtaken by more than the IMU timeout (the IMU fell silent)."""
        timeout_s = self.localizer.settings.imu_timeout_s
        while self.waiting:
            status = self.waiting[0]
            imu_in = self.imu_until_s is None or self.imu_until_s >= status.t_s - 1e-9
            if not imu_in and self.waiting[-1].t_s - status.t_s <= timeout_s:
                return
            self.waiting.pop(0)
            self.update(status)

    def update(self, status: Status) -> None:
        ego, lane = self.localizer.update(status)
        self.odometry_pub.publish(ego_to_odometry(status.t_s, ego))
        self.lane_pub.publish(lane_to_msg(status.t_s, lane))
        self.diagnostics_pub.publish(localizer_diagnostics(status.t_s, self.localizer.stats.as_dict(), lane))


def main(args: list[str] | None = None) -> int:
    return run_node(LocalizationNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
