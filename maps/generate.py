"""Generate the maps: `highway_small` (the walking skeleton's), `highway`, `highway_lht` and `parking`.

In: the names of the maps to make (default: all); each layout is constants in code. Out: per map,
`maps/NAME/` with the Lanelet2 map (`NAME.osm`), OpenDRIVE (`NAME.xodr`), the SUMO plain files and
the net netconvert builds from them (`sumo/`), and `map.yaml`, which names them all with the
points of interest and which SUMO lane and OpenDRIVE lane each lanelet is. Deterministic: running
it twice gives byte-identical files. The `highway` layout is in highway_layout.py (`highway_lht` is
its mirror image for left-hand traffic), the parking lot in parking_layout.py.

`highway_small` below is the layout of the walking skeleton, kept as it was:

Layout (x east, y north, metres): a 3-lane one-way motorway, 100 km/h, 4 km long. It
runs east, bends left through a 2000 m radius curve with clothoid transitions, runs
straight again and splits at ~2950 m, where "Exit 1 Minato" (1 lane, 60 km/h) leaves
the right-hand lane; the main line goes on 1 km to its end.

    python maps/generate.py [highway_small|highway|highway_lht|parking ...]
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
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


def share_coincident_boundaries(osm_path: Path, marking: Callable[[int, int], str | None] | None = None) -> int:
    """Make parallel junction connectors neighbours; returns how many boundaries were merged.

    roadgen gives every connector lanelet of a junction boundaries of its own. Lanelet2 only
    knows two lanelets are side by side when they share a boundary, so without this the three
    lanes would each be a one-lane road for the 50 m of the split. A connector boundary that
    lies on another connector's opposite boundary is replaced by it, and the shared line gets
    the broken marking the lanes have before and after the junction, or the one `marking(left
    lanelet id, right lanelet id)` names ("dashed" or "solid"; None keeps the two apart).
    """
    tree = ET.parse(osm_path)
    root = tree.getroot()

    def tag(node: ET.Element, key: str) -> float:
        return float(node.find(f"tag[@k='{key}']").get("v"))

    xy = {n.get("id"): (tag(n, "local_x"), tag(n, "local_y")) for n in root.iter("node")}
    ways = {w.get("id"): w for w in root.iter("way")}

    cache: dict[str, np.ndarray] = {}

    def coords(way_id: str) -> np.ndarray:
        if way_id not in cache:
            cache[way_id] = np.array([xy[nd.get("ref")] for nd in ways[way_id].iter("nd")])
        return cache[way_id]

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
            if _same_line(pa, pb):
                subtype = "dashed" if marking is None else marking(int(a.get("id")), int(b.get("id")))
                if subtype is None:
                    continue
                merged.add(left.get("ref"))
                left.set("ref", right.get("ref"))
                shared = ways[right.get("ref")]
                for tag in list(shared.iter("tag")):
                    shared.remove(tag)
                for k, v in (("color", "white"), ("subtype", subtype), ("type", "line_thin")):
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


def _same_line(pa: np.ndarray, pb: np.ndarray, tolerance_m: float = 0.01) -> bool:
    """Two polylines that run between the same ends within `tolerance_m` of each other, however sampled."""
    if pa.shape == pb.shape and np.max(np.linalg.norm(pa - pb, axis=1)) < tolerance_m:
        return True
    if np.linalg.norm(pa[0] - pb[0]) >= tolerance_m or np.linalg.norm(pa[-1] - pb[-1]) >= tolerance_m:
        return False
    return bool(_polyline_distance(pa, pb).max() < tolerance_m and _polyline_distance(pb, pa).max() < tolerance_m)


def run_netconvert(sumo_dir: Path, name: str = NAME) -> Path:
    cfg = sumo_dir / f"{name}.netccfg"
    subprocess.run([sumolib.checkBinary("netconvert"), "-c", cfg.name, "--no-warnings"], cwd=sumo_dir,
                   check=True, capture_output=True, text=True)
    net = sumo_dir / f"{name}.net.xml"
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


def _load_lanelets(osm_path: Path, origin_deg: tuple[float, float] = (ORIGIN_LAT_DEG, ORIGIN_LON_DEG)
                   ) -> lanelet2.core.LaneletMap:
    origin = lanelet2.io.Origin(*origin_deg)
    return lanelet2.io.load(str(osm_path), LocalCartesianProjector(origin))


def sumo_lanes_of_lanelets(osm_path: Path, net_path: Path,
                           origin_deg: tuple[float, float] = (ORIGIN_LAT_DEG, ORIGIN_LON_DEG)
                           ) -> list[tuple[str, int, float, int]]:
    """Per SUMO lane: the lanelet whose centreline it lies on, the largest deviation, points compared."""
    ll_map = _load_lanelets(osm_path, origin_deg)
    centre = {ll.id: _extend(np.array([[p.x, p.y] for p in ll.centerline]), 1.0)
              for ll in ll_map.laneletLayer}
    box = {lid: (c.min(axis=0), c.max(axis=0)) for lid, c in centre.items()}
    net = sumolib.net.readNet(str(net_path), withInternal=True)
    rows = []
    for edge in sorted(net.getEdges(withInternal=True), key=lambda e: e.getID()):
        for lane in edge.getLanes():
            shape = _resample(np.array(lane.getShape())[:, :2], 5.0)
            # Only lanelets whose bounding box holds the lane's with a margin can be the one it lies on.
            lo, hi = shape.min(axis=0) - 2.0, shape.max(axis=0) + 2.0
            near = [lid for lid, (a, b) in box.items() if np.all(b >= lo) and np.all(a <= hi)]
            deviation = {lid: float(_polyline_distance(shape, centre[lid]).max()) for lid in near or centre}
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


def write_highway_small() -> int:
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


# ---------------------------------------------------------------------------------------------
# The highway and parking maps


HEADER = "# Generated by maps/generate.py; edit that script, not this file.\n"


def _traces(path: Path) -> dict[str, list[str]]:
    """IR element -> the refs a roadgen trace file gives it, in the order written."""
    out: dict[str, list[str]] = {}
    for link in json.loads(path.read_text(encoding="utf-8"))["links"]:
        out.setdefault(link["ir"], []).append(link["ref"])
    return out


def _lanelet_of_ir(osm_trace: Path) -> dict[str, int]:
    """IR lane -> its lanelet id, from the Lanelet2 export's trace."""
    return {ir: int(ref.split(":")[1]) for ir, refs in _traces(osm_trace).items() for ref in refs
            if ref.startswith("lanelet:")}


