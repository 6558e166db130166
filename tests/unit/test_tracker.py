"""Object tracker fed by the whole simulated rig (7 cameras, 5 radars, 12 sonars) on simple highway scenes."""

from __future__ import annotations

import dataclasses
import math
import random
from typing import ClassVar

import numpy as np
import pytest

from propilot.core.fusion.frame_buffer import FrameBuffer
from propilot.core.fusion.lane_assignment import MapLaneAssigner
from propilot.core.fusion.rig import load_rig, rig_from_mapping
from propilot.core.fusion.tracker import Tracker, TrackerSettings
from propilot.core.settings import ConfigError, from_mapping
from propilot.core.types import Detection, DetectionFrame, EgoEstimate, ObjectClass, Pose2D, SensorKind, Track
from propilot.core.vehicle import EGO
from propilot.sim.sensors import SensorSuite, TruthVehicle
from tests.conftest import REPO

STEP_S = 0.05
LANE_WIDTH_M = 3.5
HALF_LENGTHS_M = (EGO.length_m + 4.5) / 2.0
EGO_CENTRE_M = EGO.centre_from_base_m  # the ego pose is base_link (rear axle); gaps start at its centre
RIG = load_rig(REPO / "sim" / "rigs" / "default.yaml")


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
    frames: list[DetectionFrame]
    tracks: tuple[Track, ...]


def drive(cars: list[Car], seconds: float, ego_speed_mps: float = 25.0, tracker: Tracker | None = None,
          rig=RIG, seed: int = 7, blinded=frozenset()) -> tuple[Tracker, list[Step]]:
    """The ego drives east in the middle lane from x = 0; every sensor of the rig feeds the tracker."""
    suite = SensorSuite(rig, seed)
    tracker = tracker or Tracker(TrackerSettings(), rig)
    steps = []
    for k in range(round(seconds / STEP_S) + 1):
        t = k * STEP_S
        pose = Pose2D(ego_speed_mps * t, 0.0, 0.0)
        ego = EgoEstimate(t, pose, ego_speed_mps, 0.0, 0.02)
        truth = {car.name: car.at(t) for car in cars}
        frames = suite.step(t, pose, ego_speed_mps, 0.0, list(truth.values()), blinded=blinded)
        steps.append(Step(t, ego, truth, frames, tracker.fuse(frames, ego)))
    return tracker, steps


def nearest(track: Track, truth: dict[str, TruthVehicle]) -> str:
    return min(truth, key=lambda name: math.hypot(truth[name].x_m - track.x_m, truth[name].y_m - track.y_m))


def quiet_rig(**overrides):
    """The default rig without misses and false detections (and any other setting for every sensor)."""
    import yaml

    data = yaml.safe_load((REPO / "sim" / "rigs" / "default.yaml").read_text())
    for sensor in data["sensors"]:
        sensor.update({"detection_probability": 1.0, "false_alarms_per_scan": 0.0} | overrides)
    return rig_from_mapping(data, "quiet rig")


# --- following, association ---

def test_following_one_car_gives_one_accurate_confirmed_track():
    _, steps = drive([Car("lead", 40.0, 0.0, 23.0)], seconds=5.0)

    assert len({t.track_id for step in steps for t in step.tracks}) == 1
    end = steps[-1]
    (track,) = end.tracks
    truth = end.truth["lead"]
    assert math.hypot(track.x_m - truth.x_m, track.y_m - truth.y_m) < 0.5
    assert math.hypot(track.vx_mps - truth.speed_mps, track.vy_mps) < 0.3
    assert track.relative_speed_mps == pytest.approx(-2.0, abs=0.3)
    assert track.gap_m == pytest.approx(truth.x_m - end.ego.pose.x_m - EGO_CENTRE_M - HALF_LENGTHS_M, abs=0.5)
    assert track.classification == ObjectClass.CAR  # the cameras say so
    assert track.existence > 0.99


