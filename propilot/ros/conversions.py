"""The one place where ROS messages and core types are converted.

In: propilot_msgs / standard messages or core dataclasses. Out: the other side.
Message stamps carry the core `t_s` (simulation or vehicle time). Conversions
from messages validate what they read (finite and plausible numbers, known enum
values, well-formed arrays, frame ids, stamps) and raise `MessageError` (message,
field and reason) so a node can drop one bad message and keep running; the only
non-finite values that reach the core are the meanings in `NOT_FINITE_ALLOWED`.
`StampOrder` detects time going backwards per topic (every node's NodeHealth uses it). See docs/robustness.md.
"""

from __future__ import annotations

import math
import re

import cv2
import numpy as np
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Point, Quaternion, Vector3
from nav_msgs.msg import Odometry
from propilot_msgs.msg import (
    Detection as DetectionMsg,
)
from propilot_msgs.msg import (
    DetectionArray,
    DriverMonitor,
    FobCommand,
    LaneLineArray,
    LaneLocalization,
    ParkingState,
    ProposalArray,
    RtkStatus,
    TrackedObject,
    TrackedObjectArray,
    Trajectory,
    TrajectoryPoint,
)
from propilot_msgs.msg import (
    DriverInput as DriverInputMsg,
)
from propilot_msgs.msg import (
    HmiState as HmiStateMsg,
)
from propilot_msgs.msg import (
    LaneLine as LaneLineMsg,
)
from propilot_msgs.msg import (
    Proposal as ProposalMsg,
)
from propilot_msgs.msg import (
    Route as RouteMsg,
)
from propilot_msgs.msg import (
    RouteEvent as RouteEventMsg,
)
from propilot_msgs.msg import (
    VehicleCommand as VehicleCommandMsg,
)
from propilot_msgs.msg import (
    VehicleStatus as VehicleStatusMsg,
)
from sensor_msgs.msg import CompressedImage, Image, Imu, NavSatFix, NavSatStatus, Range
from std_msgs.msg import Header

from propilot.core.fusion.rig import Sensor
from propilot.core.parking.types import (
    FobCommandKind,
    FobPacket,
    Gear,
    ParkingCommand,
    ParkingStatus,
    ParkState,
    SonarReading,
    VehicleMotion,
)
from propilot.core.types import (
    CameraImage,
    CommandMode,
    Detection,
    DetectionFrame,
    DriverEvent,
    DriverInput,
    DriverMonitorReading,
    EgoEstimate,
    GnssFix,
    HmiState,
    ImuSample,
    LaneLine,
    LaneLineFrame,
    LaneLineSide,
    LaneLineType,
    LanePosition,
    LaneSource,
    ObjectClass,
    PathPoint,
    PilotState,
    Plan,
    Pose2D,
    Proposal,
    ProposalKind,
    ProposalState,
    RouteNotice,
    RouteStatus,
    RtkState,
    SensorKind,
    Track,
    TurnSignal,
    VehicleCommand,
    VehicleStatus,
    WarningLevel,
)

MAP_FRAME = "map"
BASE_FRAME = "base_link"
GNSS_FRAME = "gnss_link"
_CAMERA_ID = re.compile(r"^[a-z][a-z0-9_]*$")  # as sensor ids of the rig


# Plausibility limits of what a message may say: beyond them a value is a fault, not a measurement.
MAX_SPEED_MPS = 100.0  # 360 km/h, beyond any road car's top speed
MAX_ACCEL_MPS2 = 50.0  # 5 g, beyond what tyres can transmit
MAX_YAW_RATE_RPS = 10.0  # 570 deg/s, beyond any vehicle's motion on a road
MAX_ROAD_WHEEL_ANGLE_RAD = 1.0  # 57 deg, beyond any car's steering lock (about 40 deg)
MAX_STEERING_TORQUE_NM = 100.0  # several times what a driver can apply to the wheel
MAX_CURVATURE_1PM = 1.0  # 1 m radius, tighter than any car turns (about 0.2 1/m at full lock)
MAX_POSITION_M = 1.0e7  # 10,000 km from the map origin: no map frame reaches that far
MAX_RANGE_M = 1000.0  # beyond every sensor of the rig (longest: 400 m)
MAX_TIME_GAP_S = 10.0  # ACC time gaps are 0.8-2.2 s (ISO 15622)
IMU_FULL_SCALE_ACCEL_MPS2 = 160.0  # 16 g, the largest range of automotive MEMS IMUs
IMU_FULL_SCALE_RATE_RPS = 35.0  # 2000 deg/s, likewise
NANOSECONDS_PER_SECOND = 1_000_000_000

# Core fields where a non-finite value has a meaning the core handles: (core type, field) ->
# (the one non-finite value allowed, its meaning). Every other NaN or infinity in a message is refused.
NOT_FINITE_ALLOWED: dict[tuple[str, str], tuple[str, str]] = {
    ("GnssFix", "latitude_deg"): ("nan", "no fix"),
    ("GnssFix", "longitude_deg"): ("nan", "no fix"),
    ("GnssFix", "sigma_m"): ("+inf", "no fix"),
    ("Detection", "range_rate_mps"): ("nan", "not measured (cameras, sonars)"),
    ("Track", "gap_m"): ("nan", "the object's lane is not known"),
    ("Track", "relative_speed_mps"): ("nan", "the object's lane is not known"),
    ("Proposal", "critical_margin_m"): ("+inf", "no vehicle approaching in the target lane"),
    ("Proposal", "last_point_m"): ("+inf", "no point after which the manoeuvre is impossible"),
    ("RouteNotice", "value"): ("nan", "an event without a value (all but speed_limit)"),
    ("Plan", "lead_gap_m"): ("+inf", "no lead vehicle"),
    ("HmiState", "lead_gap_m"): ("+inf", "no lead vehicle"),
    ("FobPacket", "distance_m"): ("+inf", "the operator's distance could not be measured"),
    ("SonarReading", "range_m"): ("+inf", "no echo (REP-117)"),
    ("ParkingStatus", "min_clearance_m"): ("+inf", "no sonar echo"),
}


