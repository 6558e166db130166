"""Lane-change safety: UN R79 critical distance and RSS-style gaps, with the regulation's numbers."""

import math

import pytest

from propilot.core.planning.safety import SafetySettings, check_lane_change, r79_critical_distance
from propilot.core.types import Track

R79 = SafetySettings()
KPH = 1 / 3.6
LEFT = +1


def car(track_id, gap_m, relative_speed_mps, lane=LEFT):
    return Track(track_id, 0.0, 0.0, 0.0, 0.0, relative_lane=lane, gap_m=gap_m, relative_speed_mps=relative_speed_mps)


def test_critical_distance_matches_the_regulation_formula():
    v, v_app = 90 * KPH, 120 * KPH
    dv = v_app - v
    expected = dv * 0.4 + dv**2 / (2 * 3.0) + v * 1.0  # S_crit with a = 3 m/s^2, t_B = 0.4 s, t_G = 1 s
    assert r79_critical_distance(R79, v, v_app) == pytest.approx(expected)
    assert r79_critical_distance(R79, v, v) == pytest.approx(v * 1.0)  # not approaching: the time gap remains


@pytest.mark.parametrize("dv_kph", [10, 30, 60])
def test_vehicle_approaching_inside_the_critical_distance_blocks_the_change(dv_kph):
    v = 90 * KPH
    critical = r79_critical_distance(R79, v, v + dv_kph * KPH)
    inside = check_lane_change(R79, (car(1, -(critical - 1.0), dv_kph * KPH),), v, LEFT, True)
    assert not inside.safe and "approaching from behind" in inside.reason
    assert inside.critical_margin_m == pytest.approx(-1.0)


def test_vehicle_far_behind_leaves_the_change_safe_with_its_margin():
    v = 90 * KPH
    far = check_lane_change(R79, (car(1, -70.0, 10 * KPH),), v, LEFT, True)
    assert far.safe
    assert far.critical_margin_m == pytest.approx(70.0 - r79_critical_distance(R79, v, v + 10 * KPH))


def test_vehicle_alongside_blocks_the_change():
    assert not check_lane_change(R79, (car(1, 0.0, 0.0),), 25.0, LEFT, True).safe


def test_solid_line_forbids_whatever_the_traffic():
    verdict = check_lane_change(R79, (), 25.0, LEFT, line_allows=False)
    assert not verdict.safe and "solid line" in verdict.reason


def test_short_gap_ahead_in_the_target_lane_blocks_the_change():
    assert not check_lane_change(R79, (car(1, 8.0, -5.0),), 25.0, LEFT, True).safe
    assert check_lane_change(R79, (car(1, 80.0, 0.0),), 25.0, LEFT, True).safe


def test_vehicles_in_other_lanes_do_not_matter():
    verdict = check_lane_change(R79, (car(1, -5.0, 15.0, lane=-1), car(2, 0.0, 0.0, lane=0)), 25.0, LEFT, True)
    assert verdict.safe and math.isinf(verdict.critical_margin_m)
