"""The one place where ROS messages and core types are converted.

In: propilot_msgs / standard messages or core dataclasses. Out: the other side.
Message stamps carry the core `t_s` (simulation or vehicle time). Conversions
from messages validate what they read and raise `MessageError` (field and reason)
so a node can drop one bad message and keep running.
"""

from __future__ import annotations

import math

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
    LaneLineArray,
    LaneLocalization,
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


class MessageError(ValueError):
    """A message that cannot be used; names the field and the reason."""

    def __init__(self, message_type: str, field_name: str, reason: str):
        super().__init__(f"{message_type}.{field_name}: {reason}")


def _finite(message_type: str, **values: float) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise MessageError(message_type, name, f"not finite ({value})")


def _enum(enum: type, value: int, message_type: str, field_name: str):
    try:
        return enum(value)
    except ValueError:
        raise MessageError(message_type, field_name, f"unknown value {value}") from None


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
    _finite("VehicleStatus", speed_mps=msg.speed_mps, accel_mps2=msg.accel_mps2, yaw_rate_rps=msg.yaw_rate_rps,
            steering_angle_rad=msg.steering_angle_rad, brake_pedal=msg.brake_pedal,
            accelerator_pedal=msg.accelerator_pedal)
    return VehicleStatus(
        t_s=from_time(msg.header.stamp), speed_mps=msg.speed_mps, accel_mps2=msg.accel_mps2,
        yaw_rate_rps=msg.yaw_rate_rps, steering_angle_rad=msg.steering_angle_rad,
        turn_signal=_enum(TurnSignal, msg.turn_signal, "VehicleStatus", "turn_signal"),
        accelerator_pedal=msg.accelerator_pedal, brake_pedal=msg.brake_pedal,
        steering_torque_nm=msg.steering_torque_nm, hands_on_wheel=msg.hands_on_wheel,
    )


def command_to_msg(command: VehicleCommand) -> VehicleCommandMsg:
    return VehicleCommandMsg(
        header=header(command.t_s), mode=int(command.mode), accel_mps2=command.accel_mps2,
        curvature_1pm=command.curvature_1pm, turn_signal=int(command.turn_signal),
        hazard_lights=command.hazard_lights, gear=VehicleStatusMsg.GEAR_DRIVE, parking_brake=False,
        limited=command.limited, limited_reason=command.limited_reason,
    )


def command_from_msg(msg: VehicleCommandMsg) -> VehicleCommand:
    _finite("VehicleCommand", accel_mps2=msg.accel_mps2, curvature_1pm=msg.curvature_1pm)
    return VehicleCommand(
        t_s=from_time(msg.header.stamp), mode=_enum(CommandMode, msg.mode, "VehicleCommand", "mode"),
        accel_mps2=msg.accel_mps2, curvature_1pm=msg.curvature_1pm,
        turn_signal=_enum(TurnSignal, msg.turn_signal, "VehicleCommand", "turn_signal"),
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
        header=header(fix.t_s, "gnss_link"),
        status=NavSatStatus(status=_NAVSAT_STATUS[fix.rtk_state], service=NavSatStatus.SERVICE_GPS),
        latitude=fix.latitude_deg, longitude=fix.longitude_deg, altitude=0.0,
        position_covariance=[variance, 0.0, 0.0, 0.0, variance, 0.0, 0.0, 0.0, 4.0 * variance],
        position_covariance_type=(NavSatFix.COVARIANCE_TYPE_UNKNOWN if no_fix
                                  else NavSatFix.COVARIANCE_TYPE_DIAGONAL_KNOWN),
    )
    rtk = RtkStatus(header=header(fix.t_s, "gnss_link"), state=int(fix.rtk_state),
                    correction_age_s=1.0 if fix.rtk_state >= RtkState.RTK_FLOAT else -1.0,
                    satellites=0 if no_fix else 18)
    return navsat, rtk


def gnss_from_msgs(navsat: NavSatFix, rtk: RtkStatus) -> GnssFix:
    state = _enum(RtkState, rtk.state, "RtkStatus", "state")
    if state == RtkState.NO_FIX or navsat.status.status == NavSatStatus.STATUS_NO_FIX:
        return GnssFix(from_time(navsat.header.stamp), math.nan, math.nan, math.inf, RtkState.NO_FIX)
    variance = navsat.position_covariance[0]
    _finite("NavSatFix", latitude=navsat.latitude, longitude=navsat.longitude, position_covariance=variance)
    if variance <= 0.0:
        raise MessageError("NavSatFix", "position_covariance", f"variance must be positive, got {variance}")
    return GnssFix(t_s=from_time(navsat.header.stamp), latitude_deg=navsat.latitude,
                   longitude_deg=navsat.longitude, sigma_m=math.sqrt(variance), rtk_state=state)