class MessageError(ValueError):
    """A message that cannot be used: which message (or topic), which field, and why.

    The one error type of every conversion from a message to a core type. Raised for NaN or
    infinite numbers (except the meanings listed in NOT_FINITE_ALLOWED), values outside their
    range, unknown enum values, malformed arrays, images and stamps, wrong frame ids, and (by
    `StampOrder`) time going backwards on a topic. A node drops the message and keeps running
    (`node_common.guarded`); its diagnostics report `message_type`, `field_name` and `reason`.
    Nothing of a refused message reaches the core.
    """

    def __init__(self, message_type: str, field_name: str, reason: str):
        self.message_type = message_type
        self.field_name = field_name
        self.reason = reason
        super().__init__(f"{message_type}.{field_name}: {reason}")


def _number(message_type: str, field_name: str, value: float, low: float = -math.inf, high: float = math.inf,
            allow: str = "") -> float:
    """value if finite and in [low, high]; allow="nan" or "+inf" lets that non-finite meaning through."""
    if math.isnan(value):
        if allow == "nan":
            return value
        raise MessageError(message_type, field_name, "not a number (NaN)")
    if math.isinf(value):
        if allow == "+inf" and value > 0.0:
            return value
        raise MessageError(message_type, field_name, f"infinite ({value})")
    if not low <= value <= high:
        raise MessageError(message_type, field_name, f"{value} is outside [{low:g}, {high:g}]")
    return value


def _finite(message_type: str, **values: float) -> None:
    for name, value in values.items():
        _number(message_type, name, value)


def _enum(enum: type, value: int, message_type: str, field_name: str):
    try:
        return enum(value)
    except ValueError:
        raise MessageError(message_type, field_name, f"unknown value {value}") from None


def _stamp_s(message_type: str, head: Header, frame_id: str | None) -> float:
    """The header's time in seconds, after checking the stamp and (unless None) the frame id."""
    if frame_id is not None and head.frame_id != frame_id:
        raise MessageError(message_type, "header.frame_id", f"{head.frame_id!r}, expected {frame_id!r}")
    if head.stamp.nanosec >= NANOSECONDS_PER_SECOND:
        raise MessageError(message_type, "header.stamp.nanosec", f"{head.stamp.nanosec} is not below 1e9")
    return from_time(head.stamp)


class StampOrder:
    """Time going backwards, per topic: refuses a message stamped before the last one accepted.

    In: each message's topic and header, as it arrives. Out: nothing, or `MessageError(topic,
    "header.stamp", reason)`. Equal stamps pass (the messages of one cycle share a stamp). A node
    keeps one and calls `check` before converting a message; `forget` starts a topic afresh
    (e.g. after a simulation restart).
    """

    def __init__(self) -> None:
        self._last_ns: dict[str, int] = {}

    def check(self, topic: str, head: Header) -> None:
        now_ns = stamp_ns(head.stamp)
        last_ns = self._last_ns.get(topic)
        if last_ns is not None and now_ns < last_ns:
            raise MessageError(topic, "header.stamp", f"time went backwards by {(last_ns - now_ns) * 1e-9:.9f} s "
                                                      f"(to {now_ns * 1e-9:.9f} s)")
        self._last_ns[topic] = now_ns

    def forget(self, topic: str) -> None:
        self._last_ns.pop(topic, None)


def to_time(t_s: float) -> Time:
    ns = int(round(t_s * 1e9))
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def from_time(stamp: Time) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def stamp_ns(stamp: Time) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def header(t_s: float, frame_id: str = BASE_FRAME) -> Header:
    return Header(stamp=to_time(t_s), frame_id=frame_id)


def yaw_to_quaternion(yaw: float) -> Quaternion:
    return Quaternion(x=0.0, y=0.0, z=math.sin(yaw / 2.0), w=math.cos(yaw / 2.0))


def quaternion_to_yaw(q: Quaternion) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


# --- vehicle ---------------------------------------------------------------------------------------

def vehicle_status_to_msg(status: VehicleStatus) -> VehicleStatusMsg:
    return VehicleStatusMsg(
        header=header(status.t_s), speed_mps=status.speed_mps, accel_mps2=status.accel_mps2,
        yaw_rate_rps=status.yaw_rate_rps, steering_angle_rad=status.steering_angle_rad,
        turn_signal=int(status.turn_signal), gear=VehicleStatusMsg.GEAR_DRIVE,
        accelerator_pedal=float(status.accelerator_pedal), brake_pedal=float(status.brake_pedal),
        steering_torque_nm=float(status.steering_torque_nm), hands_on_wheel=status.hands_on_wheel,
    )


def vehicle_status_from_msg(msg: VehicleStatusMsg) -> VehicleStatus:
    m = "VehicleStatus"
    return VehicleStatus(
        t_s=_stamp_s(m, msg.header, BASE_FRAME),
        speed_mps=_number(m, "speed_mps", msg.speed_mps, -MAX_SPEED_MPS, MAX_SPEED_MPS),
        accel_mps2=_number(m, "accel_mps2", msg.accel_mps2, -MAX_ACCEL_MPS2, MAX_ACCEL_MPS2),
        yaw_rate_rps=_number(m, "yaw_rate_rps", msg.yaw_rate_rps, -MAX_YAW_RATE_RPS, MAX_YAW_RATE_RPS),
        steering_angle_rad=_number(m, "steering_angle_rad", msg.steering_angle_rad, -MAX_ROAD_WHEEL_ANGLE_RAD,
                                   MAX_ROAD_WHEEL_ANGLE_RAD),
        turn_signal=_enum(TurnSignal, msg.turn_signal, m, "turn_signal"),
        accelerator_pedal=_number(m, "accelerator_pedal", msg.accelerator_pedal, 0.0, 1.0),
        brake_pedal=_number(m, "brake_pedal", msg.brake_pedal, 0.0, 1.0),
        steering_torque_nm=_number(m, "steering_torque_nm", msg.steering_torque_nm, -MAX_STEERING_TORQUE_NM,
                                   MAX_STEERING_TORQUE_NM),
        hands_on_wheel=msg.hands_on_wheel,
    )


