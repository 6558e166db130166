"""Lane-level route: the lanelets to drive, every lane change the route needs with its window, and the
events along it.

In: an `HDMap`, an origin and a destination (a named point, a lanelet id, or (latitude, longitude)
in degrees) and `RouteSettings`. Out: a `Route` with `lanelet_ids` (in driving order, changing lane
where each window opens), `lane_changes` (from, to, direction, reason `branch` | `exit` |
`lane_drop`, and the window: earliest and latest distance along the route), `length_m`, `events`
(branch, exit, lane_drop, speed_limit, toll_plaza, route_drive_end, each at a distance along the
route) and the stretches where route driving may be offered. `events_ahead` answers with the events
ahead of a position. A place that is not on the map, or a destination that cannot be reached,
raises `RouteError` saying which and why.

How (docs/map.md has the diagram):
1. Carriageways: Dijkstra over lanelets (successors cost their length, a permitted lane change
   LANE_CHANGE_COST_M) from origin to destination; the route's corridor is every lanelet abreast
   of that path.
2. Fewest lane changes: a 0-1 breadth-first search inside the corridor (following a lane costs 0,
   changing lane 1). Its path splits into chains, one per lane driven.
3. Windows, backwards from the destination: each chain's lane is followed as far as it stays in the
   corridor ("track"). Change j must be complete before track j ends (the lane ends: lane_drop;
   leaves the route for a slip road: exit; for another carriageway: branch) and one lane change
   length (speed limit x lane_change_time_s) before change j+1 must be; it can start where the two
   lanes are neighbours with a crossable line, but no earlier than lane_change_horizon_m before its
   latest point, nor before the change before it.
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from propilot.core.settings import setting

LANE_CHANGE_COST_M = 1.0  # a permitted lane change in the carriageway search: cheap, but not free (no zigzag)
EPS_M = 1e-6
TIE_M = 1.0  # events closer than this are one event (the lanes of one diverge)

Place = str | int | tuple[float, float]


class RouteError(ValueError):
    """No route: the message names the place or the reason."""


@dataclass(frozen=True)
class RouteSettings:
    lane_change_time_s: float = setting(
        8.0, unit="s", minimum=1.0, maximum=30.0,
        description="time one lane change takes: indicator on at least 3 s before moving, then a lateral "
                    "movement of at most 5 s; at the speed limit it gives the length kept between changes",
        source="UN R171 (indicator >= 3 s before a system-initiated lane change) [S]; UN R79 5.6.4.6.3 "
               "(lateral movement < 5 s) [V]")
    min_lane_change_length_m: float = setting(
        50.0, unit="m", minimum=0.0, maximum=1000.0,
        description="shortest length kept for one lane change, where the speed limit is low")
    lane_change_horizon_m: float = setting(
        2000.0, unit="m", minimum=100.0, maximum=50000.0,
        description="a required lane change is not asked for earlier than this before its latest point",
        source="Japanese expressway exit advance signs at 2 km, 1 km and 500 m [R]")


@dataclass(frozen=True)
class LaneChange:
    from_lanelet_id: int  # where the change is made if made where the window opens
    to_lanelet_id: int
    direction: str  # "left" or "right"
    reason: str  # "branch", "exit", "lane_drop" (or "destination": the destination is a lane of its own)
    earliest_m: float  # distance along the route where the change may begin
    latest_m: float  # distance along the route by which it must be complete

    @property
    def feasible(self) -> bool:
        """False when the route starts too late to make this change (the window closed before it opened)."""
        return self.latest_m >= self.earliest_m


@dataclass(frozen=True)
class RouteEvent:
    kind: str  # branch, exit, lane_drop, speed_limit, toll_plaza, route_drive_end
    distance_m: float  # along the route from its origin (from the position, in events_ahead)
    lanelet_id: int
    name: str = ""  # the point of interest, where the map names one
    value: float | None = None  # speed_limit: the new limit (m/s)
    detail: str = ""


@dataclass(frozen=True)
class Route:
    origin: tuple[int, float]  # lanelet id, arc length (m)
    destination: tuple[int, float]
    lanelet_ids: tuple[int, ...]
    entries_m: tuple[float, ...]  # distance along the route where each of lanelet_ids is entered
    lane_changes: tuple[LaneChange, ...]
    length_m: float
    events: tuple[RouteEvent, ...]
    drive_zones: tuple[tuple[float, float], ...]  # stretches (from, to along the route) route driving may run
    offsets: dict[int, float]  # per corridor lanelet: distance along the route minus its station

    def arc_length_at(self, hdmap: Any, lanelet_id: int, distance_m: float) -> float:
        """Arc length on a corridor lanelet of the point at a distance along the route (abreast of it)."""
        return hdmap.arc_length_at_station(lanelet_id, distance_m - self.offsets[lanelet_id])

    def distance_of(self, hdmap: Any, lanelet_id: int, arc_length_m: float) -> float | None:
        """Distance along the route of a point on a lanelet of the route's corridor; None off it."""
        if lanelet_id not in self.offsets:
            return None
        return self.offsets[lanelet_id] + hdmap.station(lanelet_id, arc_length_m)

    def to_dict(self) -> dict:
        return {
            "origin": {"lanelet_id": self.origin[0], "arc_length_m": round(self.origin[1], 3)},
            "destination": {"lanelet_id": self.destination[0], "arc_length_m": round(self.destination[1], 3)},
            "length_m": round(self.length_m, 3),
            "lanelet_ids": list(self.lanelet_ids),
            "entries_m": [round(e, 3) for e in self.entries_m],
            "lane_changes": [{**dataclasses.asdict(c), "earliest_m": round(c.earliest_m, 3),
                              "latest_m": round(c.latest_m, 3), "feasible": c.feasible} for c in self.lane_changes],
            "events": [{**dataclasses.asdict(e), "distance_m": round(e.distance_m, 3)} for e in self.events],
            "drive_zones": [[round(a, 3), round(b, 3)] for a, b in self.drive_zones],
        }


