"""Localisation node: GNSS fix + RTK state + vehicle status -> odometry and lane position.

Subscribes /sensing/gnss/fix (NavSatFix) and /sensing/gnss/rtk_status (RtkStatus), paired
by stamp, and /vehicle/status (VehicleStatus), which triggers one update.
Publishes /localization/odometry (Odometry) and /localization/lane (LaneLocalization).
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from nav_msgs.msg import Odometry  # noqa: E402
from propilot_msgs.msg import LaneLocalization, RtkStatus, VehicleStatus  # noqa: E402
from rclpy.node import Node  # noqa: E402
from sensor_msgs.msg import NavSatFix  # noqa: E402

from propilot.core.localization.ekf import Localizer  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.conversions import (  # noqa: E402
    ego_to_odometry,
    gnss_from_msgs,
    lane_to_msg,
    vehicle_status_from_msg,
)
from propilot.ros.node_common import StampSync, declare_map, declare_settings, guarded, run_node  # noqa: E402
from propilot.stack import NODE_SETTINGS  # noqa: E402


class LocalizationNode(Node):
    def __init__(self, **kwargs):
        super().__init__("localization", **kwargs)
        settings = declare_settings(self, NODE_SETTINGS["localization"])
        self.localizer = Localizer(settings["localizer"], declare_map(self))
        self.odometry_pub = self.create_publisher(Odometry, topics.ODOMETRY, topics.QOS)
        self.lane_pub = self.create_publisher(LaneLocalization, topics.LANE, topics.QOS)
        # GNSS first: when a fix and a status are both waiting, the fix is fused before the update.
        StampSync(self, [(NavSatFix, topics.GNSS_FIX), (RtkStatus, topics.GNSS_RTK)], self.on_gnss)
        self.create_subscription(VehicleStatus, topics.VEHICLE_STATUS, guarded(self, self.on_status), topics.QOS)

    def on_gnss(self, navsat: NavSatFix, rtk: RtkStatus) -> None:
        self.localizer.add_gnss(gnss_from_msgs(navsat, rtk))

    def on_status(self, msg: VehicleStatus) -> None:
        status = vehicle_status_from_msg(msg)
        ego, lane = self.localizer.update(status)
        self.odometry_pub.publish(ego_to_odometry(status.t_s, ego))
        self.lane_pub.publish(lane_to_msg(status.t_s, lane))


def main(args: list[str] | None = None) -> int:
    return run_node(LocalizationNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