def command_to_msg(command: VehicleCommand) -> VehicleCommandMsg:
    return VehicleCommandMsg(
        header=header(command.t_s), mode=int(command.mode), accel_mps2=command.accel_mps2,
        curvature_1pm=command.curvature_1pm, turn_signal=int(command.turn_signal),
        hazard_lights=command.hazard_lights, gear=VehicleStatusMsg.GEAR_DRIVE, parking_brake=False,
        limited=command.limited, limited_reason=command.limited_reason,
    )


def command_from_msg(msg: VehicleCommandMsg) -> VehicleCommand:
    m = "VehicleCommand"
    return VehicleCommand(
        t_s=_stamp_s(m, msg.header, BASE_FRAME), mode=_enum(CommandMode, msg.mode, m, "mode"),
        accel_mps2=_number(m, "accel_mps2", msg.accel_mps2, -MAX_ACCEL_MPS2, MAX_ACCEL_MPS2),
        curvature_1pm=_number(m, "curvature_1pm", msg.curvature_1pm, -MAX_CURVATURE_1PM, MAX_CURVATURE_1PM),
        turn_signal=_enum(TurnSignal, msg.turn_signal, m, "turn_signal"),
        hazard_lights=msg.hazard_lights, limited=msg.limited, limited_reason=msg.limited_reason,
    )


# --- GNSS ------------------------------------------------------------------------------------------

_NAVSAT_STATUS = {
    RtkState.NO_FIX: NavSatStatus.STATUS_NO_FIX,
    RtkState.STANDALONE: NavSatStatus.STATUS_FIX,
    RtkState.RTK_FLOAT: NavSatStatus.STATUS_GBAS_FIX,
    RtkState.RTK_FIXED: NavSatStatus.STATUS_GBAS_FIX,
}


def gnss_to_msgs(fix: GnssFix) -> tuple[NavSatFix, RtkStatus]:
    """No fix: position NaN and covariance unknown, as sensor_msgs/NavSatFix says for STATUS_NO_FIX."""
    no_fix = fix.rtk_state == RtkState.NO_FIX
    variance = 0.0 if no_fix else fix.sigma_m**2
    navsat = NavSatFix(
        header=header(fix.t_s, GNSS_FRAME),
        status=NavSatStatus(status=_NAVSAT_STATUS[fix.rtk_state], service=NavSatStatus.SERVICE_GPS),
        latitude=fix.latitude_deg, longitude=fix.longitude_deg, altitude=0.0,
        position_covariance=[variance, 0.0, 0.0, 0.0, variance, 0.0, 0.0, 0.0, 4.0 * variance],
        position_covariance_type=(NavSatFix.COVARIANCE_TYPE_UNKNOWN if no_fix
                                  else NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN),
    )
    rtk = RtkStatus(header=header(fix.t_s, GNSS_FRAME), state=int(fix.rtk_state),
                    correction_age_s=1.0 if fix.rtk_state >= RtkState.RTK_FLOAT else -1.0,
                    satellites=0 if no_fix else 18)
    return navsat, rtk


def gnss_from_msgs(navsat: NavSatFix, rtk: RtkStatus) -> GnssFix:
    """One fix from the receiver's two messages of the same epoch; no fix: NaN position, infinite sigma."""
    t_s = _stamp_s("NavSatFix", navsat.header, GNSS_FRAME)
    if _stamp_s("RtkStatus", rtk.header, GNSS_FRAME) != t_s:
        raise MessageError("RtkStatus", "header.stamp", "differs from the NavSatFix stamp")
    state = _enum(RtkState, rtk.state, "RtkStatus", "state")
    if navsat.status.status not in _NAVSAT_STATUS.values():
        raise MessageError("NavSatFix", "status.status", f"unknown value {navsat.status.status}")
    if state == RtkState.NO_FIX or navsat.status.status == NavSatStatus.STATUS_NO_FIX:
        return GnssFix(t_s, math.nan, math.nan, math.inf, RtkState.NO_FIX)
    variance = _number("NavSatFix", "position_covariance[0]", navsat.position_covariance[0], 0.0, 1.0e6)
    if variance <= 0.0:
        raise MessageError("NavSatFix", "position_covariance[0]", f"variance must be positive, got {variance}")
    return GnssFix(t_s=t_s, latitude_deg=_number("NavSatFix", "latitude", navsat.latitude, -90.0, 90.0),
                   longitude_deg=_number("NavSatFix", "longitude", navsat.longitude, -180.0, 180.0),
                   sigma_m=math.sqrt(variance), rtk_state=state)


# --- IMU and camera --------------------------------------------------------------------------------

def imu_to_msg(sample: ImuSample) -> Imu:
    """Planar IMU: yaw rate and the two horizontal accelerations; orientation not provided (-1)."""
    msg = Imu(header=header(sample.t_s))
    msg.orientation_covariance[0] = -1.0
    msg.angular_velocity = Vector3(x=0.0, y=0.0, z=sample.yaw_rate_rps)
    msg.linear_acceleration = Vector3(x=sample.accel_x_mps2, y=sample.accel_y_mps2, z=0.0)
    return msg


def imu_from_msg(msg: Imu) -> ImuSample:
    m = "Imu"
    return ImuSample(
        _stamp_s(m, msg.header, BASE_FRAME),
        _number(m, "linear_acceleration.x", msg.linear_acceleration.x, -IMU_FULL_SCALE_ACCEL_MPS2,
                IMU_FULL_SCALE_ACCEL_MPS2),
        _number(m, "linear_acceleration.y", msg.linear_acceleration.y, -IMU_FULL_SCALE_ACCEL_MPS2,
                IMU_FULL_SCALE_ACCEL_MPS2),
        _number(m, "angular_velocity.z", msg.angular_velocity.z, -IMU_FULL_SCALE_RATE_RPS, IMU_FULL_SCALE_RATE_RPS))


_GREY_FROM = {"bgr8": cv2.COLOR_BGR2GRAY, "rgb8": cv2.COLOR_RGB2GRAY, "bgra8": cv2.COLOR_BGRA2GRAY,
              "rgba8": cv2.COLOR_RGBA2GRAY}
_CHANNELS = {"mono8": 1, "bgr8": 3, "rgb8": 3, "bgra8": 4, "rgba8": 4}


def image_to_msg(image: CameraImage) -> Image:
    height, width = image.pixels.shape
    return Image(header=header(image.t_s, f"camera_{image.camera_id}"), height=height, width=width,
                 encoding="mono8", is_bigendian=0, step=width, data=image.pixels.tobytes())