def test_two_cars_side_by_side_in_adjacent_lanes_keep_their_own_tracks():
    cars = [Car("mine", 50.0, 0.0, 24.0), Car("left", 50.0, LANE_WIDTH_M, 24.0)]

    _, steps = drive(cars, seconds=8.0)

    owner: dict[int, str] = {}
    for step in steps[10:]:
        assert len(step.tracks) == 2
        for track in step.tracks:
            assert owner.setdefault(track.track_id, nearest(track, step.truth)) == nearest(track, step.truth)
    assert sorted(owner.values()) == ["left", "mine"]


def test_a_car_overtaking_another_in_the_next_lane_does_not_swap_their_tracks():
    cars = [Car("slow", 60.0, LANE_WIDTH_M, 20.0), Car("fast", 30.0, 0.0, 30.0)]

    _, steps = drive(cars, seconds=7.0)  # the fast one passes the slow one at t = 3 s, 3.5 m beside it

    owner: dict[int, str] = {}
    for step in steps[10:]:
        for track in step.tracks:
            assert owner.setdefault(track.track_id, nearest(track, step.truth)) == nearest(track, step.truth)
    assert sorted(set(owner.values())) == ["fast", "slow"]
    assert len(owner) == 2


# --- initiation, deletion ---

def test_a_new_car_is_confirmed_within_a_few_cycles_and_clutter_never_is():
    rig = quiet_rig(false_alarms_per_scan=1.0)
    tracker, steps = drive([Car("lead", 40.0, 0.0, 25.0)], seconds=6.0, rig=rig)

    first_confirmed = next(step.t_s for step in steps if step.tracks)
    assert first_confirmed <= 0.2  # M = 3 hits: several sensors see it at once, delivered 0.05-0.1 s late
    assert all(len(step.tracks) == 1 for step in steps if step.t_s >= first_confirmed)
    clutter = sum(len(f.detections) for step in steps for f in step.frames) - sum(
        1 for step in steps for f in step.frames if f.kind != SensorKind.SONAR and f.detections)
    assert clutter > 500  # there was plenty of it
    assert tracker.track_count < 30  # tentative clutter tracks die out


def test_a_track_is_gone_soon_after_its_car_leaves_every_field_of_view():
    settings = TrackerSettings()
    runaway = Car("runaway", 150.0, 0.0, 45.0)  # beyond the front radar's 200 m after ~2.5 s

    rig = quiet_rig()  # no false detections: every detection is the runaway car's
    _, steps = drive([runaway], seconds=5.0, tracker=Tracker(settings, rig), rig=rig)

    seen = [step.t_s for step in steps if any(f.detections for f in step.frames)]
    last_seen = max(seen)
    assert last_seen < 4.0 and next(step for step in steps if step.t_s == last_seen).tracks
    deadline = last_seen + settings.delete_after_misses_s + 2 * STEP_S + 1e-9
    assert all(not step.tracks for step in steps if step.t_s >= deadline)


def test_no_more_tracks_than_max_tracks():
    cars = [Car(f"car{lane}", 40.0, LANE_WIDTH_M * (lane - 1), 25.0) for lane in range(3)]

    tracker, steps = drive(cars, seconds=1.0, tracker=Tracker(TrackerSettings(max_tracks=2), RIG))

    assert tracker.track_count == 2 and len(steps[-1].tracks) == 2


# --- misses only where a sensor should see the track ---

def radar_frame(sensor_id: str, t_s: float, x_m: float, y_m: float) -> DetectionFrame:
    """One radar detection of a point in base_link (range and azimuth from that radar's mount)."""
    mount = RIG.sensor(sensor_id).mount
    r, az = math.hypot(x_m - mount.x_m, y_m - mount.y_m), math.atan2(y_m - mount.y_m, x_m - mount.x_m)
    return DetectionFrame(t_s, sensor_id, SensorKind.RADAR,
                          (Detection(SensorKind.RADAR, x_m, y_m, r, az, 0.0, 0.3, 0.01, 0.15),))


def still(t_s: float) -> EgoEstimate:
    return EgoEstimate(t_s, Pose2D(0.0, 0.0, 0.0), 0.0, 0.0, 0.02)


