"""The three formats of each map agree: the same origin -> destination route exists in Lanelet2 (its
own routing graph), SUMO (sumolib's shortest path on the net) and OpenDRIVE (the .xodr's road links
and junction connections, and netconvert's import of it), with lengths within 1 %; lanes, toll
booths and parking spaces are in the same places."""

from __future__ import annotations

import heapq
import math
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import lanelet2
import numpy as np
import pytest
import sumolib
from lanelet2.projection import LocalCartesianProjector

from propilot.core.map.hdmap import load_map

MAPS = Path(__file__).resolve().parents[2] / "maps"
LENGTH_AGREEMENT = 0.01  # the acceptance: lengths within 1 %


def _exit_road(hd, name: str) -> int:
    """The first lanelet of an exit's slip road (the point names the connector inside the junction)."""
    (after,) = hd.successors(hd.point(name).lanelet_id)
    return after


# Map -> (origin lanelet, destination lanelet) pairs, named by the map's points: whole lanelets,
# from the start of the first to the end of the last.
ROUTES = {
    "highway": [lambda hd: (hd.point("Main line start").lanelet_id, _exit_road(hd, "Fujisawa IC")),
                lambda hd: (hd.point("Hayama IC").lanelet_id, hd.point("Yokohama line end").lanelet_id),
                lambda hd: (hd.point("Ofuna IC").lanelet_id, hd.point("Main line end").lanelet_id)],
    "highway_lht": [lambda hd: (hd.point("Main line start").lanelet_id, _exit_road(hd, "Zushi IC")),
                    lambda hd: (hd.point("Main line start").lanelet_id, hd.point("Main line end").lanelet_id)],
    "parking": [lambda hd: (hd.point("Car park entrance").lanelet_id, hd.point("Aisle C end").lanelet_id),
                lambda hd: (hd.point("Car park entrance").lanelet_id, hd.point("Aisle B end").lanelet_id)],
    "highway_small": [lambda hd: (min(i for i in hd.lanelet_ids() if not hd.predecessors(i)),
                                  _exit_road(hd, "Exit 1 Minato"))],
}
CASES = [(name, i) for name, routes in ROUTES.items() for i in range(len(routes))]


@pytest.fixture(scope="module")
def maps():
    return {name: load_map(MAPS / name / "map.yaml") for name in ROUTES}


@pytest.mark.parametrize("name, case", CASES)
def test_the_same_route_exists_in_all_three_formats_with_lengths_within_one_percent(maps, name, case):
    hd = maps[name]
    origin, destination = ROUTES[name][case](hd)
    ours = hd.route(origin, destination).length_m
    lengths = {
        "propilot": ours,
        "lanelet2": _lanelet2_length(hd, origin, destination),
        "sumo": _sumo_length(hd, origin, destination),
        "opendrive": _opendrive_length(hd, origin, destination),
    }
    for fmt, length in lengths.items():
        assert length == pytest.approx(lengths["lanelet2"], rel=LENGTH_AGREEMENT), (fmt, lengths)
    assert ours > 100.0