# ---------------------------------------------------------------------------------------------
# Places


_LAT_LON = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?)\s*,\s*([-+]?\d+(?:\.\d*)?)\s*$")


def resolve(hdmap: Any, place: Place, role: str) -> tuple[int, float]:
    """(lanelet id, arc length) of a place. A lanelet id or a named point that starts a lanelet means
    its start as the origin and its end as the destination; (lat, lon) is located on the map."""
    if isinstance(place, str):
        text = place.strip()
        if text.isdigit():
            place = int(text)
        elif (m := _LAT_LON.match(text)) is not None:
            place = (float(m.group(1)), float(m.group(2)))
        else:
            try:
                poi = hdmap.point(text)
            except KeyError as exc:
                raise RouteError(f"{role}: {exc.args[0]}") from None
            arc = hdmap.arc_length_on(poi.lanelet_id, poi.x_m, poi.y_m)
            if role == "destination" and arc < TIE_M:
                arc = hdmap.length(poi.lanelet_id)
            return poi.lanelet_id, arc
    if isinstance(place, bool):
        raise RouteError(f"{role}: {place!r} is not a place")
    if isinstance(place, int):
        if place not in set(hdmap.lanelet_ids()):
            raise RouteError(f"{role}: no lanelet {place} in map {hdmap.name}")
        return place, (hdmap.length(place) if role == "destination" else 0.0)
    if isinstance(place, tuple) and len(place) == 2:
        lat, lon = place
        if not (abs(lat) <= 90.0 and abs(lon) <= 180.0):
            raise RouteError(f"{role}: ({lat}, {lon}) is not a latitude, longitude in degrees")
        located = hdmap.locate(*hdmap.project(lat, lon))
        if located is None:
            raise RouteError(f"{role}: ({lat}, {lon}) is not on a lane of map {hdmap.name}")
        return located[0], located[1]
    raise RouteError(f"{role}: {place!r} is not a named point, a lanelet id or (lat, lon)")


# ---------------------------------------------------------------------------------------------
# The route