def image_from_msg(msg: Image) -> CameraImage:
    """Grey 8-bit from mono8 or 8-bit colour (e.g. CARLA's bgra8); the camera id from the frame id."""
    t_s = _stamp_s("Image", msg.header, None)
    camera_id = _camera_id("Image", msg.header.frame_id)
    channels = _CHANNELS.get(msg.encoding)
    if channels is None:
        raise MessageError("Image", "encoding", f"{msg.encoding!r} not supported (known: {', '.join(_CHANNELS)})")
    if msg.height == 0 or msg.width == 0 or msg.step < msg.width * channels or len(msg.data) < msg.step * msg.height:
        raise MessageError("Image", "data", f"{len(msg.data)} bytes do not hold {msg.width}x{msg.height} "
                                            f"{msg.encoding} with step {msg.step}")
    rows = np.frombuffer(bytes(msg.data), np.uint8, count=msg.step * msg.height).reshape(msg.height, msg.step)
    pixels = rows[:, :msg.width * channels].reshape(msg.height, msg.width, channels)
    grey = pixels[:, :, 0] if channels == 1 else cv2.cvtColor(pixels, _GREY_FROM[msg.encoding])
    return CameraImage(t_s, camera_id, np.ascontiguousarray(grey))


def image_to_compressed(image: CameraImage, quality: int = 80) -> CompressedImage:
    """JPEG, for recordings: a tenth of the raw size."""
    ok, data = cv2.imencode(".jpg", image.pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"camera {image.camera_id}: JPEG encoding failed")
    return CompressedImage(header=header(image.t_s, f"camera_{image.camera_id}"), format="jpeg", data=data.tobytes())


def compressed_from_msg(msg: CompressedImage) -> CameraImage:
    t_s = _stamp_s("CompressedImage", msg.header, None)
    camera_id = _camera_id("CompressedImage", msg.header.frame_id)
    pixels = None
    if len(msg.data):
        try:
            pixels = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_GRAYSCALE)
        except cv2.error:  # OpenCV refuses some corrupt headers by raising rather than returning None
            pixels = None
    if pixels is None or pixels.size == 0:
        raise MessageError("CompressedImage", "data", f"cannot be decoded as {msg.format or 'an image'}")
    return CameraImage(t_s, camera_id, pixels)


def _camera_id(message_type: str, frame_id: str) -> str:
    """'camera_<id>' -> '<id>' (an empty frame id is the front camera's, as older recordings have it)."""
    if not frame_id:
        return "front"
    camera_id = frame_id.removeprefix("camera_")
    if camera_id == frame_id or not _CAMERA_ID.match(camera_id):
        raise MessageError(message_type, "header.frame_id", f"{frame_id!r}, expected 'camera_<id>'")
    return camera_id


def lane_lines_to_msg(frame: LaneLineFrame) -> LaneLineArray:
    return LaneLineArray(header=header(frame.t_s), camera_id=frame.camera_id, lines=[
        LaneLineMsg(side=int(line.side), type=int(line.line_type), c0=line.c0, c1=line.c1, c2=line.c2, c3=line.c3,
                    view_range_m=line.view_range_m, confidence=line.confidence)
        for line in frame.lines])


def lane_lines_from_msg(msg: LaneLineArray) -> LaneLineFrame:
    m = "LaneLineArray"
    t_s = _stamp_s(m, msg.header, BASE_FRAME)
    lines = []
    for i, line in enumerate(msg.lines):
        at = f"lines[{i}]"
        side = _enum(LaneLineSide, line.side, m, f"{at}.side")
        if any(seen.side == side for seen in lines):
            raise MessageError(m, f"{at}.side", f"a second {side.name.lower()} line")
        coefficients = [_number(m, f"{at}.c{k}", getattr(line, f"c{k}")) for k in range(4)]
        lines.append(LaneLine(side, _enum(LaneLineType, line.type, m, f"{at}.type"), *coefficients,
                              _number(m, f"{at}.view_range_m", line.view_range_m, 0.0, MAX_RANGE_M),
                              _number(m, f"{at}.confidence", line.confidence, 0.0, 1.0)))
    return LaneLineFrame(t_s, msg.camera_id, tuple(lines))


def localizer_diagnostics(t_s: float, counts: dict[str, int], lane: LanePosition) -> DiagnosticArray:
    """The localiser's counters (what was fused, what was refused and why) and its lane-level state."""
    level = DiagnosticStatus.OK if lane.lane_level else DiagnosticStatus.WARN
    message = (f"lane-level ({lane.source.name.lower()})" if lane.lane_level
               else f"not lane-level ({lane.source.name.lower()})")
    status = DiagnosticStatus(level=level, name="localization", message=message, hardware_id="",
                              values=[KeyValue(key=k, value=str(v)) for k, v in counts.items()])
    return DiagnosticArray(header=header(t_s, MAP_FRAME), status=[status])


# --- localisation ----------------------------------------------------------------------------------

def ego_to_odometry(t_s: float, ego: EgoEstimate | None) -> Odometry:
    """No estimate yet: covariance[0] = -1, the sensor_msgs convention for "not available"."""
    msg = Odometry(header=header(t_s, MAP_FRAME), child_frame_id=BASE_FRAME)
    if ego is None:
        msg.pose.covariance = [-1.0] + [0.0] * 35
        return msg
    msg.pose.pose.position = Point(x=ego.pose.x_m, y=ego.pose.y_m, z=0.0)
    msg.pose.pose.orientation = yaw_to_quaternion(ego.pose.yaw_rad)
    variance = ego.position_sigma_m**2
    covariance = [0.0] * 36
    covariance[0] = covariance[7] = variance
    msg.pose.covariance = covariance
    msg.twist.twist.linear = Vector3(x=ego.speed_mps, y=0.0, z=0.0)
    msg.twist.twist.angular = Vector3(x=0.0, y=0.0, z=ego.yaw_rate_rps)
    return msg


