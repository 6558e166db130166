"""Layout of the `highway` map: a 10 km motorway with entrances, exits, a fork, a lane drop and a toll plaza.

In: the traffic side (`rht` or `lht`). Out: a validated `roadgen.Map` and a `Plan` naming the roads
and lanes the post-processing in generate.py needs (points of interest, toll booths). The left-hand
map is the exact mirror image of the right-hand one, so the two differ only in the side of the road.

Main line (stations from its start, metres; "outside" is right in right-hand traffic, left in left):

    km 0.0  Main line start, 3 lanes, 120 km/h; 1000 m radius curve towards the median side
    km 1.5  Hayama IC entrance joins: a 300 m acceleration lane on the outside, then it ends
    km 2.45 deceleration lane for Zushi IC (300 m); km 2.75 Zushi IC exit leaves from it
    km 3.3  100 km/h; 700 m radius curve towards the outside
    km 4.4  two lanes added on the outside for Kamakura JCT; km 5.1 the fork: lanes 1-3 go on as
            the main line, lanes 4-5 become the Yokohama line (2 lanes, ends after ~1.45 km)
    km 5.15 700 m radius curve towards the median side
    km 6.95 Ofuna IC entrance joins with a 300 m acceleration lane
    km 8.0  lane drop: the outside lane ends, 2 lanes at 80 km/h
    km 8.5  deceleration lane for Fujisawa IC; km 8.8 Fujisawa IC exit leaves from it
    km 9.15 Fujisawa toll plaza: 4 booths (2 ETC on the median side, 2 general) at 20 km/h
    km 10.05 Main line end (end of the map)

Lane 0 is next to the median in both traffic sides (roadgen counts lanes from the reference line,
which is the carriageway's median edge). Lane gains and drops are abrupt (no taper): roadgen's
Lanelet2 and SUMO exports keep a lane's full width, and the three formats must agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import roadgen

NAME = "highway"
ORIGIN_LAT_DEG, ORIGIN_LON_DEG = 35.3, 139.5
LANE_WIDTH_M = 3.5
SAMPLING_M = 5.0  # boundary point spacing: 5 mm chord error at 700 m radius, 12 mm on the 250 m ramps
JUNCTION_LENGTH_M = 50.0  # roadgen needs a junction with extent to model a split or a merge
MAIN_KPH, REDUCED_KPH, DROP_KPH = 120.0, 100.0, 80.0
RAMP_KPH = 60.0
PLAZA_APPROACH_KPH, BOOTH_KPH = 40.0, 20.0  # NEXCO: pass ETC lanes at 20 km/h or less
RAMP_RADIUS_M = 250.0
RAMP_PARALLEL_M = 150.0  # an entrance runs beside the main line this long before it joins
ACCEL_LANE_M = 300.0
DECEL_LANE_M = 300.0


@dataclass
class Plan:
    """Names the post-processing needs: roads by role, and the points of interest by road and lane."""

    handedness: str
    main_roads: list[str] = field(default_factory=list)
    exits: dict[str, str] = field(default_factory=dict)  # point-of-interest name -> exit road
    entrances: dict[str, str] = field(default_factory=dict)  # name -> entrance road
    junctions: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (junction, branch road)
    ends: dict[str, str] = field(default_factory=dict)  # name -> the road whose end is the map's end
    start: tuple[str, str] = ("", "")  # name, road
    toll_plaza: tuple[str, str, int] = ("", "", 0)  # name, road, cross-section index of the booths
    booth_kinds: tuple[str, ...] = ()  # per booth lane from the median: "etc" or "general"


class _Builder:
    """Draws in a right-hand frame and mirrors for left-hand traffic: y, curvature and offsets flip."""

    def __init__(self, handedness: str, name: str):
        self.side = 1.0 if handedness == "rht" else -1.0
        self.lht = handedness == "lht"
        self.map = roadgen.Map(name=name, origin=(ORIGIN_LAT_DEG, ORIGIN_LON_DEG, 0.0),
                               projection="local_cartesian", handedness=handedness, sampling=SAMPLING_M)
        self.plan = Plan(handedness)

    # --- cross-sections ---------------------------------------------------------------------

    def lane(self, kph: float, median: str, outside: str) -> roadgen.Lane:
        """roadgen's markings are the driver's left and right: the median is on the left in rht."""
        left, right = (outside, median) if self.lht else (median, outside)
        return roadgen.Lane(width=LANE_WIDTH_M, direction="forward", left_marking=left, right_marking=right,
                            speed_limit_kph=kph)

    def lanes(self, n: int, kph: float, between: str = "broken") -> list[roadgen.Lane]:
        """n lanes from the median outwards: solid edges, `between` between them."""
        return [self.lane(kph, "solid" if i == 0 else between, "solid" if i == n - 1 else between)
                for i in range(n)]

    # --- geometry -----------------------------------------------------------------------------

    def alignment(self, start: tuple[float, float], heading: float, pieces: list[tuple]) -> roadgen.Alignment:
        """Pieces in the right-hand frame: ("line", length), ("arc", length, curvature), ("spiral", length, end)."""
        a = roadgen.Alignment((start[0], start[1], 0.0), heading=heading)
        for kind, length, *rest in pieces:
            if kind == "line":
                a.line(length)
            elif kind == "arc":
                a.arc(length, self.side * rest[0])
            else:
                a.spiral(length, self.side * rest[0])
        return a

    def offset(self, point: tuple[float, float, float], heading: float, ahead: float, outside: float):
        """A point `ahead` along `heading` from `point` and `outside` towards the outside."""
        x, y, _ = point
        c, s = math.cos(heading), math.sin(heading)
        right = self.side * outside
        return (x + ahead * c + right * s, y + ahead * s - right * c)

    def ending_at(self, end: tuple[float, float], heading: float, pieces: list[tuple]) -> roadgen.Alignment:
        """An alignment made of `pieces` that ends exactly at `end` facing `heading`.

        Drawn backwards first to find where it starts: each piece reversed, its curvature negated, a
        spiral running back to the curvature it started from.
        """
        starts, k = [], 0.0
        for kind, _length, *rest in pieces:
            starts.append(k)
            k = rest[0] if kind != "line" else 0.0
        back = roadgen.Alignment((end[0], end[1], 0.0), heading=heading + math.pi)
        for (kind, length, *rest), k0 in zip(reversed(pieces), reversed(starts), strict=True):
            if kind == "line":
                back.line(length)
            elif kind == "arc":
                back.arc(length, -self.side * rest[0])
            else:
                back.spiral(length, -self.side * k0)
        x, y, _ = back.point
        return self.alignment((x, y), back.heading - math.pi, pieces)

    def road(self, name: str, alignment: roadgen.Alignment, lanes: list[roadgen.Lane],
             sections: list[tuple[float, list[roadgen.Lane]]] | None = None, form: str = "motorway"):
        return self.map.add_road(lanes=lanes, alignment=alignment, name=name, type_="motorway", form=form,
                                 cross_sections=sections or None)

    def join(self, junction_name: str, links: list[tuple[roadgen.Road, int, roadgen.Road, int]]):
        j = self.map.add_junction(junction_name)
        for a, i, b, k in links:
            self.map.connect_lanes(a.lane(i), b.lane(k), junction=j)
        return j


def build(handedness: str = "rht", name: str = NAME) -> tuple[roadgen.Map, Plan]:
    """The whole layout; roads that change lane count or speed limit are separate roads joined end to end.

    (roadgen's own `cross_sections` are not used: it starts a junction's connectors at the end of a
    road's first section rather than at the end of the road.)
    """
    b = _Builder(handedness, name)
    plan = b.plan
    ramp = [("spiral", 60.0, -1.0 / RAMP_RADIUS_M), ("arc", 80.0, -1.0 / RAMP_RADIUS_M), ("spiral", 60.0, 0.0)]
    state: dict = {"point": (0.0, 0.0), "heading": 0.0, "last": None}

    def segment(name: str, pieces: list[tuple], lanes: list[roadgen.Lane]) -> roadgen.Road:
        """The next stretch of a carriageway, joined end to end to the one before (lanes by index)."""
        a = b.alignment(state["point"], state["heading"], pieces)
        road = b.road(name, a, lanes)
        if state["last"] is not None:
            b.map.connect(state["last"], road)
        state.update(point=(a.point[0], a.point[1]), heading=a.heading, last=road, alignment=a)
        return road

    def junction_gap() -> tuple[float, float]:
        """Leave room for a junction after the last stretch; the next one starts beyond it."""
        state["point"] = b.offset((*state["point"], 0.0), state["heading"], JUNCTION_LENGTH_M, 0.0)
        state["last"] = None
        return state["point"]

    def entrance(name: str, road_name: str) -> roadgen.Road:
        """A one-lane slip road that ends beside the main line where its acceleration lane will begin."""
        end = b.offset((*state["point"], 0.0), state["heading"], 0.0, 3 * LANE_WIDTH_M)
        # It comes in from the outside at an angle and bends to run beside the main line.
        pieces = [("line", 250.0)] + ramp + [("line", RAMP_PARALLEL_M)]
        road = b.road(road_name, b.ending_at(end, state["heading"], pieces), [b.lane(RAMP_KPH, "solid", "solid")],
                      form="slip_road")
        plan.entrances[name] = road_name
        return road

    def exit_road(name: str, road_name: str, from_lane: int) -> roadgen.Road:
        """A one-lane slip road that starts where the deceleration lane's connector ends and bends away."""
        start = b.offset((*state["point"], 0.0), state["heading"], 0.0, from_lane * LANE_WIDTH_M)
        pieces = [("line", 80.0)] + ramp + [("line", 250.0)]
        road = b.road(road_name, b.alignment(start, state["heading"], pieces), [b.lane(RAMP_KPH, "solid", "solid")],
                      form="slip_road")
        plan.exits[name] = road_name
        return road

    k1000, k700 = 1.0 / 1000.0, 1.0 / 700.0
    # km 0-1.5: three lanes at 120 km/h, a 1000 m radius curve towards the median side.
    m1 = segment("main_1", [("line", 600.0), ("spiral", 150.0, k1000), ("arc", 300.0, k1000),
                            ("spiral", 150.0, 0.0), ("line", 300.0)], b.lanes(3, MAIN_KPH))
    plan.start = ("Main line start", "main_1")
    e1 = entrance("Hayama IC", "entrance_hayama")
    junction_gap()
    m2a = segment("main_2a", [("line", ACCEL_LANE_M)], b.lanes(4, MAIN_KPH))
    b.join("hayama_merge", [(m1, 0, m2a, 0), (m1, 1, m2a, 1), (m1, 2, m2a, 2), (e1, 0, m2a, 3)])
    segment("main_2b", [("line", 600.0)], b.lanes(3, MAIN_KPH))
    m2c = segment("main_2c", [("line", DECEL_LANE_M)], b.lanes(4, MAIN_KPH))
    junction_gap()
    x1 = exit_road("Zushi IC", "exit_zushi", 3)
    m3a = segment("main_3a", [("line", 500.0)], b.lanes(3, MAIN_KPH))
    b.join("zushi_split", [(m2c, 0, m3a, 0), (m2c, 1, m3a, 1), (m2c, 2, m3a, 2), (m2c, 3, x1, 0)])
    # km 3.3: 100 km/h, a 700 m radius curve towards the outside, then two lanes added for the fork.
    segment("main_3b", [("spiral", 150.0, -k700), ("arc", 500.0, -k700), ("spiral", 150.0, 0.0), ("line", 300.0)],
            b.lanes(3, REDUCED_KPH))
    segment("main_3c", [("line", 350.0)], b.lanes(4, REDUCED_KPH))
    m3d = segment("main_3d", [("line", 350.0)], b.lanes(5, REDUCED_KPH))
    junction_gap()
    # Kamakura JCT: lanes 0-2 go on as the main line, 3-4 become the Yokohama line, which bends away.
    branch_start = b.offset((*state["point"], 0.0), state["heading"], 0.0, 3 * LANE_WIDTH_M)
    branch = b.road("yokohama_line", b.alignment(branch_start, state["heading"],
                                                 [("spiral", 150.0, -k700), ("arc", 350.0, -k700),
                                                  ("spiral", 150.0, 0.0), ("line", 800.0)]),
                    b.lanes(2, REDUCED_KPH))
    m4 = segment("main_4", [("line", 300.0), ("spiral", 150.0, k700), ("arc", 400.0, k700), ("spiral", 150.0, 0.0),
                            ("line", 800.0)], b.lanes(3, REDUCED_KPH))
    b.join("kamakura_jct", [(m3d, 0, m4, 0), (m3d, 1, m4, 1), (m3d, 2, m4, 2), (m3d, 3, branch, 0),
                            (m3d, 4, branch, 1)])
    plan.junctions["Kamakura JCT"] = ("kamakura_jct", "yokohama_line")
    plan.ends["Yokohama line end"] = "yokohama_line"
    # km 6.95: Ofuna IC joins; the outside lane ends at km 8.0 (80 km/h on); deceleration lane for Fujisawa IC.
    e2 = entrance("Ofuna IC", "entrance_ofuna")
    junction_gap()
    m5a = segment("main_5a", [("line", ACCEL_LANE_M)], b.lanes(4, REDUCED_KPH))
    b.join("ofuna_merge", [(m4, 0, m5a, 0), (m4, 1, m5a, 1), (m4, 2, m5a, 2), (e2, 0, m5a, 3)])
    segment("main_5b", [("line", 750.0)], b.lanes(3, REDUCED_KPH))
    segment("main_5c", [("line", 450.0)], b.lanes(2, DROP_KPH))
    m5d = segment("main_5d", [("line", DECEL_LANE_M)], b.lanes(3, DROP_KPH))
    junction_gap()
    x2 = exit_road("Fujisawa IC", "exit_fujisawa", 2)
    # km 8.85: Fujisawa toll plaza; two lanes added for the booths and dropped after them; the map ends.
    m6a = segment("main_6a", [("line", 300.0)], b.lanes(2, DROP_KPH))
    b.join("fujisawa_split", [(m5d, 0, m6a, 0), (m5d, 1, m6a, 1), (m5d, 2, x2, 0)])
    segment("main_6b", [("line", 150.0)], b.lanes(4, PLAZA_APPROACH_KPH))
    segment("toll_booths", [("line", 50.0)], b.lanes(4, BOOTH_KPH, between="solid"))  # islands: no lane change
    segment("main_6c", [("line", 150.0)], b.lanes(4, PLAZA_APPROACH_KPH))
    segment("main_6d", [("line", 550.0)], b.lanes(2, DROP_KPH))
    plan.toll_plaza = ("Fujisawa toll plaza", "toll_booths", 0)
    plan.booth_kinds = ("etc", "etc", "general", "general")
    plan.ends["Main line end"] = "main_6d"
    b.map.validate()
    return b.map, plan
