"""Generate the `highway_small` map of the walking skeleton.

In: nothing; the layout is the constants below. Out: `maps/highway_small/` with the
Lanelet2 map (`highway_small.osm`), OpenDRIVE (`highway_small.xodr`), the SUMO plain
files and the net netconvert builds from them (`sumo/`), and `map.yaml`, which names
them all. Deterministic: running it twice gives byte-identical files.

Layout (x east, y north, metres): a 3-lane one-way motorway, 100 km/h, 4 km long. It
runs east, bends left through a 2000 m radius curve with clothoid transitions, runs
straight again and splits at ~2950 m, where "Exit 1 Minato" (1 lane, 60 km/h) leaves
the right-hand lane; the main line goes on 1 km to its end.

    python maps/generate.py
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import lanelet2
import numpy as np
import roadgen
import sumolib
import yaml
from lanelet2.projection import LocalCartesianProjector

NAME = "highway_small"
OUT = Path(__file__).resolve().parent / NAME
ORIGIN_LAT_DEG, ORIGIN_LON_DEG = 35.0, 139.0

LANE_WIDTH_M = 3.5
MAIN_LANES = 3
MAIN_KPH = 100.0
RAMP_KPH = 60.0
CURVE_RADIUS_M = 2000.0
RAMP_RADIUS_M = 500.0
JUNCTION_LENGTH_M = 50.0  # roadgen needs a junction with extent to model the split
RAMP_START_OFFSET_M = 1.5  # lateral, from the right-hand lane's centre, where the slip road begins
RAMP_START_ANGLE_RAD = 0.04  # ~2.3 deg divergence, a usual taper for a motorway exit
EXIT_NAME = "Exit 1 Minato"
MAX_DEVIATION_M = 0.1  # SUMO lane shapes must lie this close to the lanelet centrelines


def _lanes(n: int, kph: float) -> list[roadgen.Lane]:
    """Lane 0 is the leftmost (next to the reference line); outer edges solid, between lanes broken."""
    return [
        roadgen.Lane(
            width=LANE_WIDTH_M,
            direction="forward",
            left_marking="solid" if i == 0 else "broken",
            right_marking="solid" if i == n - 1 else "broken",
            speed_limit_kph=kph,
        )
        for i in range(n)
    ]


def _ahead(point: tuple[float, float, float], heading: float, dist: float, right: float = 0.0):
    """A point `dist` ahead and `right` to the right of `point` facing `heading`."""
    x, y, z = point
    c, s = math.cos(heading), math.sin(heading)
    return (x + dist * c + right * s, y + dist * s - right * c, z)


def build() -> roadgen.Map:
    m = roadgen.Map(name=NAME, origin=(ORIGIN_LAT_DEG, ORIGIN_LON_DEG, 0.0), projection="local_cartesian",
                    handedness="rht")

    # Before the split: straight, clothoid in, 2 km radius arc to the left, clothoid out, straight.
    kappa = 1.0 / CURVE_RADIUS_M
    before = roadgen.Alignment((0.0, 0.0, 0.0), heading=0.0)
    before.line(800.0)
    before.spiral(150.0, kappa)
    before.arc(500.0, kappa)
    before.spiral(150.0, 0.0)
    before.line(1350.0)
    split_in, heading = before.point, before.heading
    main_a = m.add_road(lanes=_lanes(MAIN_LANES, MAIN_KPH), alignment=before, name="main_a",
                        type_="motorway", form="motorway")

    after = roadgen.Alignment(_ahead(split_in, heading, JUNCTION_LENGTH_M), heading=heading)
    after.line(1000.0)
    main_b = m.add_road(lanes=_lanes(MAIN_LANES, MAIN_KPH), alignment=after, name="main_b",
                        type_="motorway", form="motorway")

    # The slip road starts at the end of the split already a little to the right of the right-hand
    # lane and turned away from it: starting exactly on that lane would make its first points the
    # same nodes as the main lane's, and Lanelet2 would then route both connectors into both roads.
    # Its reference line is its lane's left edge (lanes of a forward road lie right of it).
    ramp_right = (MAIN_LANES - 1) * LANE_WIDTH_M + RAMP_START_OFFSET_M
    ramp = roadgen.Alignment(_ahead(split_in, heading, JUNCTION_LENGTH_M, right=ramp_right),
                             heading=heading - RAMP_START_ANGLE_RAD)
    ramp.spiral(120.0, -1.0 / RAMP_RADIUS_M)  # right-hand bend
    ramp.arc(200.0, -1.0 / RAMP_RADIUS_M)
    ramp.spiral(80.0, 0.0)
    ramp.line(100.0)
    exit_1 = m.add_road(lanes=[roadgen.Lane(width=LANE_WIDTH_M, speed_limit_kph=RAMP_KPH)], alignment=ramp,
                        name="exit_1", type_="motorway", form="slip_road")

    split = m.add_junction("split")
    m.connect(main_a, main_b, junction=split)
    m.connect_lanes(main_a.lane(MAIN_LANES - 1), exit_1.lane(0), junction=split)
    m.validate()
    return m


def share_coincident_boundaries(osm_path: Path) -> int:
    """Make parallel junction connectors neighbours; returns how many boundaries were merged.

    roadgen gives every connector lanelet of a junction boundaries of its own. Lanelet2 only
    knows two lanelets are side by side when they share a boundary, so without this the three
    lanes would each be a one-lane road for the 50 m of the split. A connector boundary that
    lies on another connector's opposite boundary is replaced by it, and the shared line gets
    the broken marking the lanes have before and after the junction.
    """
    tree = ET.parse(osm_path)
    root = tree.getroot()

    def tag(node: ET.Element, key: str) -> float:
        return float(node.find(f"tag[@k='{key}']").get("v"))

    xy = {n.get("id"): (tag(n, "local_x"), tag(n, "local_y")) for n in root.iter("node")}
    ways = {w.get("id"): w for w in root.iter("way")}

    def coords(way_id: str) -> np.ndarray:
        return np.array([xy[nd.get("ref")] for nd in ways[way_id].iter("nd")])

    def bound(rel: ET.Element, role: str) -> ET.Element:
        return rel.find(f"member[@role='{role}']")

    lanelets = [r for r in root.iter("relation") if r.find("tag[@k='type'][@v='lanelet']") is not None]
    merged: set[str] = set()
    for a in lanelets:
        for b in lanelets:
            right, left = bound(a, "right"), bound(b, "left")
            if a is b or right.get("ref") == left.get("ref"):
                continue
            pa, pb = coords(right.get("ref")), coords(left.get("ref"))
            if pa.shape == pb.shape and np.max(np.linalg.norm(pa - pb, axis=1)) < 0.01:
                merged.add(left.get("ref"))
                left.set("ref", right.get("ref"))
                shared = ways[right.get("ref")]
                for tag in list(shared.iter("tag")):
                    shared.remove(tag)
                for k, v in (("color", "white"), ("subtype", "dashed"), ("type", "line_thin")):
                    ET.SubElement(shared, "tag", k=k, v=v)
    # Drop the boundaries nothing refers to any more, and their nodes.
    used_nodes = {nd.get("ref") for wid, w in ways.items() if wid not in merged for nd in w.iter("nd")}
    for wid in merged:
        root.remove(ways[wid])
    for n in list(root.iter("node")):
        if n.get("id") not in used_nodes:
            root.remove(n)
    ET.indent(tree, "  ")
    tree.write(osm_path, encoding="utf-8", xml_declaration=True)
    return len(merged)


def run_netconvert(sumo_dir: Path) -> Path:
    cfg = sumo_dir / f"{NAME}.netccfg"
    subprocess.run([sumolib.checkBinary("netconvert"), "-c", cfg.name, "--no-warnings"], cwd=sumo_dir,
                   check=True, capture_output=True, text=True)
    net = sumo_dir / f"{NAME}.net.xml"
    # netconvert stamps the wall-clock time into its header; drop it so the file is reproducible.
    text = re.sub(r"<!-- generated on \S+ by", "<!-- generated by", net.read_text(encoding="utf-8"), count=1)
    net.write_text(text, encoding="utf-8")
    return net


def _polyline_distance(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance of each point (N, 2) to the polyline (M, 2)."""
    a, b = line[:-1], line[1:]
    ab = b - a
    t = np.einsum("nmk,mk->nm", points[:, None, :] - a[None], ab) / np.maximum((ab**2).sum(1), 1e-12)
    proj = a[None] + np.clip(t, 0.0, 1.0)[..., None] * ab[None]
    return np.linalg.norm(points[:, None, :] - proj, axis=2).min(axis=1)


