"""`propilot map`: check a map, route on it, draw it.

    propilot map check FILE [--traffic-side left|right]
    propilot map route FILE --from A --to B [--json]
    propilot map show FILE [--route A B] [--window X0 Y0 X1 Y1] --out PNG

FILE is a map's `map.yaml`; a place (A, B) is a named point ("Fujisawa IC"), a lanelet id or
"lat,lon" in degrees. `check` exits 0 when the map is valid and 1 with every problem listed
(`file: element: reason`, one per line); `route` exits 0 with the route (lanelets, lane changes
with their windows and reasons, length, events), 1 when the map is invalid or there is no route;
`show` writes a PNG of the lanes with their lanelet ids, the named points, toll booths, parking
spaces, route-drive zones and, with --route, the route and its lane-change windows.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_PROBLEM = 0, 1
ROUTE_COLOUR, ZONE_COLOUR, WINDOW_COLOUR = "#ff7f0e", "#b7e4b0", "#d62728"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the map subcommands to the `map` subparser of the `propilot` command."""
    sub = parser.add_subparsers(dest="map_command", required=True)
    check = sub.add_parser("check", help="validate a map; exit 1 listing every problem")
    check.add_argument("file", help="the map's map.yaml")
    check.add_argument("--traffic-side", choices=("left", "right"), help="instead of the map's own")
    check.set_defaults(run=_check)
    route = sub.add_parser("route", help="lane-level route between two places")
    route.add_argument("file", help="the map's map.yaml")
    route.add_argument("--from", dest="origin", required=True, help="named point, lanelet id or 'lat,lon'")
    route.add_argument("--to", dest="destination", required=True, help="named point, lanelet id or 'lat,lon'")
    route.add_argument("--json", action="store_true", help="print the route as JSON")
    route.set_defaults(run=_route)
    show = sub.add_parser("show", help="draw the map (and a route) to a PNG")
    show.add_argument("file", help="the map's map.yaml")
    show.add_argument("--route", nargs=2, metavar=("FROM", "TO"), help="highlight the route between two places")
    show.add_argument("--window", nargs=4, type=float, metavar=("X0", "Y0", "X1", "Y1"),
                      help="draw only this part of the map frame (metres)")
    show.add_argument("--out", required=True, help="PNG file to write")
    show.set_defaults(run=_show)


def _load(args: argparse.Namespace, traffic_side: str | None = None):
    from propilot.core.map.hdmap import MapError, load_map

    try:
        return load_map(args.file, traffic_side=traffic_side)
    except MapError as exc:
        print(str(exc))
        print(f"{args.file}: {len(exc.problems)} problem(s): map refused", file=sys.stderr)
        return None


def _check(args: argparse.Namespace) -> int:
    hdmap = _load(args, args.traffic_side)
    if hdmap is None:
        return EXIT_PROBLEM
    ramps = sum(hdmap.is_ramp(i) for i in hdmap.lanelet_ids())
    print(f"{args.file}: valid: map {hdmap.name}, {len(hdmap.lanelet_ids())} lanelets ({ramps} on slip roads), "
          f"traffic keeps {hdmap.traffic_side} (overtaking on the {hdmap.overtaking_side}), "
          f"{len(hdmap.points_of_interest)} named points, {len(hdmap.toll_booths())} toll booths, "
          f"{len(hdmap.parking_spaces())} parking spaces")
    return EXIT_OK


def _route(args: argparse.Namespace) -> int:
    from propilot.core.map.route import RouteError

    hdmap = _load(args)
    if hdmap is None:
        return EXIT_PROBLEM
    try:
        route = hdmap.route(args.origin, args.destination)
    except RouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_PROBLEM
    if args.json:
        print(json.dumps({"map": hdmap.name, "from": args.origin, "to": args.destination, **route.to_dict()},
                         indent=2))
        return EXIT_OK
    print(f"{hdmap.name}: {args.origin} -> {args.destination}: {route.length_m:.0f} m over "
          f"{len(route.lanelet_ids)} lanelets, {len(route.lane_changes)} lane change(s)")
    for c in route.lane_changes:
        flag = "" if c.feasible else "  (window closed before it opened: starts too late)"
        print(f"  change {c.direction} {c.from_lanelet_id} -> {c.to_lanelet_id} for {c.reason}: "
              f"between {c.earliest_m:.0f} m and {c.latest_m:.0f} m{flag}")
    for e in route.events:
        name = f" {e.name}" if e.name else ""
        detail = f" ({e.detail})" if e.detail else ""
        print(f"  {e.distance_m:8.0f} m  {e.kind}{name}{detail}")
    print("  lanelets: " + " ".join(str(i) for i in route.lanelet_ids))
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from propilot.core.map.route import RouteError

    hdmap = _load(args)
    if hdmap is None:
        return EXIT_PROBLEM
    route = None
    if args.route:
        try:
            route = hdmap.route(*args.route)
        except RouteError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_PROBLEM
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    draw(hdmap, out, route, args.window, title=f"{hdmap.name}" + (f": {args.route[0]} -> {args.route[1]}"
                                                                      if args.route else ""))
    print(f"wrote {out}")
    return EXIT_OK