def _road_of(ir_lane: str) -> str:
    """'lane/main_1/2' -> 'main_1'; a junction connector 'lane/j/a_0_b_0/0' -> 'j/a_0_b_0'."""
    return ir_lane.split("/", 1)[1].rsplit("/", 1)[0]


def _tag_lanelets(osm_path: Path, tags: dict[int, dict[str, str]]) -> None:
    """Add tags to lanelet relations (ids -> {key: value}) in the written osm."""
    tree = ET.parse(osm_path)
    for rel in tree.getroot().iter("relation"):
        for k, v in sorted(tags.get(int(rel.get("id")), {}).items()):
            ET.SubElement(rel, "tag", k=k, v=v)
    ET.indent(tree, "  ")
    tree.write(osm_path, encoding="utf-8", xml_declaration=True)


def _poi(ll_map, name: str, kind: str, lanelet_id: int, at_end: bool = False, from_id: int | None = None) -> dict:
    line = ll_map.laneletLayer[lanelet_id].centerline
    p = line[-1] if at_end else line[0]
    poi = {"name": name, "kind": kind, "lanelet_id": int(lanelet_id)}
    if from_id is not None:
        poi["from_lanelet_id"] = int(from_id)
    poi.update({"x_m": round(float(p.x), 3), "y_m": round(float(p.y), 3)})
    return poi


