"""Lanelet2 HD map: loading with validation, lane-level matching and the lane geometry ahead.

In: a `map.yaml` that names a Lanelet2 `.osm` (and its OpenDRIVE and SUMO twins), the geodetic
origin of the map frame and the side of the road traffic keeps to (or that side as a parameter).
Out: an `HDMap` that answers, in the map frame (x east, y north, metres, REP-103): which lane a
pose is in (`match`, `match_many` for a batch, `locate`), how far along the carriageway that is
(`station`), the lanes beside it and whether one may change into them, which is the overtaking
lane, speed limits, toll booths, parking spaces, named points, and the centreline ahead with
heading and curvature (`path_ahead`). Routes, events and route-drive zones build on it (route.py,
zones.py). Invalid input raises `MapError`, which lists every problem found, one per line.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import lanelet2
import numpy as np
import yaml
from lanelet2.projection import LocalCartesianProjector
from scipy.spatial import cKDTree

from propilot.core.map.checks import lanelet_problems, parse_kph
from propilot.core.map.errors import MapError, MapProblem
from propilot.core.types import UNMATCHED, LanePosition, LaneSource, Pose2D

__all__ = ["HDMap", "MapBatch", "MapError", "MapProblem", "ParkingSpace", "PointOfInterest", "load_map"]

MAX_EXTENT_M = 1.0e8  # 100,000 km: more than any point on Earth lies from a map origin
MAX_LANELET_M = 1.0e5  # no lanelet runs 100 km; longer ones come from a misplaced node
MAX_SEGMENT_M = 6.0  # centrelines are cut to this so a grid cell holds few, short segments
GRID_CELL_M = 10.0
MATCH_MARGIN_LANES = 0.5  # a point up to half a lane outside a lanelet still matches it
LANE_LEVEL_CONFIDENCE = 0.9
NEAR_WINDOW = 2  # segments either side of a first guess searched for the nearest point on a line
TRAFFIC_SIDES = ("left", "right")  # the side of the road traffic keeps to: left in Japan

_Report = Callable[[str, str], None]  # collects one problem: (field name, reason)
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml reads map.yaml's tables 20x faster

# Rows of a grid cell's segment data (see HDMap._build_grid).
_LEN, _INV_LEN, _S0, _MID0, _HALF0, _DMID, _DHALF, _H0, _DH, _ROW = range(10)
_CELL_BASE, _CELL_SPAN = -(1 << 24), 1 << 25  # grid cell (ix, iy) -> one int64 key, for |i| < 2**24


@dataclass(frozen=True)
class PointOfInterest:
    """A named place on the map, e.g. an exit: the lanelet it starts on and where."""

    name: str
    kind: str
    lanelet_id: int
    x_m: float
    y_m: float
    from_lanelet_id: int | None = None  # for an exit: the main-line lane it leaves from


@dataclass(frozen=True)
class ParkingSpace:
    """A parking space (Autoware: a `parking_space` line string from the aisle side to the far end)."""

    id: int
    name: str
    kind: str  # "perpendicular", "parallel" or "" when the map does not say
    entry_xy_m: tuple[float, float]
    end_xy_m: tuple[float, float]
    width_m: float

    @property
    def heading_rad(self) -> float:
        """Direction from the entry to the far end: the heading of a car parked nose-in."""
        return math.atan2(self.end_xy_m[1] - self.entry_xy_m[1], self.end_xy_m[0] - self.entry_xy_m[0])

    @property
    def length_m(self) -> float:
        return math.dist(self.entry_xy_m, self.end_xy_m)


@dataclass(frozen=True)
class MapBatch:
    """`match_many`'s answer: one entry per point; lanelet_id -1 (and NaN elsewhere) where unmatched."""

    lanelet_id: np.ndarray
    arc_length_m: np.ndarray
    lateral_offset_m: np.ndarray  # + left of the centreline
    heading_error_rad: np.ndarray  # yaw minus the lane's heading, + pointing left of it


class _Hit(NamedTuple):
    """The segment a point matched: lanelet, arc length, lateral offset, lane heading, half widths."""

    lanelet_id: int
    arc_length_m: float
    lateral_m: float
    heading_rad: float
    half_left_m: float
    half_right_m: float


@dataclass(frozen=True)
class _Spec:
    """The validated contents of map.yaml."""

    name: str
    origin_lat_deg: float
    origin_lon_deg: float
    traffic_side: str
    lanelet2_path: Path
    opendrive_path: Path
    sumo_net_path: Path
    points_of_interest: tuple[PointOfInterest, ...]
    sumo_lanes: dict[int, str]
    opendrive_lanes: dict[int, str]
    sumo_additional_path: Path | None


# ---------------------------------------------------------------------------------------------
# Loading


def load_map(map_yaml_path: str | Path, traffic_side: str | None = None) -> HDMap:
    """Read and validate map.yaml and the Lanelet2 map it names; MapError lists all problems.

    `traffic_side` ("left" or "right"), when given, replaces the map's own (a parameter of the stack).
    """
    path = Path(map_yaml_path)
    spec, problems = _read_spec(path)
    if traffic_side is not None:
        if traffic_side in TRAFFIC_SIDES:
            problems = [p for p in problems if p.element_id != "traffic_side"]
            spec = dataclasses.replace(spec, traffic_side=traffic_side)
        else:
            problems.append(MapProblem("parameter", "traffic_side", f"must be 'left' or 'right', not {traffic_side!r}"))
    # Check the osm even when map.yaml has problems, so one run reports everything.
    projector = LocalCartesianProjector(lanelet2.io.Origin(spec.origin_lat_deg, spec.origin_lon_deg))
    ll_map = None
    if spec.lanelet2_path.is_file():
        ll_map, osm_problems = _read_lanelets(spec.lanelet2_path, projector)
        problems += osm_problems
    if ll_map is None:
        raise MapError(problems)
    rules = lanelet2.traffic_rules.create(
        lanelet2.traffic_rules.Locations.Germany, lanelet2.traffic_rules.Participants.Vehicle
    )
    try:
        graph = lanelet2.routing.RoutingGraph(ll_map, rules)
    except RuntimeError as exc:  # e.g. negative costs from a speed limit Lanelet2 reads as negative
        raise MapError(problems + [MapProblem(str(spec.lanelet2_path), "osm", f"no routing graph: {exc}")]) from None
    problems += lanelet_problems(str(spec.lanelet2_path), ll_map, graph)
    known = {ll.id for ll in ll_map.laneletLayer}
    problems += _poi_problems(path, spec, known)
    problems += [MapProblem(str(path), f"{key}.{lid}", f"no lanelet {lid} in {spec.lanelet2_path.name}")
                 for key, table in (("sumo_lanes", spec.sumo_lanes), ("opendrive_lanes", spec.opendrive_lanes))
                 for lid in sorted(set(table) - known)]
    if problems:
        raise MapError(problems)
    return HDMap(spec, ll_map, graph, rules, projector)


