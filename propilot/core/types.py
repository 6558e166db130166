"""Core data types shared by every part of the stack.

In: nothing. Out: typed, immutable dataclasses and enums. SI units, REP-103 frames
(map: x east, y north; base_link: x forward, y left). Enum values equal the
constants of the matching propilot_msgs message, so conversions are one-to-one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


class TurnSignal(IntEnum):
    OFF = 0
    LEFT = 1
    RIGHT = 2


class RtkState(IntEnum):
    NO_FIX = 0
    STANDALONE = 1
    RTK_FLOAT = 2
    RTK_FIXED = 3


class LaneSource(IntEnum):
    NONE = 0
    RTK = 1
    CAMERA = 2
    DEAD_RECKONING = 3


class LaneLineSide(IntEnum):
    LEFT = 0
    RIGHT = 1


class LaneLineType(IntEnum):
    UNKNOWN = 0
    SOLID = 1
    DASHED = 2
    ROAD_EDGE = 3


class SensorKind(IntEnum):
    CAMERA = 0
    RADAR = 1
    SONAR = 2


class ObjectClass(IntEnum):
    UNKNOWN = 0
    CAR = 1
    TRUCK = 2
    MOTORCYCLE = 3
    PEDESTRIAN = 4


class DriverEvent(IntEnum):
    NONE = 0
    MAIN_SWITCH = 1
    APPROVE = 2
    REJECT = 3
    CANCEL = 4
    SET_SPEED_UP = 5
    SET_SPEED_DOWN = 6
    TIME_GAP = 7
    TURN_SIGNAL_LEFT = 8
    TURN_SIGNAL_RIGHT = 9


class PilotState(IntEnum):
    OFF = 0
    UNAVAILABLE = 1
    AVAILABLE = 2
    ENGAGED_HANDS_ON = 3
    ENGAGED_HANDS_OFF = 4
    TAKEOVER_REQUEST = 5
    MINIMAL_RISK = 6

    @property
    def engaged(self) -> bool:
        return self in (PilotState.ENGAGED_HANDS_ON, PilotState.ENGAGED_HANDS_OFF)


class WarningLevel(IntEnum):
    NONE = 0
    OPTICAL = 1
    ACOUSTIC = 2
    DIRECT_CONTROL = 3


class ProposalKind(IntEnum):
    OVERTAKE = 0
    RETURN = 1
    BRANCH = 2
    EXIT = 3
    DRIVER_REQUESTED = 4


class ProposalState(IntEnum):
    PROPOSED = 0
    EXECUTING = 1
    SUCCEEDED = 2
    EXPIRED = 3
    REJECTED = 4
    ABORTED = 5

    @property
    def open(self) -> bool:
        return self in (ProposalState.PROPOSED, ProposalState.EXECUTING)


class CommandMode(IntEnum):
    MANUAL = 0
    ROUTE_PILOT = 1
    MINIMAL_RISK = 2
    PARKING = 3


@dataclass(frozen=True, slots=True)
class Pose2D:
    x_m: float
    y_m: float
    yaw_rad: float


@dataclass(frozen=True, slots=True)
class GnssFix:
    """One receiver solution: geodetic position plus its quality."""

    t_s: float
    latitude_deg: float
    longitude_deg: float
    sigma_m: float  # 1-sigma horizontal
    rtk_state: RtkState


@dataclass(frozen=True, slots=True)
class ImuSample:
    """One reading of the body IMU in base_link, planar (roads are driven flat enough)."""

    t_s: float
    accel_x_mps2: float  # specific force, forward
    accel_y_mps2: float  # specific force, to the left
    yaw_rate_rps: float  # counter-clockwise


@dataclass(frozen=True, slots=True)
class CameraImage:
    """One 8-bit grey image of a camera; row 0 at the top. Calibration travels as settings."""

    t_s: float
    camera_id: str
    pixels: np.ndarray  # (height, width) uint8


@dataclass(frozen=True, slots=True)
class LaneLine:
    """A painted line found in a camera image: y = c0 + c1 x + c2 x^2 + c3 x^3 in base_link."""

    side: LaneLineSide  # which line of the ego lane
    line_type: LaneLineType
    c0: float
    c1: float
    c2: float
    c3: float
    view_range_m: float  # x up to which the fit holds
    confidence: float  # 0..1

    def y_at(self, x_m: float) -> float:
        return self.c0 + x_m * (self.c1 + x_m * (self.c2 + x_m * self.c3))


@dataclass(frozen=True, slots=True)
class LaneLineFrame:
    """The lane lines of one camera frame (none found: an empty tuple)."""

    t_s: float
    camera_id: str
    lines: tuple[LaneLine, ...]

    def line(self, side: LaneLineSide) -> LaneLine | None:
        return next((line for line in self.lines if line.side == side), None)


@dataclass(frozen=True, slots=True)
class VehicleStatus:
    """What the vehicle reports about itself each control cycle."""

    t_s: float
    speed_mps: float
    accel_mps2: float = 0.0
    yaw_rate_rps: float = 0.0
    steering_angle_rad: float = 0.0
    turn_signal: TurnSignal = TurnSignal.OFF
    accelerator_pedal: float = 0.0
    brake_pedal: float = 0.0
    steering_torque_nm: float = 0.0
    hands_on_wheel: bool = False


@dataclass(frozen=True, slots=True)
class Detection:
    """One object seen by one sensor: range from the sensor, azimuth of the line of sight
    measured from base_link's x axis, position in base_link (sensor mount + polar)."""

    kind: SensorKind
    x_m: float
    y_m: float
    range_m: float
    azimuth_rad: float
    range_rate_mps: float = float("nan")  # radar only
    range_sigma_m: float = 0.5
    azimuth_sigma_rad: float = 0.01
    range_rate_sigma_mps: float = 0.2
    classification: ObjectClass = ObjectClass.UNKNOWN  # camera only
    width_m: float = 0.0  # seen width (camera), 0 when unknown


