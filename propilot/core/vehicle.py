"""Ego vehicle geometry: where base_link (rear-axle centre, REP-105) sits in the car.

In: nothing. Out: the dimensions every part measures gaps and footprints with.
"""

from __future__ import annotations

from dataclasses import dataclass

from propilot.core.types import Pose2D


@dataclass(frozen=True, slots=True)
class VehicleGeometry:
    length_m: float = 4.7
    width_m: float = 1.85
    wheelbase_m: float = 2.8
    rear_overhang_m: float = 1.0  # rear bumper to rear axle

    @property
    def front_from_base_m(self) -> float:
        """Front bumper ahead of base_link."""
        return self.length_m - self.rear_overhang_m

    @property
    def centre_from_base_m(self) -> float:
        """Geometric centre ahead of base_link."""
        return self.length_m / 2.0 - self.rear_overhang_m


EGO = VehicleGeometry()

# The sensor rig of this version: one long-range radar in the front bumper, looking ahead.
FRONT_RADAR_ID = "front"
FRONT_RADAR_MOUNT = Pose2D(EGO.front_from_base_m, 0.0, 0.0)
SENSOR_MOUNTS = {FRONT_RADAR_ID: FRONT_RADAR_MOUNT}
