"""Object tracker and lane assignment, fed by the simulator's front radar on simple highway scenes."""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np
import pytest

from propilot.core.fusion.lane_assignment import MapLaneAssigner
from propilot.core.fusion.tracker import Tracker, TrackerSettings
from propilot.core.settings import ConfigError, from_mapping
from propilot.core.types import DetectionFrame, EgoEstimate, Pose2D, Track
from propilot.core.vehicle import EGO
from propilot.sim.sensors import RadarModel, RadarSettings, TruthVehicle

RATE_HZ = 20.0
PERIOD_S = 1.0 / RATE_HZ
LANE_WIDTH_M = 3.5
HALF_LENGTHS_M = (EGO.length_m + 4.5) / 2.0
EGO_CENTRE_M = EGO.centre_from_base_m  # the ego pose is base_link (rear axle); gaps start at its centre


@dataclasses.dataclass(frozen=True)
class Car:
    """A car driving east at constant speed: centre at (x0 + speed * t, y)."""

    name: str
    x0_m: float
    y_m: float
    speed_mps: float

    def at(self, t_s: float) -> TruthVehicle:
        return TruthVehicle(self.name, self.x0_m + self.speed_mps * t_s, self.y_m, 0.0, self.speed_mps)


@dataclasses.dataclass
class Step:
    t_s: float
    ego: EgoEstimate
    truth: dict[str, TruthVehicle]
    frame: DetectionFrame
    tracks: tuple[Track, ...]


def drive(cars: list[Car], seconds: float, ego_speed_mps: float = 25.0, tracker: Tracker | None = None,
          seed: int = 7, **radar_overrides) -> tuple[Tracker, list[Step]]:
    """The ego drives east in the middle lane from x = 0; the front radar feeds the tracker every scan."""
    radar = RadarModel("front_radar", RadarSettings(**radar_overrides), np.random.default_rng(seed))
    tracker = tracker or Tracker(TrackerSettings())
    steps = []
    for k in range(round(seconds * RATE_HZ) + 1):
        t = k * PERIOD_S
        pose = Pose2D(ego_speed_mps * t, 0.0, 0.0)
        ego = EgoEstimate(t, pose, ego_speed_mps, 0.0, 0.02)
        truth = {car.name: car.at(t) for car in cars}
        frame = radar.measure(t, pose, ego_speed_mps, list(truth.values()))
        steps.append(Step(t, ego, truth, frame, tracker.update(frame, ego)))
    return tracker, steps


def nearest(track: Track, truth: dict[str, TruthVehicle]) -> str:
    return min(truth, key=lambda name: math.hypot(truth[name].x_m - track.x_m, truth[name].y_m - track.y_m))


def test_following_one_car_for_5_s_gives_one_accurate_confirmed_track():
    lead = Car("lead", 40.0, 0.0, 23.0)

    _, steps = drive([lead], seconds=5.0)

    confirmed_ids = {t.track_id for step in steps for t in step.tracks}
    assert len(confirmed_ids) == 1
    end = steps[-1]
    (track,) = end.tracks
    truth = end.truth["lead"]
    assert math.hypot(track.x_m - truth.x_m, track.y_m - truth.y_m) < 0.5
    assert math.hypot(track.vx_mps - truth.speed_mps, track.vy_mps) < 0.5
    assert track.relative_speed_mps == pytest.approx(-2.0, abs=0.3)
    assert track.gap_m == pytest.approx(truth.x_m - end.ego.pose.x_m - EGO_CENTRE_M - HALF_LENGTHS_M, abs=0.5)
    assert track.relative_lane is None  # no lane assigner
    assert track.existence > 0.5


def test_two_cars_side_by_side_in_adjacent_lanes_keep_their_own_tracks():
    cars = [Car("mine", 50.0, 0.0, 24.0), Car("left", 50.0, LANE_WIDTH_M, 24.0)]

    _, steps = drive(cars, seconds=10.0)

    owner: dict[int, str] = {}
    for step in steps[10:]:  # confirmed after 3 scans
        assert len(step.tracks) == 2
        for track in step.tracks:
            assert owner.setdefault(track.track_id, nearest(track, step.truth)) == nearest(track, step.truth)
    assert sorted(owner.values()) == ["left", "mine"]


def test_track_is_gone_soon_after_the_car_leaves_the_field_of_view():
    settings = TrackerSettings()
    overtaken = Car("overtaken", 30.0, LANE_WIDTH_M, 20.0)  # the ego passes it at 10 m/s

    _, steps = drive([overtaken], seconds=6.0, ego_speed_mps=30.0, tracker=Tracker(settings),
                     clutter_per_scan=0.0)

    last_seen = max(step.t_s for step in steps if step.frame.detections)
    assert last_seen < 5.0  # it did leave the field of view
    assert next(step for step in steps if step.t_s == last_seen).tracks
    deadline = last_seen + settings.delete_after_misses_s + PERIOD_S + 1e-9
    assert all(not step.tracks for step in steps if step.t_s >= deadline)


def test_clutter_alone_never_becomes_a_confirmed_track():
    tracker, steps = drive([], seconds=10.0, clutter_per_scan=2.0)

    assert sum(len(step.frame.detections) for step in steps) > 300
    assert all(not step.tracks for step in steps)
    assert tracker.track_count < 30  # tentative ones die out: about 2 per scan x 5 scans alive