def test_empty_frames_of_a_sensor_that_cannot_see_the_track_count_no_miss():
    tracker = Tracker(TrackerSettings(), RIG)
    behind_face = (-40.0, 3.5)  # a car 40 m behind in the left lane: the rear-left radar's business
    for k in range(6):
        tracker.fuse([radar_frame("rear_left", k * STEP_S, *behind_face)], still(k * STEP_S))
    existence = tracker.tracks(still(0.25))[0].existence

    for k in range(6, 9):  # the front radar keeps reporting nothing
        tracks = tracker.fuse([DetectionFrame(k * STEP_S, "front", SensorKind.RADAR, ())], still(k * STEP_S))
    assert len(tracks) == 1 and tracks[0].existence == pytest.approx(existence)

    for k in range(9, 14):  # the rear-left radar itself now reports nothing: misses
        tracks = tracker.fuse([DetectionFrame(k * STEP_S, "rear_left", SensorKind.RADAR, ())], still(k * STEP_S))
    assert tracks[0].existence < 0.1
    for k in range(14, 17):  # 0.55 s after its last detection the track is gone
        tracks = tracker.fuse([DetectionFrame(k * STEP_S, "rear_left", SensorKind.RADAR, ())], still(k * STEP_S))
    assert not tracks


def test_a_track_hidden_behind_a_nearer_one_counts_no_miss():
    def run(far_y_m: float) -> float:
        tracker = Tracker(TrackerSettings(), RIG)
        for k in range(6):
            tracker.fuse([radar_frame("front", k * STEP_S, 30.0, 0.0),
                          radar_frame("front_left", k * STEP_S, 60.0, far_y_m)], still(k * STEP_S))
        for k in range(6, 8):  # the front radar sees only the near car
            tracker.fuse([radar_frame("front", k * STEP_S, 30.0, 0.0)], still(k * STEP_S))
        far = [t for t in tracker.tracks(still(0.35)) if t.x_m > 50.0]
        return far[0].existence if far else 0.0

    assert run(far_y_m=0.0) > 0.99  # in line behind the near car: the front radar could not see it
    assert run(far_y_m=7.0) < 0.1  # two lanes over, in plain view: two misses


def test_a_blinded_camera_does_not_delete_a_car_the_radar_still_sees():
    far_ahead = Car("far", 150.0, LANE_WIDTH_M, 25.0)  # only the front radar and the narrow camera reach it

    _, steps = drive([far_ahead], seconds=6.0, blinded={"front_narrow"})

    assert all(len(step.tracks) == 1 for step in steps[20:])
    assert min(step.tracks[0].existence for step in steps[20:]) > 0.5


# --- time order ---

def test_frames_are_fused_by_their_timestamp_whatever_order_they_arrive_in():
    _, steps = drive([Car("lead", 40.0, 0.0, 23.0), Car("left", 20.0, LANE_WIDTH_M, 27.0)], seconds=2.0)
    in_order, shuffled = Tracker(TrackerSettings(), RIG), Tracker(TrackerSettings(), RIG)
    shuffle = random.Random(3).shuffle
    for step in steps:
        frames = list(step.frames)
        shuffle(frames)
        expected, got = in_order.fuse(step.frames, step.ego), shuffled.fuse(frames, step.ego)
        assert got == expected


def test_a_late_frame_is_fused_and_a_too_old_one_is_dropped_and_counted():
    tracker = Tracker(TrackerSettings(), RIG)
    for k in range(10):
        tracker.fuse([radar_frame("front", k * STEP_S, 40.0, 0.0)], still(k * STEP_S))
    late = radar_frame("front_left", 9 * STEP_S - 0.2, 40.0, 0.0)  # measured 0.2 s before the newest frame
    tracker.fuse([late], still(9 * STEP_S))
    assert tracker.dropped_out_of_sequence == 0

    too_old = radar_frame("front_left", 9 * STEP_S - TrackerSettings().max_frame_age_s - 0.1, 40.0, 0.0)
    tracker.fuse([too_old], still(9 * STEP_S))
    assert tracker.dropped_out_of_sequence == 1
    assert len(tracker.tracks(still(9 * STEP_S))) == 1


