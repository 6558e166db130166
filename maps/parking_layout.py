"""Layout of the `parking` map: a car park with perpendicular and parallel spaces, for remote parking.

In: nothing. Out: a validated `roadgen.Map` of the aisles and the list of `Space`s beside them, in
the map frame (x east, y north, metres). generate.py writes the spaces into each format: Lanelet2
`parking_space` line strings and a `parking_lot` area (Autoware's conventions), OpenDRIVE
`parkingSpace` objects on the aisle roads, and a SUMO `parkingArea` per row.

    aisle B (north, 40 m): 6 parallel spaces on its east side
      |
    T junction ---- aisle A (80 m, from the entrance at x = 0 eastwards): 24 perpendicular
      |             spaces on each side between x = 15 and x = 75
    aisle C (south, 40 m): 6 parallel spaces on its west side

Aisles are two-way, one 3 m lane each way, 10 km/h, right-hand traffic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import roadgen

NAME = "parking"
ORIGIN_LAT_DEG, ORIGIN_LON_DEG = 35.31, 139.51
AISLE_LANE_WIDTH_M = 3.0
AISLE_KPH = 10.0
AISLE_A_LENGTH_M = 80.0
SIDE_AISLE_LENGTH_M = 40.0
SIDE_AISLE_OFFSET_M = 12.0  # the side aisles start this far from aisle A's end, across and along
PERPENDICULAR_WIDTH_M, PERPENDICULAR_DEPTH_M = 2.5, 5.0  # a usual bay: 2.5 m x 5.0 m
PARALLEL_WIDTH_M, PARALLEL_LENGTH_M = 2.5, 6.0
PERPENDICULAR_FROM_M, PERPENDICULAR_TO_M = 15.0, 75.0
PARALLEL_MARGIN_M = 2.0  # first parallel space starts this far into its aisle
LOT_MARGIN_M = 3.0  # the lot's outline lies this far outside the outermost space or aisle


@dataclass(frozen=True)
class Space:
    """One parking space: its centre line from the aisle side (entry) to the far end, and its width."""

    name: str
    kind: str  # "perpendicular" or "parallel"
    road: str  # the aisle it opens onto
    entry: tuple[float, float]
    end: tuple[float, float]
    width_m: float
    s_m: float  # along the aisle's reference line, to the space's centre
    t_m: float  # across it (+ left), to the space's centre

    @property
    def heading_rad(self) -> float:
        return math.atan2(self.end[1] - self.entry[1], self.end[0] - self.entry[0])

    @property
    def length_m(self) -> float:
        return math.dist(self.entry, self.end)


def _aisle_lanes() -> list[roadgen.Lane]:
    """One lane each way: a broken line between them, solid edges. (roadgen reads a backward lane's
    markings in the road's direction, so its kerb is its `left`.)"""
    return [roadgen.Lane(width=AISLE_LANE_WIDTH_M, direction="forward", speed_limit_kph=AISLE_KPH,
                         left_marking="broken", right_marking="solid"),
            roadgen.Lane(width=AISLE_LANE_WIDTH_M, direction="backward", speed_limit_kph=AISLE_KPH,
                         left_marking="solid", right_marking="broken")]


def build() -> tuple[roadgen.Map, list[Space], list[tuple[float, float]]]:
    """The aisles, the spaces and the lot's outline (counter-clockwise corners)."""
    m = roadgen.Map(name=NAME, origin=(ORIGIN_LAT_DEG, ORIGIN_LON_DEG, 0.0), projection="local_cartesian",
                    handedness="rht", sampling=1.0)
    a = roadgen.Alignment((0.0, 0.0, 0.0), heading=0.0)
    a.line(AISLE_A_LENGTH_M)
    aisle_a = m.add_road(lanes=_aisle_lanes(), alignment=a, name="aisle_a", type_="town")
    x_side = AISLE_A_LENGTH_M + SIDE_AISLE_OFFSET_M
    b = roadgen.Alignment((x_side, SIDE_AISLE_OFFSET_M, 0.0), heading=math.pi / 2)
    b.line(SIDE_AISLE_LENGTH_M)
    aisle_b = m.add_road(lanes=_aisle_lanes(), alignment=b, name="aisle_b", type_="town")
    c = roadgen.Alignment((x_side, -SIDE_AISLE_OFFSET_M, 0.0), heading=-math.pi / 2)
    c.line(SIDE_AISLE_LENGTH_M)
    aisle_c = m.add_road(lanes=_aisle_lanes(), alignment=c, name="aisle_c", type_="town")
    t = m.add_junction("aisle_t")
    # Lane 0 runs with the road (away from the junction on B and C), lane 1 against it.
    for frm, to in ((aisle_a.lane(0), aisle_b.lane(0)), (aisle_a.lane(0), aisle_c.lane(0)),
                    (aisle_b.lane(1), aisle_a.lane(1)), (aisle_c.lane(1), aisle_a.lane(1))):
        m.connect_lanes(frm, to, junction=t)
    m.validate()

    spaces: list[Space] = []
    edge = AISLE_LANE_WIDTH_M  # the aisle's edge, from its centre (reference) line
    count = int(round((PERPENDICULAR_TO_M - PERPENDICULAR_FROM_M) / PERPENDICULAR_WIDTH_M))
    for side, sign in (("N", 1.0), ("S", -1.0)):
        for i in range(count):
            x = PERPENDICULAR_FROM_M + (i + 0.5) * PERPENDICULAR_WIDTH_M
            spaces.append(Space(f"A{side}{i + 1:02d}", "perpendicular", "aisle_a", (x, sign * edge),
                                (x, sign * (edge + PERPENDICULAR_DEPTH_M)), PERPENDICULAR_WIDTH_M, x,
                                sign * (edge + PERPENDICULAR_DEPTH_M / 2)))
    rows = int((SIDE_AISLE_LENGTH_M - 2 * PARALLEL_MARGIN_M) // PARALLEL_LENGTH_M)
    for name, sign in (("B", 1.0), ("C", -1.0)):
        # Beside the lane that runs away from the junction, on the driver's right: east of B, west of C.
        x = x_side + sign * (edge + PARALLEL_WIDTH_M / 2)
        for i in range(rows):
            s0 = PARALLEL_MARGIN_M + i * PARALLEL_LENGTH_M
            y0 = sign * (SIDE_AISLE_OFFSET_M + s0)
            spaces.append(Space(f"{name}{i + 1:02d}", "parallel", f"aisle_{name.lower()}", (x, y0),
                                (x, y0 + sign * PARALLEL_LENGTH_M), PARALLEL_WIDTH_M, s0 + PARALLEL_LENGTH_M / 2,
                                -(edge + PARALLEL_WIDTH_M / 2)))
    reach = SIDE_AISLE_OFFSET_M + SIDE_AISLE_LENGTH_M + LOT_MARGIN_M
    x_max = x_side + edge + PARALLEL_WIDTH_M + LOT_MARGIN_M
    outline = [(-LOT_MARGIN_M, -reach), (x_max, -reach), (x_max, reach), (-LOT_MARGIN_M, reach)]
    return m, spaces, outline
