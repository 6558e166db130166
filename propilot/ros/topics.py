"""Topic names, their message types and QoS: the stack's wiring in one table.

Every topic is reliable, transient-local, with a deep history for now: in simulation
the bridge waits for each cycle's command, so nothing may be dropped (not even while
late subscribers are still being matched) and both modes compute the same thing.
Best-effort sensor QoS and deadlines come with the in-vehicle runtime work.
"""

from __future__ import annotations

from nav_msgs.msg import Odometry
from propilot_msgs.msg import (
    DetectionArray,
    DriverInput,
    DriverMonitor,
    HmiState,
    LaneLocalization,
    ProposalArray,
    RtkStatus,
    TrackedObjectArray,
    Trajectory,
    VehicleCommand,
    VehicleStatus,
)
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import NavSatFix

GNSS_FIX = "/sensing/gnss/fix"
GNSS_RTK = "/sensing/gnss/rtk_status"
VEHICLE_STATUS = "/vehicle/status"
RADAR_FRONT = "/sensing/radar/front/detections"
DRIVER_INPUT = "/hmi/driver_input"
DRIVER_MONITOR = "/driver/monitor"
ODOMETRY = "/localization/odometry"
LANE = "/localization/lane"
OBJECTS = "/perception/objects"
HMI_STATE = "/hmi/state"
TRAJECTORY = "/planning/trajectory"
PROPOSALS = "/planning/proposals"
COMMAND = "/control/command"

TYPES: dict[str, type] = {
    GNSS_FIX: NavSatFix,
    GNSS_RTK: RtkStatus,
    VEHICLE_STATUS: VehicleStatus,
    RADAR_FRONT: DetectionArray,
    DRIVER_INPUT: DriverInput,
    DRIVER_MONITOR: DriverMonitor,
    ODOMETRY: Odometry,
    LANE: LaneLocalization,
    OBJECTS: TrackedObjectArray,
    HMI_STATE: HmiState,
    TRAJECTORY: Trajectory,
    PROPOSALS: ProposalArray,
    COMMAND: VehicleCommand,
}

# Who subscribes to what: the wiring the simulator bridge waits for before the first step.
SUBSCRIBERS: dict[str, tuple[str, ...]] = {
    GNSS_FIX: ("localization",),
    GNSS_RTK: ("localization",),
    VEHICLE_STATUS: ("localization", "hmi", "control"),
    RADAR_FRONT: ("fusion",),
    DRIVER_INPUT: ("hmi",),
    DRIVER_MONITOR: ("hmi",),
    ODOMETRY: ("fusion", "behaviour", "control"),
    LANE: ("hmi", "behaviour"),
    OBJECTS: ("behaviour",),
    HMI_STATE: ("behaviour", "sim_bridge"),
    TRAJECTORY: ("control",),
    PROPOSALS: ("hmi",),
    COMMAND: ("sim_bridge",),
}

QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                 history=HistoryPolicy.KEEP_LAST, depth=100)