# --- IMU and camera --------------------------------------------------------------------------------

def imu_to_msg(sample: ImuSample) -> Imu:
    """Planar IMU: yaw rate and the two horizontal accelerations; orientation not provided (-1)."""
    msg = Imu(header=header(sample.t_s))
    msg.orientation_covariance[0] = -1.0
    msg.angular_velocity = Vector3(x=0.0, y=0.0, z=sample.yaw_rate_rps)
    msg.linear_acceleration = Vector3(x=sample.accel_x_mps2, y=sample.accel_y_mps2, z=0.0)
    return msg


def imu_from_msg(msg: Imu) -> ImuSample:
    _finite("Imu", **{"angular_velocity.z": msg.angular_velocity.z, "linear_acceleration.x": msg.linear_acceleration.x,
                      "linear_acceleration.y": msg.linear_acceleration.y})
    return ImuSample(from_time(msg.header.stamp), msg.linear_acceleration.x, msg.linear_acceleration.y,
                     msg.angular_velocity.z)


_GREY_FROM = {"bgr8": cv2.COLOR_BGR2GRAY, "rgb8": cv2.COLOR_RGB2GRAY, "bgra8": cv2.COLOR_BGRA2GRAY,
              "rgba8": cv2.COLOR_RGBA2GRAY}
_CHANNELS = {"mono8": 1, "bgr8": 3, "rgb8": 3, "bgra8": 4, "rgba8": 4}


def image_to_msg(image: CameraImage) -> Image:
    height, width = image.pixels.shape
    return Image(header=header(image.t_s, f"camera_{image.camera_id}"), height=height, width=width,
                 encoding="mono8", is_bigendian=0, step=width, data=image.pixels.tobytes())


def image_from_msg(msg: Image) -> CameraImage:
    """Grey 8-bit from mono8 or 8-bit colour (e.g. CARLA's bgra8); the camera id from the frame id."""
    channels = _CHANNELS.get(msg.encoding)
    if channels is None:
        raise MessageError("Image", "encoding", f"{msg.encoding!r} not supported (known: {', '.join(_CHANNELS)})")
    if msg.height == 0 or msg.width == 0 or msg.step < msg.width * channels or len(msg.data) < msg.step * msg.height:
        raise MessageError("Image", "data", f"{len(msg.data)} bytes do not hold {msg.width}x{msg.height} "
                                            f"{msg.encoding} with step {msg.step}")
    rows = np.frombuffer(bytes(msg.data), np.uint8, count=msg.step * msg.height).reshape(msg.height, msg.step)
    pixels = rows[:, :msg.width * channels].reshape(msg.height, msg.width, channels)
    grey = pixels[:, :, 0] if channels == 1 else cv2.cvtColor(pixels, _GREY_FROM[msg.encoding])
    return CameraImage(from_time(msg.header.stamp), _camera_id(msg.header.frame_id), np.ascontiguousarray(grey))


def image_to_compressed(image: CameraImage, quality: int = 80) -> CompressedImage:
    """JPEG, for recordings: a tenth of the raw size."""
    ok, data = cv2.imencode(".jpg", image.pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"camera {image.camera_id}: JPEG encoding failed")
    return CompressedImage(header=header(image.t_s, f"camera_{image.camera_id}"), format="jpeg", data=data.tobytes())


def compressed_from_msg(msg: CompressedImage) -> CameraImage:
    pixels = cv2.imdecode(np.frombuffer(bytes(msg.data), np.uint8), cv2.IMREAD_GRAYSCALE)
    if pixels is None:
        raise MessageError("CompressedImage", "data", f"cannot be decoded as {msg.format or 'an image'}")
    return CameraImage(from_time(msg.header.stamp), _camera_id(msg.header.frame_id), pixels)


def _camera_id(frame_id: str) -> str:
    return frame_id.removeprefix("camera_") or "front"


def lane_lines_to_msg(frame: LaneLineFrame) -> LaneLineArray:
    return LaneLineArray(header=header(frame.t_s), camera_id=frame.camera_id, lines=[
        LaneLineMsg(side=int(line.side), type=int(line.line_type), c0=line.c0, c1=line.c1, c2=line.c2, c3=line.c3,
                    view_range_m=line.view_range_m, confidence=line.confidence)
        for line in frame.lines])


