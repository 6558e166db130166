"""HD map on the real map files: loading, validation (malformed fixtures), matching, stations, path ahead, twins."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import sumolib
import yaml

from propilot.core.map.hdmap import HDMap, MapError, load_map
from propilot.core.types import UNMATCHED, LaneSource, Pose2D

MAP_YAML = Path(__file__).resolve().parents[2] / "maps" / "highway_small" / "map.yaml"
CURVE_RADIUS_M = 2000.0  # maps/generate.py
RAMP_RADIUS_M = 500.0
DROP = object()


@pytest.fixture(scope="module")
def hd() -> HDMap:
    return load_map(MAP_YAML)


def main_lanes(hd: HDMap) -> list[int]:
    """The three lanes of the first carriageway, left to right."""
    start = next(i for i in hd.lanelet_ids() if not hd.predecessors(i) and hd.lane_index(i) == (0, 3))
    lanes = [start]
    while hd.right_of(lanes[-1]) is not None:
        lanes.append(hd.right_of(lanes[-1]))
    return lanes


def ramp_lanes(hd: HDMap) -> list[int]:
    return [i for i in hd.lanelet_ids() if hd.is_ramp(i)]


def pose_on(hd: HDMap, lanelet_id: int, s: float, left_m: float = 0.0, yaw_offset: float = 0.0) -> Pose2D:
    """A pose s along a lanelet, left_m to the left of its centreline, turned yaw_offset from it."""
    x, y, yaw, _ = hd.path_ahead(lanelet_id, s, 0.0)[0]
    return Pose2D(x - left_m * math.sin(yaw), y + left_m * math.cos(yaw), yaw + yaw_offset)


# --- the map and its frame ---------------------------------------------------------------------


def test_map_yaml_fields_and_files(hd):
    assert hd.name == "highway_small"
    assert hd.traffic_side == "right"
    assert (hd.origin_lat_deg, hd.origin_lon_deg) == (35.0, 139.0)
    for path in (hd.lanelet2_path, hd.opendrive_path, hd.sumo_net_path):
        assert path.is_file()
    assert hd.lanelet_ids() == sorted(hd.lanelet_ids())
    assert len(hd.lanelet_ids()) == 11


def test_projection_agrees_with_the_local_coordinates_written_in_the_osm(hd):
    assert hd.project(35.0, 139.0) == pytest.approx((0.0, 0.0), abs=1e-6)
    text = hd.lanelet2_path.read_text()
    nodes = re.findall(r'lat="([-\d.]+)" lon="([-\d.]+)">\s*<tag k="local_x" v="([-\d.]+)" />\s*'
                       r'<tag k="local_y" v="([-\d.]+)" />', text)
    assert len(nodes) > 100
    for lat, lon, x, y in nodes[:: len(nodes) // 50]:
        assert hd.project(float(lat), float(lon)) == pytest.approx((float(x), float(y)), abs=0.01)
        assert hd.unproject(float(x), float(y)) == pytest.approx((float(lat), float(lon)), abs=1e-7)


def test_layout_three_lanes_one_exit_four_kilometres(hd):
    lanes = main_lanes(hd)
    assert [hd.lane_index(i) for i in lanes] == [(0, 3), (1, 3), (2, 3)]
    assert hd.left_of(lanes[0]) is None and hd.right_of(lanes[2]) is None
    assert hd.left_of(lanes[1]) == lanes[0] and hd.right_of(lanes[1]) == lanes[2]
    # The exit leaves the right-hand lane only.
    assert [len(hd.successors(i)) for i in lanes] == [1, 1, 2]
    assert sum(hd.is_ramp(i) for i in hd.successors(lanes[2])) == 1
    ramps = ramp_lanes(hd)
    assert len(ramps) == 2 and all(hd.lane_index(i) == (0, 1) for i in ramps)
    (exit_poi,) = hd.points_of_interest
    assert exit_poi.name == "Exit 1 Minato" and hd.is_ramp(exit_poi.lanelet_id)
    assert exit_poi.from_lanelet_id == lanes[2]
    end = hd.path_ahead(lanes[0], 0.0, 10_000.0, spacing_m=1.0)
    assert 3990.0 < hd.station(*hd.locate(*end[-1, :2])[:2]) < 4010.0
    assert 2900.0 < hd.station(exit_poi.from_lanelet_id, hd.length(exit_poi.from_lanelet_id)) < 3100.0


def test_speed_limits_in_metres_per_second(hd):
    for lanelet_id in hd.lanelet_ids():
        # The connector inside the split still carries the main line's 100 km/h; the slip road is 60.
        expected = 60.0 if hd.is_ramp(lanelet_id) and not hd.successors(lanelet_id) else 100.0
        assert hd.speed_limit_mps(lanelet_id) == pytest.approx(expected / 3.6)


def test_centerline_is_an_n_by_2_array(hd):
    for lanelet_id in hd.lanelet_ids():
        line = hd.centerline(lanelet_id)
        assert line.ndim == 2 and line.shape[1] == 2 and len(line) >= 2


# --- matching ----------------------------------------------------------------------------------


@pytest.mark.parametrize("s", [300.0, 1200.0, 2500.0])  # straight, in the 2 km curve, straight again
@pytest.mark.parametrize("lane", [0, 1, 2])
@pytest.mark.parametrize("left_m, yaw_offset", [(0.4, 0.03), (-0.6, -0.02)])
def test_match_on_each_lane(hd, lane, s, left_m, yaw_offset):
    lanelet_id = main_lanes(hd)[lane]
    got = hd.match(pose_on(hd, lanelet_id, s, left_m, yaw_offset), position_sigma_m=0.05)
    assert got.lanelet_id == lanelet_id
    assert (got.lane_index, got.lane_count) == (lane, 3)
    assert got.arc_length_m == pytest.approx(s, abs=0.05)
    assert got.lateral_offset_m == pytest.approx(left_m, abs=0.01)
    assert got.heading_error_rad == pytest.approx(yaw_offset, abs=2e-3)
    assert got.confidence > 0.999 and got.lane_level
    assert got.source == LaneSource.RTK


def test_confidence_falls_with_position_sigma(hd):
    pose = pose_on(hd, main_lanes(hd)[1], 1000.0, left_m=0.5)
    sharp, blurred = hd.match(pose, 0.05), hd.match(pose, 2.0)
    assert sharp.lanelet_id == blurred.lanelet_id
    assert sharp.confidence > 0.999 and sharp.lane_level
    assert blurred.confidence < 0.7 and not blurred.lane_level
    # Near the lane edge even a small sigma leaves real doubt.
    edge = hd.match(pose_on(hd, main_lanes(hd)[1], 1000.0, left_m=1.7), 0.05)
    assert 0.5 < edge.confidence < 0.9 and not edge.lane_level


def test_far_from_the_road_is_unmatched(hd):
    lanes = main_lanes(hd)
    assert hd.match(pose_on(hd, lanes[0], 500.0, left_m=6.0)) == UNMATCHED
    assert hd.match(pose_on(hd, lanes[2], 500.0, left_m=-6.0)) == UNMATCHED
    assert hd.match(Pose2D(-500.0, 3000.0, 0.0)) == UNMATCHED
    assert hd.locate(-500.0, 3000.0) is None
    # Up to half a lane outside the outer edge it still matches the outer lane, with low confidence.
    near = hd.match(pose_on(hd, lanes[0], 500.0, left_m=2.5))
    assert near.lanelet_id == lanes[0] and near.confidence < 0.01


def test_match_going_the_wrong_way_reports_the_heading_error(hd):
    got = hd.match(pose_on(hd, main_lanes(hd)[1], 700.0, yaw_offset=math.pi))
    assert got.lanelet_id == main_lanes(hd)[1]
    assert abs(got.heading_error_rad) == pytest.approx(math.pi, abs=1e-3)


def test_match_on_the_slip_road_and_beside_it(hd):
    (connector,) = [i for i in ramp_lanes(hd) if hd.successors(i)]
    (ramp,) = [i for i in ramp_lanes(hd) if not hd.successors(i)]
    assert hd.successors(connector) == [ramp]
    on_ramp = hd.match(pose_on(hd, ramp, 150.0))
    assert on_ramp.lanelet_id == ramp and (on_ramp.lane_index, on_ramp.lane_count) == (0, 1)
    # Where the exit starts, on top of the right-hand lane, the main line wins the tie.
    main = main_lanes(hd)[2]
    split = hd.match(pose_on(hd, main, hd.length(main)))
    assert not hd.is_ramp(split.lanelet_id) and split.lane_index == 2


def test_locate_matches_match_without_yaw(hd):
    pose = pose_on(hd, main_lanes(hd)[2], 2000.0, left_m=-0.3)
    got = hd.match(pose)
    assert hd.locate(pose.x_m, pose.y_m) == pytest.approx((got.lanelet_id, got.arc_length_m,
                                                           got.lateral_offset_m))


# --- stations ----------------------------------------------------------------------------------


def test_station_is_equal_for_points_abreast(hd):
    lanes = main_lanes(hd)
    for s in [0.0, 400.0, 900.0, 1200.0, 1500.0, 2900.0]:  # through the curve, where lanes differ in length
        x, y, yaw, _ = hd.path_ahead(lanes[0], s, 0.0)[0]
        stations = []
        for k in range(3):
            located = hd.locate(x + 3.5 * k * math.sin(yaw), y - 3.5 * k * math.cos(yaw))
            assert located[0] == lanes[k]
            stations.append(hd.station(located[0], located[1]))
        assert stations == pytest.approx([stations[0]] * 3, abs=0.02)
        assert stations[0] == pytest.approx(s, abs=0.02)  # the leftmost lane is the reference


def test_station_is_continuous_across_lanelet_boundaries(hd):
    for lanelet_id in hd.lanelet_ids():
        end = hd.station(lanelet_id, hd.length(lanelet_id))
        for successor in hd.successors(lanelet_id):
            assert hd.station(successor, 0.0) == pytest.approx(end, abs=1e-3)
    # Along a driven path the station grows by the distance driven (it is the left lane's arc length).
    for prefer_ramp in (False, True):
        path = hd.path_ahead(main_lanes(hd)[2], 2700.0, 600.0, spacing_m=5.0, prefer_ramp=prefer_ramp)
        stations = np.array([hd.station(*hd.locate(x, y)[:2]) for x, y in path[:, :2]])
        assert np.all(np.diff(stations) > 4.5) and np.all(np.diff(stations) < 5.5)


# --- lanes and rules ---------------------------------------------------------------------------


def test_lane_change_between_adjacent_main_lanes(hd):
    left, middle, right = main_lanes(hd)
    for a, b in [(left, middle), (middle, left), (middle, right), (right, middle)]:
        assert hd.lane_change_allowed(a, b)
    assert not hd.lane_change_allowed(left, right)  # not adjacent
    # Through the split, too: roadgen's connectors are made neighbours by maps/generate.py.
    connectors = [hd.successors(i)[0] for i in (left, middle)]
    assert hd.right_of(connectors[0]) == connectors[1]
    assert hd.lane_change_allowed(*connectors)


def test_solid_dashed_allows_a_change_only_from_the_dashed_side(tmp_path):
    real = load_map(MAP_YAML)
    left, middle, _ = main_lanes(real)
    shared = _relation_member(real.lanelet2_path.read_text(), left, "right")
    # Lanelet2: solid_dashed is solid on the line's left, dashed on its right; boundaries run forward.
    cases = [("solid_dashed", False, True), ("dashed_solid", True, False), ("solid", False, False)]
    for subtype, left_to_middle, middle_to_left in cases:
        text = _set_way_subtype(real.lanelet2_path.read_text(), shared, subtype)
        edited = load_map(_write_map(tmp_path / subtype, osm_text=text))
        assert edited.lane_change_allowed(left, middle) is left_to_middle
        assert edited.lane_change_allowed(middle, left) is middle_to_left
        # Neighbours regardless of the marking.
        assert edited.right_of(left) == middle


# --- path ahead --------------------------------------------------------------------------------


def test_path_ahead_follows_the_main_line_past_the_split(hd):
    right = main_lanes(hd)[2]
    path = hd.path_ahead(right, 2800.0, 400.0)
    assert path.shape == (201, 4)
    steps = np.linalg.norm(np.diff(path[:, :2], axis=0), axis=1)
    assert steps == pytest.approx(np.full(200, 2.0), abs=1e-3)
    assert all(not hd.is_ramp(hd.locate(x, y)[0]) for x, y in path[:, :2])
    assert hd.lane_index(hd.locate(*path[-1, :2])[0]) == (2, 3)
    # Straight after the curve: constant heading, no curvature.
    assert np.ptp(path[:, 2]) < 1e-3 and np.max(np.abs(path[:, 3])) < 1e-4


def test_path_ahead_takes_the_ramp_when_asked(hd):
    right = main_lanes(hd)[2]
    path = hd.path_ahead(right, 2800.0, 400.0, prefer_ramp=True)
    last = hd.locate(*path[-1, :2])[0]
    assert hd.is_ramp(last) and not hd.successors(last)
    # The slip road bends right at its 500 m radius.
    assert np.min(path[:, 3]) == pytest.approx(-1.0 / RAMP_RADIUS_M, rel=0.02)
    # A lane the exit does not leave from carries on along the main line even when asked.
    from_left = hd.path_ahead(main_lanes(hd)[0], 2800.0, 400.0, prefer_ramp=True)
    assert not hd.is_ramp(hd.locate(*from_left[-1, :2])[0])


def test_path_ahead_heading_and_curvature_in_the_curve(hd):
    for lane, lanelet_id in enumerate(main_lanes(hd)):
        path = hd.path_ahead(lanelet_id, 1000.0, 300.0, spacing_m=1.0)  # on the 2 km radius arc
        # The road's reference line is its left edge and the curve bends left: lanes lie outside it.
        radius = CURVE_RADIUS_M + 1.75 + 3.5 * lane
        assert path[:, 3] == pytest.approx(np.full(len(path), 1.0 / radius), rel=0.02)
        chord_yaw = np.arctan2(np.diff(path[:, 1]), np.diff(path[:, 0]))
        # The centreline is a polyline of ~2 m chords turning 1 mrad each; yaw follows it to within half that.
        assert path[:-1, 2] + 0.5 / radius == pytest.approx(chord_yaw, abs=5e-4)


def test_path_ahead_zero_distance_gives_the_pose_on_the_lane(hd):
    lanelet_id = main_lanes(hd)[1]
    path = hd.path_ahead(lanelet_id, 123.0, 0.0)
    assert path.shape == (1, 4)
    assert hd.locate(*path[0, :2]) == pytest.approx((lanelet_id, 123.0, 0.0), abs=1e-6)


def test_path_ahead_stops_where_the_road_ends(hd):
    path = hd.path_ahead(main_lanes(hd)[0], 3900.0, 500.0)  # main line is ~4 km
    last = hd.locate(*path[-1, :2])
    assert not hd.successors(last[0]) and hd.length(last[0]) - last[1] < 2.0


# --- the SUMO twin -----------------------------------------------------------------------------


def test_sumo_lanes_lie_on_the_lanelet_centrelines(hd):
    net = sumolib.net.readNet(str(hd.sumo_net_path), withInternal=True)
    paired = {lane: lanelet for lanelet, lane in hd.sumo_lanes.items()}
    checked = 0
    for edge in net.getEdges(withInternal=True):
        for lane in edge.getLanes():
            points = _sample(np.array(lane.getShape())[:, :2], 5.0)
            # Every point of every SUMO lane is on some lanelet centreline...
            for x, y in points:
                located = hd.locate(x, y)
                assert located is not None and abs(located[2]) < 0.1, (lane.getID(), x, y)
            # ... and on the one map.yaml pairs it with (lengthened 1 m: netconvert trims at junctions).
            centre = _lengthen(hd.centerline(paired[lane.getID()]), 1.0)
            assert np.max(_distance_to_polyline(points, centre)) < 0.1, lane.getID()
            # SUMO counts lanes from the right, Lanelet2 (and we) from the left.
            index, count = hd.lane_index(paired[lane.getID()])
            assert lane.getIndex() == count - 1 - index
            checked += len(points)
    assert len(paired) == len(hd.lanelet_ids()) and checked > 1000


# --- malformed maps ----------------------------------------------------------------------------


def test_missing_speed_limit_is_refused(hd, tmp_path):
    middle = main_lanes(hd)[1]
    text = _edit_relation(hd.lanelet2_path.read_text(), middle,
                          lambda rel: re.sub(r'\s*<tag k="speed_limit" v="\d+" />', "", rel))
    err = _refused(_write_map(tmp_path, osm_text=text))
    assert f"broken.osm: {middle}: lanelet has no speed_limit tag" in str(err)


def test_missing_subtype_and_non_numeric_speed_limit_are_both_reported(hd, tmp_path):
    left = main_lanes(hd)[0]
    later = hd.successors(hd.successors(left)[0])[0]  # the left lane after the split
    text = _edit_relation(hd.lanelet2_path.read_text(), left,
                          lambda rel: re.sub(r'\s*<tag k="subtype" v="\w+" />', "", rel))
    text = _edit_relation(text, later, lambda rel: rel.replace('k="speed_limit" v="100"',
                                                               'k="speed_limit" v="fast"'))
    err = _refused(_write_map(tmp_path, osm_text=text))
    lines = str(err).splitlines()
    assert any(line.endswith(f"broken.osm: {left}: lanelet has no subtype tag") for line in lines)
    assert any(f"{later}: speed_limit 'fast' is not a number" in line for line in lines)
    assert {p.element_id for p in err.problems} == {left, later}


def test_lanelet_connected_to_nothing_is_refused(tmp_path):
    err = _refused(_island(tmp_path))
    assert "9000020: lanelet connects to nothing" in str(err)


@pytest.mark.parametrize("side", ["middle", None, 3])
def test_bad_traffic_side_is_refused(tmp_path, side):
    err = _refused(_write_map(tmp_path, traffic_side=side))
    assert re.search(r"map\.yaml: traffic_side: must be 'left' or 'right'", str(err))


def test_missing_origin_is_refused(tmp_path):
    err = _refused(_write_map(tmp_path, origin=DROP))
    assert "map.yaml: origin: missing" in str(err)
    err = _refused(_write_map(tmp_path, origin={"latitude_deg": 95.0, "longitude_deg": "east"}))
    assert "origin.latitude_deg" in str(err) and "origin.longitude_deg" in str(err)


def test_garbage_osm_is_refused(tmp_path):
    err = _refused(_write_map(tmp_path, osm_text="this is not a map <<<"))
    assert "broken.osm: osm: cannot be parsed" in str(err)


def test_missing_files_and_fields_are_all_listed(tmp_path):
    err = _refused(_write_map(tmp_path, sumo_net="nowhere.net.xml", name=DROP, traffic_side="up"))
    fields = {p.element_id for p in err.problems}
    assert {"sumo_net", "name", "traffic_side"} <= fields
    assert len(str(err).splitlines()) == len(err.problems)
    assert "nowhere.net.xml" in str(err)


def test_map_yaml_that_is_not_there_or_not_yaml_is_refused(tmp_path):
    assert "file not found" in str(_refused(tmp_path / "absent.yaml"))
    bad = tmp_path / "map.yaml"
    bad.write_text("name: [unclosed\n")
    assert "not valid YAML" in str(_refused(bad))


def test_unknown_point_of_interest_lanelet_is_refused(tmp_path):
    pois = [{"name": "Exit 9", "kind": "exit", "lanelet_id": 42, "x_m": 0.0, "y_m": 0.0}]
    err = _refused(_write_map(tmp_path, points_of_interest=pois))
    assert "points_of_interest[0].lanelet_id: no lanelet 42" in str(err)


# --- malformed map fixtures: each refused with its problem named -----------------------------------


def _duplicate_lane(folder: Path) -> Path:
    """A second lanelet on the same two boundaries as the middle lane (a copy-paste in an editor)."""
    osm = (MAP_YAML.parent / "highway_small.osm").read_text()
    middle = re.search(r'<relation id="1001020".*?</relation>', osm, flags=re.S).group(0)
    return _write_map(folder, osm_text=osm.replace("</osm>", middle.replace('id="1001020"', 'id="9000030"') + "</osm>"))


def _lanelet_across_the_road(folder: Path) -> Path:
    """A two-lanelet road laid diagonally over the motorway at x = 500 m, joined to nothing."""
    hd = load_map(MAP_YAML)
    nodes, ways, rels = [], [], []
    corners = {}
    for i, (x, y) in enumerate([(480.0, 30.0), (520.0, -40.0), (484.0, 32.0), (524.0, -38.0)]):
        lat, lon = hd.unproject(x, y)
        corners[i] = 9100001 + i
        nodes.append(f'<node id="{corners[i]}" lat="{lat:.10f}" lon="{lon:.10f}" />')
    for wid, (a, b) in ((9100010, (0, 1)), (9100011, (2, 3))):
        ways.append(f'<way id="{wid}"><nd ref="{corners[a]}" /><nd ref="{corners[b]}" />'
                    '<tag k="type" v="line_thin" /><tag k="subtype" v="solid" /></way>')
    rels.append('<relation id="9100020"><member type="way" ref="9100011" role="left" />'
                '<member type="way" ref="9100010" role="right" /><tag k="type" v="lanelet" />'
                '<tag k="subtype" v="road" /><tag k="location" v="urban" /><tag k="one_way" v="yes" />'
                '<tag k="speed_limit" v="50" /></relation>')
    extra = "\n".join(nodes + ways + rels)
    return _write_map(folder, osm_text=(MAP_YAML.parent / "highway_small.osm").read_text().replace(
        "</osm>", extra + "\n</osm>"))


def _missing_tags(folder: Path) -> Path:
    osm = _edit_relation((MAP_YAML.parent / "highway_small.osm").read_text(), 1001020,
                         lambda rel: re.sub(r'\s*<tag k="(location|one_way)" v="\w+" />', "", rel))
    boundary = _relation_member(osm, 1001020, "left")
    block = re.search(rf'<way id="{boundary}".*?</way>', osm, flags=re.S)
    edited = re.sub(r'\s*<tag k="type" v="\w+" />', "", block.group(0))
    return _write_map(folder, osm_text=osm[: block.start()] + edited + osm[block.end():])


def _island(folder: Path) -> Path:
    island = """
  <node id="9000001" lat="35.01" lon="139.01" /><node id="9000002" lat="35.011" lon="139.01" />
  <node id="9000003" lat="35.01" lon="139.0104" /><node id="9000004" lat="35.011" lon="139.0104" />
  <way id="9000010"><nd ref="9000001" /><nd ref="9000002" /><tag k="type" v="line_thin" />
    <tag k="subtype" v="solid" /></way>
  <way id="9000011"><nd ref="9000003" /><nd ref="9000004" /><tag k="type" v="line_thin" />
    <tag k="subtype" v="solid" /></way>
  <relation id="9000020"><member type="way" ref="9000010" role="left" />
    <member type="way" ref="9000011" role="right" /><tag k="type" v="lanelet" />
    <tag k="subtype" v="highway" /><tag k="location" v="nonurban" /><tag k="one_way" v="yes" />
    <tag k="speed_limit" v="100" /></relation>