def ego_from_odometry(msg: Odometry) -> EgoEstimate | None:
    """None while the localiser has no estimate (covariance[0] negative)."""
    m = "Odometry"
    t_s = _stamp_s(m, msg.header, MAP_FRAME)
    if msg.child_frame_id != BASE_FRAME:
        raise MessageError(m, "child_frame_id", f"{msg.child_frame_id!r}, expected {BASE_FRAME!r}")
    variance = msg.pose.covariance[0]
    if variance < 0.0:
        return None
    p, v, q = msg.pose.pose.position, msg.twist.twist, msg.pose.pose.orientation
    for axis in "xyzw":
        _number(m, f"pose.pose.orientation.{axis}", getattr(q, axis))
    norm = math.sqrt(q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w)
    if abs(norm - 1.0) > 0.01:
        raise MessageError(m, "pose.pose.orientation", f"not a unit quaternion (norm {norm:g})")
    pose = Pose2D(_number(m, "pose.pose.position.x", p.x, -MAX_POSITION_M, MAX_POSITION_M),
                  _number(m, "pose.pose.position.y", p.y, -MAX_POSITION_M, MAX_POSITION_M), quaternion_to_yaw(q))
    return EgoEstimate(t_s, pose, _number(m, "twist.twist.linear.x", v.linear.x, -MAX_SPEED_MPS, MAX_SPEED_MPS),
                       _number(m, "twist.twist.angular.z", v.angular.z, -MAX_YAW_RATE_RPS, MAX_YAW_RATE_RPS),
                       math.sqrt(_number(m, "pose.covariance[0]", variance, 0.0, MAX_POSITION_M)))


def lane_to_msg(t_s: float, lane: LanePosition) -> LaneLocalization:
    return LaneLocalization(
        header=header(t_s, MAP_FRAME), lanelet_id=lane.lanelet_id, arc_length_m=lane.arc_length_m,
        lateral_offset_m=lane.lateral_offset_m, heading_error_rad=lane.heading_error_rad,
        lane_index=lane.lane_index, lane_count=lane.lane_count, confidence=float(lane.confidence),
        lane_level=lane.lane_level, source=int(lane.source),
    )


def lane_from_msg(msg: LaneLocalization) -> LanePosition:
    m = "LaneLocalization"
    _stamp_s(m, msg.header, MAP_FRAME)
    if msg.lane_count and msg.lane_index >= msg.lane_count:
        raise MessageError(m, "lane_index", f"{msg.lane_index} is not below lane_count {msg.lane_count}")
    return LanePosition(msg.lanelet_id, _number(m, "arc_length_m", msg.arc_length_m, -MAX_POSITION_M, MAX_POSITION_M),
                        _number(m, "lateral_offset_m", msg.lateral_offset_m, -MAX_RANGE_M, MAX_RANGE_M),
                        _number(m, "heading_error_rad", msg.heading_error_rad, -2.0 * math.pi, 2.0 * math.pi),
                        msg.lane_index, msg.lane_count, _number(m, "confidence", msg.confidence, 0.0, 1.0),
                        msg.lane_level, _enum(LaneSource, msg.source, m, "source"))


# --- perception ------------------------------------------------------------------------------------

def detections_to_msg(frame: DetectionFrame) -> DetectionArray:
    return DetectionArray(
        header=header(frame.t_s), sensor_id=frame.sensor_id,
        detections=[
            DetectionMsg(kind=int(d.kind), range_m=d.range_m, azimuth_rad=d.azimuth_rad,
                         range_rate_mps=d.range_rate_mps, x_m=d.x_m, y_m=d.y_m,
                         range_sigma_m=d.range_sigma_m, azimuth_sigma_rad=d.azimuth_sigma_rad,
                         range_rate_sigma_mps=d.range_rate_sigma_mps, classification=int(d.classification),
                         width_m=d.width_m, confidence=1.0)
            for d in frame.detections
        ],
    )


def detections_from_msg(msg: DetectionArray) -> DetectionFrame:
    """One sensor's frame; all its detections are of one kind (none seen: a radar frame, which fuses alike)."""
    m = "DetectionArray"
    t_s = _stamp_s(m, msg.header, BASE_FRAME)
    detections = []
    for i, d in enumerate(msg.detections):
        at = f"detections[{i}]"
        kind = _enum(SensorKind, d.kind, m, f"{at}.kind")
        if detections and kind != detections[0].kind:
            raise MessageError(m, f"{at}.kind", "mixes sensor kinds")
        detections.append(Detection(
            kind, _number(m, f"{at}.x_m", d.x_m, -MAX_RANGE_M, MAX_RANGE_M),
            _number(m, f"{at}.y_m", d.y_m, -MAX_RANGE_M, MAX_RANGE_M),
            _number(m, f"{at}.range_m", d.range_m, 0.0, MAX_RANGE_M),
            _number(m, f"{at}.azimuth_rad", d.azimuth_rad, -2.0 * math.pi, 2.0 * math.pi),
            _number(m, f"{at}.range_rate_mps", d.range_rate_mps, -2.0 * MAX_SPEED_MPS, 2.0 * MAX_SPEED_MPS, "nan"),
            _number(m, f"{at}.range_sigma_m", d.range_sigma_m, 0.0, MAX_RANGE_M),
            _number(m, f"{at}.azimuth_sigma_rad", d.azimuth_sigma_rad, 0.0, math.pi),
            _number(m, f"{at}.range_rate_sigma_mps", d.range_rate_sigma_mps, 0.0, MAX_SPEED_MPS),
            _enum(ObjectClass, d.classification, m, f"{at}.classification"),
            _number(m, f"{at}.width_m", d.width_m, 0.0, MAX_RANGE_M)))
    kind = detections[0].kind if detections else SensorKind.RADAR
    return DetectionFrame(t_s, msg.sensor_id, kind, tuple(detections))


def sonar_range_to_msg(frame: DetectionFrame, sensor: Sensor) -> Range:
    """A sonar's frame as sensor_msgs/Range in the sensor's own frame; +inf when nothing echoed (REP-117)."""
    echo = frame.detections[0].range_m if frame.detections else math.inf
    return Range(header=header(frame.t_s, f"sonar_{sensor.sensor_id}"), radiation_type=Range.ULTRASOUND,
                 field_of_view=2.0 * sensor.half_fov_rad, min_range=sensor.spec.min_range_m,
                 max_range=sensor.spec.max_range_m, range=echo, variance=sensor.spec.range_sigma_m ** 2)


