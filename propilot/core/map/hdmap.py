"""Lanelet2 HD map: loading with validation, lane-level matching and the lane geometry ahead.

In: a `map.yaml` that names a Lanelet2 `.osm` (and its OpenDRIVE and SUMO twins), the geodetic
origin of the map frame and the side of the road traffic keeps to. Out: an `HDMap` that answers,
in the map frame (x east, y north, metres, REP-103): which lane a pose is in (`match`, `locate`),
how far along the carriageway that is (`station`), the lanes beside it and whether one may change
into them, speed limits, and the centreline ahead with heading and curvature (`path_ahead`).
Invalid input raises `MapError`, which lists every problem found, one per line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import lanelet2
import numpy as np
import yaml
from lanelet2.projection import LocalCartesianProjector

from propilot.core.settings import ConfigError
from propilot.core.types import UNMATCHED, LanePosition, LaneSource, Pose2D

MAX_SEGMENT_M = 3.0  # centrelines are cut to this so a grid cell holds few, short segments
GRID_CELL_M = 10.0
MATCH_MARGIN_LANES = 0.5  # a point up to half a lane outside a lanelet still matches it
LANE_LEVEL_CONFIDENCE = 0.9
STATION_WINDOW = 12  # segments either side of the first guess searched when projecting lanes

_Report = Callable[[str, str], None]  # collects one problem: (field name, reason)

# Rows of a grid cell's segment data (see HDMap._build_grid).
_LEN, _INV_LEN, _S0, _MID0, _HALF0, _DMID, _DHALF, _H0, _DH, _ROW = range(10)


@dataclass(frozen=True)
class MapProblem:
    file: str
    element_id: int | str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.element_id}: {self.reason}"


class MapError(ConfigError):
    """The map or its map.yaml is invalid; `problems` holds every problem, not just the first."""

    def __init__(self, problems: list[MapProblem]):
        first = problems[0] if problems else MapProblem("?", "?", "unknown map problem")
        super().__init__(first.file, str(first.element_id), first.reason)
        self.problems = list(problems)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class PointOfInterest:
    """A named place on the map, e.g. an exit: the lanelet it starts on and where."""

    name: str
    kind: str
    lanelet_id: int
    x_m: float
    y_m: float
    from_lanelet_id: int | None = None  # for an exit: the main-line lane it leaves from


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


# ---------------------------------------------------------------------------------------------
# Loading


def load_map(map_yaml_path: str | Path) -> HDMap:
    """Read and validate map.yaml and the Lanelet2 map it names; MapError lists all problems."""
    path = Path(map_yaml_path)
    spec, problems = _read_spec(path)
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
    graph = lanelet2.routing.RoutingGraph(ll_map, rules)
    problems += _lanelet_problems(str(spec.lanelet2_path), ll_map, graph)
    problems += _poi_problems(path, spec, {ll.id for ll in ll_map.laneletLayer})
    if problems:
        raise MapError(problems)
    return HDMap(spec, ll_map, graph, rules, projector)


def _read_spec(path: Path) -> tuple[_Spec, list[MapProblem]]:
    """map.yaml's fields and the problems with them; raises only if the file itself is unusable."""
    file = str(path)
    if not path.is_file():
        raise MapError([MapProblem(file, "map.yaml", "file not found")])
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
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
    if side not in ("left", "right"):
        bad("traffic_side", f"must be 'left' or 'right', not {side!r}")
    files = {key: _read_file_field(path, raw, key, bad) for key in ("lanelet2", "opendrive", "sumo_net")}
    pois = _read_points_of_interest(raw.get("points_of_interest", []), bad)
    sumo_lanes = raw.get("sumo_lanes", {})
    if not isinstance(sumo_lanes, dict) or not all(isinstance(k, int) for k in sumo_lanes):
        bad("sumo_lanes", "expected a mapping of lanelet id to SUMO lane id")
        sumo_lanes = {}
    spec = _Spec(str(name), lat, lon, str(side), files["lanelet2"], files["opendrive"], files["sumo_net"],
                 pois, {int(k): str(v) for k, v in sumo_lanes.items()})
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
    pois = []
    for i, item in enumerate(items):
        try:
            from_id = item.get("from_lanelet_id")
            pois.append(PointOfInterest(str(item["name"]), str(item.get("kind", "")), int(item["lanelet_id"]),
                                        float(item["x_m"]), float(item["y_m"]),
                                        None if from_id is None else int(from_id)))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            bad(f"points_of_interest[{i}]", f"needs name, lanelet_id, x_m, y_m ({exc!r})")
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
        return None, problems
    return ll_map, problems