ZOOM_HALF_M = 250.0  # a lane-change panel shows this far either side of the window's latest point
MAX_ZOOMS = 3


def draw(hdmap, out: Path, route=None, window=None, title: str = "") -> None:
    """The lanes (solid and dashed lines as painted), lanelet ids, named points, toll booths, parking
    spaces, route-drive zones and the route with its lane-change windows, to a PNG. With a route that
    changes lanes, panels below zoom in on the latest point of each (up to MAX_ZOOMS)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    if window is None:
        pts = np.vstack([hdmap.centerline(i) for i in hdmap.lanelet_ids()])
        pad = 20.0
        window = (pts[:, 0].min() - pad, pts[:, 1].min() - pad, pts[:, 0].max() + pad, pts[:, 1].max() + pad)
    zooms = []
    if route is not None:
        for c in route.lane_changes[:MAX_ZOOMS]:
            xy = route_point(hdmap, route, c.from_lanelet_id, c.latest_m)
            if xy is not None:
                zooms.append((c, (xy[0] - ZOOM_HALF_M, xy[1] - ZOOM_HALF_M, xy[0] + ZOOM_HALF_M, xy[1] + ZOOM_HALF_M)))
    x0, y0, x1, y1 = window
    width_in = 24.0
    top_in = max(5.0, min(20.0, width_in * (y1 - y0) / max(x1 - x0, 1e-9)))
    zoom_in = width_in / MAX_ZOOMS if zooms else 0.0
    fig = plt.figure(figsize=(width_in, top_in + zoom_in + 1.0))
    grid = fig.add_gridspec(2 if zooms else 1, MAX_ZOOMS, height_ratios=[top_in, zoom_in] if zooms else [1])
    legend = [f"traffic keeps {hdmap.traffic_side}", "green: route-drive zone", "purple ids: slip roads"]
    if hdmap.toll_booths():
        legend.append("booths: blue ETC, orange general")
    if route is not None:
        legend.append(f"orange: route, {route.length_m:.0f} m; red > earliest, | latest point of a lane change")
    top = fig.add_subplot(grid[0, :])
    _panel(top, hdmap, route, window)
    top.set_title(f"{title}\n" + "; ".join(legend), fontsize=11)
    for k, (change, box) in enumerate(zooms):
        ax = fig.add_subplot(grid[1, k])
        _panel(ax, hdmap, route, box)
        ax.set_title(f"change {change.direction} for {change.reason}: {change.from_lanelet_id} -> "
                     f"{change.to_lanelet_id}, {change.earliest_m:.0f}-{change.latest_m:.0f} m", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=150)
    plt.close(fig)


def _panel(ax, hdmap, route, window) -> None:
    import numpy as np
    from matplotlib.patches import Polygon as Patch

    x0, y0, x1, y1 = window
    span_m = max(x1 - x0, y1 - y0)
    font = 8 if span_m < 1500 else 5
    zones = hdmap.route_drive_zones()

    def inside(p) -> bool:
        return x0 <= p[0] <= x1 and y0 <= p[1] <= y1

    for lid in hdmap.lanelet_ids():
        left, right = hdmap.boundary(lid, "left"), hdmap.boundary(lid, "right")
        if not any(inside(p) for p in left) and not any(inside(p) for p in right):
            continue
        outline = np.vstack([left, right[::-1]])
        if zones.interval(lid) is not None:
            ax.add_patch(Patch(outline, closed=True, facecolor=ZONE_COLOUR, edgecolor="none", zorder=0))
        if hdmap.toll_booth(lid):
            ax.add_patch(Patch(outline, closed=True, zorder=1, edgecolor="none",
                               facecolor="#9ecae1" if hdmap.toll_booth(lid) == "etc" else "#fdd0a2"))
        for line, kind in ((left, hdmap.boundary_kind(lid, "left")), (right, hdmap.boundary_kind(lid, "right"))):
            ax.plot(line[:, 0], line[:, 1], color="#bbbbbb" if kind == "virtual" else "black",
                    lw=0.7, ls="--" if kind == "dashed" else "-", zorder=2)
        visible = [p for p in hdmap.centerline(lid) if inside(p)]
        if visible:
            p = visible[len(visible) // 2]
            ax.text(p[0], p[1], str(lid), fontsize=font, ha="center", va="center", zorder=5,
                    color="#7b3294" if hdmap.is_ramp(lid) else "#1f3b73")
    for sp in hdmap.parking_spaces():
        if not inside(sp.entry_xy_m):
            continue
        (ex, ey), (fx, fy) = sp.entry_xy_m, sp.end_xy_m
        ux, uy = (fx - ex) / sp.length_m, (fy - ey) / sp.length_m
        nx, ny = -uy * sp.width_m / 2, ux * sp.width_m / 2
        corners = [(ex + nx, ey + ny), (fx + nx, fy + ny), (fx - nx, fy - ny), (ex - nx, ey - ny)]
        ax.add_patch(Patch(corners, closed=True, facecolor="#e0e0e0", edgecolor="#555555", lw=0.5, zorder=1))
        ax.text((ex + fx) / 2, (ey + fy) / 2, sp.name, fontsize=max(font - 2, 4), ha="center", va="center",
                rotation=90 if abs(ux) < 0.5 else 0, zorder=5)
    if route is not None:
        for line in route_lines(hdmap, route):
            ax.plot(line[:, 0], line[:, 1], color=ROUTE_COLOUR, lw=3.0, alpha=0.8, zorder=3,
                    solid_capstyle="round")
        for c in route.lane_changes:
            for at, marker in ((c.earliest_m, ">"), (c.latest_m, "|")):
                xy = route_point(hdmap, route, c.from_lanelet_id, at)
                if xy is not None and inside(xy):
                    ax.plot(*xy, marker=marker, color=WINDOW_COLOUR, ms=10, mew=2, zorder=6)
    for poi in hdmap.points_of_interest:
        if inside((poi.x_m, poi.y_m)):
            ax.plot(poi.x_m, poi.y_m, "o", color="#2ca02c", ms=6, zorder=6)
            ax.annotate(poi.name, (poi.x_m, poi.y_m), fontsize=font + 3, weight="bold", zorder=7,
                        xytext=(6, -12), textcoords="offset points")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_xlabel("x east (m)")
    ax.set_ylabel("y north (m)")


def route_lines(hdmap, route) -> list:
    """The route's centreline pieces: each driven lanelet from where it is entered to where the next is."""
    import numpy as np

    out = []
    bounds = list(route.entries_m[1:]) + [route.length_m]
    for lid, a, b in zip(route.lanelet_ids, route.entries_m, bounds, strict=True):
        s0 = max(route.arc_length_at(hdmap, lid, a), 0.0)
        s1 = min(route.arc_length_at(hdmap, lid, b), hdmap.length(lid))
        if s1 > s0:
            path = hdmap.path_ahead(lid, s0, s1 - s0, spacing_m=max((s1 - s0) / 200.0, 0.5))
            out.append(np.vstack([path[:, :2], hdmap.path_ahead(lid, s1, 0.0)[:, :2]]))
    return out


def route_point(hdmap, route, lanelet_id: int, distance_m: float):
    """(x, y) at a distance along the route on the lane of `lanelet_id` or, where that lanelet does not
    reach, on the lanelet driven there."""
    for lid in [lanelet_id] + list(route.lanelet_ids):
        start = route.offsets[lid] + hdmap.station_range(lid)[0]
        end = route.offsets[lid] + hdmap.station_range(lid)[1]
        if start - 1e-6 <= distance_m <= end + 1e-6:
            x, y = hdmap.path_ahead(lid, route.arc_length_at(hdmap, lid, distance_m), 0.0)[0, :2]
            return float(x), float(y)
    return None
