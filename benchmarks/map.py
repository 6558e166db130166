"""HD map speed on the 10 km `highway` map: load, route query, matching, each beside Lanelet2's own.

Prints one JSON object (last line):
- `load_ms`: median of `load_map` (map.yaml, Lanelet2 load, routing graph, validation, the
  matching grid and stations), beside `lanelet2_load_ms` (Lanelet2's load and routing graph alone);
- `route_ms_median`: median of `HDMap.route` over origin/destination pairs of the map's named
  points (lane changes, windows, events included), beside `lanelet2_route_ms_median`
  (`RoutingGraph.getRoute(...).shortestPath()` for the same lanelets: the path only);
- `match_us_per_point`: `match_many` over a batch of poses near the lanes, beside
  `match_single_us_per_point` (`match`, one call a pose) and `lanelet2_find_nearest_us_per_point`
  (`geometry.findNearest` plus `toArcCoordinates`, one call a point: lanelet, arc, offset only).
Targets from the issue: route <= 5 ms, matching <= 20 us per point, load <= 200 ms. Wall-clock
figures move with whatever else the machine runs; the `*_cpu_*` twins (this process's CPU time,
same medians) do not, and on an idle machine the two agree.

    .venv/bin/python benchmarks/map.py [--map maps/highway/map.yaml] [--points 20000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import time
from pathlib import Path

import lanelet2
import numpy as np
from lanelet2.projection import LocalCartesianProjector

from propilot.core.map.hdmap import load_map
from propilot.core.types import Pose2D

HIGHWAY = Path(__file__).resolve().parents[1] / "maps" / "highway" / "map.yaml"
LOADS, ROUTE_REPEATS = 15, 5


def _timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds of `repeats` calls."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return 1000.0 * statistics.median(wall), 1000.0 * statistics.median(cpu)


def _median_ms(fn, repeats: int) -> float:
    return _timed(fn, repeats)[0]


def _poses(hdmap, count: int, seed: int = 3) -> np.ndarray:
    """Poses on and beside the lanes (up to ~1.5 lanes off, yaw noisy, a few facing backwards)."""
    rng = np.random.default_rng(seed)
    ids = hdmap.lanelet_ids()
    out = np.empty((count, 3))
    for k in range(count):
        lid = ids[rng.integers(len(ids))]
        x, y, yaw, _ = hdmap.path_ahead(lid, rng.uniform(0.0, hdmap.length(lid)), 0.0)[0]
        left = rng.normal(0.0, 2.0)
        out[k] = (x - left * math.sin(yaw), y + left * math.cos(yaw),
                  yaw + rng.normal(0.0, 0.1) + (math.pi if rng.random() < 0.02 else 0.0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--map", default=str(HIGHWAY))
    parser.add_argument("--points", type=int, default=20000)
    args = parser.parse_args()

    hdmap = load_map(args.map)
    load_ms, load_cpu_ms = _timed(lambda: load_map(args.map), LOADS)
    projector = LocalCartesianProjector(lanelet2.io.Origin(hdmap.origin_lat_deg, hdmap.origin_lon_deg))
    rules = lanelet2.traffic_rules.create(lanelet2.traffic_rules.Locations.Germany,
                                          lanelet2.traffic_rules.Participants.Vehicle)

    def lanelet2_load():
        ll_map = lanelet2.io.load(str(hdmap.lanelet2_path), projector)
        return ll_map, lanelet2.routing.RoutingGraph(ll_map, rules)

    ll_load_ms = _median_ms(lanelet2_load, LOADS)
    ll_map, graph = lanelet2_load()

    # Every pair of named points that has a route, both ways round where it exists.
    pairs = []
    for a, b in itertools.permutations([p.name for p in hdmap.points_of_interest], 2):
        try:
            route = hdmap.route(a, b)
        except ValueError:
            continue
        pairs.append((a, b, route.origin[0], route.destination[0]))
    route_timed = [_timed(lambda a=a, b=b: hdmap.route(a, b), ROUTE_REPEATS) for a, b, _, _ in pairs]
    route_ms = [wall for wall, _ in route_timed]
    layer = ll_map.laneletLayer
    ll_route_ms = [_median_ms(lambda o=o, d=d: graph.getRoute(layer[o], layer[d]).shortestPath(), ROUTE_REPEATS)
                   for _, _, o, d in pairs]

    poses = _poses(hdmap, args.points)
    hdmap.match_many(poses[:100, 0], poses[:100, 1], poses[:100, 2])  # warm up
    batch = hdmap.match_many(poses[:, 0], poses[:, 1], poses[:, 2])
    match_ms, match_cpu_ms = _timed(lambda: hdmap.match_many(poses[:, 0], poses[:, 1], poses[:, 2]), 3)
    match_us, match_cpu_us = 1000.0 * match_ms / len(poses), 1000.0 * match_cpu_ms / len(poses)
    few = poses[:2000]
    start = time.perf_counter()
    for x, y, yaw in few:
        hdmap.match(Pose2D(x, y, yaw))
    single_us = 1e6 * (time.perf_counter() - start) / len(few)
    start = time.perf_counter()
    for x, y, _ in few:
        point = lanelet2.core.BasicPoint2d(x, y)
        (distance, nearest), = lanelet2.geometry.findNearest(layer, point, 1)
        lanelet2.geometry.toArcCoordinates(lanelet2.geometry.to2D(nearest.centerline), point)
    ll_match_us = 1e6 * (time.perf_counter() - start) / len(few)

    route_median = statistics.median(route_ms)
    ll_route_median = statistics.median(ll_route_ms)
    print(f"{hdmap.name}: {len(hdmap.lanelet_ids())} lanelets, {len(pairs)} routes between named points, "
          f"{len(poses)} poses ({int((batch.lanelet_id == -1).sum())} off the lanes)")
    print(json.dumps({
        "map": hdmap.name,
        "load_ms": round(load_ms, 1),
        "load_cpu_ms": round(load_cpu_ms, 1),
        "lanelet2_load_ms": round(ll_load_ms, 1),
        "load_over_lanelet2": round(load_ms / ll_load_ms, 2),
        "route_ms_median": round(route_median, 3),
        "route_cpu_ms_median": round(statistics.median(cpu for _, cpu in route_timed), 3),
        "route_ms_max": round(max(route_ms), 3),
        "lanelet2_route_ms_median": round(ll_route_median, 3),
        "route_over_lanelet2": round(route_median / ll_route_median, 2),
        "routes": len(pairs),
        "match_us_per_point": round(match_us, 2),
        "match_cpu_us_per_point": round(match_cpu_us, 2),
        "match_single_us_per_point": round(single_us, 2),
        "lanelet2_find_nearest_us_per_point": round(ll_match_us, 2),
        "match_over_lanelet2": round(match_us / ll_match_us, 2),
        "points": len(poses),
        "targets": {"route_ms_median": 5.0, "match_us_per_point": 20.0, "load_ms": 200.0},
    }))


if __name__ == "__main__":
    main()