def _read_spec(path: Path) -> tuple[_Spec, list[MapProblem]]:
    """map.yaml's fields and the problems with them; raises only if the file itself is unusable."""
    file = str(path)
    if not path.is_file():
        raise MapError([MapProblem(file, "map.yaml", "file not found")])
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MapError([MapProblem(file, "map.yaml", f"not valid YAML: {exc}")]) from None
    if not isinstance(raw, dict):
        raise MapError([MapProblem(file, "map.yaml", "expected a mapping of fields")])
    problems: list[MapProblem] = []

    def bad(field_name: str, reason: str) -> None:
        problems.append(MapProblem(file, field_name, reason))

    name = raw.get("name")
    if not isinstance(name, str) or not name:
        bad("name", "missing or not a non-empty string")
    lat, lon = _read_origin(raw.get("origin"), bad)
    side = raw.get("traffic_side")
    if side not in TRAFFIC_SIDES:
        bad("traffic_side", f"must be 'left' or 'right', not {side!r}")
    files = {key: _read_file_field(path, raw, key, bad) for key in ("lanelet2", "opendrive", "sumo_net")}
    additional = _read_file_field(path, raw, "sumo_additional", bad) if "sumo_additional" in raw else None
    pois = _read_points_of_interest(raw.get("points_of_interest", []), bad)
    tables = {}
    for key, what in (("sumo_lanes", "SUMO lane id"), ("opendrive_lanes", "OpenDRIVE 'road/section/lane'")):
        table = raw.get(key, {})
        if not isinstance(table, dict) or not all(isinstance(k, int) for k in table):
            bad(key, f"expected a mapping of lanelet id to {what}")
            table = {}
        tables[key] = {int(k): str(v) for k, v in table.items()}
    spec = _Spec(str(name), lat, lon, str(side), files["lanelet2"], files["opendrive"], files["sumo_net"],
                 pois, tables["sumo_lanes"], tables["opendrive_lanes"], additional)
    return spec, problems


def _poi_problems(yaml_path: Path, spec: _Spec, known: set[int]) -> list[MapProblem]:
    problems = []
    for i, poi in enumerate(spec.points_of_interest):
        fields = (("lanelet_id", poi.lanelet_id), ("from_lanelet_id", poi.from_lanelet_id))
        for field_name, lanelet_id in fields:
            if lanelet_id is not None and lanelet_id not in known:
                problems.append(MapProblem(str(yaml_path), f"points_of_interest[{i}].{field_name}",
                                           f"no lanelet {lanelet_id} in {spec.lanelet2_path.name}"))
    return problems


def _read_origin(origin: Any, bad: _Report) -> tuple[float, float]:
    if not isinstance(origin, dict):
        bad("origin", "missing: expected {latitude_deg, longitude_deg}")
        return 0.0, 0.0
    values = []
    for key, limit in (("latitude_deg", 90.0), ("longitude_deg", 180.0)):
        value = origin.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) <= limit:
            bad(f"origin.{key}", f"missing or not a number within +-{limit:g} degrees: {value!r}")
            value = 0.0
        values.append(float(value))
    return values[0], values[1]


def _read_file_field(yaml_path: Path, raw: dict, key: str, bad: _Report) -> Path:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        bad(key, "missing or not a file name")
        return Path()
    resolved = (yaml_path.parent / value).resolve()  # relative to map.yaml, so the folder can move
    if not resolved.is_file():
        bad(key, f"file not found: {resolved}")
    return resolved


def _read_points_of_interest(items: Any, bad: _Report) -> tuple[PointOfInterest, ...]:
    if not isinstance(items, list):
        bad("points_of_interest", "expected a list")
        return ()
    pois: list[PointOfInterest] = []
    names = set()
    for i, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        if repr(name) in names:
            bad(f"points_of_interest[{i}].name", f"{name!r} is used twice: names must be unique")
        names.add(repr(name))
        try:
            from_id = item.get("from_lanelet_id")
            pois.append(PointOfInterest(str(item["name"]), str(item.get("kind", "")), int(item["lanelet_id"]),
                                        float(item["x_m"]), float(item["y_m"]),
                                        None if from_id is None else int(from_id)))
        except (AttributeError, KeyError, TypeError, ValueError, OverflowError) as exc:
            bad(f"points_of_interest[{i}]", f"needs name, lanelet_id, x_m, y_m ({exc!r})")
            continue
        if not (math.isfinite(pois[-1].x_m) and math.isfinite(pois[-1].y_m)):
            bad(f"points_of_interest[{i}]", f"x_m and y_m must be finite, got {pois[-1].x_m}, {pois[-1].y_m}")
    return tuple(pois)


def _read_lanelets(osm: Path, projector: LocalCartesianProjector) -> tuple[Any, list[MapProblem]]:
    """The lanelet map (None if unreadable) and the loader's complaints about it."""
    try:
        ll_map, errors = lanelet2.io.loadRobust(str(osm), projector)
    except RuntimeError as exc:  # lanelet2 raises RuntimeError for unreadable or non-OSM files
        return None, [MapProblem(str(osm), "osm", f"cannot be parsed: {exc}")]
    problems = [MapProblem(str(osm), "osm", str(e)) for e in errors]
    if len(ll_map.laneletLayer) == 0:
        problems.append(MapProblem(str(osm), "osm", "contains no lanelets"))
    for point in ll_map.pointLayer:
        if not (abs(point.x) <= MAX_EXTENT_M and abs(point.y) <= MAX_EXTENT_M):  # NaN fails too
            problems.append(MapProblem(str(osm), point.id, f"point at ({point.x}, {point.y}) m: not finite or "
                                                           f"beyond {MAX_EXTENT_M:g} m of the origin"))
    for ll in ll_map.laneletLayer:
        if ll.id <= 0:  # Lanelet2's InvalId: the element cannot be looked up again
            problems.append(MapProblem(str(osm), ll.id, "lanelet id must be positive"))
        elif not lanelet2.geometry.length2d(ll) <= MAX_LANELET_M:  # NaN fails too
            problems.append(MapProblem(str(osm), ll.id, f"lanelet longer than {MAX_LANELET_M:g} m (misplaced node?)"))
        for side, bound in (("left", ll.leftBound), ("right", ll.rightBound)):
            if len(bound) < 2:
                problems.append(MapProblem(str(osm), ll.id, f"{side} boundary has fewer than 2 points"))
    if problems:  # a lanelet the loader could not complete crashes Lanelet2's routing graph: stop here
        return None, problems
    return ll_map, problems


