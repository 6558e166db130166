"""Lane changes seen from ground truth: timings and the UN R79 critical distance.

In, each step: the time, the turn signal the stack commands, the ego's lane index and
offset from that lane's centre, its station and speed, and the other vehicles' lanes,
stations and speeds. Out: per lane change the indicator-to-lateral-movement time, the
duration of the lateral movement, and, when the ego crosses the marking, the smallest
margin to S_crit (UN R79 5.6.4.8.3) of any vehicle behind in the lane entered
(negative = violated).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from propilot.core.planning.safety import SafetySettings, r79_critical_distance
from propilot.core.types import TurnSignal

MOVE_THRESHOLD_M = 0.1  # lateral displacement that counts as movement
REAR_RANGE_M = 80.0
LINE_NEAR_M = 1.0  # |offset from the lane centre| above this: at the lane line


@dataclass(slots=True)
class _Change:
    indicator_s: float
    start_y_m: float
    lateral_start_s: float | None = None
    lateral_end_s: float | None = None


@dataclass(slots=True)
class LaneChangeMetrics:
    lane_width_m: float
    r79: SafetySettings = field(default_factory=SafetySettings)
    changes: list[_Change] = field(default_factory=list)
    crossings: int = 0
    critical_margin_m: float = math.inf
    _signal: TurnSignal = TurnSignal.OFF
    _lane: int | None = None
    _offset: float = 0.0
    _renumbered: int = 0  # lane-index shift from lanes added or dropped on the left

    def observe(self, t_s: float, signal: TurnSignal, lane_index: int | None, lateral_offset_m: float,
                ego_station_m: float, ego_speed_mps: float, ego_length_m: float,
                others: Callable[[], list[tuple[int, float, float, float]]]) -> None:
        """others(): (lane index, station of the centre, speed, length) of each vehicle, asked at crossings."""
        if lane_index is not None and self._lane is not None and lane_index != self._lane:
            # A real crossing happens at the lane line; a new lane appearing on the left renumbers lanes
            # while the car stays near its lane's centre.
            if abs(lateral_offset_m) > LINE_NEAR_M and abs(self._offset) > LINE_NEAR_M:
                self.crossings += 1
                self._check_r79(lane_index, ego_station_m, ego_speed_mps, ego_length_m, others())
            else:
                self._renumbered += lane_index - self._lane
        if lane_index is not None:
            self._lane, self._offset = lane_index, lateral_offset_m
        lateral_y_m = -((self._lane or 0) - self._renumbered) * self.lane_width_m + self._offset
        if signal != TurnSignal.OFF and self._signal == TurnSignal.OFF:
            self.changes.append(_Change(t_s, lateral_y_m))
        self._signal = signal
        if self.changes:
            c = self.changes[-1]
            moved = abs(lateral_y_m - c.start_y_m)
            if c.lateral_start_s is None and signal != TurnSignal.OFF and moved > MOVE_THRESHOLD_M:
                c.lateral_start_s = t_s
            if c.lateral_start_s is not None and c.lateral_end_s is None and \
                    abs(moved - self.lane_width_m) < MOVE_THRESHOLD_M:
                c.lateral_end_s = t_s

    def _check_r79(self, lane_index: int, ego_station_m: float, ego_speed_mps: float, ego_length_m: float,
                   others: list[tuple[int, float, float, float]]) -> None:
        for lane, station, speed, length in others:
            gap = ego_station_m - station - 0.5 * (ego_length_m + length)
            if lane == lane_index and 0.0 < gap <= REAR_RANGE_M:
                margin = gap - r79_critical_distance(self.r79, ego_speed_mps, speed)
                self.critical_margin_m = min(self.critical_margin_m, margin)

    def indicator_to_lateral_s(self) -> float:
        """Shortest time from indicator on to lateral movement (R171 asks >= 3 s); inf without any."""
        times = [c.lateral_start_s - c.indicator_s for c in self.changes if c.lateral_start_s is not None]
        return min(times, default=math.inf)

    def lateral_duration_s(self) -> float:
        """Longest lateral movement of a completed change (R79 asks < 5 s); 0 without any."""
        times = [c.lateral_end_s - c.lateral_start_s for c in self.changes if c.lateral_end_s is not None]
        return max(times, default=0.0)