</osm>"""
    return _write_map(folder, osm_text=(MAP_YAML.parent / "highway_small.osm").read_text().replace("</osm>", island))


def _bad_toll_booth(folder: Path) -> Path:
    osm = _edit_relation((MAP_YAML.parent / "highway_small.osm").read_text(), 1001024,
                         lambda rel: rel.replace("</relation>", '<tag k="toll_booth" v="cash" /></relation>'))
    return _write_map(folder, osm_text=osm)


# name -> (fixture builder, problems the refusal must name: (element id, reason fragment), other elements
# it may name as well)
MALFORMED = {
    "duplicate lanelet": (_duplicate_lane, [(1001020, "covers nearly the same ground as lanelet 9000030")], set()),
    "lanelet laid across others": (_lanelet_across_the_road, [(1001018, "overlaps lanelet 9100020"),
                                                              (1001022, "overlaps lanelet 9100020")],
                                   {1001020, 9100020}),  # it overlaps all three, and connects to nothing
    "no projection origin": (lambda f: _write_map(f, origin=DROP), [("origin", "missing")], set()),
    "unknown traffic side": (lambda f: _write_map(f, traffic_side="centre"),
                             [("traffic_side", "must be 'left' or 'right', not 'centre'")], set()),
    "missing tags": (_missing_tags, [(1001020, "lanelet has no location tag"), (1001020, "lanelet has no one_way tag"),
                                     (1001020, "left boundary")], {1001018}),  # the boundary is its neighbour's too
    "lanelet connected to nothing": (_island, [(9000020, "lanelet connects to nothing")], set()),
    "unknown toll booth kind": (_bad_toll_booth, [(1001024, "toll_booth 'cash' is not one of etc, general")], set()),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_map_is_refused_with_its_problem_named(tmp_path, kind):
    build, expected, also = MALFORMED[kind]
    err = _refused(build(tmp_path))
    for element, reason in expected:
        assert any(p.element_id == element and reason in p.reason for p in err.problems), (kind, str(err))
    # Only that: the rest of the real map is fine.
    assert {p.element_id for p in err.problems} <= {element for element, _ in expected} | also, str(err)


def test_the_new_maps_are_valid_and_keep_stations_continuous():
    for name in ("highway", "highway_lht", "parking"):
        hd = load_map(MAP_YAML.parents[1] / name / "map.yaml")
        for lanelet_id in hd.lanelet_ids():
            end = hd.station(lanelet_id, hd.length(lanelet_id))
            # Stations run on into the one successor the station scale follows (at merges, the other differs).
            assert any(abs(hd.station(s, 0.0) - end) < 1e-3 for s in hd.successors(lanelet_id)) or not hd.successors(
                lanelet_id) or len(hd.predecessors(hd.successors(lanelet_id)[0])) > 1


def test_toll_booths_and_parking_spaces_are_read_from_the_lanelet2_tags():
    hw = load_map(MAP_YAML.parents[1] / "highway" / "map.yaml")
    booths = hw.toll_booths()
    assert sorted(booths.values()) == ["etc", "etc", "general", "general"]
    assert {hw.lane_index(i) for i in booths} == {(0, 4), (1, 4), (2, 4), (3, 4)}
    # Islands between the booths: no changing lanes there.
    for lanelet_id in booths:
        assert not any(hw.lane_change_allowed(lanelet_id, n) for n in (hw.left_of(lanelet_id), hw.right_of(lanelet_id))
                       if n is not None)
    park = load_map(MAP_YAML.parents[1] / "parking" / "map.yaml")
    spaces = park.parking_spaces()
    kinds = [sp.kind for sp in spaces]
    assert kinds.count("perpendicular") == 48 and kinds.count("parallel") == 12
    for sp in spaces:
        # Each opens onto an aisle: its entry is on the edge of a lane (3 m from the aisle's centre line).
        lanelet_id, _, lateral = park.locate(*sp.entry_xy_m)
        # A perpendicular space starts at the aisle's edge; a parallel one runs alongside it.
        beside = 1.5 if sp.kind == "perpendicular" else 1.5 + 1.25
        assert abs(abs(lateral) - beside) < 0.01 and sp.width_m == 2.5
        assert sp.length_m == pytest.approx(5.0 if sp.kind == "perpendicular" else 6.0)
    assert not hw.parking_spaces()


def test_match_many_agrees_with_match_point_by_point():
    hw = load_map(MAP_YAML.parents[1] / "highway" / "map.yaml")
    rng = np.random.default_rng(7)
    ids = hw.lanelet_ids()
    poses = []
    for _ in range(400):
        lanelet_id = ids[rng.integers(len(ids))]
        x, y, yaw, _ = hw.path_ahead(lanelet_id, rng.uniform(0.0, hw.length(lanelet_id)), 0.0)[0]
        left = rng.normal(0.0, 2.5)
        turn = rng.normal(0.0, 0.2) + (math.pi if rng.random() < 0.1 else 0.0)
        poses.append(Pose2D(x - left * math.sin(yaw), y + left * math.cos(yaw), yaw + turn))
    poses.append(Pose2D(-5000.0, 0.0, 0.0))  # off the map
    batch = hw.match_many([p.x_m for p in poses], [p.y_m for p in poses], [p.yaw_rad for p in poses])
    unmatched = 0
    for i, pose in enumerate(poses):
        one = hw.match(pose)
        if one == UNMATCHED:
            assert batch.lanelet_id[i] == -1 and np.isnan(batch.arc_length_m[i])
            unmatched += 1
            continue
        assert batch.lanelet_id[i] == one.lanelet_id
        assert (batch.arc_length_m[i], batch.lateral_offset_m[i], batch.heading_error_rad[i]) == pytest.approx(
            (one.arc_length_m, one.lateral_offset_m, one.heading_error_rad), abs=1e-9)
    assert 1 <= unmatched < 60
    located = hw.match_many([p.x_m for p in poses[:50]], [p.y_m for p in poses[:50]])
    for i, pose in enumerate(poses[:50]):
        got = hw.locate(pose.x_m, pose.y_m)
        assert (got is None) == (located.lanelet_id[i] == -1)
        if got is not None:
            assert got == pytest.approx((located.lanelet_id[i], located.arc_length_m[i], located.lateral_offset_m[i]))


def test_named_points_are_looked_up_by_name():
    hw = load_map(MAP_YAML.parents[1] / "highway" / "map.yaml")
    assert {p.kind for p in hw.points_of_interest} == {"start", "entrance", "exit", "junction", "toll_plaza", "end"}
    fujisawa = hw.point("Fujisawa IC")
    assert fujisawa.kind == "exit" and hw.is_ramp(fujisawa.lanelet_id) and not hw.is_ramp(fujisawa.from_lanelet_id)
    with pytest.raises(KeyError, match="no point of interest named 'Atlantis'"):
        hw.point("Atlantis")


# --- helpers -----------------------------------------------------------------------------------


def _refused(map_yaml: Path) -> MapError:
    with pytest.raises(MapError) as caught:
        load_map(map_yaml)
    err = caught.value
    assert err.problems and all(str(p) in str(err) for p in err.problems)
    return err


def _write_map(folder: Path, osm_text: str | None = None, **fields) -> Path:
    """The real map.yaml copied to `folder` with fields changed or dropped, the osm optionally replaced."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load(MAP_YAML.read_text())
    for key in ("lanelet2", "opendrive", "sumo_net"):
        spec[key] = str(MAP_YAML.parent / spec[key])
    if osm_text is not None:
        (folder / "broken.osm").write_text(osm_text)
        spec["lanelet2"] = "broken.osm"
    for key, value in fields.items():
        if value is DROP:
            spec.pop(key, None)
        else:
            spec[key] = value
    path = folder / "map.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _edit_relation(osm_text: str, relation_id: int, edit) -> str:
    block = re.search(rf'<relation id="{relation_id}".*?</relation>', osm_text, flags=re.S)
    assert block, relation_id
    return osm_text[: block.start()] + edit(block.group(0)) + osm_text[block.end():]


