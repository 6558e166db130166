"""Topic names, their message types and QoS: the stack's wiring in one table.

In: a topic name. Out: its message type (`TYPES`), its QoS (`qos(name)`), its nominal rate
(`NOMINAL_RATE_HZ`, for diagnostics and `propilot doctor`). The QoS choices per topic and why
are in docs/runtime.md: sensor data best effort (a late sample is worth less than the next),
state, plans and commands reliable with an offered deadline (freshness matters), driver input,
proposals and events reliable without deadline (every one counts).
"""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from propilot_msgs.msg import (
    DetectionArray,
    DriverInput,
    DriverMonitor,
    FobCommand,
    HmiState,
    LaneLineArray,
    LaneLocalization,
    ParkingState,
    ProposalArray,
    Route,
    RtkStatus,
    TrackedObjectArray,
    Trajectory,
    VehicleCommand,
    VehicleStatus,
)
from rclpy.duration import Duration
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image, Imu, NavSatFix, Range
from std_msgs.msg import Header

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
DIAGNOSTICS = "/diagnostics"  # every node: status, input rates and ages, rejected messages (REP-107)
HEARTBEAT = "/system/heartbeat"  # every node, 20 Hz: frame_id = node name, stamp = node clock
SYSTEM_FAULT = "/system/fault"  # the supervisor: nodes that fell silent (empty message = none)
PARKING_FOB = "/parking/fob"  # remote park: authenticated key-fob packets (FobCommand)
PARKING_STATE = "/parking/state"  # remote park: what it does and why it stopped (ParkingState)

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
    DIAGNOSTICS: DiagnosticArray,
    HEARTBEAT: Header,
    SYSTEM_FAULT: DiagnosticArray,
    PARKING_FOB: FobCommand,
    PARKING_STATE: ParkingState,
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
    """The fusion node takes every sensor's detections (the sonar ranges go to the parking node, see parking_node)."""
    return {detections_topic(s.kind, s.sensor_id): ("fusion",) for s in rig.sensors}


# Reliable, transient-local, deep history: what the stack's own state, plans and commands use, and
# what a tool that wants every message subscribes with (it matches every profile below).
QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                 history=HistoryPolicy.KEEP_LAST, depth=100)
# Sensor data: best effort, volatile (a stale sample is worth less than the next one; matches the
# best-effort drivers of real sensors). Deep history: the simulator publishes a step's samples in a burst.
SENSOR_QOS = QoSProfile(reliability=ReliabilityPolicy.BEST_EFFORT, durability=DurabilityPolicy.VOLATILE,
                        history=HistoryPolicy.KEEP_LAST, depth=100)
# Raw images: best effort, a short history (100 frames would hold 13 MB per endpoint).
IMAGE_QOS = QoSProfile(reliability=ReliabilityPolicy.BEST_EFFORT, durability=DurabilityPolicy.VOLATILE,
                       history=HistoryPolicy.KEEP_LAST, depth=5)
# Heartbeats: best effort, latest only; a lost beat is covered by the monitor's timeout (3 periods).
HEARTBEAT_QOS = QoSProfile(reliability=ReliabilityPolicy.BEST_EFFORT, durability=DurabilityPolicy.VOLATILE,
                           history=HistoryPolicy.KEEP_LAST, depth=10)
# /diagnostics: reliable and volatile, as diagnostic_aggregator and rqt expect.
DIAGNOSTICS_QOS = QoSProfile(reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE,
                             history=HistoryPolicy.KEEP_LAST, depth=100)

SENSOR_TOPICS = frozenset({GNSS_FIX, GNSS_RTK, IMU, CAMERA_FRONT_COMPRESSED})
# Freshness matters: publishers offer a deadline of two control periods; a miss is counted in the
# publisher's /diagnostics. Subscribers request none (tools with default QoS still match) and judge
# freshness by the header stamps against their clock (the supervisor's stale-input check).
DEADLINE_S: dict[str, float] = {VEHICLE_STATUS: 0.1, DRIVER_MONITOR: 0.1, ODOMETRY: 0.1, LANE: 0.1,
                                OBJECTS: 0.1, HMI_STATE: 0.1, TRAJECTORY: 0.1, COMMAND: 0.1}


def is_sensor_topic(name: str) -> bool:
    return name in SENSOR_TOPICS or name.startswith(("/sensing/radar/", "/sensing/camera/", "/sensing/sonar/"))


def qos(name: str, publisher: bool = False) -> QoSProfile:
    """The QoS of a topic; a publisher's profile carries the offered deadline where freshness matters."""
    if name == CAMERA_FRONT:
        return IMAGE_QOS
    if name == HEARTBEAT:
        return HEARTBEAT_QOS
    if name == DIAGNOSTICS:
        return DIAGNOSTICS_QOS
    if is_sensor_topic(name):
        return SENSOR_QOS
    if publisher and name in DEADLINE_S:
        return QoSProfile(reliability=QOS.reliability, durability=QOS.durability, history=QOS.history,
                          depth=QOS.depth, deadline=Duration(seconds=DEADLINE_S[name]))
    return QOS


# What each topic carries per second when the stack runs at its nominal rates (None: on events only).
NOMINAL_RATE_HZ: dict[str, float | None] = {
    GNSS_FIX: 10.0, GNSS_RTK: 10.0, VEHICLE_STATUS: 20.0, IMU: 100.0, CAMERA_FRONT: 10.0,
    CAMERA_FRONT_COMPRESSED: 5.0, LANE_LINES: 10.0, LOCALIZATION_DIAGNOSTICS: 20.0, DRIVER_INPUT: None,
    DRIVER_MONITOR: 20.0, ODOMETRY: 20.0, LANE: 20.0, OBJECTS: 20.0, HMI_STATE: 20.0, TRAJECTORY: 20.0,
    PROPOSALS: 20.0, ROUTE: 20.0, COMMAND: 20.0, DIAGNOSTICS: None, HEARTBEAT: None, SYSTEM_FAULT: None,
    PARKING_FOB: None, PARKING_STATE: None,  # remote park runs on demand, not all the time
}
HEARTBEAT_PERIOD_S = 0.05

# Raw camera images are too big to record at their rate; recordings take the compressed topic.
NOT_RECORDED = frozenset({CAMERA_FRONT, HEARTBEAT})  # heartbeats: /diagnostics says the same
IMAGE_RECORD_PERIOD_S = 0.2  # JPEG frames in run.mcap: 5 Hz
IMAGE_JPEG_QUALITY = 60