def lane_lines_from_msg(msg: LaneLineArray) -> LaneLineFrame:
    lines = []
    for i, m in enumerate(msg.lines):
        _finite("LaneLineArray", **{f"lines[{i}].c{k}": getattr(m, f"c{k}") for k in range(4)},
                **{f"lines[{i}].confidence": m.confidence})
        lines.append(LaneLine(_enum(LaneLineSide, m.side, "LaneLineArray", f"lines[{i}].side"),
                              _enum(LaneLineType, m.type, "LaneLineArray", f"lines[{i}].type"),
                              m.c0, m.c1, m.c2, m.c3, m.view_range_m, m.confidence))
    return LaneLineFrame(from_time(msg.header.stamp), msg.camera_id, tuple(lines))


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
    if msg.pose.covariance[0] < 0.0:
        return None
    p, v = msg.pose.pose.position, msg.twist.twist
    _finite("Odometry", x=p.x, y=p.y, speed=v.linear.x, yaw_rate=v.angular.z,
            covariance=msg.pose.covariance[0])
    return EgoEstimate(from_time(msg.header.stamp), Pose2D(p.x, p.y, quaternion_to_yaw(msg.pose.pose.orientation)),
                       v.linear.x, v.angular.z, math.sqrt(max(msg.pose.covariance[0], 0.0)))


def lane_to_msg(t_s: float, lane: LanePosition) -> LaneLocalization:
    return LaneLocalization(
        header=header(t_s, MAP_FRAME), lanelet_id=lane.lanelet_id, arc_length_m=lane.arc_length_m,
        lateral_offset_m=lane.lateral_offset_m, heading_error_rad=lane.heading_error_rad,
        lane_index=lane.lane_index, lane_count=lane.lane_count, confidence=float(lane.confidence),
        lane_level=lane.lane_level, source=int(lane.source),
    )


def lane_from_msg(msg: LaneLocalization) -> LanePosition:
    _finite("LaneLocalization", arc_length_m=msg.arc_length_m, lateral_offset_m=msg.lateral_offset_m,
            heading_error_rad=msg.heading_error_rad, confidence=msg.confidence)
    return LanePosition(msg.lanelet_id, msg.arc_length_m, msg.lateral_offset_m, msg.heading_error_rad,
                        msg.lane_index, msg.lane_count, msg.confidence, msg.lane_level,
                        _enum(LaneSource, msg.source, "LaneLocalization", "source"))


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
    detections = []
    kinds = set()
    for i, d in enumerate(msg.detections):
        _finite("DetectionArray", **{f"detections[{i}].x_m": d.x_m, f"detections[{i}].y_m": d.y_m,
                                     f"detections[{i}].range_m": d.range_m})
        kind = _enum(SensorKind, d.kind, "DetectionArray", f"detections[{i}].kind")
        kinds.add(kind)
        classification = _enum(ObjectClass, d.classification, "DetectionArray", f"detections[{i}].classification")
        detections.append(Detection(kind, d.x_m, d.y_m, d.range_m, d.azimuth_rad, d.range_rate_mps,
                                    d.range_sigma_m, d.azimuth_sigma_rad, d.range_rate_sigma_mps,
                                    classification, d.width_m))
    if len(kinds) > 1:
        raise MessageError("DetectionArray", "detections", "mixes sensor kinds")
    kind = kinds.pop() if kinds else SensorKind.RADAR
    return DetectionFrame(from_time(msg.header.stamp), msg.sensor_id, kind, tuple(detections))


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
    tracks = []
    for i, o in enumerate(msg.objects):
        _finite("TrackedObjectArray", **{f"objects[{i}].position.x": o.position.x,
                                         f"objects[{i}].position.y": o.position.y,
                                         f"objects[{i}].velocity.x": o.velocity.x,
                                         f"objects[{i}].velocity.y": o.velocity.y})
        tracks.append(Track(o.id, o.position.x, o.position.y, o.velocity.x, o.velocity.y, o.length_m, o.width_m,
                            o.existence_probability, o.position_sigma_m,
                            o.relative_lane if o.lane_known else None, o.lanelet_id,
                            o.longitudinal_gap_m, o.relative_speed_mps,
                            _enum(ObjectClass, o.classification, "TrackedObjectArray", f"objects[{i}].classification")))
    return tuple(tracks)


# --- driver and HMI --------------------------------------------------------------------------------

def driver_input_to_msg(event: DriverInput) -> DriverInputMsg:
    return DriverInputMsg(header=header(event.t_s), event=int(event.event), proposal_uuid=event.proposal_uuid,
                          source=event.source)


def driver_input_from_msg(msg: DriverInputMsg) -> DriverInput:
    return DriverInput(from_time(msg.header.stamp), _enum(DriverEvent, msg.event, "DriverInput", "event"),
                       msg.proposal_uuid, msg.source)