def _relation_member(osm_text: str, relation_id: int, role: str) -> int:
    block = re.search(rf'<relation id="{relation_id}".*?</relation>', osm_text, flags=re.S).group(0)
    return int(re.search(rf'ref="(\d+)" role="{role}"', block).group(1))


def _set_way_subtype(osm_text: str, way_id: int, subtype: str) -> str:
    block = re.search(rf'<way id="{way_id}".*?</way>', osm_text, flags=re.S)
    edited = re.sub(r'k="subtype" v="\w+"', f'k="subtype" v="{subtype}"', block.group(0))
    return osm_text[: block.start()] + edited + osm_text[block.end():]


def _sample(line: np.ndarray, step: float) -> np.ndarray:
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(line, axis=0), axis=1))])
    q = np.linspace(0.0, s[-1], max(2, int(s[-1] / step) + 1))
    return np.column_stack([np.interp(q, s, line[:, 0]), np.interp(q, s, line[:, 1])])


def _lengthen(line: np.ndarray, metres: float) -> np.ndarray:
    head = line[0] - metres * (line[1] - line[0]) / np.linalg.norm(line[1] - line[0])
    tail = line[-1] + metres * (line[-1] - line[-2]) / np.linalg.norm(line[-1] - line[-2])
    return np.vstack([head, line, tail])


def _distance_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    a, ab = line[:-1], np.diff(line, axis=0)
    p = points[:, None, :]
    t = np.clip(((p - a) * ab).sum(-1) / (ab**2).sum(-1), 0.0, 1.0)
    return np.linalg.norm(p - (a + t[..., None] * ab), axis=-1).min(axis=1)