def plan_route(hdmap: Any, origin: Place, destination: Place, settings: RouteSettings | None = None) -> Route:
    settings = settings or RouteSettings()
    o_lid, o_arc = resolve(hdmap, origin, "origin")
    d_lid, d_arc = resolve(hdmap, destination, "destination")
    path = _carriageway_path(hdmap, o_lid, o_arc, d_lid, d_arc)
    offsets = _offsets(hdmap, path, o_lid, o_arc)
    corridor = set(offsets)
    # The end of a road is reached in any of its lanes; any other destination is a lane of its own.
    targets = {d_lid}
    if _is_road_end(hdmap, destination) and d_arc >= hdmap.length(d_lid) - TIE_M:
        targets = set(hdmap.abreast(d_lid))
    chains = _fewest_changes(hdmap, corridor, o_lid, targets)
    if chains[-1][-1] != d_lid:
        d_lid = chains[-1][-1]
        d_arc = hdmap.length(d_lid)
    length = offsets[d_lid] + hdmap.station(d_lid, d_arc)

    def span(lid: int) -> tuple[float, float]:
        a, b = hdmap.station_range(lid)
        return offsets[lid] + a, offsets[lid] + b

    tracks = [_track(hdmap, chain, corridor, span, length) for chain in chains]
    driven_at = _driven_index(hdmap, tracks, span, length)
    changes = _lane_changes(hdmap, chains, tracks, span, length, settings, driven_at)
    driven, enters = _driven(tracks, changes, span, length)
    route = Route((o_lid, o_arc), (d_lid, d_arc), tuple(driven), tuple(enters), tuple(changes), length, (), (),
                  offsets)
    stretches = _drive_stretches(hdmap, driven, enters, span, length)
    events = _events(hdmap, route, corridor, driven, enters, span, driven_at, stretches)
    return dataclasses.replace(route, events=tuple(events), drive_zones=tuple(stretches))


def events_ahead(route: Route, hdmap: Any, x_m: float, y_m: float, horizon_m: float = math.inf
                 ) -> list[RouteEvent]:
    """The route's events ahead of a position (within horizon_m), distance_m counted from it.

    RouteError when the position is not on the route's lanes.
    """
    located = hdmap.locate(x_m, y_m)
    here = None if located is None else route.distance_of(hdmap, located[0], located[1])
    if here is None:
        raise RouteError(f"({x_m:.1f}, {y_m:.1f}) is not on the lanes of the route")
    return [dataclasses.replace(e, distance_m=e.distance_m - here) for e in route.events
            if -EPS_M <= e.distance_m - here <= horizon_m]


def _carriageway_path(hdmap: Any, o_lid: int, o_arc: float, d_lid: int, d_arc: float) -> list[int]:
    """Dijkstra over lanelets: successors cost their length, permitted lane changes a little."""
    if o_lid == d_lid and o_arc <= d_arc + EPS_M:
        return [o_lid]
    cost = {o_lid: 0.0}
    parent: dict[int, int] = {}
    queue = [(0.0, o_lid)]
    while queue:
        c, lid = heapq.heappop(queue)
        if c > cost.get(lid, math.inf):
            continue
        if lid == d_lid and lid != o_lid:
            break
        steps = [(n, hdmap.length(lid) - (o_arc if lid == o_lid else 0.0)) for n in hdmap.successors(lid)]
        steps += [(n, LANE_CHANGE_COST_M) for n in (hdmap.left_of(lid), hdmap.right_of(lid))
                  if n is not None and hdmap.lane_change_allowed(lid, n)]
        for n, step in steps:
            if n == o_lid:
                continue
            if c + step < cost.get(n, math.inf):
                cost[n] = c + step
                parent[n] = lid
                heapq.heappush(queue, (c + step, n))
    if d_lid not in parent:
        raise RouteError(f"no route from lanelet {o_lid} to lanelet {d_lid} in map {hdmap.name}: the destination "
                         f"cannot be reached following the lanes")
    path = [d_lid]
    while path[-1] != o_lid:
        path.append(parent[path[-1]])
    return path[::-1]


def _offsets(hdmap: Any, path: list[int], o_lid: int, o_arc: float) -> dict[int, float]:
    """Per lanelet abreast of the path: distance along the route minus station (one value per slice).

    Stations agree for lanes abreast and run on across successors, except where two roads merge:
    there the route's own predecessor sets the offset.
    """
    offsets: dict[int, float] = {}
    delta = -hdmap.station(o_lid, o_arc)
    for i, lid in enumerate(path):
        if i and lid not in hdmap.abreast(path[i - 1]):
            prev = path[i - 1]
            delta += hdmap.station_range(prev)[1] - hdmap.station_range(lid)[0]
        for other in hdmap.abreast(lid):
            offsets.setdefault(other, delta)
    return offsets


