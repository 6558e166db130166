"""Lane-level routes on the real `highway` maps: lane changes with windows and reasons, events,
route-drive zones, traffic side. Figures come from the layout (maps/highway_layout.py)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from propilot.core.map.hdmap import MapError, load_map
from propilot.core.map.route import RouteError, RouteSettings, events_ahead, plan_route
from propilot.core.map.zones import ZoneSettings

MAPS = Path(__file__).resolve().parents[2] / "maps"
SETTINGS, ZONES = RouteSettings(), ZoneSettings()
KPH = 1 / 3.6


@pytest.fixture(scope="module")
def hw():
    return load_map(MAPS / "highway" / "map.yaml")


@pytest.fixture(scope="module")
def lht():
    return load_map(MAPS / "highway_lht" / "map.yaml")


def change_length(speed_mps: float) -> float:
    return max(SETTINGS.min_lane_change_length_m, speed_mps * SETTINGS.lane_change_time_s)


def end_of(hd, route, lanelet_id: int) -> float:
    """Distance along the route of the end of a lanelet of its corridor."""
    return route.distance_of(hd, lanelet_id, hd.length(lanelet_id))


def kinds(route) -> list[str]:
    return [e.kind for e in route.events]


def check_windows(hd, route) -> None:
    """Invariants of every route: windows in order, one lane change length apart, within the horizon."""
    changes = route.lane_changes
    for c in changes:
        assert c.feasible and 0.0 <= c.earliest_m <= c.latest_m <= route.length_m
        assert c.latest_m - c.earliest_m <= SETTINGS.lane_change_horizon_m + 1e-6
        assert hd.lane_change_allowed(c.from_lanelet_id, c.to_lanelet_id)
        side = hd.left_of(c.from_lanelet_id) if c.direction == "left" else hd.right_of(c.from_lanelet_id)
        assert side == c.to_lanelet_id
    slowest = min(hd.speed_limit_mps(i) for i in route.lanelet_ids if not hd.is_ramp(i))
    for a, b in zip(changes, changes[1:], strict=False):
        assert b.latest_m - a.latest_m >= change_length(slowest) - 1e-6
        assert b.earliest_m >= a.earliest_m + change_length(slowest) - 1e-6


# --- lane changes and their reasons ------------------------------------------------------------


def test_taking_an_exit_from_the_median_lane_needs_three_changes_towards_it(hw):
    # Zushi IC leaves from a 300 m deceleration lane outside the three lanes.
    route = plan_route(hw, "Main line start", "Zushi IC")
    exit_poi = hw.point("Zushi IC")
    assert [c.direction for c in route.lane_changes] == ["right"] * 3
    assert [c.reason for c in route.lane_changes] == ["exit"] * 3
    check_windows(hw, route)
    last = route.lane_changes[-1]
    # Into the deceleration lane: only alongside it, and complete where it ends (the gore).
    decel = exit_poi.from_lanelet_id
    assert last.to_lanelet_id == decel
    assert last.latest_m == pytest.approx(end_of(hw, route, decel), abs=1e-3)
    assert last.latest_m - last.earliest_m == pytest.approx(hw.length(decel), abs=0.5)
    # The two before it: each one lane change length (8 s at 120 km/h) earlier, 2 km windows.
    gap = change_length(120 * KPH)
    assert route.lane_changes[1].latest_m == pytest.approx(last.latest_m - gap, abs=1e-3)
    assert route.lane_changes[0].latest_m == pytest.approx(last.latest_m - 2 * gap, abs=1e-3)
    assert route.lane_changes[0].latest_m - route.lane_changes[0].earliest_m == pytest.approx(
        SETTINGS.lane_change_horizon_m)
    # It ends on the exit, which the events name where the lanes part.
    assert route.lanelet_ids[-1] == exit_poi.lanelet_id and hw.is_ramp(route.lanelet_ids[-1])
    (exit_event,) = [e for e in route.events if e.kind == "exit"]
    assert exit_event.name == "Zushi IC" and exit_event.distance_m == pytest.approx(last.latest_m, abs=1e-3)


def test_taking_the_branch_at_the_fork(hw):
    # Kamakura JCT: lanes 3-4 of the five become the Yokohama line.
    route = plan_route(hw, "Main line start", "Yokohama line end")
    assert [(c.direction, c.reason) for c in route.lane_changes] == [("right", "branch")] * 3
    check_windows(hw, route)
    fork = hw.point("Kamakura JCT")
    assert route.lane_changes[-1].latest_m == pytest.approx(end_of(hw, route, fork.from_lanelet_id), abs=1e-3)
    (branch,) = [e for e in route.events if e.kind == "branch"]
    assert branch.name == "Kamakura JCT" and branch.distance_m == pytest.approx(route.lane_changes[-1].latest_m)
    assert fork.lanelet_id in route.lanelet_ids
    # Staying on the main line from the outside lanes of the fork is a branch too.
    stay = plan_route(hw, fork.from_lanelet_id, "Main line end")
    assert stay.lane_changes and stay.lane_changes[0].reason == "branch"
    assert stay.lane_changes[0].direction == "left"


def test_an_entrance_acceleration_lane_and_the_lane_drop_force_changes(hw):
    route = plan_route(hw, "Hayama IC", "Main line end")
    assert [(c.direction, c.reason) for c in route.lane_changes] == [("left", "lane_drop")] * 2
    check_windows(hw, route)
    accel, drop = route.lane_changes
    # Out of the acceleration lane within its 300 m (and the 50 m junction where it begins).
    assert accel.latest_m - accel.earliest_m == pytest.approx(300.0 + 50.0, abs=0.5)
    assert hw.speed_limit_mps(route.lanelet_ids[0]) == pytest.approx(60 * KPH)
    # The outside lane ends at km 8.0 of the main line: the change must be complete there.
    dropped = [e for e in route.events if e.kind == "lane_drop"]
    assert any(e.distance_m == pytest.approx(drop.latest_m, abs=1e-3) for e in dropped)
    assert any(e.distance_m == pytest.approx(accel.latest_m, abs=1e-3) for e in dropped)


def test_all_three_reasons_on_one_short_route(hw):
    route = plan_route(hw, "Ofuna IC", "Fujisawa IC")
    assert [c.reason for c in route.lane_changes] == ["lane_drop", "lane_drop", "exit"]
    assert [c.direction for c in route.lane_changes] == ["left", "left", "right"]
    check_windows(hw, route)
    first, second, _ = route.lane_changes
    # The second may begin only once the first is done.
    assert second.earliest_m == pytest.approx(first.earliest_m + change_length(100 * KPH), abs=1e-3)


def test_a_route_that_keeps_its_lane_needs_no_change(hw):
    route = plan_route(hw, "Main line start", "Main line end")
    assert route.lane_changes == ()
    assert route.length_m == pytest.approx(10_050.0, abs=5.0)  # the main line's length in the layout
    assert len(set(route.lanelet_ids)) == len(route.lanelet_ids)
    assert all(not hw.is_ramp(i) for i in route.lanelet_ids)


def test_a_too_late_origin_gives_a_closed_window(hw):
    # Starting 100 m before the deceleration lane ends in the median lane: three changes cannot fit.
    decel = hw.point("Zushi IC").from_lanelet_id
    median = hw.abreast(decel)[0]
    x, y = hw.path_ahead(median, hw.length(median) - 100.0, 0.0)[0, :2]
    route = plan_route(hw, hw.unproject(x, y), "Zushi IC")
    assert len(route.lane_changes) == 3 and not all(c.feasible for c in route.lane_changes)


# --- events ------------------------------------------------------------------------------------


def test_events_along_the_main_line(hw):
    route = plan_route(hw, "Main line start", "Main line end")
    assert {"branch", "lane_drop", "speed_limit", "toll_plaza", "route_drive_end"} <= set(kinds(route))
    limits = [round(e.value / KPH) for e in route.events if e.kind == "speed_limit"]
    assert limits == [100, 80, 40, 20, 40, 80]  # from 120 km/h: the layout's speed-limit zones
    (plaza,) = [e for e in route.events if e.kind == "toll_plaza"]
    assert plaza.name == "Fujisawa toll plaza" and "ETC in lanes [0, 1]" in plaza.detail
    assert hw.toll_booth(plaza.lanelet_id) == "etc" and plaza.lanelet_id in route.lanelet_ids  # lane 0: ETC
    (branch,) = [e for e in route.events if e.kind == "branch"]
    assert branch.name == "Kamakura JCT"
    # Two lane drops ahead of the plaza's booths (the booth lanes) and three before (acceleration lanes, drop).
    drops = [e.distance_m for e in route.events if e.kind == "lane_drop"]
    assert sum(d < plaza.distance_m for d in drops) == 3 and sum(d > plaza.distance_m for d in drops) == 2
    distances = [e.distance_m for e in route.events]
    assert distances == sorted(distances)


def test_events_ahead_of_a_position_count_from_it(hw):
    route = plan_route(hw, "Main line start", "Fujisawa IC")
    lanelet = route.lanelet_ids[3]
    x, y = hw.path_ahead(lanelet, 50.0, 0.0)[0, :2]
    here = route.distance_of(hw, lanelet, 50.0)
    ahead = events_ahead(route, hw, x, y)
    later = [e for e in route.events if e.distance_m >= here]
    assert [e.kind for e in ahead] == [e.kind for e in later]
    assert [e.distance_m for e in ahead] == pytest.approx([e.distance_m - here for e in later])
    near = events_ahead(route, hw, x, y, horizon_m=2000.0)
    assert near and all(0.0 <= e.distance_m <= 2000.0 for e in near) and len(near) < len(ahead)
    # From a lane beside the route's (abreast) the distances are the same.
    beside = hw.right_of(lanelet) or hw.left_of(lanelet)
    bx, by = hw.path_ahead(beside, hw.arc_length_at_station(beside, hw.station(lanelet, 50.0)), 0.0)[0, :2]
    assert [e.distance_m for e in events_ahead(route, hw, bx, by)] == pytest.approx(
        [e.distance_m for e in ahead], abs=0.05)
    branch = hw.point("Yokohama line end")  # a road the route does not take
    x, y = hw.path_ahead(branch.lanelet_id, 10.0, 0.0)[0, :2]
    with pytest.raises(RouteError, match="not on the lanes of the route"):
        events_ahead(route, hw, x, y)


# --- places --------------------------------------------------------------------------------------


def test_origin_and_destination_as_lat_lon_lanelet_id_or_name_agree(hw):
    start, end = hw.point("Main line start"), hw.point("Fujisawa IC")
    by_name = plan_route(hw, "Main line start", "Fujisawa IC")
    by_id = plan_route(hw, start.lanelet_id, end.lanelet_id)
    by_text = plan_route(hw, str(start.lanelet_id), f" {end.lanelet_id} ")
    assert by_id.lanelet_ids == by_name.lanelet_ids == by_text.lanelet_ids
    assert by_id.length_m == pytest.approx(by_name.length_m)
    # 200 m into the first lanelet, as (lat, lon) and as text.
    x, y = hw.path_ahead(start.lanelet_id, 200.0, 0.0)[0, :2]
    lat, lon = hw.unproject(x, y)
    for origin in ((lat, lon), f"{lat:.9f},{lon:.9f}"):
        route = plan_route(hw, origin, "Fujisawa IC")
        assert route.origin[0] == start.lanelet_id and route.origin[1] == pytest.approx(200.0, abs=0.01)
        assert route.length_m == pytest.approx(by_name.length_m - 200.0, abs=0.01)


@pytest.mark.parametrize("origin, destination, message", [
    ("Nowhere IC", "Fujisawa IC", "origin: no point of interest named 'Nowhere IC'"),
    ("Main line start", 42, "destination: no lanelet 42"),
    ((35.0, 139.0), "Fujisawa IC", "is not on a lane of map highway"),
    ((95.0, 139.0), "Fujisawa IC", "is not a latitude, longitude"),
    ("Yokohama line end", "Main line start", "cannot be reached"),
    ("Fujisawa IC", "Zushi IC", "cannot be reached"),
])
def test_places_that_cannot_be_routed_are_named(hw, origin, destination, message):
    with pytest.raises(RouteError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_route(hw, origin, destination)


# --- route-drive zones ---------------------------------------------------------------------------


def test_route_drive_zones_are_the_main_carriageway_only(hw):
    zones = hw.route_drive_zones()
    ids = zones.lanelet_ids()
    assert ids and not any(hw.is_ramp(i) for i in ids)
    assert not any(hw.toll_booth(i) for i in ids)
    # Every main-line lane at km 1 is in a zone.
    start = hw.point("Main line start").lanelet_id
    assert all(zones.contains(i, 1000.0) for i in hw.abreast(start))
    # The zone ends 10 s at the speed limit before the map ends, on both roads that end.
    for end in ("Main line end", "Yokohama line end"):
        poi = hw.point(end)
        margin = hw.speed_limit_mps(poi.lanelet_id) * ZONES.coverage_end_margin_s
        lo, hi = zones.interval(poi.lanelet_id)
        assert hi == pytest.approx(hw.length(poi.lanelet_id) - margin, abs=0.01)
    # No route driving in a car park.
    assert load_map(MAPS / "parking" / "map.yaml").route_drive_zones().lanelet_ids() == []


def test_route_drive_ends_where_the_route_takes_its_exit_and_before_the_toll_plaza(hw):
    to_exit = plan_route(hw, "Main line start", "Fujisawa IC")
    (end,) = [e for e in to_exit.events if e.kind == "route_drive_end"]
    (exit_event,) = [e for e in to_exit.events if e.kind == "exit"]
    assert end.distance_m == pytest.approx(exit_event.distance_m, abs=1e-3)
    assert to_exit.drive_zones == ((pytest.approx(0.0), pytest.approx(end.distance_m)),)
    through = plan_route(hw, "Main line start", "Main line end")
    (plaza,) = [e for e in through.events if e.kind == "toll_plaza"]
    first_end = [e for e in through.events if e.kind == "route_drive_end"][0]
    assert first_end.distance_m == pytest.approx(plaza.distance_m - ZONES.toll_plaza_margin_m, abs=1e-3)
    # From an entrance, route driving starts only on the main carriageway.
    entering = plan_route(hw, "Hayama IC", "Main line end")
    assert entering.drive_zones[0][0] == pytest.approx(entering.lane_changes[0].earliest_m, abs=1e-3)
    assert hw.is_ramp(entering.lanelet_ids[0])


# --- traffic side --------------------------------------------------------------------------------


def test_right_hand_traffic_overtakes_on_the_left(hw):
    assert (hw.traffic_side, hw.keep_side, hw.overtaking_side) == ("right", "right", "left")
    left, middle, right = hw.abreast(hw.point("Main line start").lanelet_id)
    assert hw.overtaking_lane(middle) == left and hw.keep_lane(middle) == right
    assert hw.is_overtaking_lane(left) and not hw.is_overtaking_lane(middle) and not hw.is_overtaking_lane(right)
    assert hw.overtaking_lane(left) is None


def test_left_hand_traffic_overtakes_on_the_right_and_exits_on_the_left(hw, lht):
    assert (lht.traffic_side, lht.keep_side, lht.overtaking_side) == ("left", "left", "right")
    left, middle, right = lht.abreast(lht.point("Main line start").lanelet_id)
    assert lht.overtaking_lane(middle) == right and lht.keep_lane(middle) == left
    assert lht.is_overtaking_lane(right) and not lht.is_overtaking_lane(left)
    # The median is on the right: the fast lane; exits leave on the left.
    assert lht.speed_limit_mps(right) == lht.speed_limit_mps(left)
    mirrored = plan_route(lht, "Main line start", "Zushi IC")
    route = plan_route(hw, "Main line start", "Zushi IC")
    assert [c.direction for c in mirrored.lane_changes] == ["left"] * 3
    assert [c.reason for c in mirrored.lane_changes] == [c.reason for c in route.lane_changes]
    assert mirrored.length_m == pytest.approx(route.length_m, rel=0.005)  # a mirror image: lanes lie outside
    assert lht.is_ramp(mirrored.lanelet_ids[-1])


def test_traffic_side_from_parameters_overrides_the_map(hw):
    jp = load_map(MAPS / "highway" / "map.yaml", traffic_side="left")
    assert jp.traffic_side == "left" and jp.overtaking_side == "right"
    lanes = jp.abreast(jp.point("Main line start").lanelet_id)
    assert jp.is_overtaking_lane(lanes[-1]) and jp.keep_lane(lanes[1]) == lanes[0]
    with pytest.raises(MapError, match="parameter: traffic_side: must be 'left' or 'right'"):
        load_map(MAPS / "highway" / "map.yaml", traffic_side="middle")


def test_route_json_has_the_fields_the_stack_uses(hw):
    data = plan_route(hw, "Main line start", "Zushi IC").to_dict()
    assert {"lanelet_ids", "lane_changes", "length_m", "events", "drive_zones", "entries_m"} <= set(data)
    change = data["lane_changes"][0]
    assert {"earliest_m", "latest_m", "reason", "direction", "from_lanelet_id", "to_lanelet_id"} <= set(change)
    assert math.isfinite(data["length_m"]) and len(data["entries_m"]) == len(data["lanelet_ids"])
