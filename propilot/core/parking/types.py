"""Typed values of remote parking: fob packets, sonar readings, the vehicle's motion, commands, state.

In: nothing (definitions only). Out: the dataclasses and enums the parking core, the
simulator and the ROS conversions share. SI units; poses in the map frame (REP-103).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class FobCommandKind(IntEnum):
    """What the fob asks (values as propilot_msgs/FobCommand COMMAND_*)."""

    START_IN = 0
    START_OUT = 1
    HOLD = 2
    STOP = 3


class Gear(IntEnum):
    """Values as propilot_msgs/VehicleStatus GEAR_*."""

    PARK = 0
    REVERSE = 1
    NEUTRAL = 2
    DRIVE = 3


class ParkState(IntEnum):
    """Values as propilot_msgs/ParkingState STATE_*."""

    IDLE = 0
    READY = 1  # a manoeuvre is planned; waiting for a hold
    MOVING = 2
    PAUSED = 3  # hold released, signal lost or operator out of range
    BLOCKED = 4  # obstacle inside the stop clearance
    COMPLETED = 5
    ABORTED = 6


@dataclass(frozen=True, slots=True)
class FobPacket:
    """One fob radio packet as the vehicle's receiver got it."""

    received_t_s: float  # vehicle clock at reception
    vehicle_id: str
    counter: int  # rolling counter, strictly increasing per fob
    command: FobCommandKind
    timestamp_s: float  # the fob's clock when it sent the packet
    mac: bytes  # HMAC-SHA256 over vehicle id, counter, command, timestamp
    distance_m: float  # operator distance measured by the receiver (UWB / RSSI ranging)


@dataclass(frozen=True, slots=True)
class SonarReading:
    """One sonar cycle: the nearest echo in the beam cone, +inf when nothing echoed (REP-117)."""

    t_s: float  # measurement time
    sensor_id: str
    range_m: float


@dataclass(frozen=True, slots=True)
class VehicleMotion:
    """What the vehicle reports each cycle: wheel speed (unsigned), yaw rate, engaged gear."""

    t_s: float
    speed_mps: float
    yaw_rate_rps: float
    gear: Gear


@dataclass(frozen=True, slots=True)
class ParkingCommand:
    """What remote park asks of the vehicle (VehicleCommand in MODE_PARKING)."""

    t_s: float
    accel_mps2: float  # along the direction of travel: negative brakes, in either gear
    curvature_1pm: float  # of the path, positive to the left
    gear: Gear
    parking_brake: bool
    active: bool  # remote park drives the car (False: the command only holds it)


@dataclass(frozen=True, slots=True)
class ParkingStatus:
    """What the display and the fob show: what the car does and why it stopped."""

    t_s: float
    state: ParkState
    reason: str  # why it is not moving ("" while moving)
    remaining_m: float  # path left in the manoeuvre
    min_clearance_m: float  # nearest sonar echo, +inf when none
    speed_mps: float
    fob_rejections: tuple[str, ...] = ()  # packets refused this cycle, one reason each
