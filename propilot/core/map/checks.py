"""Checks of a loaded Lanelet2 map against the conventions the stack relies on (Autoware's).

In: the osm file name (for messages), the lanelet map and its routing graph. Out: a list of
`MapProblem`s, one per element and reason, empty when the map is fit to use:

- tags: every lanelet has `subtype`, `location`, `one_way` and `speed_limit` with a known value,
  every lanelet boundary a line `type`; `toll_booth` and parking-space `width` are valid;
- topology: no lanelet connects to nothing (no predecessor, successor or neighbour);
- geometry: a centreline has 2 points or more; no two lanelets overlap unless the overlap is a
  merge or a diverge (they share a lanelet within MERGE_HOPS before or after them), two turns
  crossing in an intersection (both carry `turn_direction`), or under OVERLAP_TOLERANCE_M2.
  Two lanelets that cover nearly the same ground (DUPLICATE_SHARE) are always a problem.
"""

from __future__ import annotations

import re
from typing import Any

from shapely.geometry import Polygon

from propilot.core.map.errors import MapProblem

# Values Lanelet2's traffic rules know (lanelet2_traffic_rules, Autoware's lanelet2 extension).
LANELET_SUBTYPES = frozenset({"road", "highway", "play_street", "emergency_lane", "bus_lane", "bicycle_lane",
                              "walkway", "shared_walkway", "crosswalk", "stairs", "road_shoulder", "pedestrian_lane"})
LOCATIONS = frozenset({"urban", "nonurban"})
ONE_WAY = frozenset({"yes", "no"})
TOLL_BOOTHS = frozenset({"etc", "general"})  # ETC-only booth, or one that also takes cash and cards
OVERLAP_TOLERANCE_M2 = 1.0  # touching lanes share an edge; rounding leaves a sliver of this order
DUPLICATE_SHARE = 0.9  # overlap over the smaller lanelet's area beyond which one is a copy of the other
MERGE_HOPS = 2  # a slip road's connector and its first lanelet both overlap the lane they leave

_KPH = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?)\s*(km/h|kmh|kph|mph)?\s*$")


def parse_kph(text: str) -> float | None:
    """Lanelet2 speed limits are km/h unless a unit says otherwise; None if not a positive number."""
    m = _KPH.match(str(text))
    if m is None or float(m.group(1)) <= 0.0:
        return None
    return float(m.group(1)) * (1.609344 if m.group(2) == "mph" else 1.0)


def lanelet_problems(file: str, ll_map: Any, graph: Any) -> list[MapProblem]:
    problems: list[MapProblem] = []
    for ll in sorted(ll_map.laneletLayer, key=lambda item: item.id):
        problems += [MapProblem(file, ll.id, reason) for reason in _tag_problems(ll)]
        if len(ll.centerline) < 2:
            problems.append(MapProblem(file, ll.id, "centreline has fewer than 2 points"))
        if not _any_link(graph, ll):
            problems.append(MapProblem(file, ll.id, "lanelet connects to nothing (no predecessor, successor "
                                                    "or neighbour)"))
    problems += _overlap_problems(file, ll_map, graph)
    problems += _parking_space_problems(file, ll_map)
    return problems


def _tag_problems(ll: Any) -> list[str]:
    attrs = ll.attributes
    out = []
    for key, known in (("subtype", LANELET_SUBTYPES), ("location", LOCATIONS), ("one_way", ONE_WAY)):
        if key not in attrs:
            out.append(f"lanelet has no {key} tag")
        elif attrs[key] not in known:
            out.append(f"{key} {attrs[key]!r} is not one of {', '.join(sorted(known))}")
    if "speed_limit" not in attrs:
        out.append("lanelet has no speed_limit tag")
    elif parse_kph(attrs["speed_limit"]) is None:
        out.append(f"speed_limit {attrs['speed_limit']!r} is not a number (km/h)")
    if "toll_booth" in attrs and attrs["toll_booth"] not in TOLL_BOOTHS:
        out.append(f"toll_booth {attrs['toll_booth']!r} is not one of {', '.join(sorted(TOLL_BOOTHS))}")
    for side, bound in (("left", ll.leftBound), ("right", ll.rightBound)):
        if "type" not in bound.attributes:
            out.append(f"{side} boundary {bound.id} has no type tag (e.g. line_thin, virtual)")
    return out


def _any_link(graph: Any, ll: Any) -> bool:
    return bool(
        len(graph.following(ll)) or len(graph.previous(ll)) or graph.left(ll) or graph.right(ll)
        or graph.adjacentLeft(ll) or graph.adjacentRight(ll)
    )


def _overlap_problems(file: str, ll_map: Any, graph: Any) -> list[MapProblem]:
    """Lanelet2's routing graph already knows which lanelets conflict (their areas meet): weigh those."""
    problems = []
    seen: set[tuple[int, int]] = set()
    for ll in sorted(ll_map.laneletLayer, key=lambda item: item.id):
        for other in graph.conflicting(ll):
            pair = (min(ll.id, other.id), max(ll.id, other.id))
            if pair in seen or not hasattr(other, "leftBound"):  # conflicting areas are not lanelets
                continue
            seen.add(pair)
            a, b = ll_map.laneletLayer[pair[0]], ll_map.laneletLayer[pair[1]]
            pa, pb = _polygon(a), _polygon(b)
            area = pa.intersection(pb).area
            if area <= OVERLAP_TOLERANCE_M2:
                continue
            share = area / max(min(pa.area, pb.area), 1e-9)
            if share < DUPLICATE_SHARE and (_crossing(a, b) or _merge_or_diverge(graph, a, b)):
                continue
            what = "covers nearly the same ground as" if share >= DUPLICATE_SHARE else "overlaps"
            problems.append(MapProblem(file, a.id, f"lanelet {what} lanelet {b.id} ({area:.1f} m2, {share:.0%} of "
                                                   f"the smaller one) without a merge, diverge or crossing"))
    return problems


def _polygon(ll: Any) -> Polygon:
    poly = Polygon([(p.x, p.y) for p in ll.polygon2d()])
    return poly if poly.is_valid else poly.buffer(0)


def _crossing(a: Any, b: Any) -> bool:
    return "turn_direction" in a.attributes and "turn_direction" in b.attributes


def _merge_or_diverge(graph: Any, a: Any, b: Any) -> bool:
    for step in (graph.previous, graph.following):
        if _near(graph, a, step) & _near(graph, b, step):
            return True
    return False


def _near(graph: Any, ll: Any, step: Any) -> set[int]:
    """Ids of the lanelets up to MERGE_HOPS steps away (before or after) and of the lanelet itself."""
    out, frontier = {ll.id}, [ll]
    for _ in range(MERGE_HOPS):
        frontier = [n for f in frontier for n in step(f)]
        out |= {n.id for n in frontier}
    return out


def _parking_space_problems(file: str, ll_map: Any) -> list[MapProblem]:
    problems = []
    for ls in ll_map.lineStringLayer:
        if "type" not in ls.attributes or ls.attributes["type"] != "parking_space":
            continue
        width = ls.attributes["width"] if "width" in ls.attributes else None
        try:
            ok = width is not None and float(width) > 0.0
        except ValueError:
            ok = False
        if not ok:
            problems.append(MapProblem(file, ls.id, f"parking_space width {width!r} is not a positive number (m)"))
        if len(ls) != 2:
            problems.append(MapProblem(file, ls.id, f"parking_space needs 2 points (entry, far end), has {len(ls)}"))
    return problems
