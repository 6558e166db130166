"""Lane lines found by OpenCV in images the simulator renders from the real map (never from the truth)."""

import dataclasses
import math

import numpy as np
import pytest

from propilot.core.perception.camera_model import CameraSettings, PinholeCamera
from propilot.core.perception.lane_detector import LaneDetector, LaneDetectorSettings
from propilot.core.types import CameraImage, LaneLineSide, LaneLineType, Pose2D
from propilot.sim.camera import CameraSimSettings, FrontCamera
from propilot.sim.sensors import TruthVehicle

HALF_LANE_M = 1.75  # highway_small: 3.5 m lanes
OFFSET_TOLERANCE_M = 0.08  # where a line crosses x = 0 (base_link, behind the first road the camera sees)
HEADING_TOLERANCE_RAD = 0.01


@pytest.fixture(scope="module")
def camera(hdmap):
    return FrontCamera(CameraSimSettings(), CameraSettings(), hdmap, np.random.default_rng(3))


@pytest.fixture(scope="module")
def detector():
    return LaneDetector(LaneDetectorSettings(), CameraSettings())


def lane_pose(hdmap, lane_index, ahead_m, offset_m=0.0, yaw_error_rad=0.0):
    """A pose in a main-line lane, offset_m left of its centre, yawed yaw_error_rad left of it."""
    lanelet = next(lid for lid in hdmap.lanelet_ids() if not hdmap.is_ramp(lid) and not hdmap.predecessors(lid)
                   and hdmap.lane_index(lid) == (lane_index, 3))
    x, y, yaw, _ = hdmap.path_ahead(lanelet, ahead_m, 0.0)[0]
    return Pose2D(x - offset_m * math.sin(yaw), y + offset_m * math.cos(yaw), yaw + yaw_error_rad)


def lines_by_side(frame):
    return {line.side: line for line in frame.lines}


@pytest.mark.parametrize("lane_index, left_type, right_type", [
    (0, LaneLineType.SOLID, LaneLineType.DASHED),  # road edge on the left
    (1, LaneLineType.DASHED, LaneLineType.DASHED),
    (2, LaneLineType.DASHED, LaneLineType.SOLID),  # road edge on the right
])
@pytest.mark.parametrize("offset_m, yaw_error_rad", [(0.0, 0.0), (0.4, -0.02), (-0.5, 0.03)])
def test_the_ego_lanes_lines_are_found_where_the_car_is_in_its_lane(hdmap, camera, detector, lane_index, left_type,
                                                                     right_type, offset_m, yaw_error_rad):
    pose = lane_pose(hdmap, lane_index, 400.0, offset_m, yaw_error_rad)
    lines = lines_by_side(detector.detect(camera.render(1.0, pose, [])))
    left, right = lines[LaneLineSide.LEFT], lines[LaneLineSide.RIGHT]
    assert left.c0 == pytest.approx(HALF_LANE_M - offset_m, abs=OFFSET_TOLERANCE_M)
    assert right.c0 == pytest.approx(-HALF_LANE_M - offset_m, abs=OFFSET_TOLERANCE_M)
    # a car yawed to the left sees the lines run to its right
    assert -math.atan(left.c1) == pytest.approx(yaw_error_rad, abs=HEADING_TOLERANCE_RAD)
    assert (left.line_type, right.line_type) == (left_type, right_type)
    assert left.view_range_m > 30.0 and left.confidence > 0.3


def test_lines_in_the_curve_bend_with_it(hdmap, camera, detector):
    """In the 2000 m radius curve (turning left) the lines curve left: c2 = 1 / (2 R) > 0."""
    pose = lane_pose(hdmap, 1, 1300.0)
    lines = detector.detect(camera.render(1.0, pose, [])).lines
    assert len(lines) == 2
    for line in lines:
        assert line.c2 == pytest.approx(1.0 / (2 * 2000.0), abs=1.5e-4)


@pytest.mark.parametrize("exposure", [0.55, 1.3])
def test_dark_and_bright_exposures_find_the_same_lines(hdmap, detector, exposure):
    settings = CameraSimSettings(exposure_min=min(exposure, 1.0), exposure_max=max(exposure, 1.0),
                                 exposure_time_constant_s=1e-3)
    camera = FrontCamera(settings, CameraSettings(), hdmap, np.random.default_rng(5))
    camera._exposure = exposure
    pose = lane_pose(hdmap, 1, 600.0, offset_m=0.2)
    lines = lines_by_side(detector.detect(camera.render(1.0, pose, [])))
    assert lines[LaneLineSide.LEFT].c0 == pytest.approx(HALF_LANE_M - 0.2, abs=OFFSET_TOLERANCE_M)
    assert lines[LaneLineSide.RIGHT].c0 == pytest.approx(-HALF_LANE_M - 0.2, abs=OFFSET_TOLERANCE_M)


def test_a_lead_vehicle_and_a_car_alongside_do_not_move_the_lines(hdmap, camera, detector):
    pose = lane_pose(hdmap, 1, 700.0)
    ahead = lane_pose(hdmap, 1, 720.0)
    beside = lane_pose(hdmap, 0, 712.0)
    others = [TruthVehicle("lead", ahead.x_m, ahead.y_m, ahead.yaw_rad, 20.0),
              TruthVehicle("beside", beside.x_m, beside.y_m, beside.yaw_rad, 25.0)]
    lines = lines_by_side(detector.detect(camera.render(1.0, pose, others)))
    assert lines[LaneLineSide.LEFT].c0 == pytest.approx(HALF_LANE_M, abs=OFFSET_TOLERANCE_M)
    assert lines[LaneLineSide.RIGHT].c0 == pytest.approx(-HALF_LANE_M, abs=OFFSET_TOLERANCE_M)


def test_straddling_a_line_in_a_lane_change_reports_it_on_the_side_it_is(hdmap, camera, detector):
    """Base_link 0.3 m right of the line between lanes 0 and 1: that line is the nearest on the left."""
    pose = lane_pose(hdmap, 1, 500.0, offset_m=HALF_LANE_M - 0.3)
    lines = lines_by_side(detector.detect(camera.render(1.0, pose, [])))
    assert lines[LaneLineSide.LEFT].c0 == pytest.approx(0.3, abs=OFFSET_TOLERANCE_M)


def test_a_blinded_camera_reports_no_lines(hdmap, camera, detector):
    pose = lane_pose(hdmap, 1, 500.0)
    assert detector.detect(camera.render(1.0, pose, [], blinded=True)).lines == ()


def test_an_empty_road_surface_reports_no_lines(detector):
    flat = np.full((CameraSettings().height_px, CameraSettings().width_px), 90, np.uint8)
    noise = np.random.default_rng(1).normal(0.0, 6.0, flat.shape)
    image = CameraImage(0.0, "front", np.clip(flat + noise, 0, 255).astype(np.uint8))
    assert detector.detect(image).lines == ()


def test_an_image_of_another_size_is_refused_with_the_reason(detector):
    with pytest.raises(ValueError, match="calibrated for 480x270"):
        detector.detect(CameraImage(0.0, "front", np.zeros((180, 320), np.uint8)))


def test_the_pinhole_model_puts_a_point_on_the_optical_axis_at_the_image_centre():
    settings = dataclasses.replace(CameraSettings(), pitch_rad=0.0)
    camera = PinholeCamera(settings)
    uv, depth = camera.project(np.array([[settings.mount_x_m + 20.0, settings.mount_y_m, settings.mount_height_m]]))
    assert uv[0] == pytest.approx([camera.cx, camera.cy]) and depth[0] == pytest.approx(20.0)