def _pair_sumo_lanes(name: str, osm: Path, net_path: Path, origin: tuple[float, float]) -> tuple[dict[int, str], int]:
    """lanelet id -> the SUMO lane on its centreline, and how many SUMO lanes lie off the lanelets.

    A SUMO lane inside a node where only the lane count changes straddles two lanelets in a row:
    it lies on no single lanelet, but every point of it lies on one of them.
    """
    comparison = sumo_lanes_of_lanelets(osm, net_path, origin)
    ll_map = _load_lanelets(osm, origin)
    centre = [_extend(np.array([[p.x, p.y] for p in ll.centerline]), 1.0) for ll in ll_map.laneletLayer]
    net = sumolib.net.readNet(str(net_path), withInternal=True)
    off = 0
    for lane, _, deviation, _ in comparison:
        if deviation < MAX_DEVIATION_M:
            continue
        shape = _resample(np.array(net.getLane(lane).getShape())[:, :2], 1.0)
        worst = float(np.min([_polyline_distance(shape, c) for c in centre], axis=0).max())
        if worst >= MAX_DEVIATION_M:
            print(f"{name}: SUMO lane {lane} is {worst:.3f} m off the lanelets", file=sys.stderr)
            off += 1
    pairs = {lanelet: lane for lane, lanelet, deviation, _ in sorted(comparison, key=lambda r: r[1])
             if deviation < MAX_DEVIATION_M}
    unpaired = sorted({ll.id for ll in ll_map.laneletLayer} - set(pairs))
    if unpaired:
        print(f"{name}: lanelets with no SUMO lane on them: {unpaired}", file=sys.stderr)
    worst = max(deviation for _, _, deviation, _ in comparison if deviation < MAX_DEVIATION_M)
    print(f"{name}: {len(pairs)} lanelets paired with a SUMO lane (largest deviation {worst:.3f} m), "
          f"{len(comparison) - len(pairs)} SUMO lanes inside nodes")
    return pairs, off + len(unpaired)


def _export(m: roadgen.Map, name: str, out: Path) -> tuple[Path, dict[str, int], dict[str, list[str]]]:
    """Write the three formats; returns the osm, IR lane -> lanelet and IR element -> OpenDRIVE refs."""
    out.mkdir(parents=True, exist_ok=True)
    sumo_dir = out / "sumo"
    shutil.rmtree(sumo_dir, ignore_errors=True)
    osm = out / f"{name}.osm"
    m.export_lanelet2(str(osm))
    # The osm is post-processed, which would make its trace stale: read it, then drop it.
    trace = Path(f"{osm}.trace.json")
    lanelet_of = _lanelet_of_ir(trace)
    trace.unlink()
    m.export_opendrive(str(out / f"{name}.xodr"))
    m.export_sumo(str(sumo_dir))
    return osm, lanelet_of, _traces(out / f"{name}.xodr.trace.json")


def _opendrive_lanes(lanelet_of: dict[str, int], xodr_refs: dict[str, list[str]]) -> dict[int, str]:
    """lanelet id -> 'road/laneSection/lane' of the OpenDRIVE lane it is."""
    out = {}
    for ir, lanelet in lanelet_of.items():
        refs = [r.split(":", 1)[1] for r in xodr_refs.get(ir, []) if r.startswith("lane:")]
        if refs:
            out[lanelet] = refs[0]
    return dict(sorted(out.items()))


def _write_spec(out: Path, spec: dict) -> None:
    (out / "map.yaml").write_text(HEADER + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True),
                                  encoding="utf-8")