def tracks_to_msg(t_s: float, tracks: tuple[Track, ...]) -> TrackedObjectArray:
    objects = []
    for t in tracks:
        objects.append(TrackedObject(
            id=t.track_id, classification=int(t.classification),
            position=Point(x=t.x_m, y=t.y_m, z=0.0), velocity=Vector3(x=t.vx_mps, y=t.vy_mps, z=0.0),
            yaw_rad=math.atan2(t.vy_mps, t.vx_mps), length_m=float(t.length_m), width_m=float(t.width_m),
            existence_probability=float(t.existence), position_sigma_m=float(t.position_sigma_m),
            relative_lane=t.relative_lane if t.relative_lane is not None else 0,
            lane_known=t.relative_lane is not None, lanelet_id=t.lanelet_id,
            longitudinal_gap_m=t.gap_m, relative_speed_mps=t.relative_speed_mps,
        ))
    return TrackedObjectArray(header=header(t_s, MAP_FRAME), objects=objects)


def tracks_from_msg(msg: TrackedObjectArray) -> tuple[Track, ...]:
    m = "TrackedObjectArray"
    _stamp_s(m, msg.header, MAP_FRAME)
    tracks = []
    for i, o in enumerate(msg.objects):
        at = f"objects[{i}]"
        tracks.append(Track(
            o.id, _number(m, f"{at}.position.x", o.position.x, -MAX_POSITION_M, MAX_POSITION_M),
            _number(m, f"{at}.position.y", o.position.y, -MAX_POSITION_M, MAX_POSITION_M),
            _number(m, f"{at}.velocity.x", o.velocity.x, -MAX_SPEED_MPS, MAX_SPEED_MPS),
            _number(m, f"{at}.velocity.y", o.velocity.y, -MAX_SPEED_MPS, MAX_SPEED_MPS),
            _number(m, f"{at}.length_m", o.length_m, 0.0, MAX_RANGE_M),
            _number(m, f"{at}.width_m", o.width_m, 0.0, MAX_RANGE_M),
            _number(m, f"{at}.existence_probability", o.existence_probability, 0.0, 1.0),
            _number(m, f"{at}.position_sigma_m", o.position_sigma_m, 0.0, MAX_RANGE_M),
            o.relative_lane if o.lane_known else None, o.lanelet_id,
            _number(m, f"{at}.longitudinal_gap_m", o.longitudinal_gap_m, -MAX_POSITION_M, MAX_POSITION_M, "nan"),
            _number(m, f"{at}.relative_speed_mps", o.relative_speed_mps, -2.0 * MAX_SPEED_MPS, 2.0 * MAX_SPEED_MPS,
                    "nan"),
            _enum(ObjectClass, o.classification, m, f"{at}.classification")))
    return tuple(tracks)


# --- driver and HMI --------------------------------------------------------------------------------

def driver_input_to_msg(event: DriverInput) -> DriverInputMsg:
    return DriverInputMsg(header=header(event.t_s), event=int(event.event), proposal_uuid=event.proposal_uuid,
                          source=event.source)


def driver_input_from_msg(msg: DriverInputMsg) -> DriverInput:
    return DriverInput(_stamp_s("DriverInput", msg.header, BASE_FRAME),
                       _enum(DriverEvent, msg.event, "DriverInput", "event"), msg.proposal_uuid, msg.source)


def monitor_to_msg(reading: DriverMonitorReading) -> DriverMonitor:
    return DriverMonitor(header=header(reading.t_s), available=reading.available,
                         eyes_on_road=reading.eyes_on_road, hands_on_wheel=reading.hands_on_wheel)


def monitor_from_msg(msg: DriverMonitor) -> DriverMonitorReading:
    return DriverMonitorReading(_stamp_s("DriverMonitor", msg.header, BASE_FRAME), msg.available, msg.eyes_on_road,
                                msg.hands_on_wheel)


def proposal_to_msg(t_s: float, p: Proposal) -> ProposalMsg:
    return ProposalMsg(
        header=header(t_s, MAP_FRAME), uuid=p.uuid, kind=int(p.kind), state=int(p.state),
        target_lanelet_id=p.target_lanelet_id, direction=p.direction, reason=p.reason, safe=p.safe,
        time_left_s=p.time_left_s(t_s), last_point_m=p.last_point_m, critical_margin_m=p.critical_margin_m,
    )


def proposal_from_msg(msg: ProposalMsg) -> Proposal:
    m = "Proposal"
    t_s = _stamp_s(m, msg.header, MAP_FRAME)
    time_left_s = _number(m, "time_left_s", msg.time_left_s, 0.0, 3600.0)
    if msg.direction not in (-1, 1):
        raise MessageError(m, "direction", f"must be +1 or -1, got {msg.direction}")
    return Proposal(msg.uuid, _enum(ProposalKind, msg.kind, m, "kind"), _enum(ProposalState, msg.state, m, "state"),
                    msg.direction, msg.target_lanelet_id, msg.reason, msg.safe, t_s, t_s + time_left_s,
                    _number(m, "critical_margin_m", msg.critical_margin_m, -MAX_POSITION_M, MAX_POSITION_M, "+inf"),
                    _number(m, "last_point_m", msg.last_point_m, -MAX_POSITION_M, MAX_POSITION_M, "+inf"))


def proposals_to_msg(t_s: float, proposals: tuple[Proposal, ...]) -> ProposalArray:
    return ProposalArray(header=header(t_s, MAP_FRAME), proposals=[proposal_to_msg(t_s, p) for p in proposals])


def proposals_from_msg(msg: ProposalArray) -> tuple[Proposal, ...]:
    _stamp_s("ProposalArray", msg.header, MAP_FRAME)
    return tuple(_nested("ProposalArray", f"proposals[{i}]", proposal_from_msg, p) for i, p in enumerate(msg.proposals))


def _nested(message_type: str, at: str, convert, msg):
    """convert(msg), with the place of msg in its parent message prefixed to any error's field."""
    try:
        return convert(msg)
    except MessageError as exc:
        raise MessageError(message_type, f"{at}.{exc.message_type}.{exc.field_name}", exc.reason) from None