def test_clutter_does_not_disturb_following_a_car():
    _, steps = drive([Car("lead", 60.0, 0.0, 25.0)], seconds=10.0, clutter_per_scan=2.0)

    assert all(len(step.tracks) == 1 for step in steps[10:])
    assert len({t.track_id for step in steps for t in step.tracks}) == 1


def test_a_frame_older_than_the_last_one_is_dropped_and_counted():
    tracker, steps = drive([Car("lead", 40.0, 0.0, 23.0)], seconds=1.0)
    before = steps[-1].tracks
    stale = steps[-3]

    returned = tracker.update(stale.frame, stale.ego)

    assert tracker.dropped_out_of_sequence == 1
    assert returned == before
    ego = steps[-1].ego
    empty_now = DetectionFrame(ego.t_s, "front_radar", stale.frame.kind, ())
    assert tracker.update(empty_now, ego)  # the same time again is in sequence
    assert tracker.dropped_out_of_sequence == 1


def test_a_frame_after_the_last_one_but_before_a_prediction_is_still_fused():
    tracker, steps = drive([Car("lead", 40.0, 0.0, 23.0)], seconds=1.0)
    last = steps[-1]
    tracker.predict_to(last.t_s + 0.2)  # e.g. the planner asked for the tracks at its own cycle

    ego = dataclasses.replace(last.ego, t_s=last.t_s + PERIOD_S)
    frame = DetectionFrame(ego.t_s, "front_radar", last.frame.kind, last.frame.detections)
    tracks = tracker.update(frame, ego)

    assert tracker.dropped_out_of_sequence == 0
    assert len(tracks) == 1


def test_no_more_tracks_than_max_tracks():
    cars = [Car(f"car{lane}", 40.0, LANE_WIDTH_M * (lane - 1), 25.0) for lane in range(3)]

    tracker, steps = drive(cars, seconds=1.0, tracker=Tracker(TrackerSettings(max_tracks=2)),
                           clutter_per_scan=0.0)

    assert tracker.track_count == 2
    assert len(steps[-1].tracks) == 2


class StraightThreeLaneRoad:
    """Fake HD map: three lanes eastwards, 3.5 m wide, centres at y = +3.5 (left), 0, -3.5 (right).

    The right lanelet starts at x = 100 m, so its arc length differs from its station.
    """

    # lanelet id: (index from the left, centre y, start x)
    LANES: ClassVar[dict[int, tuple[int, float, float]]] = {
        11: (0, LANE_WIDTH_M, 0.0), 12: (1, 0.0, 0.0), 13: (2, -LANE_WIDTH_M, 100.0)}

    def locate(self, x_m: float, y_m: float):
        for lanelet_id, (_, centre_y, start_x) in self.LANES.items():
            if abs(y_m - centre_y) <= LANE_WIDTH_M / 2.0 and start_x <= x_m <= 2000.0:
                return lanelet_id, x_m - start_x, y_m - centre_y
        return None

    def station(self, lanelet_id: int, arc_length_m: float) -> float:
        return self.LANES[lanelet_id][2] + arc_length_m

    def lane_index(self, lanelet_id: int) -> tuple[int, int]:
        return self.LANES[lanelet_id][0], 3


def test_lane_assigner_tells_left_same_and_right_lane_and_the_bumper_gap():
    assign = MapLaneAssigner(StraightThreeLaneRoad())
    ego = EgoEstimate(0.0, Pose2D(150.0, 0.2, 0.0), 25.0, 0.0, 0.02)

    assert assign(200.0, 3.4, ego) == (1, 11, pytest.approx(50.0 - EGO_CENTRE_M - HALF_LENGTHS_M))
    assert assign(180.0, -0.3, ego) == (0, 12, pytest.approx(30.0 - EGO_CENTRE_M - HALF_LENGTHS_M))
    assert assign(120.0, -3.6, ego) == (-1, 13, pytest.approx(-30.0 - EGO_CENTRE_M + HALF_LENGTHS_M))
    assert assign(152.0, 3.5, ego)[2] == 0.0  # alongside
    assert assign(200.0, 30.0, ego)[:2] == (None, 0)  # off the road


def test_tracks_carry_their_lane_from_the_map():
    cars = [Car("left", 60.0, LANE_WIDTH_M, 25.0), Car("mine", 40.0, 0.0, 25.0),
            Car("right", 80.0, -LANE_WIDTH_M, 25.0)]
    tracker = Tracker(TrackerSettings(), lane_assigner=MapLaneAssigner(StraightThreeLaneRoad()))

    _, steps = drive(cars, seconds=3.0, tracker=tracker, ego_speed_mps=25.0)

    end = steps[-1]
    lanes = {nearest(t, end.truth): t.relative_lane for t in end.tracks}
    assert lanes == {"left": 1, "mine": 0, "right": -1}
    gaps = {nearest(t, end.truth): t.gap_m for t in end.tracks}
    assert gaps["mine"] == pytest.approx(40.0 - EGO_CENTRE_M - HALF_LENGTHS_M, abs=0.5)


def test_confirm_hits_above_the_window_is_a_config_error():
    with pytest.raises(ConfigError, match="confirm_hits"):
        from_mapping(TrackerSettings, {"confirm_hits": 6, "confirm_window": 5}, "tracker.yaml")