def monitor_to_msg(reading: DriverMonitorReading) -> DriverMonitor:
    return DriverMonitor(header=header(reading.t_s), available=reading.available,
                         eyes_on_road=reading.eyes_on_road, hands_on_wheel=reading.hands_on_wheel)


def monitor_from_msg(msg: DriverMonitor) -> DriverMonitorReading:
    return DriverMonitorReading(from_time(msg.header.stamp), msg.available, msg.eyes_on_road, msg.hands_on_wheel)


def proposal_to_msg(t_s: float, p: Proposal) -> ProposalMsg:
    return ProposalMsg(
        header=header(t_s, MAP_FRAME), uuid=p.uuid, kind=int(p.kind), state=int(p.state),
        target_lanelet_id=p.target_lanelet_id, direction=p.direction, reason=p.reason, safe=p.safe,
        time_left_s=p.time_left_s(t_s), last_point_m=p.last_point_m, critical_margin_m=p.critical_margin_m,
    )


def proposal_from_msg(msg: ProposalMsg) -> Proposal:
    t_s = from_time(msg.header.stamp)
    _finite("Proposal", time_left_s=msg.time_left_s)
    if msg.direction not in (-1, 1):
        raise MessageError("Proposal", "direction", f"must be +1 or -1, got {msg.direction}")
    return Proposal(msg.uuid, _enum(ProposalKind, msg.kind, "Proposal", "kind"),
                    _enum(ProposalState, msg.state, "Proposal", "state"), msg.direction, msg.target_lanelet_id,
                    msg.reason, msg.safe, t_s, t_s + msg.time_left_s, msg.critical_margin_m, msg.last_point_m)


def proposals_to_msg(t_s: float, proposals: tuple[Proposal, ...]) -> ProposalArray:
    return ProposalArray(header=header(t_s, MAP_FRAME), proposals=[proposal_to_msg(t_s, p) for p in proposals])


def proposals_from_msg(msg: ProposalArray) -> tuple[Proposal, ...]:
    return tuple(proposal_from_msg(p) for p in msg.proposals)


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
    if msg.length_m == 0.0 and not msg.events:
        return None
    ahead = []
    for i, e in enumerate(msg.events):
        if e.kind not in _ROUTE_KIND_NAMES:
            raise MessageError("Route", f"events[{i}].kind", f"unknown value {e.kind}")
        _finite("Route", **{f"events[{i}].distance_m": e.distance_m})
        ahead.append(RouteNotice(_ROUTE_KIND_NAMES[e.kind], e.distance_m, e.name, e.value, e.lane_change))
    return RouteStatus(msg.length_m, msg.travelled_m, tuple(ahead))


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
    _finite("HmiState", set_speed_mps=msg.set_speed_mps, time_gap_s=msg.time_gap_s)
    if msg.lane_change_request not in (-1, 0, 1):
        raise MessageError("HmiState", "lane_change_request", f"must be -1, 0 or 1, got {msg.lane_change_request}")
    return HmiState(from_time(msg.header.stamp), _enum(PilotState, msg.pilot_state, "HmiState", "pilot_state"),
                    msg.message, msg.sound, _enum(WarningLevel, msg.warning_level, "HmiState", "warning_level"),
                    msg.set_speed_mps, msg.time_gap_s, msg.lead_detected, msg.lead_gap_m,
                    tuple(proposal_from_msg(p) for p in msg.proposals), msg.approved_proposal_uuid,
                    msg.rejected_proposal_uuid, msg.lane_change_request, msg.hands_on_wheel, msg.eyes_on_road,
                    msg.locked_out)


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
    _finite("Trajectory", target_speed_mps=msg.target_speed_mps, time_gap_s=msg.time_gap_s,
            lead_speed_mps=msg.lead_speed_mps)
    points = tuple(PathPoint(p.x_m, p.y_m, p.yaw_rad, p.curvature_1pm, p.speed_mps) for p in msg.points)
    if not all(math.isfinite(v) for p in points for v in (p.x_m, p.y_m, p.yaw_rad)):
        raise MessageError("Trajectory", "points", "a point is not finite")
    return Plan(from_time(msg.header.stamp), msg.active, points, msg.target_lanelet_id, msg.target_speed_mps,
                msg.lead_valid, msg.lead_track_id, msg.lead_gap_m, msg.lead_speed_mps, msg.time_gap_s,
                _enum(TurnSignal, msg.turn_signal, "Trajectory", "turn_signal"),
                _enum(CommandMode, msg.mode, "Trajectory", "mode"))