def _lanelet_problems(file: str, ll_map: Any, graph: Any) -> list[MapProblem]:
    problems = []
    for ll in sorted(ll_map.laneletLayer, key=lambda item: item.id):
        attrs = ll.attributes
        if "subtype" not in attrs:
            problems.append(MapProblem(file, ll.id, "lanelet has no subtype tag"))
        if "speed_limit" not in attrs:
            problems.append(MapProblem(file, ll.id, "lanelet has no speed_limit tag"))
        elif _parse_kph(attrs["speed_limit"]) is None:
            reason = f"speed_limit {attrs['speed_limit']!r} is not a number (km/h)"
            problems.append(MapProblem(file, ll.id, reason))
        if len(ll.centerline) < 2:
            problems.append(MapProblem(file, ll.id, "centreline has fewer than 2 points"))
        if not _any_link(graph, ll):
            problems.append(MapProblem(file, ll.id, "lanelet connects to nothing (no predecessor, successor "
                                                    "or neighbour)"))
    return problems


def _any_link(graph: Any, ll: Any) -> bool:
    return bool(
        len(graph.following(ll)) or len(graph.previous(ll)) or graph.left(ll) or graph.right(ll)
        or graph.adjacentLeft(ll) or graph.adjacentRight(ll)
    )


_KPH = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?)\s*(km/h|kmh|kph|mph)?\s*$")


def _parse_kph(text: str) -> float | None:
    """Lanelet2 speed limits are km/h unless a unit says otherwise."""
    m = _KPH.match(str(text))
    if m is None or float(m.group(1)) <= 0.0:
        return None
    return float(m.group(1)) * (1.609344 if m.group(2) == "mph" else 1.0)


# ---------------------------------------------------------------------------------------------
# Geometry helpers


def _densify(line: np.ndarray, max_step: float) -> np.ndarray:
    """The same polyline with every segment longer than max_step cut into equal pieces."""
    out = [line[:1]]
    for a, b in zip(line[:-1], line[1:], strict=True):
        n = max(1, int(math.ceil(np.linalg.norm(b - a) / max_step)))
        out.append(a + (b - a) * (np.arange(1, n + 1) / n)[:, None])
    return np.vstack(out)


def _xy(points: Any) -> np.ndarray:
    """A Lanelet2 line string as an (N, 2) array."""
    return np.array([[p.x, p.y] for p in points], dtype=float)


def _without_repeats(line: np.ndarray) -> np.ndarray:
    """The polyline without consecutive duplicate points, which would have no heading."""
    keep = np.concatenate([[True], np.linalg.norm(np.diff(line, axis=0), axis=1) > 1e-6])
    return line[keep]


def _arc_lengths(line: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])