def write_highway(name: str, handedness: str) -> int:
    """The `highway` layout (highway_layout.py) in the three formats, with its points of interest."""
    import highway_layout as hl

    m, plan = hl.build(handedness, name)
    out = OUT.parent / name
    shutil.rmtree(out, ignore_errors=True)
    origin = (hl.ORIGIN_LAT_DEG, hl.ORIGIN_LON_DEG)
    osm, lanelet_of, xodr_refs = _export(m, name, out)

    # Connectors side by side inside a junction become neighbours where they lead to the same road
    # (an entrance's acceleration lane begins there). Where they lead to different roads (a fork,
    # an exit) they stay apart: the roads part where the junction begins (the gore).
    def successor_road(lanelet_id: int) -> str:
        ir = next(ir for ir, ll in lanelet_of.items() if ll == lanelet_id)
        return ",".join(sorted({_road_of(s) for s in m.successors(ir)}))

    def marking(left: int, right: int) -> str | None:
        return "dashed" if successor_road(left) == successor_road(right) else None

    merged = share_coincident_boundaries(osm, marking)
    plaza_name, booth_road, _ = plan.toll_plaza
    booths = {lanelet_of[f"lane/{booth_road}/{i}"]: {"toll_booth": kind} for i, kind in enumerate(plan.booth_kinds)}
    _tag_lanelets(osm, booths)
    net = run_netconvert(out / "sumo", name)

    ll_map = _load_lanelets(osm, origin)
    first = {road: lanelet_of[f"lane/{road}/0"] for road in {_road_of(ir) for ir in lanelet_of}}

    def connector_into(road: str, lane: int = 0) -> tuple[int, int]:
        """The junction connector that leads into `road`'s lane, and the lane it comes from."""
        for ir in lanelet_of:
            if f"lane/{road}/{lane}" in m.successors(ir) and ir.count("/") == 3:
                (pred,) = [p for p, succ in m.connections() if succ == ir]
                return lanelet_of[ir], lanelet_of[pred]
        raise ValueError(f"no connector into {road}")

    start_name, start_road = plan.start
    pois = [_poi(ll_map, start_name, "start", first[start_road])]
    pois += [_poi(ll_map, n, "entrance", first[road]) for n, road in plan.entrances.items()]
    for n, road in plan.exits.items():
        connector, pred = connector_into(road)
        pois.append(_poi(ll_map, n, "exit", connector, from_id=pred))
    for n, (_, road) in plan.junctions.items():
        connector, pred = connector_into(road)
        pois.append(_poi(ll_map, n, "junction", connector, from_id=pred))
    pois.append(_poi(ll_map, plaza_name, "toll_plaza", first[booth_road]))
    pois += [_poi(ll_map, n, "end", first[road], at_end=True) for n, road in plan.ends.items()]
    pois.sort(key=lambda p: (p["kind"] != "start", p["kind"] == "end", p["x_m"]))  # in order along the road

    sumo_pairs, off = _pair_sumo_lanes(name, osm, net, origin)
    spec = {
        "name": name,
        "origin": {"latitude_deg": origin[0], "longitude_deg": origin[1]},
        "traffic_side": "right" if handedness == "rht" else "left",
        "lanelet2": osm.name,
        "opendrive": f"{name}.xodr",
        "sumo_net": f"sumo/{net.name}",
        "points_of_interest": pois,
        "sumo_lanes": sumo_pairs,
        "opendrive_lanes": _opendrive_lanes(lanelet_of, xodr_refs),
    }
    _write_spec(out, spec)
    print(f"{name}: {len(ll_map.laneletLayer)} lanelets, {merged} junction boundaries shared, "
          f"{len(pois)} points of interest")
    return 1 if off else 0