def _is_road_end(hdmap: Any, place: Place) -> bool:
    return isinstance(place, str) and any(p.name == place.strip() and p.kind == "end" for p in hdmap.points_of_interest)


def _fewest_changes(hdmap: Any, corridor: set[int], o_lid: int, targets: set[int]) -> list[list[int]]:
    """0-1 breadth-first search in the corridor to the nearest target lanelet (fewest lane changes);
    the path split into chains, one per lane driven."""
    changes = {o_lid: 0}
    parent: dict[int, tuple[int, bool]] = {}
    queue = deque([o_lid])
    d_lid = None
    while queue:
        lid = queue.popleft()
        if lid in targets:
            d_lid = lid
            break
        for n, lateral in [(n, False) for n in hdmap.successors(lid)] + [
                (n, True) for n in (hdmap.left_of(lid), hdmap.right_of(lid))
                if n is not None and hdmap.lane_change_allowed(lid, n)]:
            if n not in corridor or n == o_lid:
                continue
            c = changes[lid] + (1 if lateral else 0)
            if c < changes.get(n, math.inf):
                changes[n] = c
                parent[n] = (lid, lateral)
                (queue.append if lateral else queue.appendleft)(n)
    if d_lid is None:
        raise RouteError(f"no route from lanelet {o_lid} to lanelet(s) {sorted(targets)}: the lanes it needs "
                         f"cannot be reached by permitted lane changes")
    # Back from the destination: each lanelet records how it was reached from the one before.
    order, how, back = [o_lid], [], []
    cur = d_lid
    while cur != o_lid:
        prev, lateral = parent[cur]
        back.append((cur, lateral))
        cur = prev
    for lid, lateral in reversed(back):
        order.append(lid)
        how.append(lateral)
    chains = [[order[0]]]
    for lid, lateral in zip(order[1:], how, strict=True):
        if lateral:
            chains.append([lid])
        else:
            chains[-1].append(lid)
    return chains


def _track(hdmap: Any, chain: list[int], corridor: set[int], span, length: float) -> list[int]:
    """The chain's lane followed back and on as far as it stays in the corridor (within the route)."""
    track = list(chain)
    while span(track[0])[0] > EPS_M:
        preds = [p for p in hdmap.predecessors(track[0]) if p in corridor and p not in track]
        if not preds:
            break
        track.insert(0, min(preds))
    while span(track[-1])[1] < length - EPS_M:
        succs = [s for s in hdmap.successors(track[-1]) if s in corridor and s not in track]
        if not succs:
            break
        track.append(min(succs))
    return track


def _driven_index(hdmap: Any, tracks: list[list[int]], span, length: float):
    """A function: distance along the route -> a corridor lanelet the route is on there (the last track
    that covers it), used to see what the route does beyond a point."""
    def at(distance: float) -> int | None:
        for track in reversed(tracks):
            for lid in track:
                a, b = span(lid)
                if a - EPS_M <= distance < b + EPS_M:
                    return lid
        return None
    return at


def _end_reason(hdmap: Any, last: int, end_m: float, length: float, driven_at) -> str:
    if end_m >= length - EPS_M:
        return "destination"  # the lane goes on to the destination's end, but the destination is another lane
    if not hdmap.successors(last):
        return "lane_drop"
    beyond = driven_at(end_m + TIE_M)
    return "exit" if beyond is not None and hdmap.is_ramp(beyond) and not hdmap.is_ramp(last) else "branch"


