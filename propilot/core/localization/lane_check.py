"""What the camera's lane lines say about the ego's lane: a measurement and a check against the map.

In: a `LaneLineFrame` (lines in base_link) and, for the check, the HD map and the lanelet the
filter has matched. Out: a `CameraLaneMeasurement` (offset from the lane centre and heading
relative to the lane, as the lines show them) and a verdict on the lane: the painted line
types the camera sees (solid at the carriageway's edges, dashed between lanes) either
confirm the matched lane, contradict it, or cannot tell (a line not seen or of unknown type).

    offset  d   = -(y_left(0) + y_right(0)) / 2      (one line: -(y_line(0) -+ width / 2))
    heading psi = -atan(dy/dx at x = 0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from propilot.core.map.hdmap import HDMap
from propilot.core.types import LaneLineFrame, LaneLineSide, LaneLineType

MIN_LANE_WIDTH_M = 2.5  # narrower "lanes" between two found lines are a misdetection
MAX_LANE_WIDTH_M = 5.0  # (motorway lanes: 3.25-3.75 m; Japan 3.5 m, Germany 3.5-3.75 m)


class LaneVerdict(Enum):
    CONFIRMS = "confirms"
    CONTRADICTS = "contradicts"
    UNDECIDED = "undecided"


@dataclass(frozen=True, slots=True)
class CameraLaneMeasurement:
    offset_m: float  # base_link from the centre of the lane the camera sees, + left
    heading_rad: float  # ego yaw minus the lane's heading
    width_m: float  # lane width between the two lines; nan with one line
    left_type: LaneLineType  # UNKNOWN when not seen
    right_type: LaneLineType
    confidence: float  # the weaker line's confidence

    @property
    def both_lines(self) -> bool:
        return not math.isnan(self.width_m)


def camera_measurement(frame: LaneLineFrame, lane_width_m: float) -> CameraLaneMeasurement | None:
    """The offset and heading the lines show; None without a usable line or with an implausible pair.

    lane_width_m places the lane centre when only one line is seen.
    """
    left, right = frame.line(LaneLineSide.LEFT), frame.line(LaneLineSide.RIGHT)
    lines = [line for line in (left, right) if line is not None]
    if not lines or not all(math.isfinite(v) for line in lines for v in (line.c0, line.c1, line.confidence)):
        return None
    heading = -math.atan(sum(line.c1 for line in lines) / len(lines))
    if left is not None and right is not None:
        width = left.c0 - right.c0
        if not MIN_LANE_WIDTH_M <= width <= MAX_LANE_WIDTH_M:
            return None
        offset = -0.5 * (left.c0 + right.c0)
    else:
        width = math.nan
        offset = -(left.c0 - 0.5 * lane_width_m) if left is not None else -(right.c0 + 0.5 * lane_width_m)
    return CameraLaneMeasurement(offset, heading, width,
                                 left.line_type if left is not None else LaneLineType.UNKNOWN,
                                 right.line_type if right is not None else LaneLineType.UNKNOWN,
                                 min(line.confidence for line in lines))


def expected_line_types(hdmap: HDMap, lanelet_id: int) -> tuple[LaneLineType, LaneLineType]:
    """(left, right) paint of a lanelet's boundaries: dashed where a lane change is allowed, else solid."""
    out = []
    for neighbour in (hdmap.left_of(lanelet_id), hdmap.right_of(lanelet_id)):
        dashed = neighbour is not None and (hdmap.lane_change_allowed(lanelet_id, neighbour)
                                            or hdmap.lane_change_allowed(neighbour, lanelet_id))
        out.append(LaneLineType.DASHED if dashed else LaneLineType.SOLID)
    return out[0], out[1]


def verdict(measured: tuple[LaneLineType, LaneLineType], expected: tuple[LaneLineType, LaneLineType]) -> LaneVerdict:
    """Every line whose type was seen agrees (and at least one was seen), or one disagrees."""
    seen = [(m, e) for m, e in zip(measured, expected, strict=True) if m in (LaneLineType.SOLID, LaneLineType.DASHED)]
    if any(m != e for m, e in seen):
        return LaneVerdict.CONTRADICTS
    return LaneVerdict.CONFIRMS if seen else LaneVerdict.UNDECIDED


def neighbour_that_fits(hdmap: HDMap, lanelet_id: int, measured: tuple[LaneLineType, LaneLineType]) -> int:
    """+1 if only the left neighbour's paint matches what the camera sees, -1 if only the right's, else 0."""
    fits = []
    for direction, neighbour in ((1, hdmap.left_of(lanelet_id)), (-1, hdmap.right_of(lanelet_id))):
        if neighbour is not None and verdict(measured, expected_line_types(hdmap, neighbour)) == LaneVerdict.CONFIRMS:
            fits.append(direction)
    return fits[0] if len(fits) == 1 else 0
