"""Lane of a tracked object relative to the ego, from the HD map.

In: an object position (map frame) and the ego estimate; the HD map through three
calls: `locate(x, y) -> (lanelet_id, arc_length_m, lateral_offset_m) | None`,
`station(lanelet_id, arc_length_m) -> float` (distance along the carriageway, equal
for points side by side) and `lane_index(lanelet_id) -> (index_from_left, lane_count)`.
Out: (relative_lane, lanelet_id, gap_m) as the tracker's `LaneAssigner` expects:
relative_lane = ego lane index - object lane index (+1 one lane left of the ego, -1
right, 0 same), gap_m = station difference minus the half lengths (negative behind).
Off the map the lane is None and the gap falls back to the ego-frame distance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from propilot.core.fusion.tracker import bumper_gap, ego_frame_gap
from propilot.core.types import EgoEstimate
from propilot.core.vehicle import EGO


class MapLaneAssigner:
    """`LaneAssigner` backed by the HD map (duck-typed, so fusion does not import the map module)."""

    def __init__(self, hdmap: Any):
        self.hdmap = hdmap
        self._ego_key: EgoEstimate | None = None
        self._ego_place: tuple[int, float] | None = None  # (lane index, station) of the ego

    def __call__(self, x_m: float, y_m: float, ego: EgoEstimate) -> tuple[int | None, int, float]:
        ego_place = self._ego_place_on_map(ego)
        located = self.hdmap.locate(x_m, y_m)
        if located is None:
            return None, 0, ego_frame_gap(x_m, y_m, ego)
        lanelet_id, arc_length_m, _ = located
        if ego_place is None:
            return None, lanelet_id, ego_frame_gap(x_m, y_m, ego)
        ego_index, ego_station = ego_place
        object_index, _ = self.hdmap.lane_index(lanelet_id)
        gap = bumper_gap(self.hdmap.station(lanelet_id, arc_length_m) - ego_station)
        return ego_index - object_index, lanelet_id, gap

    def assign_many(self, x_m: np.ndarray, y_m: np.ndarray, ego: EgoEstimate) -> list[tuple[int | None, int, float]]:
        """`__call__` for many objects, with the map's vectorised lookup when it has one."""
        match_many = getattr(self.hdmap, "match_many", None)
        if match_many is None:
            return [self(float(x), float(y), ego) for x, y in zip(x_m, y_m, strict=True)]
        ego_place = self._ego_place_on_map(ego)
        batch = match_many(x_m, y_m)
        out = []
        for x, y, lanelet_id, arc_length_m in zip(x_m.tolist(), y_m.tolist(), batch.lanelet_id.tolist(),
                                                  batch.arc_length_m.tolist(), strict=True):
            if lanelet_id < 0:
                out.append((None, 0, ego_frame_gap(x, y, ego)))
            elif ego_place is None:
                out.append((None, lanelet_id, ego_frame_gap(x, y, ego)))
            else:
                gap = bumper_gap(self.hdmap.station(lanelet_id, arc_length_m) - ego_place[1])
                out.append((ego_place[0] - self.hdmap.lane_index(lanelet_id)[0], lanelet_id, gap))
        return out

    def _ego_place_on_map(self, ego: EgoEstimate) -> tuple[int, float] | None:
        # the tracker asks once per track with the same ego: locate the ego once per estimate
        if ego != self._ego_key:
            self._ego_key = ego
            located = self.hdmap.locate(ego.pose.x_m, ego.pose.y_m)
            if located is None:
                self._ego_place = None
            else:
                lanelet_id, arc_length_m, _ = located
                lane_index, _ = self.hdmap.lane_index(lanelet_id)
                # base_link is the rear axle; gaps are measured from the ego's centre
                station = self.hdmap.station(lanelet_id, arc_length_m) + EGO.centre_from_base_m
                self._ego_place = (lane_index, station)
        return self._ego_place