def _allowed(hdmap: Any, track: list[int], target: list[int], direction: str, span) -> list[tuple[float, float]]:
    """Stretches (along the route) where the lane of `track` and that of `target` are neighbours with a
    line one may cross from track's side, merged where they touch."""
    targets = set(target)
    out = []
    for lid in track:
        nb = hdmap.left_of(lid) if direction == "left" else hdmap.right_of(lid)
        if nb in targets and hdmap.lane_change_allowed(lid, nb):
            (a0, a1), (b0, b1) = span(lid), span(nb)
            if min(a1, b1) > max(a0, b0):
                out.append((max(a0, b0), min(a1, b1)))
    out.sort()
    merged: list[list[float]] = []
    for a, b in out:
        if merged and a <= merged[-1][1] + 0.5:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def _lane_changes(hdmap: Any, chains, tracks, span, length: float, settings: RouteSettings, driven_at
                  ) -> list[LaneChange]:
    n = len(chains) - 1
    if n <= 0:
        return []
    directions = ["left" if hdmap.left_of(chains[j][-1]) == chains[j + 1][0] else "right" for j in range(n)]
    allowed = [_allowed(hdmap, tracks[j], tracks[j + 1], directions[j], span) for j in range(n)]
    latest, block, lengths = [0.0] * n, [0.0] * n, [0.0] * n
    limit = math.inf
    for j in reversed(range(n)):
        deadline = min(span(tracks[j][-1])[1], limit, length)
        usable = [(a, b) for a, b in allowed[j] if a <= deadline]
        if usable:
            a, b = usable[-1]
            latest[j], block[j] = min(deadline, b), a
        else:
            latest[j] = block[j] = deadline
        here = driven_at(latest[j]) or tracks[j][-1]
        change_length = max(settings.min_lane_change_length_m,
                            hdmap.speed_limit_mps(here) * settings.lane_change_time_s)
        lengths[j] = change_length
        limit = latest[j] - change_length
    out = []
    previous = 0.0
    for j in range(n):
        earliest = max(block[j], latest[j] - settings.lane_change_horizon_m, previous, 0.0)
        previous = earliest + lengths[j]  # the next change begins once this one is done
        src, dst = _pair_at(hdmap, tracks[j], tracks[j + 1], directions[j], span, earliest)
        last = tracks[j][-1]
        out.append(LaneChange(src, dst, directions[j], _end_reason(hdmap, last, span(last)[1], length, driven_at),
                              earliest, latest[j]))
    return out


def _pair_at(hdmap: Any, track: list[int], target: list[int], direction: str, span, at: float) -> tuple[int, int]:
    """The lanelets of track and of its neighbour lane at a distance along the route."""
    targets = set(target)
    best = None
    for lid in track:
        nb = hdmap.left_of(lid) if direction == "left" else hdmap.right_of(lid)
        if nb in targets:
            (a0, a1), (b0, b1) = span(lid), span(nb)
            if max(a0, b0) - EPS_M <= at <= min(a1, b1) + EPS_M and hdmap.lane_change_allowed(lid, nb):
                return lid, nb
            best = best or (lid, nb)
    return best if best is not None else (track[-1], target[0])


def _driven(tracks, changes: list[LaneChange], span, length: float) -> tuple[list[int], list[float]]:
    """Lanelets in driving order, changing lane where each window opens; and where each is entered."""
    bounds = [0.0] + [c.earliest_m for c in changes] + [length]
    driven: list[int] = []
    enters: list[float] = []
    for j, track in enumerate(tracks):
        a, b = bounds[j], bounds[j + 1]
        part = [lid for lid in track if span(lid)[1] > a + EPS_M and span(lid)[0] <= b + EPS_M]
        if not part:
            part = [min(track, key=lambda lid: abs(span(lid)[0] - a))]
        for lid in part:
            if driven and driven[-1] == lid:
                continue
            driven.append(lid)
            enters.append(max(a, span(lid)[0]))
    return driven, enters