@dataclass(frozen=True, slots=True)
class DetectionFrame:
    """All detections of one sensor for one measurement cycle."""

    t_s: float
    sensor_id: str
    kind: SensorKind
    detections: tuple[Detection, ...]


@dataclass(frozen=True, slots=True)
class EgoEstimate:
    """The localiser's estimate of the ego state in the map frame."""

    t_s: float
    pose: Pose2D
    speed_mps: float
    yaw_rate_rps: float
    position_sigma_m: float


@dataclass(frozen=True, slots=True)
class LanePosition:
    """Where the ego is on the HD map, at lane level."""

    lanelet_id: int  # 0 when not matched
    arc_length_m: float
    lateral_offset_m: float  # from the centreline, positive to the left
    heading_error_rad: float
    lane_index: int  # 0 = leftmost lane of the carriageway
    lane_count: int
    confidence: float
    lane_level: bool
    source: LaneSource

    @property
    def matched(self) -> bool:
        return self.lanelet_id != 0


UNMATCHED = LanePosition(0, 0.0, 0.0, 0.0, 0, 0, 0.0, False, LaneSource.NONE)


@dataclass(frozen=True, slots=True)
class Track:
    """One fused object in the map frame, with its lane relative to the ego."""

    track_id: int
    x_m: float
    y_m: float
    vx_mps: float
    vy_mps: float
    length_m: float = 4.5
    width_m: float = 1.8
    existence: float = 1.0
    position_sigma_m: float = 0.5
    relative_lane: int | None = None  # 0 ego lane, +1 left, -1 right
    lanelet_id: int = 0
    gap_m: float = float("nan")  # bumper to bumper along the lane, negative behind
    relative_speed_mps: float = float("nan")  # object minus ego, along the lane
    classification: ObjectClass = ObjectClass.UNKNOWN


@dataclass(frozen=True, slots=True)
class DriverInput:
    t_s: float
    event: DriverEvent
    proposal_uuid: str = ""
    source: str = "virtual_driver"


@dataclass(frozen=True, slots=True)
class DriverMonitorReading:
    t_s: float
    available: bool = True
    eyes_on_road: bool = True
    hands_on_wheel: bool = False


