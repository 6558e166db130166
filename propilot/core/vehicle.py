"""Ego vehicle geometry: where base_link (rear-axle centre, REP-105) sits in the car.

In: nothing. Out: the dimensions every part measures gaps and footprints with.
"""

from __future__ import annotations

from dataclasses import dataclass


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

# The sensors and their mounts: the rig file (sim/rigs/default.yaml, propilot.core.fusion.rig).