_ROUTE_KINDS = {"branch": RouteEventMsg.KIND_BRANCH, "exit": RouteEventMsg.KIND_EXIT,
                "lane_drop": RouteEventMsg.KIND_LANE_DROP, "speed_limit": RouteEventMsg.KIND_SPEED_LIMIT,
                "route_drive_end": RouteEventMsg.KIND_ROUTE_DRIVE_END, "toll_plaza": RouteEventMsg.KIND_TOLL_PLAZA,
                "destination": RouteEventMsg.KIND_DESTINATION}
_ROUTE_KIND_NAMES = {value: name for name, value in _ROUTE_KINDS.items()}


def route_to_msg(t_s: float, route: RouteStatus | None) -> RouteMsg:
    """No route: length 0 and no events."""
    if route is None:
        return RouteMsg(header=header(t_s, MAP_FRAME))
    return RouteMsg(header=header(t_s, MAP_FRAME), length_m=route.length_m, travelled_m=route.travelled_m,
                    events=[RouteEventMsg(kind=_ROUTE_KINDS[n.kind], distance_m=n.distance_m, name=n.name,
                                          value=n.value, lane_change=n.lane_change) for n in route.ahead])


def route_from_msg(msg: RouteMsg) -> RouteStatus | None:
    m = "Route"
    _stamp_s(m, msg.header, MAP_FRAME)
    if msg.length_m == 0.0 and not msg.events:
        return None
    ahead = []
    for i, e in enumerate(msg.events):
        if e.kind not in _ROUTE_KIND_NAMES:
            raise MessageError(m, f"events[{i}].kind", f"unknown value {e.kind}")
        ahead.append(RouteNotice(_ROUTE_KIND_NAMES[e.kind],
                                 _number(m, f"events[{i}].distance_m", e.distance_m, -MAX_POSITION_M, MAX_POSITION_M),
                                 e.name, _number(m, f"events[{i}].value", e.value, -MAX_POSITION_M, MAX_POSITION_M,
                                                 "nan"), e.lane_change))
    return RouteStatus(_number(m, "length_m", msg.length_m, 0.0, MAX_POSITION_M),
                       _number(m, "travelled_m", msg.travelled_m, 0.0, MAX_POSITION_M), tuple(ahead))


def hmi_to_msg(state: HmiState) -> HmiStateMsg:
    return HmiStateMsg(
        header=header(state.t_s), pilot_state=int(state.pilot_state), message=state.message, sound=state.sound,
        warning_level=int(state.warning_level), set_speed_mps=float(state.set_speed_mps),
        time_gap_s=float(state.time_gap_s), lead_detected=state.lead_detected, lead_gap_m=float(state.lead_gap_m),
        proposals=[proposal_to_msg(state.t_s, p) for p in state.proposals],
        approved_proposal_uuid=state.approved_proposal_uuid, rejected_proposal_uuid=state.rejected_proposal_uuid,
        lane_change_request=state.lane_change_request, hands_on_wheel=state.hands_on_wheel,
        eyes_on_road=state.eyes_on_road, locked_out=state.locked_out,
    )


def hmi_from_msg(msg: HmiStateMsg) -> HmiState:
    m = "HmiState"
    t_s = _stamp_s(m, msg.header, BASE_FRAME)
    if msg.lane_change_request not in (-1, 0, 1):
        raise MessageError(m, "lane_change_request", f"must be -1, 0 or 1, got {msg.lane_change_request}")
    return HmiState(t_s, _enum(PilotState, msg.pilot_state, m, "pilot_state"), msg.message, msg.sound,
                    _enum(WarningLevel, msg.warning_level, m, "warning_level"),
                    _number(m, "set_speed_mps", msg.set_speed_mps, 0.0, MAX_SPEED_MPS),
                    _number(m, "time_gap_s", msg.time_gap_s, 0.0, MAX_TIME_GAP_S), msg.lead_detected,
                    _number(m, "lead_gap_m", msg.lead_gap_m, -MAX_RANGE_M, MAX_POSITION_M, "+inf"),
                    tuple(_nested(m, f"proposals[{i}]", proposal_from_msg, p) for i, p in enumerate(msg.proposals)),
                    msg.approved_proposal_uuid, msg.rejected_proposal_uuid, msg.lane_change_request,
                    msg.hands_on_wheel, msg.eyes_on_road, msg.locked_out)


# --- planning --------------------------------------------------------------------------------------

def plan_to_msg(plan: Plan) -> Trajectory:
    return Trajectory(
        header=header(plan.t_s, MAP_FRAME),
        points=[TrajectoryPoint(x_m=p.x_m, y_m=p.y_m, yaw_rad=p.yaw_rad, curvature_1pm=p.curvature_1pm,
                                speed_mps=p.speed_mps) for p in plan.points],
        target_lanelet_id=plan.target_lanelet_id, target_speed_mps=plan.target_speed_mps,
        lead_valid=plan.lead_valid, lead_track_id=plan.lead_track_id, lead_gap_m=plan.lead_gap_m,
        lead_speed_mps=plan.lead_speed_mps, time_gap_s=plan.time_gap_s, turn_signal=int(plan.turn_signal),
        active=plan.active, mode=int(plan.mode),
    )


def plan_from_msg(msg: Trajectory) -> Plan:
    m = "Trajectory"
    t_s = _stamp_s(m, msg.header, MAP_FRAME)
    points = []
    for i, p in enumerate(msg.points):
        at = f"points[{i}]"
        points.append(PathPoint(_number(m, f"{at}.x_m", p.x_m, -MAX_POSITION_M, MAX_POSITION_M),
                                _number(m, f"{at}.y_m", p.y_m, -MAX_POSITION_M, MAX_POSITION_M),
                                _number(m, f"{at}.yaw_rad", p.yaw_rad, -4.0 * math.pi, 4.0 * math.pi),
                                _number(m, f"{at}.curvature_1pm", p.curvature_1pm, -MAX_CURVATURE_1PM,
                                        MAX_CURVATURE_1PM),
                                _number(m, f"{at}.speed_mps", p.speed_mps, -MAX_SPEED_MPS, MAX_SPEED_MPS)))
    return Plan(t_s, msg.active, tuple(points), msg.target_lanelet_id,
                _number(m, "target_speed_mps", msg.target_speed_mps, 0.0, MAX_SPEED_MPS), msg.lead_valid,
                msg.lead_track_id, _number(m, "lead_gap_m", msg.lead_gap_m, -MAX_RANGE_M, MAX_POSITION_M, "+inf"),
                _number(m, "lead_speed_mps", msg.lead_speed_mps, -MAX_SPEED_MPS, MAX_SPEED_MPS),
                _number(m, "time_gap_s", msg.time_gap_s, 0.0, MAX_TIME_GAP_S),
                _enum(TurnSignal, msg.turn_signal, m, "turn_signal"), _enum(CommandMode, msg.mode, m, "mode"))




