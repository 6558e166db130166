"""Remote park: fob packets, sonar echoes and the car's motion in; the parking command and state out.

In, each control cycle: the `VehicleMotion` (wheel speed, yaw rate, gear), the fob packets received
since the last cycle and the sonar readings delivered. Out: a `ParkingOutput`: the command
(acceleration along the way of travel, curvature, gear, parking brake), the `ParkingStatus` for the
display and the fob, and the verdict on each packet. The parts, in cycle order:

    odometry (dead reckoning from the pose at arming) -> fob verifier (fob.py) -> start: plan the
    path (path.py) -> sonar guard (guard.py) -> hold-to-move supervisor (supervisor.py) ->
    path follower (speed profile + curvature feed-forward and feedback) or stop and hold

The same object runs in lockstep mode and inside the parking node, so both compute the same thing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from propilot.core.fusion.rig import Sensor
from propilot.core.map.hdmap import HDMap, ParkingSpace
from propilot.core.parking import path as paths
from propilot.core.parking.fob import FobSettings, FobVerdict, FobVerifier
from propilot.core.parking.guard import GuardSettings, GuardView, SonarGuard
from propilot.core.parking.supervisor import HoldSettings, HoldToMove, SupervisorInput
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
from propilot.core.settings import groups_from_mapping, setting
from propilot.core.types import Pose2D
from propilot.core.vehicle import EGO, VehicleGeometry

STANDSTILL_MPS = 0.01
TERMINAL = (ParkState.IDLE, ParkState.COMPLETED, ParkState.ABORTED)


@dataclass(frozen=True, slots=True)
class MotionSettings:
    speed_mps: float = setting(1.0, unit="m/s", minimum=0.1, maximum=2.78,
                               description="creep speed while the hold lasts (default 1 m/s; never above 10 km/h)",
                               source="ISO 16787 / UN R79 RCP: <= 10 km/h (2.78 m/s)")
    accel_mps2: float = setting(0.5, unit="m/s^2", minimum=0.1, maximum=2.0, description="pulling away")
    decel_mps2: float = setting(0.5, unit="m/s^2", minimum=0.1, maximum=2.0,
                                description="planned braking to the end of a segment")
    stop_decel_mps2: float = setting(6.0, unit="m/s^2", minimum=3.0, maximum=8.0,
                                     description="braking on release, signal loss, range or obstacle: from "
                                                 "1 m/s the car stands within 0.3 s and 0.2 m",
                                     source="UN R79 RCP: stop at once on release; ProPILOT Remote Park "
                                            "requirement: <= 0.3 s, <= 0.2 m at creep speed")
    travel_limit_m: float = setting(15.0, unit="m", minimum=1.0, maximum=30.0,
                                    description="most a manoeuvre may travel (paths longer are refused; "
                                                "travel beyond the path + 1 m aborts)",
                                    source="UN R79 RCP: travel limited per manoeuvre (reference design "
                                           "1.5 x car length per move)")
    goal_tolerance_m: float = setting(0.05, unit="m", minimum=0.01, maximum=0.5,
                                      description="a segment is done this close to its end")
    speed_gain_1ps: float = setting(2.0, unit="1/s", minimum=0.1, maximum=10.0,
                                    description="acceleration per m/s of speed error")
    lateral_gain_1pm2: float = setting(1.0, unit="1/m^2", minimum=0.0, maximum=10.0,
                                       description="curvature per m of lateral error from the path")
    heading_gain_1pm: float = setting(2.0, unit="1/m", minimum=0.0, maximum=10.0,
                                      description="curvature per rad of heading error from the path")


@dataclass(frozen=True, slots=True)
class ManoeuvreSettings:
    space: str = setting("", description="target parking space (its name in the HD map, e.g. AN05)")
    start_x_m: float = setting(0.0, unit="m", description="map pose of the car when remote park was armed: x")
    start_y_m: float = setting(0.0, unit="m", description="... y")
    start_yaw_deg: float = setting(0.0, unit="deg", minimum=-180.0, maximum=180.0, description="... heading")
    turn_radius_m: float = setting(5.0, unit="m", minimum=4.0, maximum=20.0,
                                   description="Reeds-Shepp turning radius (the car's minimum is 4.0 m: 35 deg "
                                               "road wheel angle at 2.8 m wheelbase)")
    end_margin_m: float = setting(0.15, unit="m", minimum=0.0, maximum=2.0,
                                  description="leading bumper's distance to the far end of a perpendicular space "
                                              "(0.15 m centres a 4.7 m car in a 5 m bay)")
    exit_margin_m: float = setting(0.5, unit="m", minimum=0.0, maximum=3.0,
                                   description="whole car this far past the entry line when out of a space")
    max_offset_m: float = setting(0.3, unit="m", minimum=0.0, maximum=1.0,
                                  description="straight in only from this close to the space's axis")
    max_heading_error_deg: float = setting(5.0, unit="deg", minimum=0.0, maximum=20.0,
                                           description="straight in/out only when aligned this well")

    @property
    def start_pose(self) -> Pose2D:
        return Pose2D(self.start_x_m, self.start_y_m, math.radians(self.start_yaw_deg))


@dataclass(frozen=True, slots=True)
class ParkingSettings:
    fob: FobSettings
    hold: HoldSettings
    sonar_guard: GuardSettings
    remote_park: MotionSettings
    manoeuvre: ManoeuvreSettings


    @staticmethod
    def from_mapping(values: Mapping[str, Any] | None, origin: str) -> ParkingSettings:
        """{group: {name: value}} (the parking node's parameters) -> settings; missing groups take defaults."""
        return ParkingSettings(**groups_from_mapping(PARKING_GROUPS, values, origin))


# The parking node's parameter groups (stack.NODE_SETTINGS["parking"]).
PARKING_GROUPS: dict[str, type] = {"fob": FobSettings, "hold": HoldSettings, "sonar_guard": GuardSettings,
                                   "remote_park": MotionSettings, "manoeuvre": ManoeuvreSettings}


@dataclass(frozen=True, slots=True)
class ParkingOutput:
    command: ParkingCommand
    status: ParkingStatus
    verdicts: tuple[tuple[FobPacket, FobVerdict], ...]
    events: tuple[tuple[str, str], ...] = ()  # (kind, detail) worth logging
    guard: GuardView | None = None


@dataclass(slots=True)
class _Follower:
    """Progress along the planned path."""

    path: paths.ParkingPath
    segment: int = 0
    index: int = 0
    cumulative: list[np.ndarray] = field(default_factory=list)  # per segment: distance from its start

    def __post_init__(self) -> None:
        self.cumulative = [np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(s.poses[:, :2], axis=0).T))))
                           for s in self.path.segments]

    @property
    def current(self) -> paths.PathSegment:
        return self.path.segments[self.segment]

    def locate(self, pose: Pose2D) -> None:
        """Advance the index to the nearest pose ahead (never backwards)."""
        poses = self.current.poses
        window = poses[self.index:self.index + 40]
        d = np.hypot(window[:, 0] - pose.x_m, window[:, 1] - pose.y_m)
        self.index += int(np.argmin(d))

    def segment_remaining_m(self, pose: Pose2D) -> float:
        """Path left in this segment: to the nearest pose, then along its tangent to the car."""
        c = self.cumulative[self.segment]
        x, y, yaw = self.current.poses[self.index]
        ahead = self.current.direction * ((pose.x_m - x) * math.cos(yaw) + (pose.y_m - y) * math.sin(yaw))
        return float(c[-1] - c[self.index] - ahead)

    def remaining_m(self, pose: Pose2D) -> float:
        later = sum(float(c[-1]) for c in self.cumulative[self.segment + 1:])
        return max(0.0, self.segment_remaining_m(pose)) + later

    def errors(self, pose: Pose2D) -> tuple[float, float, float]:
        """(lateral error, left positive; heading error; feed-forward curvature) at the nearest pose."""
        x, y, yaw = self.current.poses[self.index]
        e = -(pose.x_m - x) * math.sin(yaw) + (pose.y_m - y) * math.cos(yaw)
        heading = (pose.yaw_rad - yaw + math.pi) % (2.0 * math.pi) - math.pi
        return e, heading, float(self.current.curvature_1pm[self.index])