def _add_parking_to_osm(osm_path: Path, origin: tuple[float, float], spaces, outline) -> None:
    """Autoware's conventions: a `parking_space` line string (entry to far end, `width`) per space and
    a closed `parking_lot` area round them all."""
    tree = ET.parse(osm_path)
    root = tree.getroot()
    next_id = 1 + max(int(e.get("id")) for e in root if e.get("id") is not None)
    projector = LocalCartesianProjector(lanelet2.io.Origin(*origin))

    def node(x: float, y: float) -> str:
        nonlocal next_id
        g = projector.reverse(lanelet2.core.BasicPoint3d(x, y, 0.0))
        n = ET.Element("node", id=str(next_id), visible="true", version="1", lat=f"{g.lat:.11f}", lon=f"{g.lon:.11f}")
        ET.SubElement(n, "tag", k="local_x", v=f"{x:.6f}")
        ET.SubElement(n, "tag", k="local_y", v=f"{y:.6f}")
        root.insert(0, n)
        next_id += 1
        return n.get("id")

    def way(refs: list[str], tags: dict[str, str]) -> None:
        nonlocal next_id
        w = ET.SubElement(root, "way", id=str(next_id), visible="true", version="1")
        next_id += 1
        for ref in refs:
            ET.SubElement(w, "nd", ref=ref)
        for k, v in tags.items():
            ET.SubElement(w, "tag", k=k, v=v)

    for sp in spaces:
        way([node(*sp.entry), node(*sp.end)], {"type": "parking_space", "subtype": sp.kind, "name": sp.name,
                                               "width": f"{sp.width_m:g}"})
    corners = [node(x, y) for x, y in outline]
    way(corners + corners[:1], {"type": "parking_lot", "area": "yes", "name": "Car park"})
    ET.indent(tree, "  ")
    tree.write(osm_path, encoding="utf-8", xml_declaration=True)


def _add_parking_to_xodr(xodr_path: Path, spaces) -> None:
    """OpenDRIVE `parkingSpace` objects on the aisle each space opens onto (s, t of its centre)."""
    tree = ET.parse(xodr_path)
    roads = {r.get("name"): r for r in tree.getroot().iter("road")}
    for road_name in sorted({sp.road for sp in spaces}):
        road = roads[road_name]
        objects = ET.Element("objects")
        # objects come right after lanes in a road (OpenDRIVE 1.7 schema order)
        road.insert(list(road).index(road.find("lanes")) + 1, objects)
        heading = float(road.find("planView/geometry").get("hdg"))
        for i, sp in enumerate(s for s in spaces if s.road == road_name):
            obj = ET.SubElement(objects, "object", id=f"{road.get('id')}{i:03d}", name=sp.name, type="parkingSpace",
                                s=f"{sp.s_m:.3f}", t=f"{sp.t_m:.3f}", zOffset="0", orientation="none",
                                hdg=f"{(sp.heading_rad - heading + math.pi) % (2 * math.pi) - math.pi:.6f}",
                                length=f"{sp.length_m:g}", width=f"{sp.width_m:g}", height="0")
            ET.SubElement(obj, "parkingSpace", access="all")
    tree.write(xodr_path, encoding="UTF-8", xml_declaration=True)


