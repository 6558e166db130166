"""Manoeuvre paths on the real parking map: straight in and out of perpendicular spaces, Reeds-Shepp
into a parallel space; each ends where the car fits the space and steers within the car's limits."""

import math

import numpy as np
import pytest

from propilot.core.map.hdmap import load_map
from propilot.core.parking.path import PathError, parallel_in, perpendicular_in, perpendicular_out
from propilot.core.types import Pose2D
from propilot.core.vehicle import EGO
from tests.conftest import REPO

END_MARGIN_M, EXIT_MARGIN_M, MAX_OFFSET_M, MAX_HEADING_RAD = 0.5, 0.5, 0.3, math.radians(5.0)
TURN_RADIUS_M = 5.0


@pytest.fixture(scope="module")
def spaces():
    return {s.name: s for s in load_map(REPO / "maps" / "parking" / "map.yaml").parking_spaces()}


def axis_coordinates(space, x, y):
    c, s = math.cos(space.heading_rad), math.sin(space.heading_rad)
    dx, dy = x - space.entry_xy_m[0], y - space.entry_xy_m[1]
    return dx * c + dy * s, -dx * s + dy * c


def test_nose_in_drives_forward_until_the_bumper_is_the_margin_from_the_far_end(spaces):
    sp = spaces["AN05"]
    start = Pose2D(sp.entry_xy_m[0], sp.entry_xy_m[1] - 4.0, sp.heading_rad)
    path = perpendicular_in(start, sp, EGO, END_MARGIN_M, MAX_OFFSET_M, MAX_HEADING_RAD)
    assert [s.direction for s in path.segments] == [1]
    along, across = axis_coordinates(sp, path.goal.x_m, path.goal.y_m)
    assert along + EGO.front_from_base_m == pytest.approx(sp.length_m - END_MARGIN_M)
    assert across == pytest.approx(0.0, abs=1e-6)
    assert path.length_m == pytest.approx(along + 4.0, abs=0.01)


def test_tail_in_reverses_until_the_rear_bumper_is_the_margin_from_the_far_end(spaces):
    sp = spaces["AS03"]
    out_of_space = 4.0
    start = Pose2D(sp.entry_xy_m[0] - out_of_space * math.cos(sp.heading_rad),
                   sp.entry_xy_m[1] - out_of_space * math.sin(sp.heading_rad), sp.heading_rad + math.pi)
    path = perpendicular_in(start, sp, EGO, END_MARGIN_M, MAX_OFFSET_M, MAX_HEADING_RAD)
    assert [s.direction for s in path.segments] == [-1]
    along, _ = axis_coordinates(sp, path.goal.x_m, path.goal.y_m)
    assert along + EGO.rear_overhang_m == pytest.approx(sp.length_m - END_MARGIN_M)


def test_out_of_a_space_reverses_until_the_whole_car_is_past_the_entry(spaces):
    sp = spaces["AN05"]
    parked = Pose2D(sp.entry_xy_m[0], sp.entry_xy_m[1] + 1.0, sp.heading_rad)
    path = perpendicular_out(parked, sp, EGO, EXIT_MARGIN_M, MAX_HEADING_RAD)
    assert [s.direction for s in path.segments] == [-1]
    along, _ = axis_coordinates(sp, path.goal.x_m, path.goal.y_m)
    assert along + EGO.front_from_base_m == pytest.approx(-EXIT_MARGIN_M)


def test_a_car_not_lined_up_with_the_space_is_refused(spaces):
    sp = spaces["AN05"]
    beside = Pose2D(sp.entry_xy_m[0] + MAX_OFFSET_M + 0.1, sp.entry_xy_m[1] - 4.0, sp.heading_rad)
    with pytest.raises(PathError) as offset:
        perpendicular_in(beside, sp, EGO, END_MARGIN_M, MAX_OFFSET_M, MAX_HEADING_RAD)
    skewed = Pose2D(sp.entry_xy_m[0], sp.entry_xy_m[1] - 4.0, sp.heading_rad + 2 * MAX_HEADING_RAD)
    with pytest.raises(PathError) as heading:
        perpendicular_in(skewed, sp, EGO, END_MARGIN_M, MAX_OFFSET_M, MAX_HEADING_RAD)
    assert offset.value.reason == heading.value.reason == "not_aligned"


def test_reeds_shepp_reverses_into_a_parallel_space_and_ends_centred(spaces):
    sp = spaces["B02"]
    lane_x = sp.entry_xy_m[0] - 2.75  # the aisle lane beside the space
    start = Pose2D(lane_x, sp.end_xy_m[1] + 2.0, sp.heading_rad)  # driven past the space
    path = parallel_in(start, sp, EGO, TURN_RADIUS_M)
    assert max(path.segments, key=lambda seg: seg.length_m).direction == -1  # backs in
    centre = (path.goal.x_m + EGO.centre_from_base_m * math.cos(path.goal.yaw_rad),
              path.goal.y_m + EGO.centre_from_base_m * math.sin(path.goal.yaw_rad))
    along, across = axis_coordinates(sp, *centre)
    assert along == pytest.approx(sp.length_m / 2, abs=0.02) and across == pytest.approx(0.0, abs=0.02)
    assert math.remainder(path.goal.yaw_rad - sp.heading_rad, math.pi) == pytest.approx(0.0, abs=1e-3)
    for segment in path.segments:
        assert np.abs(segment.curvature_1pm).max() <= 1.0 / TURN_RADIUS_M + 1e-3  # never tighter than asked
        steps = np.hypot(*np.diff(segment.poses[:, :2], axis=0).T)
        assert steps.max() < 0.06  # continuous, no jumps
    pairs = zip(path.segments[:-1], path.segments[1:], strict=True)
    joints = [np.hypot(*(a.poses[-1, :2] - b.poses[0, :2])) for a, b in pairs]
    assert max(joints, default=0.0) < 1e-6


def test_driving_the_curvature_reproduces_the_path(spaces):
    """The steering curvature of each segment, integrated along its signed distance, lands on its poses."""
    sp = spaces["B02"]
    path = parallel_in(Pose2D(sp.entry_xy_m[0] - 2.75, sp.end_xy_m[1] + 2.0, sp.heading_rad), sp, EGO,
                       TURN_RADIUS_M)
    for segment in path.segments:
        x, y, yaw = segment.poses[0]
        for i in range(len(segment.poses) - 1):
            ds = segment.direction * float(np.hypot(*(segment.poses[i + 1, :2] - segment.poses[i, :2])))
            yaw_next = yaw + segment.curvature_1pm[i] * ds
            x += ds * math.cos(0.5 * (yaw + yaw_next))
            y += ds * math.sin(0.5 * (yaw + yaw_next))
            yaw = yaw_next
        assert math.hypot(x - segment.poses[-1, 0], y - segment.poses[-1, 1]) < 0.02