def _distance_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance from each point (N, 2) to the polyline (M, 2), brute force: used at load only."""
    a, ab = line[:-1], np.diff(line, axis=0)
    out = np.empty(len(points))
    for start in range(0, len(points), 256):  # chunks keep the (N, M) temporaries small
        p = points[start:start + 256, None, :]
        t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab**2).sum(-1), 1e-12), 0.0, 1.0)
        out[start:start + 256] = np.linalg.norm(p - (a + t[..., None] * ab), axis=-1).min(axis=1)
    return out


def _foot_arc_lengths(points: np.ndarray, line: np.ndarray, s_line: np.ndarray) -> np.ndarray:
    """Arc length along `line` of the nearest point to each of a few points, brute force."""
    a, ab = line[:-1], np.diff(line, axis=0)
    p = points[:, None, :]
    t = np.clip(((p - a) * ab).sum(-1) / np.maximum((ab**2).sum(-1), 1e-12), 0.0, 1.0)
    seg = np.linalg.norm(p - (a + t[..., None] * ab), axis=-1).argmin(axis=1)
    rows = np.arange(len(points))
    return s_line[seg] + t[rows, seg] * np.linalg.norm(ab[seg], axis=1)


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
        self.points_of_interest = spec.points_of_interest
        self.sumo_lanes = spec.sumo_lanes
        self._map, self._graph, self._rules, self._projector = ll_map, graph, rules, projector
        self._ll = {ll.id: ll for ll in ll_map.laneletLayer}
        self._ids = sorted(self._ll)
        self._build_topology()
        self._build_geometry()
        self._build_grid()
        self._build_stations()

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
            self._kph[lid] = _parse_kph(ll.attributes["speed_limit"]) or 0.0
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
            self._half_left[lid] = _distance_to_polyline(dense, _xy(ll.leftBound))
            self._half_right[lid] = _distance_to_polyline(dense, _xy(ll.rightBound))

    def _build_grid(self) -> None:
        """Every centreline segment, bucketed by the grid cells a matching point near it could be in.

        Per cell: `coef` (2n, 3), which turns (x, y, 1) into the along- and across-segment
        coordinates of a point for all n segments in one product, and `rows` (10, n) of the rest
        (see the _LEN... constants). A query is then ~20 numpy operations on arrays of a few dozen.
        Slip-road segments come last in each cell, so in an exact tie (where an exit begins on top
        of a lane) argmin picks the main line.
        """
        coef, rows, lo, hi = [], [], [], []
        for row, lid in enumerate(self._ids):
            dense, s = self._dense[lid], self._dense_s[lid]
            p0, vec = dense[:-1], np.diff(dense, axis=0)
            length = np.maximum(np.linalg.norm(vec, axis=1), 1e-9)
            ux, uy = vec[:, 0] / length, vec[:, 1] / length
            coef.append(np.stack([np.column_stack([ux, uy, -(p0[:, 0] * ux + p0[:, 1] * uy)]),
                                  np.column_stack([-uy, ux, uy * p0[:, 0] - ux * p0[:, 1]])]))
            # The lane as centre offset and half width, both linear along each segment.
            mid = 0.5 * (self._half_left[lid] - self._half_right[lid])
            half = 0.5 * (self._half_left[lid] + self._half_right[lid])
            heads = _vertex_headings(dense)
            owner = np.full(len(vec), float(row))
            rows.append(np.stack([length, 1.0 / length, s[:-1], mid[:-1], half[:-1], np.diff(mid),
                                  np.diff(half), heads[:-1], np.diff(heads), owner]))
            # Farthest a matching point can be: half a lane outside the lane's edge.
            reach = np.abs(mid[:-1]) + np.abs(np.diff(mid)) + 2.0 * (half[:-1] + np.abs(np.diff(half))) + 0.1
            lo.append(np.floor((np.minimum(p0, dense[1:]) - reach[:, None]) / GRID_CELL_M).astype(int))
            hi.append(np.floor((np.maximum(p0, dense[1:]) + reach[:, None]) / GRID_CELL_M).astype(int))
        coef_all, rows_all = np.concatenate(coef, axis=1), np.concatenate(rows, axis=1)
        ramp = np.array([self._ids[int(row)] in self._ramp for row in rows_all[_ROW]])
        order = np.argsort(ramp, kind="stable")  # main line first, so it wins exact ties
        cells: dict[tuple[int, int], list[int]] = {}
        lo_all, hi_all = np.vstack(lo)[order], np.vstack(hi)[order]
        for seg, (x0, y0, x1, y1) in zip(order, np.column_stack([lo_all, hi_all]), strict=True):
            for ix in range(x0, x1 + 1):
                for iy in range(y0, y1 + 1):
                    cells.setdefault((ix, iy), []).append(seg)
        self._grid = {
            key: (np.ascontiguousarray(coef_all[:, segs].reshape(-1, 3)),
                  np.ascontiguousarray(rows_all[:, segs]))
            for key, segs in cells.items()
        }

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
        along = {lid: self._project_onto(lid, ref) for ref, members in slices.items() for lid in members}
        self._station: dict[int, np.ndarray] = {}
        pending = dict(slices)
        while pending:
            progressed = False
            for ref, members in sorted(pending.items()):
                start = self._slice_start(ref, members, along)
                if start is None:
                    continue
                for lid in members:
                    self._station[lid] = start + along[lid]
                del pending[ref]
                progressed = True
            if not progressed:  # a loop of carriageways: start the lowest id at zero and go on
                ref = min(pending)
                for lid in pending.pop(ref):
                    self._station[lid] = along[lid]

    def _slice_start(self, ref: int, members: list[int], along: dict[int, np.ndarray]) -> float | None:
        """Station where a slice begins, or None while its predecessor's is not known yet."""
        for lid in [ref] + [m for m in members if m != ref]:
            if self._pred[lid]:
                pred = self._pred[lid][0]
                if pred not in self._station:
                    return None
                return float(self._station[pred][-1] - along[lid][0])
        return 0.0

    def _project_onto(self, lid: int, ref: int) -> np.ndarray:
        """Arc length on `ref` of the perpendicular foot of each densified vertex of `lid`."""
        pts, line, s_line = self._dense[lid], self._dense[ref], self._dense_s[ref]
        if lid == ref:
            return self._dense_s[lid].copy()
        # First guess: the ends projected by brute force, in between in proportion; then the best
        # segment in a window round the guess. Lanes abreast differ in length by centimetres per
        # degree of bend, far less than the window, and lanes that begin or end staggered are
        # caught by the projected ends.
        ends = _foot_arc_lengths(pts[[0, -1]], line, s_line)
        own = self._dense_s[lid]
        guess = ends[0] + own * ((ends[1] - ends[0]) / max(own[-1], 1e-9))
        centre = np.clip(np.searchsorted(s_line, guess) - 1, 0, len(line) - 2)
        idx = np.clip(centre[:, None] + np.arange(-STATION_WINDOW, STATION_WINDOW + 1), 0, len(line) - 2)
        a, ab = line[idx], line[idx + 1] - line[idx]
        seg_len = np.maximum(np.linalg.norm(ab, axis=-1), 1e-9)
        t = ((pts[:, None, :] - a) * ab).sum(-1) / seg_len**2
        # Beyond either end of the reference, carry on along its first or last segment.
        lo = np.where(idx == 0, -np.inf, 0.0)
        hi = np.where(idx == len(line) - 2, np.inf, 1.0)
        t = np.clip(t, lo, hi)
        dist = np.linalg.norm(pts[:, None, :] - (a + t[..., None] * ab), axis=-1)
        best = np.argmin(dist, axis=1)
        rows = np.arange(len(pts))
        return s_line[idx[rows, best]] + t[rows, best] * seg_len[rows, best]

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

    def _nearest(self, x: float, y: float, yaw: float | None) -> _Hit | None:
        """Best lanelet for a point: containing it, then agreeing with yaw, then nearest centreline."""
        cell = self._grid.get((math.floor(x / GRID_CELL_M), math.floor(y / GRID_CELL_M)))
        if cell is None:
            return None
        coef, r = cell
        n = r.shape[1]
        along_across = coef @ np.array((x, y, 1.0))
        along, across = along_across[:n], along_across[n:]
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
        return bool(self._rules.canChangeLane(self._ll[from_id], self._ll[to_id]))

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

    def length(self, lanelet_id: int) -> float:
        return float(self._dense_s[lanelet_id][-1])

    def lanelet_ids(self) -> list[int]:
        return list(self._ids)

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
