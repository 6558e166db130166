"""Route-drive zones: where on the map route driving may be offered.

In: an `HDMap` and `ZoneSettings`. Out: `RouteDriveZones`: per lanelet the stretch of it (arc
lengths) inside a zone, or none. A zone is the main carriageway of a motorway only:

- motorway lanelets only (Lanelet2 `subtype=highway`): no car park, no town road;
- no slip road (an entrance or exit ramp, `HDMap.is_ramp`);
- no toll plaza: not the booths nor toll_plaza_margin_m before or after them on the same
  carriageway (the driver takes over for the booths);
- not past the end of map coverage: a zone ends coverage_end_margin_s at the speed limit before
  the farthest point the carriageway reaches, so the driver has time to take over before the map
  runs out. A lane that ends (a lane drop) is not an end of coverage while a lane beside it goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from propilot.core.settings import setting


@dataclass(frozen=True)
class ZoneSettings:
    coverage_end_margin_s: float = setting(
        10.0, unit="s", minimum=0.0, maximum=120.0,
        description="route driving ends this long (at the speed limit) before the map's coverage ends",
        source="UN R171: a risk-mitigation stop may begin at most 10 s after the first escalated "
               "take-over request [S]; the take-over must be asked for at least that early")
    toll_plaza_margin_m: float = setting(
        300.0, unit="m", minimum=0.0, maximum=5000.0,
        description="no route driving this far before and after a toll plaza's booths",
        source="ProPILOT 2.0 hands over before toll gates [R]")


@dataclass(frozen=True)
class RouteDriveZones:
    stretches: dict[int, tuple[float, float]]  # lanelet id -> (from, to) arc lengths inside a zone

    def interval(self, lanelet_id: int) -> tuple[float, float] | None:
        return self.stretches.get(lanelet_id)

    def contains(self, lanelet_id: int, arc_length_m: float) -> bool:
        stretch = self.stretches.get(lanelet_id)
        return stretch is not None and stretch[0] <= arc_length_m <= stretch[1]

    def lanelet_ids(self) -> list[int]:
        return sorted(self.stretches)


def route_drive_zones(hdmap: Any, settings: ZoneSettings | None = None) -> RouteDriveZones:
    settings = settings or ZoneSettings()
    ids = hdmap.lanelet_ids()
    main = [lid for lid in ids if hdmap.subtype(lid) == "highway" and not hdmap.is_ramp(lid)]
    reach = _coverage_end(hdmap, main)
    plaza = _toll_plaza_area(hdmap, settings.toll_plaza_margin_m)
    stretches = {}
    for lid in main:
        start, end = hdmap.station_range(lid)
        margin = hdmap.speed_limit_mps(lid) * settings.coverage_end_margin_s
        hi = min(end, reach[lid] - margin)
        lo = start
        for a, b in plaza.get(lid, []):
            if a <= lo + 1e-6:
                lo = max(lo, b)
            else:
                hi = min(hi, a)
        if hi > lo + 1e-6:
            stretches[lid] = (lo - start, hi - start)
    return RouteDriveZones(stretches)


def _coverage_end(hdmap: Any, main: list[int]) -> dict[int, float]:
    """Per main-carriageway lanelet: the farthest station one can drive to from it without a slip road."""
    allowed = set(main)
    reach = {lid: hdmap.station_range(lid)[1] for lid in main}
    changed = True
    while changed:  # a fixed point: successors and lanes alongside pass on how far they reach
        changed = False
        for lid in main:
            nexts = [n for n in hdmap.successors(lid) if n in allowed]
            nexts += [n for n in (hdmap.left_of(lid), hdmap.right_of(lid)) if n in allowed]
            best = max([reach[lid]] + [reach[n] for n in nexts])
            if best > reach[lid] + 1e-6:
                reach[lid] = best
                changed = True
    return reach


def _toll_plaza_area(hdmap: Any, margin_m: float) -> dict[int, list[tuple[float, float]]]:
    """Per lanelet near a toll plaza: the station stretches of it that are the plaza or its margins."""
    out: dict[int, list[tuple[float, float]]] = {}
    for booth in hdmap.toll_booths():
        start, end = hdmap.station_range(booth)
        lo, hi = start - margin_m, end + margin_m
        # Spread along the carriageway (successors, predecessors, lanes alongside) while in [lo, hi].
        seen, stack = set(), [booth]
        while stack:
            lid = stack.pop()
            if lid in seen:
                continue
            a, b = hdmap.station_range(lid)
            if b < lo or a > hi:
                continue
            seen.add(lid)
            stretch = (max(a, lo), min(b, hi))
            if stretch not in out.setdefault(lid, []):
                out[lid].append(stretch)
            stack += hdmap.successors(lid) + hdmap.predecessors(lid)
            stack += [n for n in (hdmap.left_of(lid), hdmap.right_of(lid)) if n is not None]
    return {lid: sorted(v) for lid, v in out.items()}