@pytest.mark.parametrize("name", ["highway", "highway_lht"])
def test_netconvert_reads_the_opendrive_and_routes_the_same(maps, tmp_path, name):
    """What CARLA loads: SUMO's own OpenDRIVE import accepts the file, and routes over it alike.

    netconvert ignores `rule="LHT"` (it takes left lanes to run against the reference line), so for
    the left-hand map it reads the roads the wrong way round: there, only that it accepts the file.
    """
    hd = maps[name]
    sumo_home = Path(sumolib.__file__).resolve().parents[1] / "sumo"
    env = {**os.environ, "SUMO_HOME": str(sumo_home), "PROJ_LIB": str(sumo_home / "data" / "proj")}
    net_path = tmp_path / "from_xodr.net.xml"
    run = subprocess.run([sumolib.checkBinary("netconvert"), "--opendrive-files", str(hd.opendrive_path),
                          "-o", str(net_path), "--no-warnings"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    net = sumolib.net.readNet(str(net_path), withInternal=True)
    plain = {r.get("id") for r in ET.parse(hd.opendrive_path).getroot().iter("road") if r.get("junction") == "-1"}
    assert {e.getID().lstrip("-") for e in net.getEdges() if e.getFunction() != "internal"} == plain
    if hd.traffic_side == "left":
        return
    origin, destination = ROUTES[name][0](hd)
    # netconvert names an edge after its road, "-" for the lanes to the right of the reference line.
    road = {lid: ref.split("/")[0] for lid, ref in hd.opendrive_lanes.items()}
    path, length = net.getShortestPath(net.getEdge("-" + road[origin]), net.getEdge("-" + road[destination]),
                                       withInternal=True)
    assert path is not None
    assert length == pytest.approx(_lanelet2_length(hd, origin, destination), rel=LENGTH_AGREEMENT)


@pytest.mark.parametrize("name", ["highway", "highway_lht", "parking"])
def test_every_lanelet_has_its_sumo_lane_and_opendrive_lane_on_it(maps, name):
    hd = maps[name]
    net = sumolib.net.readNet(str(hd.sumo_net_path), withInternal=True)
    assert set(hd.sumo_lanes) == set(hd.lanelet_ids()) == set(hd.opendrive_lanes)
    for lanelet_id, lane_id in hd.sumo_lanes.items():
        shape = np.array(net.getLane(lane_id).getShape())[:, :2]
        # Every point of the SUMO lane is on the lanelet's centreline (lengthened 1 m: netconvert trims at nodes).
        for x, y in shape:
            located = hd.match_many([x], [y])
            assert located.lanelet_id[0] != -1 and abs(located.lateral_offset_m[0]) < 0.1, (lanelet_id, lane_id)
    roads = {r.get("id"): r for r in ET.parse(hd.opendrive_path).getroot().iter("road")}
    for lanelet_id, ref in hd.opendrive_lanes.items():
        road_id, section, lane = ref.split("/")
        lanes = roads[road_id].findall("lanes/laneSection")[int(section)].iter("lane")
        assert lane in {ln.get("id") for ln in lanes}, (lanelet_id, ref)


def test_toll_booths_are_the_same_lanes_in_every_format(maps):
    hd = maps["highway"]
    net = sumolib.net.readNet(str(hd.sumo_net_path))
    booths = hd.toll_booths()
    sumo_edges = {net.getLane(hd.sumo_lanes[i]).getEdge().getID() for i in booths}
    xodr_roads = {hd.opendrive_lanes[i].split("/")[0] for i in booths}
    assert len(sumo_edges) == 1 and len(xodr_roads) == 1  # one cross-section of four booths
    assert net.getEdge(sumo_edges.pop()).getLaneNumber() == 4
    road_id = xodr_roads.pop()
    road = next(r for r in ET.parse(hd.opendrive_path).getroot().iter("road") if r.get("id") == road_id)
    assert road.get("name") == "toll_booths"
    # SUMO counts lanes from the outside, Lanelet2 (and we) from the left.
    for lanelet_id in booths:
        index, count = hd.lane_index(lanelet_id)
        assert net.getLane(hd.sumo_lanes[lanelet_id]).getIndex() == count - 1 - index


def test_parking_spaces_agree_across_the_three_formats(maps):
    hd = maps["parking"]
    ours = {sp.name: sp for sp in hd.parking_spaces()}
    assert len(ours) == 60
    # OpenDRIVE: parkingSpace objects at (s, t) of their aisle's straight reference line.
    xodr = {}
    for road in ET.parse(hd.opendrive_path).getroot().iter("road"):
        geometry = road.find("planView/geometry")
        x0, y0, heading = (float(geometry.get(k)) for k in ("x", "y", "hdg"))
        for obj in road.iter("object"):
            assert obj.get("type") == "parkingSpace" and obj.find("parkingSpace") is not None
            s, t = float(obj.get("s")), float(obj.get("t"))
            xodr[obj.get("name")] = (x0 + s * math.cos(heading) - t * math.sin(heading),
                                     y0 + s * math.sin(heading) + t * math.cos(heading),
                                     float(obj.get("width")), float(obj.get("length")))
    # SUMO: parkingArea spaces, loaded by SUMO itself to be sure it accepts them.
    sumo = {}
    for area in ET.parse(hd.sumo_additional_path).getroot().iter("parkingArea"):
        for space in area.iter("space"):
            sumo[space.get("name")] = (float(space.get("x")), float(space.get("y")))
    assert set(xodr) == set(sumo) == set(ours)
    for name, sp in ours.items():
        centre = ((sp.entry_xy_m[0] + sp.end_xy_m[0]) / 2, (sp.entry_xy_m[1] + sp.end_xy_m[1]) / 2)
        assert xodr[name][:2] == pytest.approx(centre, abs=0.01) and sumo[name] == pytest.approx(centre, abs=0.01)
        assert xodr[name][2:] == pytest.approx((sp.width_m, sp.length_m))
    run = subprocess.run([sumolib.checkBinary("sumo"), "-n", str(hd.sumo_net_path), "-a", str(hd.sumo_additional_path),
                          "--end", "1", "--no-step-log"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


# --- one route per format ----------------------------------------------------------------------


def _lanelet2_length(hd, origin: int, destination: int) -> float:
    """Lanelet2's own routing graph and shortest path; lanelets side by side at a lane change count once."""
    projector = LocalCartesianProjector(lanelet2.io.Origin(hd.origin_lat_deg, hd.origin_lon_deg))
    ll_map = lanelet2.io.load(str(hd.lanelet2_path), projector)
    rules = lanelet2.traffic_rules.create(lanelet2.traffic_rules.Locations.Germany,
                                          lanelet2.traffic_rules.Participants.Vehicle)
    graph = lanelet2.routing.RoutingGraph(ll_map, rules)
    route = graph.getRoute(ll_map.laneletLayer[origin], ll_map.laneletLayer[destination])
    assert route is not None, f"lanelet2 finds no route {origin} -> {destination}"
    path = list(route.shortestPath())
    length = 0.0
    for here, after in zip(path, path[1:] + [None], strict=True):
        beside = after is not None and after.id in {n.id for n in (graph.left(here), graph.right(here)) if n}
        if not beside:
            length += lanelet2.geometry.length2d(here)
    return length


def _sumo_length(hd, origin: int, destination: int) -> float:
    net = sumolib.net.readNet(str(hd.sumo_net_path), withInternal=True)
    start = net.getLane(hd.sumo_lanes[origin]).getEdge()
    end = net.getLane(hd.sumo_lanes[destination]).getEdge()
    path, length = net.getShortestPath(start, end, withInternal=True)
    assert path is not None, f"SUMO finds no route {start.getID()} -> {end.getID()}"
    return length


def _opendrive_length(hd, origin: int, destination: int) -> float:
    """Dijkstra over (road, direction of travel) through the .xodr's road links and junction connections."""
    root = ET.parse(hd.opendrive_path).getroot()
    roads = {r.get("id"): r for r in root.iter("road")}
    junctions = {j.get("id"): j for j in root.iter("junction")}

    def directions(road) -> set[int]:
        """+1: lanes that run with s (right lanes in right-hand traffic, left lanes in left-hand)."""
        rht = road.get("rule", "RHT") == "RHT"
        out = set()
        for lane in road.iter("lane"):
            if lane.get("type") == "driving" and int(lane.get("id")) != 0:
                out.add(1 if (int(lane.get("id")) < 0) == rht else -1)
        return out

    def enter(road_id: str, contact: str) -> tuple[str, int]:
        return road_id, 1 if contact == "start" else -1

    def steps(node: tuple[str, int]):
        road_id, d = node
        road = roads[road_id]
        link = road.find("link/successor" if d == 1 else "link/predecessor")
        if link is None:
            return
        if link.get("elementType") == "road":
            yield enter(link.get("elementId"), link.get("contactPoint"))
            return
        rht = road.get("rule", "RHT") == "RHT"
        for conn in junctions[link.get("elementId")].iter("connection"):
            if conn.get("incomingRoad") != road_id:
                continue
            lanes = [int(ll.get("from")) for ll in conn.iter("laneLink")]
            if any((1 if (lane < 0) == rht else -1) == d for lane in lanes):
                yield enter(conn.get("connectingRoad"), conn.get("contactPoint"))

    named = {r.get("name"): r.get("id") for r in roads.values()}

    def road_of(lanelet_id: int) -> str:
        if lanelet_id in hd.opendrive_lanes:
            return hd.opendrive_lanes[lanelet_id].split("/")[0]
        return named[hd.sumo_lanes[lanelet_id].split(".")[0]]  # highway_small: roads named as SUMO's edges

    start_road, end_road = road_of(origin), road_of(destination)
    start = (start_road, 1 if 1 in directions(roads[start_road]) else -1)
    cost = {start: float(roads[start_road].get("length"))}
    queue = [(cost[start], start)]
    while queue:
        c, node = heapq.heappop(queue)
        if node[0] == end_road:
            return c
        if c > cost[node]:
            continue
        for nxt in steps(node):
            if nxt[1] not in directions(roads[nxt[0]]):
                continue
            total = c + float(roads[nxt[0]].get("length"))
            if total < cost.get(nxt, math.inf):
                cost[nxt] = total
                heapq.heappush(queue, (total, nxt))
    raise AssertionError(f"OpenDRIVE has no route from road {start_road} to road {end_road}")