def _parking_spaces(ll_map: Any) -> tuple[ParkingSpace, ...]:
    """Autoware's `parking_space` line strings (checks.py has refused any that are malformed)."""
    out = []
    for ls in ll_map.lineStringLayer:
        attrs = ls.attributes
        if "type" in attrs and attrs["type"] == "parking_space" and len(ls) == 2:
            out.append(ParkingSpace(ls.id, str(attrs["name"]) if "name" in attrs else str(ls.id),
                                    str(attrs["subtype"]) if "subtype" in attrs else "",
                                    (float(ls[0].x), float(ls[0].y)), (float(ls[1].x), float(ls[1].y)),
                                    float(attrs["width"])))
    return tuple(sorted(out, key=lambda p: p.name))


# ---------------------------------------------------------------------------------------------
# Geometry helpers


def _densify(line: np.ndarray, max_step: float) -> np.ndarray:
    """The same polyline with every segment longer than max_step cut into equal pieces."""
    seg = np.diff(line, axis=0)
    pieces = np.maximum(1, np.ceil(np.linalg.norm(seg, axis=1) / max_step).astype(int))
    start = np.repeat(line[:-1], pieces, axis=0)
    # fraction of its segment at each new point: 1/n, 2/n, ..., n/n
    step = np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces) + 1
    frac = (step / np.repeat(pieces, pieces))[:, None]
    return np.vstack([line[:1], start + frac * np.repeat(seg, pieces, axis=0)])


def _xy(points: Any) -> np.ndarray:
    """A Lanelet2 line string as an (N, 2) array."""
    return np.array([[p.x, p.y] for p in points], dtype=float)


def _without_repeats(line: np.ndarray) -> np.ndarray:
    """The polyline without consecutive duplicate points, which would have no heading."""
    keep = np.concatenate([[True], np.linalg.norm(np.diff(line, axis=0), axis=1) > 1e-6])
    return line[keep]


def _arc_lengths(line: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])


def _nearest_on_polylines(pairs: list[tuple[np.ndarray, np.ndarray]], extend: bool = False
                          ) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each (points (N, 2), line (M, 2)) pair: distance of each point to the line and the arc length
    of its foot on it, all pairs in one vectorised pass.

    The points lie along their line (a lane's centreline beside its boundary, a lane beside its
    neighbour), so the foot is near the same share of the length: NEAR_WINDOW segments either side
    of that guess are searched. Where the best of them is at the window's edge the guess was poor,
    and a k-d tree's nearest vertex decides instead. With `extend`, the first and last segments of
    a line carry on beyond its ends.
    """
    if not pairs:
        return []
    lines = [line if len(line) >= 2 else np.vstack([line, line]) for _, line in pairs]
    seg_count = np.array([len(line) - 1 for line in lines])
    first = np.concatenate([[0], np.cumsum(seg_count + 1)[:-1]])  # index of each line's first vertex
    counts = np.array([len(points) for points, _ in pairs])
    pts = np.vstack([points for points, _ in pairs])
    owner = np.repeat(np.arange(len(pairs)), counts)
    line_all = np.vstack(lines)
    s_lines = [_arc_lengths(line) for line in lines]
    s_line = np.concatenate(s_lines)
    guess = []
    for (points, _), s_ln in zip(pairs, s_lines, strict=True):
        s_pts = _arc_lengths(points)
        guess.append(np.searchsorted(s_ln, s_pts * (s_ln[-1] / max(s_pts[-1], 1e-9))) - 1)
    guess = np.concatenate(guess)
    lo, hi = first[owner], first[owner] + seg_count[owner] - 1  # global index of the first and last segment
    cands = [np.clip(guess + k, 0, seg_count[owner] - 1) + first[owner] for k in range(-NEAR_WINDOW, NEAR_WINDOW + 1)]
    dist, foot, seg = _best_of_segments(pts, line_all, s_line, cands, lo, hi, extend)
    guess_at = np.clip(guess, 0, seg_count[owner] - 1) + first[owner]
    poor = (np.abs(seg - guess_at) >= NEAR_WINDOW) & (seg > lo) & (seg < hi)
    for i in np.unique(owner[poor]):
        mask = poor & (owner == i)
        _, nearest = cKDTree(lines[i]).query(pts[mask])
        near = [np.clip(nearest + k, 0, seg_count[i] - 1) + first[i] for k in (-1, 0)]
        d2, s2, _ = _best_of_segments(pts[mask], line_all, s_line, near, lo[mask], hi[mask], extend)
        dist[mask], foot[mask] = d2, s2
    bounds = np.cumsum(counts)[:-1]
    return list(zip(np.split(dist, bounds), np.split(foot, bounds), strict=True))


def _best_of_segments(points: np.ndarray, line: np.ndarray, s_line: np.ndarray, candidates: list[np.ndarray],
                      lo: np.ndarray, hi: np.ndarray, extend: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point, the nearest of its candidate segments (global vertex indices; lo and hi are the
    point's line's first and last segment): distance, arc length of the foot, segment."""
    best_d = np.full(len(points), np.inf)
    best_s = np.zeros(len(points))
    best_seg = np.zeros(len(points), dtype=int)
    for seg in candidates:
        a = line[seg]
        ab = line[seg + 1] - a
        length2 = np.maximum(ab[:, 0] ** 2 + ab[:, 1] ** 2, 1e-12)
        rel = points - a
        t = (rel[:, 0] * ab[:, 0] + rel[:, 1] * ab[:, 1]) / length2
        if extend:  # only the end segments carry on
            t = np.where(seg == lo, t, np.maximum(t, 0.0))
            t = np.where(seg == hi, t, np.minimum(t, 1.0))
        else:
            t = np.clip(t, 0.0, 1.0)
        d = np.hypot(rel[:, 0] - t * ab[:, 0], rel[:, 1] - t * ab[:, 1])
        better = d < best_d
        best_d = np.where(better, d, best_d)
        best_s = np.where(better, s_line[seg] + t * np.sqrt(length2), best_s)
        best_seg = np.where(better, seg, best_seg)
    return best_d, best_s, best_seg


