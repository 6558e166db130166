"""Localisation metrics of a scenario run: the stack's estimate against the truth.

In, each step: the true base_link pose, the GNSS state the sky allowed, and the stack's
`EgoEstimate` and `LanePosition`. Out: `max_lateral_error_m` (cross-track error of the
estimate), `lane_correct_share` (steps with the estimate in the true lane), `lane_level_share`
(steps the stack claimed lane-level localisation), and an event each time lane-level
localisation is lost or regained, with where the lane came from.
"""

from __future__ import annotations

import math

from propilot.core.map.hdmap import HDMap
from propilot.core.types import EgoEstimate, EventLog, LanePosition, Pose2D, RtkState


class LocalizationMetrics:
    def __init__(self, hdmap: HDMap, events: EventLog):
        self.hdmap = hdmap
        self.events = events
        self._steps = self._estimated = self._lane_hits = self._lane_level = 0
        self._max_lateral_m = 0.0
        self._was_lane_level: bool | None = None

    def observe(self, t_s: float, truth: Pose2D, gnss_state: RtkState, ego: EgoEstimate | None,
                lane: LanePosition) -> None:
        self._steps += 1
        self._lane_level += lane.lane_level
        if self._was_lane_level is not None and lane.lane_level != self._was_lane_level:
            what = "regained" if lane.lane_level else "lost"
            self.events.add(t_s, "lane_level", f"{what} ({lane.source.name.lower()}, GNSS {gnss_state.name.lower()})")
        self._was_lane_level = lane.lane_level
        if ego is None:
            return
        self._estimated += 1
        normal = (-math.sin(truth.yaw_rad), math.cos(truth.yaw_rad))
        lateral = (ego.pose.x_m - truth.x_m) * normal[0] + (ego.pose.y_m - truth.y_m) * normal[1]
        self._max_lateral_m = max(self._max_lateral_m, abs(lateral))
        true_lane = self.hdmap.match(truth)
        self._lane_hits += lane.matched and true_lane.matched and lane.lane_index == true_lane.lane_index

    def values(self) -> dict[str, float]:
        steps = max(self._steps, 1)
        return {
            "max_lateral_error_m": round(self._max_lateral_m, 4) if self._estimated else math.inf,
            "lane_correct_share": round(self._lane_hits / steps, 4),
            "lane_level_share": round(self._lane_level / steps, 4),
        }
