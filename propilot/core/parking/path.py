"""Manoeuvre paths into and out of parking spaces.

In: the car's pose when the manoeuvre starts, the target `ParkingSpace` of the HD map, the car's
geometry and the turning radius. Out: a `ParkingPath`: segments driven forward (+1) or in reverse
(-1), each a polyline of poses with the steering curvature to drive it, or a `PathError` saying
why there is none.

- Perpendicular spaces, as the product does: straight in (nose or tail first, whichever way the
  car faces the space) until the leading bumper is `end_margin_m` from the far end, and straight
  out along the car's axis until the whole car is `exit_margin_m` past the entry line. The car
  must stand on the space's axis, aligned with it (`max_offset_m`, `max_heading_error_rad`).
- Parallel spaces: a Reeds-Shepp path (shortest path of a car that drives forward and back with a
  bounded turning radius; Reeds & Shepp 1990, `rsplan`) from the car's pose to the space's centre,
  facing the way the car faces now.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import rsplan

from propilot.core.map.hdmap import ParkingSpace
from propilot.core.types import Pose2D
from propilot.core.vehicle import VehicleGeometry

STEP_M = 0.05  # spacing of the path's poses


class PathError(ValueError):
    """No path: the reason is a short machine-readable word plus detail."""

    def __init__(self, reason: str, detail: str):
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True, slots=True)
class PathSegment:
    """One stretch driven in one direction: poses (x, y, yaw) every STEP_M and the curvature to steer."""

    direction: int  # +1 forward, -1 reverse
    poses: np.ndarray  # (N, 3): x_m, y_m, yaw_rad
    curvature_1pm: np.ndarray  # (N,): steering curvature (yaw change per signed distance travelled)

    @property
    def length_m(self) -> float:
        return float(np.hypot(*np.diff(self.poses[:, :2], axis=0).T).sum())


@dataclass(frozen=True, slots=True)
class ParkingPath:
    kind: str  # "perpendicular_in", "perpendicular_out", "parallel_in"
    segments: tuple[PathSegment, ...]

    @property
    def length_m(self) -> float:
        return sum(s.length_m for s in self.segments)

    @property
    def goal(self) -> Pose2D:
        x, y, yaw = self.segments[-1].poses[-1]
        return Pose2D(float(x), float(y), float(yaw))


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def straight(start: Pose2D, distance_m: float) -> PathSegment:
    """Along the car's axis: forward for distance_m > 0, reverse for < 0."""
    n = max(2, int(math.ceil(abs(distance_m) / STEP_M)) + 1)
    s = np.linspace(0.0, distance_m, n)
    poses = np.column_stack((start.x_m + s * math.cos(start.yaw_rad), start.y_m + s * math.sin(start.yaw_rad),
                             np.full(n, start.yaw_rad)))
    return PathSegment(1 if distance_m >= 0.0 else -1, poses, np.zeros(n))


def _facing(start: Pose2D, space: ParkingSpace, max_heading_error_rad: float) -> int:
    """+1 when the car faces along the space (entry to end), -1 when it faces the other way."""
    error = _wrap(start.yaw_rad - space.heading_rad)
    if abs(error) <= max_heading_error_rad:
        return 1
    if abs(_wrap(error + math.pi)) <= max_heading_error_rad:
        return -1
    raise PathError("not_aligned", f"heading {math.degrees(error):.1f} deg off the space's axis")


def _axis_offset(start: Pose2D, space: ParkingSpace) -> tuple[float, float]:
    """(along, across) of base_link from the space's entry, in the space's axes."""
    dx, dy = start.x_m - space.entry_xy_m[0], start.y_m - space.entry_xy_m[1]
    c, s = math.cos(space.heading_rad), math.sin(space.heading_rad)
    return dx * c + dy * s, -dx * s + dy * c


def perpendicular_in(start: Pose2D, space: ParkingSpace, car: VehicleGeometry, end_margin_m: float,
                     max_offset_m: float, max_heading_error_rad: float) -> ParkingPath:
    facing = _facing(start, space, max_heading_error_rad)
    along, across = _axis_offset(start, space)
    if abs(across) > max_offset_m:
        raise PathError("not_aligned", f"{across:+.2f} m beside the space's axis (at most {max_offset_m} m)")
    # the bumper that goes first stops end_margin_m before the far end
    leading_m = car.front_from_base_m if facing > 0 else car.rear_overhang_m
    distance = space.length_m - end_margin_m - leading_m - along
    if distance <= 0.0:
        raise PathError("already_in", f"already {-distance:.2f} m past the goal")
    return ParkingPath("perpendicular_in", (straight(start, facing * distance),))


def perpendicular_out(start: Pose2D, space: ParkingSpace, car: VehicleGeometry, exit_margin_m: float,
                      max_heading_error_rad: float) -> ParkingPath:
    facing = _facing(start, space, max_heading_error_rad)
    along, _ = _axis_offset(start, space)
    # the bumper deepest in the space leaves last
    deepest_m = car.front_from_base_m if facing > 0 else car.rear_overhang_m
    distance = along + deepest_m + exit_margin_m
    if distance <= 0.0:
        raise PathError("already_out", "the car is not in the space")
    # leave towards the entry: reverse when nose-in, forward when tail-in
    return ParkingPath("perpendicular_out", (straight(start, -facing * distance),))


def parallel_in(start: Pose2D, space: ParkingSpace, car: VehicleGeometry, turn_radius_m: float) -> ParkingPath:
    """Reeds-Shepp path to the space's centre, facing the way the car faces now."""
    facing = 1 if abs(_wrap(start.yaw_rad - space.heading_rad)) <= math.pi / 2 else -1
    yaw = _wrap(space.heading_rad + (0.0 if facing > 0 else math.pi))
    cx = 0.5 * (space.entry_xy_m[0] + space.end_xy_m[0])
    cy = 0.5 * (space.entry_xy_m[1] + space.end_xy_m[1])
    goal = (cx - car.centre_from_base_m * math.cos(yaw), cy - car.centre_from_base_m * math.sin(yaw), yaw)
    return reeds_shepp("parallel_in", start, Pose2D(*goal), turn_radius_m)


def reeds_shepp(kind: str, start: Pose2D, goal: Pose2D, turn_radius_m: float) -> ParkingPath:
    planned = rsplan.path((start.x_m, start.y_m, start.yaw_rad), (goal.x_m, goal.y_m, goal.yaw_rad),
                          turn_radius_m, 0.0, STEP_M)
    points = planned.waypoints()
    segments: list[PathSegment] = []
    run: list = [points[0]]
    for p in points[1:]:
        if p.driving_direction != run[-1].driving_direction and len(run) > 1:
            segments.append(_segment(run))
            run = [run[-1]]
        run.append(p)
    if len(run) > 1:
        segments.append(_segment(run))
    return ParkingPath(kind, tuple(s for s in segments if s.length_m > 1e-3))


def _segment(points: list) -> PathSegment:
    """A run of rsplan waypoints as a segment; the steering curvature from the poses themselves."""
    poses = np.array([(p.x, p.y, p.yaw) for p in points])
    direction = int(points[-1].driving_direction)
    ds = np.hypot(*np.diff(poses[:, :2], axis=0).T)
    dyaw = np.array([_wrap(float(a)) for a in np.diff(poses[:, 2])])
    curvature = np.divide(dyaw, direction * ds, out=np.zeros_like(ds), where=ds > 1e-9)
    curvature = np.append(curvature, curvature[-1] if curvature.size else 0.0)
    return PathSegment(direction, poses, curvature)