def _vertex_headings(line: np.ndarray) -> np.ndarray:
    """Unwrapped heading at each vertex: the mean of the segments either side."""
    seg = np.unwrap(np.arctan2(np.diff(line[:, 1]), np.diff(line[:, 0])))
    return np.concatenate([[seg[0]], 0.5 * (seg[:-1] + seg[1:]), [seg[-1]]])


def _heading_knots(line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heading as a function of arc length: (arc lengths, unwrapped headings) to interpolate.

    Each segment keeps its own heading except within half the shorter neighbour's length of a
    vertex, where it turns linearly to the next one. On evenly sampled arcs that is exactly
    curvature = turn / spacing; a 1 km straight next to a 2 m curve sample turns only near the
    vertex instead of drifting along the whole straight. The slope between knots is the curvature.
    """
    seg = np.diff(line, axis=0)
    length = np.linalg.norm(seg, axis=1)
    heading = np.unwrap(np.arctan2(seg[:, 1], seg[:, 0]))
    s = np.concatenate([[0.0], np.cumsum(length)])
    half = 0.5 * np.minimum(length[:-1], length[1:])
    start = s[:-1] + np.concatenate([[0.0], half])
    end = s[1:] - np.concatenate([half, [0.0]])
    return np.column_stack([start, end]).ravel(), np.repeat(heading, 2)


def _group_argmin(values: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Index of the first smallest value of each contiguous group (non-empty, in order), like argmin."""
    low = np.minimum.reduceat(values, starts)
    at_low = np.flatnonzero(values == np.repeat(low, counts))
    return at_low[np.searchsorted(at_low, starts)]


def _wrap(angle: float) -> float:
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


# ---------------------------------------------------------------------------------------------
# The map


class HDMap:
    """A loaded, validated Lanelet2 map with precomputed geometry; read-only after construction."""

    def __init__(self, spec: _Spec, ll_map: Any, graph: Any, rules: Any, projector: LocalCartesianProjector):
        self.name = spec.name
        self.traffic_side = spec.traffic_side
        self.origin_lat_deg = spec.origin_lat_deg
        self.origin_lon_deg = spec.origin_lon_deg
        self.lanelet2_path = spec.lanelet2_path
        self.opendrive_path = spec.opendrive_path
        self.sumo_net_path = spec.sumo_net_path
        self.sumo_additional_path = spec.sumo_additional_path
        self.points_of_interest = spec.points_of_interest
        self.sumo_lanes = spec.sumo_lanes
        self.opendrive_lanes = spec.opendrive_lanes
        self._map, self._graph, self._rules, self._projector = ll_map, graph, rules, projector
        self._ll = {ll.id: ll for ll in ll_map.laneletLayer}
        self._ids = sorted(self._ll)
        self._toll = {lid: str(ll.attributes["toll_booth"]) for lid, ll in self._ll.items()
                      if "toll_booth" in ll.attributes}
        self._parking = _parking_spaces(ll_map)
        self._zones: Any = None  # route-drive zones, worked out on first use (zones.py)
        self._can_change: dict[tuple[int, int], bool] = {}
        self._build_topology()
        self._build_geometry()
        self._build_grid()
        self._build_stations()

    # --- traffic side -------------------------------------------------------------------------

    @property
    def keep_side(self) -> str:
        """The side drivers keep to and return to after overtaking: the traffic side."""
        return self.traffic_side

    @property
    def overtaking_side(self) -> str:
        """The side one overtakes on: left where traffic keeps right, right in Japan (keeps left)."""
        return "left" if self.traffic_side == "right" else "right"

    def overtaking_lane(self, lanelet_id: int) -> int | None:
        """The neighbour on the overtaking side, if any (whether one may change into it: lane_change_allowed)."""
        return self._left[lanelet_id] if self.overtaking_side == "left" else self._right[lanelet_id]

    def keep_lane(self, lanelet_id: int) -> int | None:
        """The neighbour on the keep side: where to return to after overtaking."""
        return self._right[lanelet_id] if self.keep_side == "right" else self._left[lanelet_id]

    def is_overtaking_lane(self, lanelet_id: int) -> bool:
        """The outermost lane on the overtaking side of a carriageway of two lanes or more."""
        index, count = self._lane_index[lanelet_id]
        return count >= 2 and index == (0 if self.overtaking_side == "left" else count - 1)

    # --- named points, toll booths, parking ------------------------------------------------------

    def point(self, name: str) -> PointOfInterest:
        """The named point of interest; KeyError listing the names if there is none."""
        for poi in self.points_of_interest:
            if poi.name == name:
                return poi
        names = ", ".join(repr(p.name) for p in self.points_of_interest)
        raise KeyError(f"no point of interest named {name!r} in {self.name} (known: {names})")

    def toll_booth(self, lanelet_id: int) -> str | None:
        """'etc' or 'general' on a toll booth lane (Lanelet2 tag toll_booth), else None."""
        return self._toll.get(lanelet_id)

    def toll_booths(self) -> dict[int, str]:
        return dict(self._toll)

    def parking_spaces(self) -> tuple[ParkingSpace, ...]:
        return self._parking

    def route_drive_zones(self):
        """Where route driving may be offered (see zones.py); worked out once, on first use."""
        if self._zones is None:
            from propilot.core.map.zones import route_drive_zones

            self._zones = route_drive_zones(self)
        return self._zones

    # --- construction -------------------------------------------------------------------------

    def _build_topology(self) -> None:
        g = self._graph
        self._left: dict[int, int | None] = {}
        self._right: dict[int, int | None] = {}
        self._succ: dict[int, list[int]] = {}
        self._pred: dict[int, list[int]] = {}
        self._kph: dict[int, float] = {}
        for lid, ll in self._ll.items():
            # left() only answers when a lane change is allowed; adjacentLeft() when it is not.
            left = g.left(ll) or g.adjacentLeft(ll)
            right = g.right(ll) or g.adjacentRight(ll)
            self._left[lid] = left.id if left else None
            self._right[lid] = right.id if right else None
            self._succ[lid] = sorted(x.id for x in g.following(ll))
            self._pred[lid] = sorted(x.id for x in g.previous(ll))
            self._kph[lid] = parse_kph(ll.attributes["speed_limit"]) or 0.0
        self._lane_index = {lid: self._count_lanes(lid) for lid in self._ids}
        self._ramp = self._find_ramps()

    def _count_lanes(self, lid: int) -> tuple[int, int]:
        index = len(self._walk(lid, self._left))
        return index, index + 1 + len(self._walk(lid, self._right))

    @staticmethod
    def _walk(lid: int, step: dict[int, int | None]) -> list[int]:
        seen, out, cur = {lid}, [], step[lid]
        while cur is not None and cur not in seen:  # guard against a malformed loop of neighbours
            seen.add(cur)
            out.append(cur)
            cur = step[cur]
        return out

    def _find_ramps(self) -> set[int]:
        """One-lane lanelets whose one-lane stretch splits from or joins a multi-lane carriageway.

        Lanelet2 has no tag for a slip road, but the topology shows it: a one-lane road that
        meets nothing wider is a road in its own right, not a ramp.
        """
        single = {lid for lid in self._ids if self._lane_index[lid][1] == 1}
        ramps: set[int] = set()
        seen: set[int] = set()
        for start in sorted(single):
            if start in seen:
                continue
            component, stack, touches_wide = set(), [start], False
            while stack:
                lid = stack.pop()
                if lid in component:
                    continue
                component.add(lid)
                for other in self._succ[lid] + self._pred[lid]:
                    if other in single:
                        stack.append(other)
                    else:
                        touches_wide = True
            seen |= component
            if touches_wide:
                ramps |= component
        return ramps

    def _build_geometry(self) -> None:
        """Per lanelet: the centreline, a densified copy with arc lengths, half widths, headings."""
        self._centre: dict[int, np.ndarray] = {}
        self._dense: dict[int, np.ndarray] = {}
        self._dense_s: dict[int, np.ndarray] = {}
        self._half_left: dict[int, np.ndarray] = {}
        self._half_right: dict[int, np.ndarray] = {}
        for lid in self._ids:
            ll = self._ll[lid]
            centre = _without_repeats(_xy(ll.centerline))
            dense = _densify(centre, MAX_SEGMENT_M)
            self._centre[lid] = centre
            self._dense[lid] = dense
            self._dense_s[lid] = _arc_lengths(dense)
        # Half widths at the centreline's own vertices, linear in between (as the lane's edges are).
        pairs = [(self._centre[lid], _xy(bound)) for lid in self._ids
                 for bound in (self._ll[lid].leftBound, self._ll[lid].rightBound)]
        found = _nearest_on_polylines(pairs)
        for i, lid in enumerate(self._ids):
            s_centre = _arc_lengths(self._centre[lid])
            self._half_left[lid] = np.interp(self._dense_s[lid], s_centre, found[2 * i][0])
            self._half_right[lid] = np.interp(self._dense_s[lid], s_centre, found[2 * i + 1][0])

    def _build_grid(self) -> None:
        """Every centreline segment, bucketed by the grid cells a matching point near it could be in.

        Segments are stored once per cell they reach, cell after cell (CSR): `_seg_along` and
        `_seg_across` (n, 3) turn (x, y, 1) into a point's along- and across-segment coordinates,
        `_seg_rows` (10, n) hold the rest (see the _LEN... constants), and `_cells` maps a cell to
        its (start, end) in them. A query is then ~20 numpy operations on views of a few dozen.
        Slip-road segments come last in each cell, so in an exact tie (where an exit begins on top
        of a lane) argmin picks the main line.
        """
        along, across, rows, lo, hi = [], [], [], [], []
        for row, lid in enumerate(self._ids):
            dense, s = self._dense[lid], self._dense_s[lid]
            p0, vec = dense[:-1], np.diff(dense, axis=0)
            length = np.maximum(np.linalg.norm(vec, axis=1), 1e-9)
            ux, uy = vec[:, 0] / length, vec[:, 1] / length
            along.append(np.column_stack([ux, uy, -(p0[:, 0] * ux + p0[:, 1] * uy)]))
            across.append(np.column_stack([-uy, ux, uy * p0[:, 0] - ux * p0[:, 1]]))
            # The lane as centre offset and half width, both linear along each segment.
            mid = 0.5 * (self._half_left[lid] - self._half_right[lid])
            half = 0.5 * (self._half_left[lid] + self._half_right[lid])
            heads = _vertex_headings(dense)
            owner = np.full(len(vec), float(row))
            rows.append(np.stack([length, 1.0 / length, s[:-1], mid[:-1], half[:-1], np.diff(mid),
                                  np.diff(half), heads[:-1], np.diff(heads), owner]))
            # Farthest a matching point can be: half a lane outside the lane's edge.
            reach = np.abs(mid[:-1]) + np.abs(np.diff(mid)) + 2.0 * (half[:-1] + np.abs(np.diff(half))) + 0.1
            lo.append(np.floor((np.minimum(p0, dense[1:]) - reach[:, None]) / GRID_CELL_M).astype(np.int64))
            hi.append(np.floor((np.maximum(p0, dense[1:]) + reach[:, None]) / GRID_CELL_M).astype(np.int64))
        along_all, across_all, rows_all = np.vstack(along), np.vstack(across), np.hstack(rows)
        ramp = np.isin(np.array(self._ids)[rows_all[_ROW].astype(int)], list(self._ramp))
        order = np.argsort(ramp, kind="stable")  # main line first, so it wins exact ties
        lo_all, hi_all = np.vstack(lo)[order], np.vstack(hi)[order]
        # Every (segment, cell) pair: segment k covers nx * ny cells.
        nx, ny = hi_all[:, 0] - lo_all[:, 0] + 1, hi_all[:, 1] - lo_all[:, 1] + 1
        count = nx * ny
        seg = np.repeat(order, count)
        k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        ny_rep = np.repeat(ny, count)
        cx = np.repeat(lo_all[:, 0], count) + k // ny_rep
        cy = np.repeat(lo_all[:, 1], count) + k % ny_rep
        key = (cx - _CELL_BASE) * _CELL_SPAN + (cy - _CELL_BASE)
        by_cell = np.argsort(key, kind="stable")  # keeps main-line-first within a cell
        key, seg = key[by_cell], seg[by_cell]
        self._seg_along = np.ascontiguousarray(along_all[seg])
        self._seg_across = np.ascontiguousarray(across_all[seg])
        self._seg_rows = np.ascontiguousarray(rows_all[:, seg])
        self._cell_keys, starts = np.unique(key, return_index=True)
        self._cell_ends = np.append(starts[1:], len(key))
        self._cell_starts = starts
        self._cells = dict(zip(self._cell_keys.tolist(), zip(starts.tolist(), self._cell_ends.tolist(),
                                                              strict=True), strict=True))

    def _build_stations(self) -> None:
        """Station (distance along the carriageway) at every densified vertex of every lanelet.

        Lanes side by side form one carriageway slice; its leftmost lane is the reference, and a
        point's station is where its perpendicular foot falls on that reference, so points abreast
        in adjacent lanes share a station even in curves. Slices are chained through predecessors.
        """
        slices: dict[int, list[int]] = {}
        for lid in self._ids:
            leftmost = self._walk(lid, self._left)[-1] if self._left[lid] is not None else lid
            slices.setdefault(leftmost, []).append(lid)
        others = [(lid, ref) for ref, members in slices.items() for lid in members if lid != ref]
        feet = _nearest_on_polylines([(self._dense[lid], self._dense[ref]) for lid, ref in others], extend=True)
        # A lane's station is where its perpendicular foot falls on the reference; beyond either end
        # of the reference, on its first or last segment carried on (lanes that begin or end staggered).
        along = {lid: foot for (lid, _), (_, foot) in zip(others, feet, strict=True)}
        along.update({ref: self._dense_s[ref].copy() for ref in slices})
        self._station: dict[int, np.ndarray] = {}
        pending = dict(slices)
        while pending:
            # Slices that follow one already placed continue its stations; a slice that follows
            # nothing (an entrance) ends where the one it leads into begins; failing both, the
            # lowest id starts at zero (the start of a carriageway, or a loop of carriageways).
            placed = self._place(pending, along, lambda ref, members: self._slice_start(ref, members, along))
            if not placed:
                placed = self._place(pending, along, lambda ref, members: self._slice_end(members, along))
            if not placed:
                ref = min(r for r in pending if not any(self._pred[m] for m in pending[r])) if any(
                    not any(self._pred[m] for m in members) for members in pending.values()) else min(pending)
                for lid in pending.pop(ref):
                    self._station[lid] = along[lid]

    def _place(self, pending: dict[int, list[int]], along: dict[int, np.ndarray], start_of) -> bool:
        progressed = False
        for ref, members in sorted(pending.items()):
            start = start_of(ref, members)
            if start is None:
                continue
            for lid in members:
                self._station[lid] = start + along[lid]
            del pending[ref]
            progressed = True
        return progressed

    def _slice_start(self, ref: int, members: list[int], along: dict[int, np.ndarray]) -> float | None:
        """Station where a slice begins, from a predecessor's; None if it has none placed yet."""
        for lid in [ref] + [m for m in members if m != ref]:
            for pred in self._pred[lid]:
                if pred in self._station:
                    return float(self._station[pred][-1] - along[lid][0])
        return None

    def _slice_end(self, members: list[int], along: dict[int, np.ndarray]) -> float | None:
        """Station where a slice that follows nothing begins, from the successor it leads into."""
        if any(self._pred[m] for m in members):
            return None
        for lid in members:
            for succ in self._succ[lid]:
                if succ in self._station:
                    return float(self._station[succ][0] - along[lid][-1])
        return None

    # --- frames -------------------------------------------------------------------------------

    def project(self, lat_deg: float, lon_deg: float) -> tuple[float, float]:
        p = self._projector.forward(lanelet2.core.GPSPoint(lat_deg, lon_deg, 0.0))
        return float(p.x), float(p.y)

    def unproject(self, x_m: float, y_m: float) -> tuple[float, float]:
        g = self._projector.reverse(lanelet2.core.BasicPoint3d(x_m, y_m, 0.0))
        return float(g.lat), float(g.lon)

    # --- matching -----------------------------------------------------------------------------

    def match(self, pose: Pose2D, position_sigma_m: float = 0.05) -> LanePosition:
        """The lane the pose is in; UNMATCHED when more than ~half a lane outside every lanelet.

        heading_error_rad is the pose's yaw minus the lane's heading (+ = pointing left of it).
        confidence is the probability that the true position lies within the lane's width, given
        a Gaussian position error of position_sigma_m across it.
        """
        hit = self._nearest(pose.x_m, pose.y_m, pose.yaw_rad)
        if hit is None:
            return UNMATCHED
        d, sigma = hit.lateral_m, max(position_sigma_m, 1e-3)
        confidence = _phi((hit.half_left_m - d) / sigma) - _phi((-hit.half_right_m - d) / sigma)
        index, count = self._lane_index[hit.lanelet_id]
        return LanePosition(
            lanelet_id=hit.lanelet_id,
            arc_length_m=hit.arc_length_m,
            lateral_offset_m=d,
            heading_error_rad=_wrap(pose.yaw_rad - hit.heading_rad),
            lane_index=index,
            lane_count=count,
            confidence=confidence,
            lane_level=confidence >= LANE_LEVEL_CONFIDENCE,
            source=LaneSource.RTK,
        )

    def locate(self, x_m: float, y_m: float) -> tuple[int, float, float] | None:
        """(lanelet_id, arc_length_m, lateral_offset_m, + left) of a point, or None off the map."""
        hit = self._nearest(x_m, y_m, None)
        return None if hit is None else (hit.lanelet_id, hit.arc_length_m, hit.lateral_m)

    def match_many(self, x_m: Any, y_m: Any, yaw_rad: Any = None) -> MapBatch:
        """`locate` (and `match`'s heading error when yaw is given) for many points in one numpy pass.

        Picks the same lanelet as `match` would for each point: containing it first, then agreeing
        with the yaw, then the nearest centreline.
        """
        x, y = np.asarray(x_m, dtype=float).ravel(), np.asarray(y_m, dtype=float).ravel()
        n = len(x)
        key = ((np.floor(x / GRID_CELL_M).astype(np.int64) - _CELL_BASE) * _CELL_SPAN
               + (np.floor(y / GRID_CELL_M).astype(np.int64) - _CELL_BASE))
        pos = np.minimum(np.searchsorted(self._cell_keys, key), len(self._cell_keys) - 1)
        found = self._cell_keys[pos] == key
        start = np.where(found, self._cell_starts[pos], 0)
        count = np.where(found, self._cell_ends[pos] - start, 0)
        # One row per (point, segment of its cell).
        pt = np.repeat(np.arange(n), count)
        first = np.cumsum(count) - count
        seg = np.arange(count.sum()) - np.repeat(first, count) + np.repeat(start, count)
        a, c, r = self._seg_along[seg], self._seg_across[seg], self._seg_rows[:, seg]
        px, py = x[pt], y[pt]
        along = a[:, 0] * px + a[:, 1] * py + a[:, 2]
        across = c[:, 0] * px + c[:, 1] * py + c[:, 2]
        t = np.minimum(np.maximum(along, 0.0), r[_LEN])
        dist = np.hypot(along - t, across)
        d = np.copysign(dist, across)
        f = t * r[_INV_LEN]
        half = r[_HALF0] + f * r[_DHALF]
        outside = np.abs(d - (r[_MID0] + f * r[_DMID])) - half
        rank = np.maximum(outside, 0.0) * 1e5 + dist  # as in _nearest
        has = count > 0
        best = np.full(n, -1)
        best[has] = _group_argmin(rank, first[has], count[has])
        matched = has.copy()
        matched[has] = outside[best[has]] <= half[best[has]]
        heading = r[_H0] + f * r[_DH]
        if yaw_rad is not None:
            yaw = np.broadcast_to(np.asarray(yaw_rad, dtype=float).ravel(), x.shape)
            rank = rank + np.where(np.cos(yaw[pt] - heading) <= 0.0, 1e2, 0.0)
            best[has] = _group_argmin(rank, first[has], count[has])
        i = best[matched]
        lanelet = np.full(n, -1, dtype=np.int64)
        lanelet[matched] = np.asarray(self._ids, dtype=np.int64)[r[_ROW, i].astype(int)]
        arc, lateral, error = (np.full(n, np.nan) for _ in range(3))
        arc[matched], lateral[matched] = r[_S0, i] + t[i], d[i]
        if yaw_rad is not None:
            error[matched] = (yaw[matched] - heading[i] + math.pi) % (2.0 * math.pi) - math.pi
        return MapBatch(lanelet, arc, lateral, error)

    def _nearest(self, x: float, y: float, yaw: float | None) -> _Hit | None:
        """Best lanelet for a point: containing it, then agreeing with yaw, then nearest centreline."""
        key = ((math.floor(x / GRID_CELL_M) - _CELL_BASE) * _CELL_SPAN
               + (math.floor(y / GRID_CELL_M) - _CELL_BASE))
        cell = self._cells.get(key)
        if cell is None:
            return None
        lo, hi = cell
        r = self._seg_rows[:, lo:hi]
        v = np.array((x, y, 1.0))
        along, across = self._seg_along[lo:hi] @ v, self._seg_across[lo:hi] @ v
        t = np.minimum(np.maximum(along, 0.0), r[_LEN])
        dist = np.hypot(along - t, across)
        d = np.copysign(dist, across)  # + left of the centreline
        f = t * r[_INV_LEN]
        lane = r[_MID0:_HALF0 + 1] + f * r[_DMID:_DHALF + 1]  # centre offset and half width here
        outside = np.abs(d - lane[0]) - lane[1]  # < 0 inside the lane
        # Containing lanelets first, nearest centreline among them; then by how far outside (1e5: a
        # hundredth of a millimetre outside outweighs a metre nearer).
        rank = np.maximum(outside, 0.0) * 1e5 + dist
        i = int(rank.argmin())
        if outside[i] > lane[1, i]:  # more than half a lane outside even the best: off the map
            return None
        if yaw is not None:
            heading = r[_H0, i] + f[i] * r[_DH, i]
            if math.cos(yaw - heading) <= 0.0:
                # The best lanelet runs against the pose: among the lanelets that contain the point
                # as well, take one that agrees (the penalty outweighs any distance inside a lane).
                rank += np.where(np.cos(yaw - (r[_H0] + f * r[_DH])) <= 0.0, 1e2, 0.0)
                i = int(rank.argmin())
        # The rest in plain floats: numpy scalars are slow to index and to do arithmetic with.
        c = r[:, i].tolist()
        ti, di = float(t[i]), float(d[i])
        fi = ti * c[_INV_LEN]
        mid, half = c[_MID0] + fi * c[_DMID], c[_HALF0] + fi * c[_DHALF]
        return _Hit(self._ids[int(c[_ROW])], c[_S0] + ti, di, c[_H0] + fi * c[_DH], half + mid, half - mid)

    # --- lanes and rules ----------------------------------------------------------------------

    def station(self, lanelet_id: int, arc_length_m: float) -> float:
        """Distance along the carriageway from its start; equal for points abreast in adjacent lanes."""
        s, st = self._dense_s[lanelet_id], self._station[lanelet_id]
        if arc_length_m <= 0.0:
            return float(st[0] + arc_length_m)
        if arc_length_m >= s[-1]:
            return float(st[-1] + arc_length_m - s[-1])
        return float(np.interp(arc_length_m, s, st))

    def arc_length_at_station(self, lanelet_id: int, station_m: float) -> float:
        """The inverse of `station`: arc length on the lanelet where the station is station_m."""
        s, st = self._dense_s[lanelet_id], self._station[lanelet_id]
        if station_m <= st[0]:
            return float(station_m - st[0])
        if station_m >= st[-1]:
            return float(s[-1] + station_m - st[-1])
        return float(np.interp(station_m, st, s))

    def lane_index(self, lanelet_id: int) -> tuple[int, int]:
        """(index from the left, 0 = leftmost, lane count) of the carriageway at this lanelet."""
        return self._lane_index[lanelet_id]

    def left_of(self, lanelet_id: int) -> int | None:
        return self._left[lanelet_id]

    def right_of(self, lanelet_id: int) -> int | None:
        return self._right[lanelet_id]

    def lane_change_allowed(self, from_id: int, to_id: int) -> bool:
        """Whether the marking between two adjacent lanelets may be crossed from `from_id`.

        Lanelet2's own rule: dashed yes, solid no, solid_dashed / dashed_solid only from the
        dashed side, lane_change tags override; lanelets that are not neighbours never.
        """
        if to_id not in (self._left.get(from_id), self._right.get(from_id)):
            return False
        key = (from_id, to_id)
        if key not in self._can_change:
            self._can_change[key] = bool(self._rules.canChangeLane(self._ll[from_id], self._ll[to_id]))
        return self._can_change[key]

    def subtype(self, lanelet_id: int) -> str:
        """The lanelet's Lanelet2 subtype: highway (a motorway), road, ..."""
        return str(self._ll[lanelet_id].attributes["subtype"])

    def route(self, origin: Any, destination: Any, settings: Any = None) -> Any:
        """A lane-level route (see route.py): origin and destination as a named point, lanelet id or (lat, lon)."""
        from propilot.core.map.route import plan_route

        return plan_route(self, origin, destination, settings)

    def speed_limit_mps(self, lanelet_id: int) -> float:
        return self._kph[lanelet_id] / 3.6

    def successors(self, lanelet_id: int) -> list[int]:
        return list(self._succ[lanelet_id])

    def predecessors(self, lanelet_id: int) -> list[int]:
        return list(self._pred[lanelet_id])

    def is_ramp(self, lanelet_id: int) -> bool:
        """A one-lane slip road (exit or entry), including its connector inside the junction."""
        return lanelet_id in self._ramp

    def centerline(self, lanelet_id: int) -> np.ndarray:
        """The lanelet's centreline as written in the map, (N, 2) x, y."""
        return self._centre[lanelet_id].copy()

    def boundary(self, lanelet_id: int, side: str) -> np.ndarray:
        """The lanelet's left or right boundary, (N, 2) x, y."""
        ll = self._ll[lanelet_id]
        return _xy(ll.leftBound if side == "left" else ll.rightBound)

    def boundary_kind(self, lanelet_id: int, side: str) -> str:
        """How the boundary is painted: its subtype (solid, dashed, ...) or its type (virtual, curbstone, ...)."""
        ll = self._ll[lanelet_id]
        attrs = (ll.leftBound if side == "left" else ll.rightBound).attributes
        return str(attrs["subtype"]) if "subtype" in attrs else str(attrs["type"]) if "type" in attrs else ""

    def length(self, lanelet_id: int) -> float:
        return float(self._dense_s[lanelet_id][-1])

    def lanelet_ids(self) -> list[int]:
        return list(self._ids)

    def arc_length_on(self, lanelet_id: int, x_m: float, y_m: float) -> float:
        """Arc length on the lanelet's centreline of the point nearest to (x, y)."""
        line, s = self._dense[lanelet_id], self._dense_s[lanelet_id]
        a, ab = line[:-1], np.diff(line, axis=0)
        t = np.clip(((np.array([x_m, y_m]) - a) * ab).sum(1) / np.maximum((ab**2).sum(1), 1e-12), 0.0, 1.0)
        d = np.hypot(*(np.array([x_m, y_m]) - (a + t[:, None] * ab)).T)
        k = int(d.argmin())
        return float(s[k] + t[k] * (s[k + 1] - s[k]))

    def abreast(self, lanelet_id: int) -> list[int]:
        """The lanes side by side with this one, itself included, from left to right (one station scale)."""
        return self._walk(lanelet_id, self._left)[::-1] + [lanelet_id] + self._walk(lanelet_id, self._right)

    def station_range(self, lanelet_id: int) -> tuple[float, float]:
        """Stations of the lanelet's start and end."""
        st = self._station[lanelet_id]
        return float(st[0]), float(st[-1])

    # --- path ahead ---------------------------------------------------------------------------

    def path_ahead(
        self,
        lanelet_id: int,
        arc_length_m: float,
        distance_m: float,
        spacing_m: float = 2.0,
        prefer_ramp: bool = False,
    ) -> np.ndarray:
        """(N, 4) x, y, yaw (rad), curvature (1/m, + left) every spacing_m along the lane centreline.

        Starts at arc_length_m on lanelet_id (below 0 taken as 0, beyond its end carried into the
        successors) and follows successors; at a split it stays on the main carriageway unless
        prefer_ramp. Always at least one point; shorter than asked where the lane ends.
        """
        chain = self._chain(lanelet_id, max(arc_length_m, 0.0) + distance_m, prefer_ramp)
        line = self._centre[chain[0]]
        for lid in chain[1:]:
            nxt = self._centre[lid]
            # Consecutive lanelets share their end points; drop the repeat so no segment is zero long.
            line = np.vstack([line, nxt[1:] if np.allclose(nxt[0], line[-1], atol=1e-3) else nxt])
        s = _arc_lengths(line)
        start = min(max(arc_length_m, 0.0), s[-1])
        count = int(math.floor(min(distance_m, s[-1] - start) / spacing_m + 1e-9)) + 1
        q = start + spacing_m * np.arange(max(count, 1))
        knot_s, knot_h = _heading_knots(line)
        slope = np.diff(knot_h) / np.maximum(np.diff(knot_s), 1e-12)
        k = np.clip(np.searchsorted(knot_s, q, side="right") - 1, 0, len(slope) - 1)
        yaw = (np.interp(q, knot_s, knot_h) + math.pi) % (2.0 * math.pi) - math.pi
        return np.column_stack([np.interp(q, s, line[:, 0]), np.interp(q, s, line[:, 1]), yaw, slope[k]])

    def _chain(self, lanelet_id: int, needed_m: float, prefer_ramp: bool) -> list[int]:
        chain, total = [lanelet_id], self.length(lanelet_id)
        while total < needed_m:
            options = [n for n in self._succ[chain[-1]] if n not in chain]
            if not options:
                break
            # Main carriageway first (or the slip road first if asked), then the lowest id for determinism.
            nxt = min(options, key=lambda n: ((n in self._ramp) != prefer_ramp, n))
            chain.append(nxt)
            total += self.length(nxt)
        return chain
