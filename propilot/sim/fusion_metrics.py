"""How well the fused objects match the ground truth: GOSPA, false and missed tracks, rear range.

In, each step: the ego's true pose, the other vehicles (`TruthVehicle`), the ids of those some
sensor could see (noise-free geometry, `SensorSuite.seen_ids`) and the stack's confirmed tracks.
Out: `values()` for result.json, names in `scenario.METRIC_NAMES`:
- `fusion_gospa_m`: mean GOSPA (cut-off c, p = 2, alpha = 2; Rahmathullah et al. 2017) between
  the tracks and the vehicles seen within the last `TRUTH_MEMORY_S`, both within `REACH_M`;
- `fusion_false_tracks`, `fusion_missed_tracks`: mean per step of the unassigned tracks and
  vehicles of that optimal assignment;
- `rear_tracking_range_m`: the farthest distance behind the ego at which a vehicle in an
  adjacent lane was tracked with the right relative lane (UN R79 asks >= 55 m of rear sensing).
`gospa` is shared with `benchmarks/fusion.py`, so every tracker is scored the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from propilot.core.map.hdmap import HDMap
from propilot.core.types import Pose2D, Track
from propilot.sim.sensors import TruthVehicle

GOSPA_CUTOFF_M = 10.0  # c: a position error above this counts as one missed plus one false object
TRUTH_MEMORY_S = 1.0  # a vehicle seen this recently should still be tracked (tracks coast 0.5 s)
REACH_M = 200.0  # the objects scored, around the ego
MATCH_FOR_LANE_M = 3.0  # a track this close to a vehicle stands for it when its lane is checked


@dataclass(frozen=True, slots=True)
class GospaResult:
    value_m: float
    localisation_m2: float  # sum of squared errors of the assigned pairs
    missed: int
    false: int
    pairs: tuple[tuple[int, int], ...]  # (estimate index, truth index) within the cut-off


def gospa(estimates: np.ndarray, truths: np.ndarray, cutoff_m: float = GOSPA_CUTOFF_M) -> GospaResult:
    """GOSPA with p = 2, alpha = 2 between (n, 2) estimates and (m, 2) truths."""
    n, m = len(estimates), len(truths)
    pairs: tuple[tuple[int, int], ...] = ()
    localisation = 0.0
    if n and m:
        d = np.hypot(estimates[:, None, 0] - truths[None, :, 0], estimates[:, None, 1] - truths[None, :, 1])
        rows, cols = linear_sum_assignment(np.minimum(d, cutoff_m) ** 2)
        inside = d[rows, cols] < cutoff_m
        pairs = tuple(zip(rows[inside].tolist(), cols[inside].tolist(), strict=True))
        localisation = float(np.sum(d[rows[inside], cols[inside]] ** 2))
    missed, false = m - len(pairs), n - len(pairs)
    value = math.sqrt(localisation + 0.5 * cutoff_m ** 2 * (missed + false))
    return GospaResult(value, localisation, missed, false, pairs)


class FusionMetrics:
    def __init__(self, hdmap: HDMap):
        self.hdmap = hdmap
        self._last_seen: dict[str, float] = {}
        self._steps = 0
        self._gospa_sum = 0.0
        self._false_sum = 0
        self._missed_sum = 0
        self.rear_tracking_range_m = 0.0

    def observe(self, t_s: float, ego: Pose2D, vehicles: Sequence[TruthVehicle], seen_ids: frozenset[str],
                tracks: Sequence[Track]) -> None:
        for vehicle_id in seen_ids:
            self._last_seen[vehicle_id] = t_s
        truth = [v for v in vehicles if t_s - self._last_seen.get(v.vehicle_id, -math.inf) <= TRUTH_MEMORY_S
                 and math.hypot(v.x_m - ego.x_m, v.y_m - ego.y_m) <= REACH_M]
        scored = [t for t in tracks if math.hypot(t.x_m - ego.x_m, t.y_m - ego.y_m) <= REACH_M]
        result = gospa(np.array([(t.x_m, t.y_m) for t in scored]).reshape(-1, 2),
                       np.array([(v.x_m, v.y_m) for v in truth]).reshape(-1, 2))
        self._steps += 1
        self._gospa_sum += result.value_m
        self._false_sum += result.false
        self._missed_sum += result.missed
        self._rear_range(ego, truth, scored, result)

    def _rear_range(self, ego: Pose2D, truth: list[TruthVehicle], tracks: list[Track], result: GospaResult) -> None:
        """The farthest vehicle behind in an adjacent lane whose track has the right relative lane."""
        ego_place = self.hdmap.locate(ego.x_m, ego.y_m)
        if ego_place is None:
            return
        ego_index, _ = self.hdmap.lane_index(ego_place[0])
        cos_yaw, sin_yaw = math.cos(ego.yaw_rad), math.sin(ego.yaw_rad)
        for i, j in result.pairs:
            vehicle, track = truth[j], tracks[i]
            behind = -((vehicle.x_m - ego.x_m) * cos_yaw + (vehicle.y_m - ego.y_m) * sin_yaw)
            if behind <= self.rear_tracking_range_m or behind <= 0.0:
                continue
            if math.hypot(track.x_m - vehicle.x_m, track.y_m - vehicle.y_m) > MATCH_FOR_LANE_M:
                continue
            place = self.hdmap.locate(vehicle.x_m, vehicle.y_m)
            if place is None:
                continue
            relative_lane = ego_index - self.hdmap.lane_index(place[0])[0]
            if abs(relative_lane) == 1 and track.relative_lane == relative_lane:
                self.rear_tracking_range_m = behind

    def values(self) -> dict[str, float]:
        steps = max(self._steps, 1)
        return {
            "fusion_gospa_m": self._gospa_sum / steps,
            "fusion_false_tracks": self._false_sum / steps,
            "fusion_missed_tracks": self._missed_sum / steps,
            "rear_tracking_range_m": self.rear_tracking_range_m,
        }