def _write_sumo_parking(net_path: Path, spaces, out: Path) -> None:
    """A SUMO `parkingArea` per row of spaces, on the aisle lane that passes them, with each space placed."""
    net = sumolib.net.readNet(str(net_path))
    root = ET.Element("additional")
    rows: dict[tuple[str, int], list] = {}
    for sp in spaces:
        centre = ((sp.entry[0] + sp.end[0]) / 2, (sp.entry[1] + sp.end[1]) / 2)
        lanes = [lane for lane in net.getEdge(f"{sp.road}.fwd").getLanes() + net.getEdge(f"{sp.road}.bwd").getLanes()]
        lane = min(lanes, key=lambda ln: sumolib.geomhelper.distancePointToPolygon(centre, ln.getShape()))
        rows.setdefault((lane.getID(), 1 if sp.t_m > 0 else -1), []).append((sp, centre))
    for (lane_id, _), members in sorted(rows.items()):
        shape = net.getLane(lane_id).getShape()
        pos = [sumolib.geomhelper.polygonOffsetWithMinimumDistanceToPoint(c, shape) for _, c in members]
        half = max(sp.width_m if sp.kind == "perpendicular" else sp.length_m for sp, _ in members) / 2
        area = ET.SubElement(root, "parkingArea", id=f"{lane_id}_{members[0][0].name[:2]}", lane=lane_id,
                             startPos=f"{max(min(pos) - half, 0.0):.2f}",
                             endPos=f"{min(max(pos) + half, net.getLane(lane_id).getLength()):.2f}",
                             roadsideCapacity="0", name=members[0][0].name[:2])
        for sp, (x, y) in members:
            angle = (90.0 - math.degrees(sp.heading_rad)) % 360.0  # SUMO: degrees clockwise from north
            ET.SubElement(area, "space", x=f"{x:.3f}", y=f"{y:.3f}", width=f"{sp.width_m:g}",
                          length=f"{sp.length_m:g}", angle=f"{angle:.1f}", name=sp.name)
    tree = ET.ElementTree(root)
    ET.indent(tree, "    ")
    tree.write(out, encoding="UTF-8", xml_declaration=True)


def write_parking() -> int:
    """The car park (parking_layout.py) in the three formats, with its parking spaces in each."""
    import parking_layout as pl

    name, origin = pl.NAME, (pl.ORIGIN_LAT_DEG, pl.ORIGIN_LON_DEG)
    m, spaces, outline = pl.build()
    out = OUT.parent / name
    shutil.rmtree(out, ignore_errors=True)
    osm, lanelet_of, xodr_refs = _export(m, name, out)
    _add_parking_to_osm(osm, origin, spaces, outline)
    xodr = out / f"{name}.xodr"
    _add_parking_to_xodr(xodr, spaces)
    (out / f"{name}.xodr.trace.json").unlink()  # the objects added make its file hash stale
    net = run_netconvert(out / "sumo", name)
    additional = out / "sumo" / f"{name}.add.xml"
    _write_sumo_parking(net, spaces, additional)

    ll_map = _load_lanelets(osm, origin)
    pois = [_poi(ll_map, "Car park entrance", "start", lanelet_of["lane/aisle_a/0"]),
            _poi(ll_map, "Aisle B end", "end", lanelet_of["lane/aisle_b/0"], at_end=True),
            _poi(ll_map, "Aisle C end", "end", lanelet_of["lane/aisle_c/0"], at_end=True)]
    sumo_pairs, off = _pair_sumo_lanes(name, osm, net, origin)
    spec = {
        "name": name,
        "origin": {"latitude_deg": origin[0], "longitude_deg": origin[1]},
        "traffic_side": "right",
        "lanelet2": osm.name,
        "opendrive": xodr.name,
        "sumo_net": f"sumo/{net.name}",
        "sumo_additional": f"sumo/{additional.name}",
        "points_of_interest": pois,
        "sumo_lanes": sumo_pairs,
        "opendrive_lanes": _opendrive_lanes(lanelet_of, xodr_refs),
    }
    _write_spec(out, spec)
    kinds = [sp.kind for sp in spaces]
    print(f"{name}: {len(ll_map.laneletLayer)} lanelets, {kinds.count('perpendicular')} perpendicular and "
          f"{kinds.count('parallel')} parallel spaces")
    return 1 if off else 0


MAPS = {
    "highway_small": write_highway_small,
    "highway": lambda: write_highway("highway", "rht"),
    "highway_lht": lambda: write_highway("highway_lht", "lht"),
    "parking": write_parking,
}


def main(argv: list[str]) -> int:
    names = argv or list(MAPS)
    unknown = [n for n in names if n not in MAPS]
    if unknown:
        print(f"unknown map(s) {unknown}; known: {', '.join(MAPS)}", file=sys.stderr)
        return 2
    return max(MAPS[n]() for n in names)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