def test_a_frame_is_fused_in_the_cycle_after_it_was_due_whenever_it_arrived():
    radar_due_0_10 = radar_frame("front", 0.05, 40.0, 0.0)  # 50 ms latency: due at 0.10 s
    camera_due_0_15 = DetectionFrame(0.05, "front_wide", SensorKind.CAMERA, ())  # 100 ms: due at 0.15 s
    on_time, late = FrameBuffer(RIG), FrameBuffer(RIG)

    assert on_time.due([radar_due_0_10, camera_due_0_15], 0.10) == []  # due now: waits a cycle
    assert late.due([], 0.10) == []  # (the message reached the node after this cycle ran)
    assert on_time.due([], 0.15) == [radar_due_0_10]
    assert late.due([radar_due_0_10, camera_due_0_15], 0.15) == [radar_due_0_10]  # the same
    assert on_time.due([], 0.20) == late.due([], 0.20) == [camera_due_0_15]


def test_a_frame_from_a_sensor_the_rig_does_not_know_is_dropped_and_counted():
    tracker = Tracker(TrackerSettings(), RIG)
    frame = DetectionFrame(0.0, "roof_lidar", SensorKind.RADAR, radar_frame("front", 0.0, 30.0, 0.0).detections)

    assert tracker.fuse([frame], still(0.0)) == ()
    assert tracker.dropped_unknown_sensor == 1 and tracker.track_count == 0


# --- motion models ---

@pytest.mark.parametrize("model", ["cv", "ctrv"])
def test_both_motion_models_follow_a_car_on_a_bend(model):
    radius, speed = 300.0, 25.0
    tracker = Tracker(TrackerSettings(motion_model=model), RIG)
    suite = SensorSuite(RIG, 1)
    errors = []
    for k in range(round(6.0 / STEP_S)):
        t = k * STEP_S
        heading = speed * t / radius
        car = TruthVehicle("bend", 40.0 + radius * math.sin(heading), radius * (1.0 - math.cos(heading)),
                           heading, speed)
        frames = suite.step(t, Pose2D(0.0, 0.0, 0.0), 0.0, 0.0, [car])
        tracks = tracker.fuse(frames, still(t))
        if t > 2.0:
            (track,) = tracks
            errors.append(math.hypot(track.x_m - car.x_m, track.y_m - car.y_m))
    assert max(errors) < 1.0
    if model == "ctrv":
        assert tracker._x[0, 4] == pytest.approx(speed / radius, abs=0.03)  # yaw rate of the turn


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="confirm_hits"):
        from_mapping(TrackerSettings, {"confirm_hits": 6, "confirm_window": 5}, "tracker.yaml")
    with pytest.raises(ConfigError, match="motion_model"):
        from_mapping(TrackerSettings, {"motion_model": "bicycle"}, "tracker.yaml")


# --- lane assignment ---

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
            Car("right", 80.0, -LANE_WIDTH_M, 25.0), Car("behind_left", -60.0, LANE_WIDTH_M, 30.0)]
    tracker = Tracker(TrackerSettings(), RIG, lane_assigner=MapLaneAssigner(StraightThreeLaneRoad()))

    _, steps = drive(cars, seconds=3.0, tracker=tracker)

    end = steps[-1]
    lanes = {nearest(t, end.truth): t.relative_lane for t in end.tracks}
    assert lanes == {"left": 1, "mine": 0, "right": -1, "behind_left": 1}
    gaps = {nearest(t, end.truth): t.gap_m for t in end.tracks}
    assert gaps["mine"] == pytest.approx(40.0 - EGO_CENTRE_M - HALF_LENGTHS_M, abs=0.5)
    assert gaps["behind_left"] == pytest.approx(-60.0 + 15.0 - EGO_CENTRE_M + HALF_LENGTHS_M, abs=1.0)