@dataclass(frozen=True, slots=True)
class Proposal:
    """A manoeuvre the planner proposes and the driver confirms (Autoware RTC, plus expiry)."""

    uuid: str
    kind: ProposalKind
    state: ProposalState
    direction: int  # +1 left, -1 right
    target_lanelet_id: int
    reason: str
    safe: bool
    created_s: float
    expires_s: float  # approval needed before this time
    critical_margin_m: float = float("inf")
    last_point_m: float = float("inf")

    def time_left_s(self, t_s: float) -> float:
        return max(self.expires_s - t_s, 0.0) if self.state == ProposalState.PROPOSED else 0.0


@dataclass(frozen=True, slots=True)
class RouteNotice:
    """One event ahead on the navigation route, as the driver is told of it."""

    kind: str  # branch, exit, lane_drop, speed_limit, toll_plaza, route_drive_end
    distance_m: float  # from the ego along the route
    name: str = ""
    value: float = float("nan")  # speed_limit: the new limit in m/s
    lane_change: int = 0  # lane changes still needed for it: + left, - right


@dataclass(frozen=True, slots=True)
class RouteStatus:
    """Where the ego is on its navigation route and what comes next."""

    length_m: float
    travelled_m: float
    ahead: tuple[RouteNotice, ...] = ()  # a route_drive_end at 0 m: route driving must end here

    def next_of(self, kind: str) -> RouteNotice | None:
        return next((n for n in self.ahead if n.kind == kind), None)


@dataclass(frozen=True, slots=True)
class HmiState:
    """What the driver display shows, and the sound to play now."""

    t_s: float
    pilot_state: PilotState
    message: str = ""
    sound: str = ""
    warning_level: WarningLevel = WarningLevel.NONE
    set_speed_mps: float = 0.0
    time_gap_s: float = 0.0
    lead_detected: bool = False
    lead_gap_m: float = 0.0
    proposals: tuple[Proposal, ...] = ()  # as last published by the planner, for the display
    approved_proposal_uuid: str = ""  # confirmed this cycle with hands on the wheel + switch
    rejected_proposal_uuid: str = ""
    lane_change_request: int = 0  # turn signal with hands on: +1 left, -1 right
    hands_on_wheel: bool = False
    eyes_on_road: bool = True
    locked_out: bool = False


@dataclass(frozen=True, slots=True)
class PathPoint:
    x_m: float
    y_m: float
    yaw_rad: float
    curvature_1pm: float
    speed_mps: float


@dataclass(frozen=True, slots=True)
class Plan:
    """The behaviour planner's request to the controllers for one cycle."""

    t_s: float
    active: bool
    points: tuple[PathPoint, ...] = ()
    target_lanelet_id: int = 0
    target_speed_mps: float = 0.0
    lead_valid: bool = False
    lead_track_id: int = 0
    lead_gap_m: float = float("inf")
    lead_speed_mps: float = 0.0
    time_gap_s: float = 1.8
    turn_signal: TurnSignal = TurnSignal.OFF
    mode: CommandMode = CommandMode.ROUTE_PILOT
    proposals: tuple[Proposal, ...] = ()
    route: RouteStatus | None = None


@dataclass(frozen=True, slots=True)
class VehicleCommand:
    """What the stack asks of the vehicle, after the supervisor."""

    t_s: float
    mode: CommandMode
    accel_mps2: float = 0.0
    curvature_1pm: float = 0.0
    turn_signal: TurnSignal = TurnSignal.OFF
    hazard_lights: bool = False
    limited: bool = False
    limited_reason: str = ""


@dataclass(frozen=True, slots=True)
class StackEvent:
    """Something worth telling a user about a run (engaged, limit hit, ...)."""

    t_s: float
    kind: str
    detail: str = ""


@dataclass(slots=True)
class EventLog:
    """Collects StackEvents from the components of one run."""

    events: list[StackEvent] = field(default_factory=list)

    def add(self, t_s: float, kind: str, detail: str = "") -> None:
        self.events.append(StackEvent(t_s, kind, detail))