def _resample(line: np.ndarray, step: float) -> np.ndarray:
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    q = np.linspace(0.0, s[-1], max(2, int(s[-1] / step) + 1))
    return np.column_stack([np.interp(q, s, line[:, 0]), np.interp(q, s, line[:, 1])])


def _extend(line: np.ndarray, length: float) -> np.ndarray:
    """The polyline lengthened along its end tangents.

    netconvert trims lanes to the outline it draws round a junction, which at a split is not
    square to the road: a SUMO lane may start a few decimetres into the next lanelet.
    """
    head = line[0] - length * (line[1] - line[0]) / np.linalg.norm(line[1] - line[0])
    tail = line[-1] + length * (line[-1] - line[-2]) / np.linalg.norm(line[-1] - line[-2])
    return np.vstack([head, line, tail])


def _load_lanelets(osm_path: Path) -> lanelet2.core.LaneletMap:
    origin = lanelet2.io.Origin(ORIGIN_LAT_DEG, ORIGIN_LON_DEG)
    return lanelet2.io.load(str(osm_path), LocalCartesianProjector(origin))


def sumo_lanes_of_lanelets(osm_path: Path, net_path: Path) -> list[tuple[str, int, float, int]]:
    """Per SUMO lane: the lanelet whose centreline it lies on, the largest deviation, points compared."""
    ll_map = _load_lanelets(osm_path)
    centre = {ll.id: _extend(np.array([[p.x, p.y] for p in ll.centerline]), 1.0)
              for ll in ll_map.laneletLayer}
    net = sumolib.net.readNet(str(net_path), withInternal=True)
    rows = []
    for edge in sorted(net.getEdges(withInternal=True), key=lambda e: e.getID()):
        for lane in edge.getLanes():
            shape = _resample(np.array(lane.getShape())[:, :2], 5.0)
            deviation = {lid: float(_polyline_distance(shape, c).max()) for lid, c in centre.items()}
            best_id = min(deviation, key=deviation.get)
            best_dev = deviation[best_id]
            rows.append((lane.getID(), int(best_id), best_dev, len(shape)))
    return rows