# --- on the real map: the 2 km-radius curve of highway_small ---

def main_line_point(hdmap, lane_index: int, station_m: float) -> tuple[float, float, float]:
    """(x, y, heading) of a lane's centreline at a station of the main carriageway."""
    for lanelet_id in hdmap.lanelet_ids():
        if hdmap.is_ramp(lanelet_id) or hdmap.lane_index(lanelet_id)[0] != lane_index:
            continue
        start, end = hdmap.station_range(lanelet_id)
        if start <= station_m <= end:
            line = hdmap.centerline(lanelet_id)
            s = np.concatenate(([0.0], np.cumsum(np.hypot(*np.diff(line, axis=0).T))))
            arc = hdmap.arc_length_at_station(lanelet_id, station_m)
            x, y = np.interp(arc, s, line[:, 0]), np.interp(arc, s, line[:, 1])
            i = min(np.searchsorted(s, arc), len(s) - 1)
            dx, dy = line[i] - line[max(i - 1, 0)]
            return float(x), float(y), math.atan2(dy, dx)
    raise AssertionError(f"no lane {lane_index} at station {station_m}")


CURVE_STATION_M = 1300.0  # inside the 2 km-radius arc (stations 950-1450)


@pytest.mark.parametrize(("lane", "relative_lane"), [(0, 1), (2, -1)])
def test_on_the_left_hand_curve_cars_100_m_behind_are_in_the_lanes_the_map_says(hdmap, lane, relative_lane):
    ex, ey, eyaw = main_line_point(hdmap, 1, CURVE_STATION_M)
    cx, cy, _ = main_line_point(hdmap, lane, CURVE_STATION_M - 100.0)
    ego = EgoEstimate(0.0, Pose2D(ex, ey, eyaw), 25.0, 0.0, 0.02)

    got_lane, lanelet_id, gap = MapLaneAssigner(hdmap)(cx, cy, ego)

    assert got_lane == relative_lane and hdmap.lane_index(lanelet_id)[0] == lane
    assert gap == pytest.approx(-100.0 - EGO_CENTRE_M + HALF_LENGTHS_M, abs=1.0)
    # what makes the map necessary: the road bends left, so 100 m behind it lies 2.5 m left of the
    # ego's heading line; counting lanes across that line would be one lane off
    lateral = -(cx - ex) * math.sin(eyaw) + (cy - ey) * math.cos(eyaw)
    assert round(lateral / LANE_WIDTH_M) != relative_lane


def test_on_the_curve_a_fast_car_from_behind_is_tracked_in_the_left_lane_from_beyond_80_m(hdmap):
    ego_speed, car_speed = 25.0, 40.0
    suite = SensorSuite(RIG, 5)
    tracker = Tracker(TrackerSettings(), RIG, MapLaneAssigner(hdmap))
    first_right_lane_distance = None
    for k in range(round(3.0 / STEP_S)):
        t = k * STEP_S
        ex, ey, eyaw = main_line_point(hdmap, 1, CURVE_STATION_M - 100.0 + ego_speed * t)
        cx, cy, cyaw = main_line_point(hdmap, 0, CURVE_STATION_M - 100.0 - 110.0 + car_speed * t)
        car = TruthVehicle("fast", cx, cy, cyaw, car_speed)
        ego = EgoEstimate(t, Pose2D(ex, ey, eyaw), ego_speed, ego_speed / 2000.0, 0.02)
        tracks = tracker.fuse(suite.step(t, ego.pose, ego_speed, ego.yaw_rate_rps, [car]), ego)
        for track in tracks:
            if first_right_lane_distance is None and track.relative_lane == 1 and track.gap_m < 0:
                first_right_lane_distance = math.hypot(cx - ex, cy - ey)
    assert first_right_lane_distance is not None and first_right_lane_distance >= 80.0
    (track,) = tracks
    assert track.relative_lane == 1
    assert track.relative_speed_mps == pytest.approx(car_speed - ego_speed, abs=1.0)