class RemotePark:
    def __init__(self, settings: ParkingSettings, hdmap: HDMap, sonars: Sequence[Sensor], key: bytes | None,
                 car: VehicleGeometry = EGO):
        self.settings = settings
        self.hdmap = hdmap
        self.car = car
        self.verifier = FobVerifier(settings.fob, key)
        self.guard = SonarGuard(settings.sonar_guard, sonars, car, settings.remote_park.stop_decel_mps2)
        self.supervisor = HoldToMove(settings.hold)
        self.pose = settings.manoeuvre.start_pose  # dead reckoning from the pose at arming
        self.follower: _Follower | None = None
        self.travelled_m = 0.0
        self.operator_distance_m = math.inf
        self.gear = Gear.PARK  # what this module last asked for
        self._last: VehicleMotion | None = None
        self._state = ParkState.IDLE

    # --- the cycle ---------------------------------------------------------------------------------
    def step(self, motion: VehicleMotion, packets: Sequence[FobPacket],
             sonar: Sequence[SonarReading]) -> ParkingOutput:
        events: list[tuple[str, str]] = []
        signed_v = self._odometry(motion)
        verdicts = []
        commands = []
        for packet in packets:
            verdict = self.verifier.check(packet, motion.t_s)
            verdicts.append((packet, verdict))
            if verdict.accepted:
                commands.append((packet.received_t_s, packet.command))
                self.operator_distance_m = packet.distance_m
            else:
                events.append(("fob_rejected", f"{verdict.reason} (counter {packet.counter}, "
                                               f"{packet.command.name.lower()})"))
        self.guard.add(sonar)
        direction = self.follower.current.direction if self.follower else (1 if signed_v >= 0 else -1)
        view = self.guard.view(motion.t_s, direction, motion.speed_mps)
        done = self._segment_progress(motion)
        out = self.supervisor.update(SupervisorInput(
            motion.t_s, tuple(commands), self.operator_distance_m, view.blocked or bool(view.failed), view.clear,
            path_done=done, travel_exceeded=self._travel_exceeded()))
        if out.start is not None and abs(signed_v) < STANDSTILL_MPS:
            self._plan(out.start, motion.t_s, events)
        state, reason = self.supervisor.state, self.supervisor.reason
        if state != self._state:
            events.append(("parking_state", f"{state.name}" + (f": {reason}" if reason else "")))
            self._state = state
        command = self._command(motion, state == ParkState.MOVING)
        remaining = self.follower.remaining_m(self.pose) if self.follower else 0.0
        rejections = tuple(v.reason for _, v in verdicts if not v.accepted)
        status = ParkingStatus(motion.t_s, state, reason, remaining, view.min_clearance_m, motion.speed_mps,
                               rejections)
        return ParkingOutput(command, status, tuple(verdicts), tuple(events), view)

    def _odometry(self, motion: VehicleMotion) -> float:
        """Integrate wheel speed (signed by the gear) and yaw rate; return the signed speed."""
        signed = -motion.speed_mps if motion.gear == Gear.REVERSE else motion.speed_mps
        if self._last is not None:
            dt = motion.t_s - self._last.t_s
            last_signed = -self._last.speed_mps if self._last.gear == Gear.REVERSE else self._last.speed_mps
            v = 0.5 * (signed + last_signed)
            yaw_rate = 0.5 * (motion.yaw_rate_rps + self._last.yaw_rate_rps)
            mid_yaw = self.pose.yaw_rad + 0.5 * yaw_rate * dt
            yaw = self.pose.yaw_rad + yaw_rate * dt
            self.pose = Pose2D(self.pose.x_m + v * math.cos(mid_yaw) * dt, self.pose.y_m + v * math.sin(mid_yaw) * dt,
                               math.atan2(math.sin(yaw), math.cos(yaw)))
            if self.follower is not None:
                self.travelled_m += abs(v) * dt
        self._last = motion
        return signed

    def _segment_progress(self, motion: VehicleMotion) -> bool:
        """Follow the progress; move on to the next segment at a standstill. True when the path is done."""
        if self.follower is None:
            return False
        self.follower.locate(self.pose)
        tolerance = self.settings.remote_park.goal_tolerance_m
        at_end = self.follower.segment_remaining_m(self.pose) <= tolerance
        if at_end and motion.speed_mps < STANDSTILL_MPS:
            if self.follower.segment + 1 < len(self.follower.path.segments):
                self.follower.segment += 1
                self.follower.index = 0
                return False
            return True
        return False

    def _travel_exceeded(self) -> bool:
        if self.follower is None:
            return False
        limit = min(self.settings.remote_park.travel_limit_m, self.follower.path.length_m + 1.0)
        return self.travelled_m > limit

    def _plan(self, start: FobCommandKind, t_s: float, events: list[tuple[str, str]]) -> None:
        m = self.settings.manoeuvre
        spaces = {s.name: s for s in self.hdmap.parking_spaces()}
        space: ParkingSpace | None = spaces.get(m.space)
        try:
            if space is None:
                raise paths.PathError("no_space", f"no parking space {m.space!r} in the map")
            heading_error = math.radians(m.max_heading_error_deg)
            if start == FobCommandKind.START_IN and space.kind == "parallel":
                path = paths.parallel_in(self.pose, space, self.car, m.turn_radius_m)
            elif start == FobCommandKind.START_IN:
                path = paths.perpendicular_in(self.pose, space, self.car, m.end_margin_m, m.max_offset_m,
                                              heading_error)
            elif space.kind == "perpendicular":
                path = paths.perpendicular_out(self.pose, space, self.car, m.exit_margin_m, heading_error)
            else:
                raise paths.PathError("not_supported", f"out of a {space.kind or 'unknown'} space")
            if path.length_m > self.settings.remote_park.travel_limit_m:
                raise paths.PathError("path_too_long", f"{path.length_m:.1f} m")
        except paths.PathError as exc:
            self.follower = None
            self.supervisor.finish(ParkState.ABORTED, exc.reason)
            events.append(("parking_refused", str(exc)))
            return
        self.follower = _Follower(path)
        self.travelled_m = 0.0
        self.supervisor.start(t_s)
        segments = ", ".join(f"{'fwd' if s.direction > 0 else 'rev'} {s.length_m:.2f} m" for s in path.segments)
        events.append(("parking_planned", f"{path.kind} {m.space}: {segments}"))

    def _command(self, motion: VehicleMotion, moving: bool) -> ParkingCommand:
        s = self.settings.remote_park
        standstill = motion.speed_mps < STANDSTILL_MPS
        curvature = 0.0
        if self.follower is not None:
            e, heading, feed_forward = self.follower.errors(self.pose)
            direction = self.follower.current.direction
            curvature = feed_forward - s.lateral_gain_1pm2 * e - direction * s.heading_gain_1pm * heading
        if moving and self.follower is not None:
            direction = self.follower.current.direction
            wanted = Gear.DRIVE if direction > 0 else Gear.REVERSE
            if motion.gear != wanted:  # change gear at a standstill only
                self.gear = wanted
                accel = -s.stop_decel_mps2 if not standstill else 0.0
                return ParkingCommand(motion.t_s, accel, curvature, wanted, parking_brake=standstill, active=True)
            remaining = self.follower.segment_remaining_m(self.pose)
            room = max(0.0, remaining - 0.5 * s.goal_tolerance_m)
            braking_speed = math.sqrt(2.0 * s.decel_mps2 * room)  # to stand at the segment's end
            target = min(s.speed_mps, braking_speed)
            feed_forward = -s.decel_mps2 if braking_speed < min(s.speed_mps, motion.speed_mps) else 0.0
            accel = feed_forward + s.speed_gain_1ps * (target - motion.speed_mps)
            if remaining <= s.goal_tolerance_m:  # arrived: stand still
                accel = -s.stop_decel_mps2 if not standstill else 0.0
            accel = min(max(accel, -s.stop_decel_mps2), s.accel_mps2)
            self.gear = wanted
            return ParkingCommand(motion.t_s, accel, curvature, wanted, parking_brake=False, active=True)
        # not allowed to move: brake to a standstill, then hold with the parking brake
        if self.supervisor.state in TERMINAL and standstill:
            self.gear = Gear.PARK
        else:
            self.gear = motion.gear
        accel = 0.0 if standstill else -s.stop_decel_mps2
        active = self.supervisor.state not in (ParkState.IDLE,)
        return ParkingCommand(motion.t_s, accel, curvature, self.gear, parking_brake=standstill, active=active)