# --- system faults (the supervisor's heartbeat monitor) -------------------------------------------------


def system_fault_to_msg(now_s: float, last_beat_s: dict[str, float]) -> DiagnosticArray:
    """The nodes that fell silent (name -> last heartbeat, node clock) -> /system/fault; none: no status."""
    array = DiagnosticArray(header=header(now_s, "control"))
    for node, last_s in sorted(last_beat_s.items()):
        array.status.append(DiagnosticStatus(
            level=DiagnosticStatus.ERROR, name=f"propilot/{node}", hardware_id=node,
            message=f"{node} silent for {now_s - last_s:.3f} s",
            values=[KeyValue(key="last_heartbeat_s", value=f"{last_s:.3f}"),
                    KeyValue(key="detected_s", value=f"{now_s:.3f}")]))
    return array


def system_fault_from_msg(msg: DiagnosticArray) -> str:
    """/system/fault -> what the driver is told failed ("" when nothing did)."""
    names = [s.hardware_id for s in msg.status]
    if any(not name or len(name) > 64 or not name.replace("_", "").isalnum() for name in names):
        raise MessageError("DiagnosticArray", "status[].hardware_id", "expected node names")
    return ", ".join(names)


# --- remote parking: fob packets, sonar readings, the car's motion, the parking command and state -------


def fob_packet_to_msg(packet: FobPacket) -> FobCommand:
    """core FobPacket -> propilot_msgs/FobCommand (stamp: the vehicle's reception time)."""
    return FobCommand(header=header(packet.received_t_s), vehicle_id=packet.vehicle_id, counter=packet.counter,
                      command=int(packet.command), timestamp_s=packet.timestamp_s, mac=list(packet.mac),
                      measured_distance_m=packet.distance_m)


def fob_packet_from_msg(msg: FobCommand) -> FobPacket:
    _number("FobCommand", "timestamp_s", msg.timestamp_s)
    _number("FobCommand", "measured_distance_m", msg.measured_distance_m, 0.0, allow="+inf")
    return FobPacket(from_time(msg.header.stamp), msg.vehicle_id, int(msg.counter),
                     _enum(FobCommandKind, msg.command, "FobCommand", "command"), msg.timestamp_s,
                     bytes(msg.mac), msg.measured_distance_m)


def sonar_reading_from_msg(msg: Range) -> SonarReading:
    """sensor_msgs/Range of a sonar (frame `sonar_<id>`) -> core SonarReading; +inf: no echo (REP-117)."""
    if not msg.header.frame_id.startswith("sonar_"):
        raise MessageError("Range", "header.frame_id", f"expected sonar_<id>, got {msg.header.frame_id!r}")
    return SonarReading(from_time(msg.header.stamp), msg.header.frame_id[len("sonar_"):],
                        _number("Range", "range", float(msg.range), 0.0, allow="+inf"))


def parking_motion_to_msg(motion: VehicleMotion) -> VehicleStatusMsg:
    """core VehicleMotion -> VehicleStatus (wheel speed, yaw rate, gear; the rest zero)."""
    return VehicleStatusMsg(header=header(motion.t_s), speed_mps=motion.speed_mps, yaw_rate_rps=motion.yaw_rate_rps,
                            gear=int(motion.gear))


def parking_motion_from_msg(msg: VehicleStatusMsg) -> VehicleMotion:
    _finite("VehicleStatus", speed_mps=msg.speed_mps, yaw_rate_rps=msg.yaw_rate_rps)
    return VehicleMotion(from_time(msg.header.stamp), msg.speed_mps, msg.yaw_rate_rps,
                         _enum(Gear, msg.gear, "VehicleStatus", "gear"))


def parking_command_to_msg(command: ParkingCommand) -> VehicleCommandMsg:
    """core ParkingCommand -> VehicleCommand in MODE_PARKING (MODE_MANUAL when remote park is idle)."""
    mode = VehicleCommandMsg.MODE_PARKING if command.active else VehicleCommandMsg.MODE_MANUAL
    return VehicleCommandMsg(header=header(command.t_s), mode=mode, accel_mps2=command.accel_mps2,
                             curvature_1pm=command.curvature_1pm, gear=int(command.gear),
                             parking_brake=command.parking_brake)


def parking_command_from_msg(msg: VehicleCommandMsg) -> ParkingCommand:
    _finite("VehicleCommand", accel_mps2=msg.accel_mps2, curvature_1pm=msg.curvature_1pm)
    return ParkingCommand(from_time(msg.header.stamp), msg.accel_mps2, msg.curvature_1pm,
                          _enum(Gear, msg.gear, "VehicleCommand", "gear"), msg.parking_brake,
                          msg.mode == VehicleCommandMsg.MODE_PARKING)


def parking_status_to_msg(status: ParkingStatus) -> ParkingState:
    return ParkingState(header=header(status.t_s), state=int(status.state), reason=status.reason,
                        remaining_m=status.remaining_m, min_clearance_m=status.min_clearance_m,
                        speed_mps=status.speed_mps, fob_rejections=list(status.fob_rejections))


def parking_status_from_msg(msg: ParkingState) -> ParkingStatus:
    _finite("ParkingState", remaining_m=msg.remaining_m, speed_mps=msg.speed_mps)
    return ParkingStatus(from_time(msg.header.stamp), _enum(ParkState, msg.state, "ParkingState", "state"),
                         msg.reason, msg.remaining_m, _number("ParkingState", "min_clearance_m", msg.min_clearance_m,
                                                              0.0, allow="+inf"),
                         msg.speed_mps, tuple(msg.fob_rejections))
