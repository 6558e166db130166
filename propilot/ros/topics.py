"""Topic names, their message types and QoS: the stack's wiring in one table.

Every topic is reliable, transient-local, with a deep history for now: in simulation
the bridge waits for each cycle's command, so nothing may be dropped (not even while
late subscribers are still being matched) and both modes compute the same thing.
Best-effort sensor QoS and deadlines come with the in-vehicle runtime work.
"""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from propilot_msgs.msg import (
    DetectionArray,
    DriverInput,
    DriverMonitor,
    HmiState,
    LaneLineArray,
    LaneLocalization,
    ProposalArray,
    Route,
    RtkStatus,
    TrackedObjectArray,
    Trajectory,
    VehicleCommand,
    VehicleStatus,
)
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image, Imu, NavSatFix, Range

from propilot.core.fusion.rig import Rig
from propilot.core.types import SensorKind

GNSS_FIX = "/sensing/gnss/fix"
GNSS_RTK = "/sensing/gnss/rtk_status"
VEHICLE_STATUS = "/vehicle/status"
IMU = "/sensing/imu"
CAMERA_FRONT = "/sensing/camera/front/image"  # raw mono8, 10 Hz: not recorded
CAMERA_FRONT_COMPRESSED = "/sensing/camera/front/image/compressed"  # JPEG, recorded at a lower rate
LANE_LINES = "/perception/camera/lane_lines"
LOCALIZATION_DIAGNOSTICS = "/localization/diagnostics"
DRIVER_INPUT = "/hmi/driver_input"
DRIVER_MONITOR = "/driver/monitor"
ODOMETRY = "/localization/odometry"
LANE = "/localization/lane"
OBJECTS = "/perception/objects"
HMI_STATE = "/hmi/state"
TRAJECTORY = "/planning/trajectory"
PROPOSALS = "/planning/proposals"
ROUTE = "/planning/route"
COMMAND = "/control/command"

TYPES: dict[str, type] = {
    GNSS_FIX: NavSatFix,
    GNSS_RTK: RtkStatus,
    VEHICLE_STATUS: VehicleStatus,
    IMU: Imu,
    CAMERA_FRONT: Image,
    CAMERA_FRONT_COMPRESSED: CompressedImage,
    LANE_LINES: LaneLineArray,
    LOCALIZATION_DIAGNOSTICS: DiagnosticArray,
    DRIVER_INPUT: DriverInput,
    DRIVER_MONITOR: DriverMonitor,
    ODOMETRY: Odometry,
    LANE: LaneLocalization,
    OBJECTS: TrackedObjectArray,
    HMI_STATE: HmiState,
    TRAJECTORY: Trajectory,
    PROPOSALS: ProposalArray,
    ROUTE: Route,
    COMMAND: VehicleCommand,
}

# Who subscribes to what: the wiring the simulator bridge waits for before the first step.
SUBSCRIBERS: dict[str, tuple[str, ...]] = {
    GNSS_FIX: ("localization",),
    GNSS_RTK: ("localization",),
    VEHICLE_STATUS: ("localization", "hmi", "control"),
    IMU: ("localization",),
    CAMERA_FRONT: ("lane_detection",),
    LANE_LINES: ("localization", "sim_bridge"),
    DRIVER_INPUT: ("hmi",),
    DRIVER_MONITOR: ("hmi",),
    ODOMETRY: ("fusion", "behaviour", "control"),
    LANE: ("hmi", "behaviour"),
    OBJECTS: ("behaviour",),
    HMI_STATE: ("behaviour", "sim_bridge"),
    TRAJECTORY: ("control",),
    PROPOSALS: ("hmi",),
    ROUTE: ("hmi",),
    COMMAND: ("sim_bridge",),
}


# The sensors of the rig: one topic of detections each, and a sensor_msgs/Range per sonar (REP-117).
def detections_topic(kind: SensorKind, sensor_id: str) -> str:
    return f"/sensing/{kind.name.lower()}/{sensor_id}/detections"


def range_topic(sonar_id: str) -> str:
    return f"/sensing/sonar/{sonar_id}/range"


def sensor_types(rig: Rig) -> dict[str, type]:
    types: dict[str, type] = {detections_topic(s.kind, s.sensor_id): DetectionArray for s in rig.sensors}
    types.update({range_topic(s.sensor_id): Range for s in rig.sensors if s.kind == SensorKind.SONAR})
    return types


def sensor_subscribers(rig: Rig) -> dict[str, tuple[str, ...]]:
    """The fusion node takes every sensor's detections; the sonar ranges are for parking (no subscriber yet)."""
    return {detections_topic(s.kind, s.sensor_id): ("fusion",) for s in rig.sensors}


QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                 history=HistoryPolicy.KEEP_LAST, depth=100)
# Raw images: a short history (100 frames would hold 13 MB per endpoint); the simulator bridge waits
# for each frame's lane lines, so nothing queues up.
IMAGE_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                       history=HistoryPolicy.KEEP_LAST, depth=5)

# Raw camera images are too big to record at their rate; recordings take the compressed topic.
NOT_RECORDED = frozenset({CAMERA_FRONT})
IMAGE_RECORD_PERIOD_S = 0.2  # JPEG frames in run.mcap: 5 Hz
IMAGE_JPEG_QUALITY = 60
