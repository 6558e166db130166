"""Ground-truth geometry around the ego, for metrics and the virtual driver (never the stack).

In: the ego's centre and heading and the other vehicles. Out: each vehicle's position in
the ego frame, and the vehicles in the ego's corridor ahead with bumper gap and the
speed along the ego heading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from propilot.sim.sensors import TruthVehicle
from propilot.sim.vehicle import LENGTH_M, WIDTH_M

CORRIDOR_HALF_WIDTH_M = (WIDTH_M + 1.8) / 2.0  # a car whose footprint overlaps the ego's path


@dataclass(frozen=True, slots=True)
class Ahead:
    vehicle: TruthVehicle
    gap_m: float  # bumper to bumper
    speed_along_mps: float  # its speed along the ego heading


def ego_frame(centre: tuple[float, float], yaw_rad: float, others: list[TruthVehicle]) -> tuple[np.ndarray, np.ndarray]:
    """(dx, dy) of every vehicle's centre in the ego frame."""
    if not others:
        return np.empty(0), np.empty(0)
    c, s = math.cos(yaw_rad), math.sin(yaw_rad)
    xy = np.array([(o.x_m, o.y_m) for o in others]) - centre
    return xy[:, 0] * c + xy[:, 1] * s, -xy[:, 0] * s + xy[:, 1] * c


def vehicles_ahead(centre: tuple[float, float], yaw_rad: float, others: list[TruthVehicle],
                   dx: np.ndarray | None = None, dy: np.ndarray | None = None) -> list[Ahead]:
    if dx is None or dy is None:
        dx, dy = ego_frame(centre, yaw_rad, others)
    return [Ahead(others[i], float(dx[i]) - (LENGTH_M + others[i].length_m) / 2.0,
                  others[i].speed_mps * math.cos(others[i].yaw_rad - yaw_rad))
            for i in np.nonzero((dx > 0) & (np.abs(dy) < CORRIDOR_HALF_WIDTH_M))[0]]