def _drive_stretches(hdmap: Any, driven: list[int], enters: list[float], span, length: float
                     ) -> list[tuple[float, float]]:
    """Where along the route route driving may run: the driven lanelets' route-drive intervals, joined."""
    zones = hdmap.route_drive_zones()
    pieces = []
    for i, lid in enumerate(driven):
        interval = zones.interval(lid)
        if interval is None:
            continue
        start = span(lid)[0]
        a = max(start + interval[0], enters[i], 0.0)
        b = min(start + interval[1], enters[i + 1] if i + 1 < len(enters) else length, length)
        if b > a + EPS_M:
            pieces.append((a, b))
    merged: list[list[float]] = []
    for a, b in sorted(pieces):
        if merged and a <= merged[-1][1] + 0.5:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def _events(hdmap: Any, route: Route, corridor: set[int], driven: list[int], enters: list[float], span,
            driven_at, stretches) -> list[RouteEvent]:
    length = route.length_m
    events: list[RouteEvent] = []
    named = {(p.kind, lid): p.name for p in hdmap.points_of_interest
             for lid in (p.lanelet_id, p.from_lanelet_id) if lid is not None}

    def name_for(kinds: tuple[str, ...], lanelets) -> str:
        return next((named[(k, lid)] for lid in lanelets for k in kinds if (k, lid) in named), "")

    # Diverges (where lanes of the corridor lead off it) and lane drops (where they end).
    diverges: dict[int, list[int]] = {}
    for lid in sorted(corridor):
        end = span(lid)[1]
        if not (EPS_M < end < length - EPS_M):
            continue
        succs = hdmap.successors(lid)
        if not succs:
            if any(hdmap.successors(n) for n in hdmap.abreast(lid)):  # not where the whole road ends
                index, count = hdmap.lane_index(lid)
                events.append(RouteEvent("lane_drop", end, lid, detail=f"lane {index} of {count} (from the left) "
                                                                       f"ends" + (", on the route" if lid in driven
                                                                                  else "")))
        elif any(s not in corridor for s in succs):
            diverges.setdefault(round(end / TIE_M), []).append(lid)
    for key in sorted(diverges):
        lanelets = diverges[key]
        end = span(lanelets[0])[1]
        before, beyond = driven_at(end - TIE_M), driven_at(end + TIE_M)
        outside = [s for lid in lanelets for s in hdmap.successors(lid) if s not in corridor]
        if beyond is not None and hdmap.is_ramp(beyond) and before is not None and not hdmap.is_ramp(before):
            exit_lanes = [lid for lid in corridor if hdmap.is_ramp(lid) and abs(span(lid)[0] - end) < TIE_M]
            events.append(RouteEvent("exit", end, beyond, name_for(("exit",), exit_lanes + lanelets)))
        elif outside and all(hdmap.is_ramp(s) for s in outside):
            continue  # an exit the route passes by
        elif beyond is not None:
            nearby = lanelets + outside + [lid for lid in corridor if abs(span(lid)[0] - end) < TIE_M]
            events.append(RouteEvent("branch", end, beyond, name_for(("junction",), nearby),
                                     detail="the route leaves the lanes that go on to "
                                            f"{len(set(outside))} other lanelet(s)"))
    # Speed limit changes along the lanes driven.
    for i in range(1, len(driven)):
        old, new = hdmap.speed_limit_mps(driven[i - 1]), hdmap.speed_limit_mps(driven[i])
        if abs(new - old) > 1e-6:
            events.append(RouteEvent("speed_limit", enters[i], driven[i], value=new,
                                     detail=f"{old * 3.6:.0f} -> {new * 3.6:.0f} km/h"))
    # Toll plazas: the booths abreast of the route.
    booths = sorted((lid for lid in corridor if hdmap.toll_booth(lid) is not None), key=lambda lid: span(lid)[0])
    seen_plaza: list[float] = []
    for lid in booths:
        start = span(lid)[0]
        if any(abs(start - s) < TIE_M for s in seen_plaza) or not (0.0 <= start < length):
            continue
        seen_plaza.append(start)
        row = [n for n in hdmap.abreast(lid) if hdmap.toll_booth(n) is not None]
        etc = [hdmap.lane_index(n)[0] for n in row if hdmap.toll_booth(n) == "etc"]
        through = next((n for n in row if n in driven), lid)  # the booth the route drives through
        events.append(RouteEvent("toll_plaza", start, through, name_for(("toll_plaza",), row),
                                 detail=f"{len(row)} booths, ETC in lanes {etc} (from the left)"))
    # Where route driving stops being available.
    for _a, b in stretches:
        if b < length - EPS_M:
            events.append(RouteEvent("route_drive_end", b, driven_at(b - TIE_M) or driven[-1],
                                     detail="route driving is not available beyond this point"))
    events.sort(key=lambda e: (e.distance_m, e.kind, e.lanelet_id))
    return events