def describe(osm_path: Path, ramp_end: tuple[float, float]) -> dict:
    """Find the exit's lanelets in the written map for map.yaml."""
    ll_map = _load_lanelets(osm_path)
    rules = lanelet2.traffic_rules.create(lanelet2.traffic_rules.Locations.Germany,
                                          lanelet2.traffic_rules.Participants.Vehicle)
    graph = lanelet2.routing.RoutingGraph(ll_map, rules)
    def miss(ll: lanelet2.core.Lanelet) -> float:
        return math.hypot(ll.centerline[-1].x - ramp_end[0], ll.centerline[-1].y - ramp_end[1])

    ramp = min(ll_map.laneletLayer, key=miss)
    (connector,) = graph.previous(ramp)
    (diverge,) = graph.previous(connector)
    start = connector.centerline[0]
    return {
        "name": EXIT_NAME,
        "kind": "exit",
        "lanelet_id": int(connector.id),  # the first lanelet of the exit, inside the split junction
        "from_lanelet_id": int(diverge.id),  # the main-line lane it leaves from
        "x_m": round(float(start.x), 3),
        "y_m": round(float(start.y), 3),
    }


def main() -> int:
    m = build()
    OUT.mkdir(parents=True, exist_ok=True)
    sumo_dir = OUT / "sumo"
    shutil.rmtree(sumo_dir, ignore_errors=True)
    osm = OUT / f"{NAME}.osm"
    # No trace for the osm: it is post-processed below, which would make the trace stale.
    m.export_lanelet2(str(osm), trace=False)
    m.export_opendrive(str(OUT / f"{NAME}.xodr"))
    m.export_sumo(str(sumo_dir))
    merged = share_coincident_boundaries(osm)
    net = run_netconvert(sumo_dir)

    exit_lane = next(lane for lane in m.lane_ids() if "exit_1" in lane)
    end = m.lane_centerline(exit_lane)[-1]
    poi = describe(osm, (end[0], end[1]))
    comparison = sumo_lanes_of_lanelets(osm, net)
    pairs = {lanelet: lane for lane, lanelet, deviation, _ in sorted(comparison, key=lambda r: r[1])
             if deviation < MAX_DEVIATION_M}

    spec = {
        "name": NAME,
        "origin": {"latitude_deg": ORIGIN_LAT_DEG, "longitude_deg": ORIGIN_LON_DEG},
        "traffic_side": "right",
        "lanelet2": osm.name,
        "opendrive": f"{NAME}.xodr",
        "sumo_net": f"sumo/{net.name}",
        "points_of_interest": [poi],
        "sumo_lanes": pairs,
    }
    header = "# Generated by maps/generate.py; edit that script, not this file.\n"
    (OUT / "map.yaml").write_text(header + yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")

    print(f"{NAME}: {merged} junction boundaries shared, exit starts at lanelet {poi['lanelet_id']}, "
          f"leaves lanelet {poi['from_lanelet_id']} at ({poi['x_m']}, {poi['y_m']})")
    print("SUMO lane -> Lanelet2 centreline it lies on (largest deviation at points 5 m apart):")
    for lane, lanelet, deviation, points in comparison:
        print(f"  {lane:16s} -> {lanelet}: {deviation:.3f} m over {points} points")
    off = [lane for lane, _, deviation, _ in comparison if deviation >= MAX_DEVIATION_M]
    if off:
        print(f"SUMO lanes more than {MAX_DEVIATION_M} m off every lanelet: {off}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
