"""Malformed messages are refused with MessageError naming the field; valid ones convert unchanged.

Each kind of malformed data of the runtime requirements, on the message it matters most for:
NaN, infinities, out-of-range values, unknown enum values, empty or malformed arrays, wrong frame
ids and time going backwards. And the other side: every valid message the stack itself publishes
converts back to the value it was made from (validation refuses nothing the stack produces).
"""

import copy
import math

import pytest

from propilot.ros import conversions as conv
from tests.fuzz.targets import MESSAGE_BASES, check_conversion


def base(name: str, index: int = 0):
    convert, bases = MESSAGE_BASES[name]
    return convert, copy.deepcopy(bases[index])


def refused(name: str, mutate, index: int = 0) -> conv.MessageError:
    convert, msgs = base(name, index)
    mutate(*msgs)
    with pytest.raises(conv.MessageError) as info:
        convert(*msgs)
    return info.value


@pytest.mark.parametrize("name", sorted(MESSAGE_BASES))
def test_every_valid_message_the_stack_publishes_converts(name):
    convert, bases = MESSAGE_BASES[name]
    for msgs in bases:
        assert check_conversion(convert, msgs) == "accepted"


def test_vehicle_status_round_trip_keeps_every_value():
    convert, (msg,) = base("vehicle_status")
    status = convert(msg)
    assert conv.vehicle_status_from_msg(conv.vehicle_status_to_msg(status)) == status


def test_nan_speed_is_refused_naming_the_field():
    error = refused("vehicle_status", lambda m: setattr(m, "speed_mps", math.nan))
    assert (error.message_type, error.field_name) == ("VehicleStatus", "speed_mps") and "NaN" in error.reason


def test_infinite_imu_rate_is_refused():
    error = refused("imu", lambda m: setattr(m.angular_velocity, "z", math.inf))
    assert error.field_name == "angular_velocity.z"


def test_out_of_range_values_are_refused():
    assert refused("vehicle_status", lambda m: setattr(m, "brake_pedal", 1.5)).field_name == "brake_pedal"
    assert refused("tracks", lambda m: setattr(m.objects[0], "existence_probability", -0.1)).field_name == \
        "objects[0].existence_probability"
    assert refused("gnss", lambda navsat, rtk: setattr(navsat, "latitude", 91.0)).field_name == "latitude"


def test_nan_in_a_trajectory_point_curvature_is_refused():
    error = refused("plan", lambda m: setattr(m.points[2], "curvature_1pm", math.nan))
    assert error.field_name == "points[2].curvature_1pm"


def test_unknown_enum_values_are_refused():
    assert refused("driver_input", lambda m: setattr(m, "event", 200)).field_name == "event"
    assert refused("detections", lambda m: setattr(m.detections[1], "kind", 7)).field_name == "detections[1].kind"
    assert refused("gnss", lambda navsat, rtk: setattr(navsat.status, "status", 5)).field_name == "status.status"


def test_empty_and_malformed_arrays_are_refused():
    assert refused("image", lambda m: setattr(m, "data", b"")).field_name == "data"
    assert refused("compressed_image", lambda m: setattr(m, "data", b"")).field_name == "data"
    assert refused("compressed_image", lambda m: setattr(m, "data", b"\xff\xd8\xff" + bytes(20))).field_name == "data"
    two_lefts = refused("lane_lines", lambda m: setattr(m.lines[1], "side", m.lines[0].side))
    assert two_lefts.field_name == "lines[1].side"


def test_empty_arrays_that_mean_nothing_seen_are_accepted():
    convert, (msg,) = base("detections")
    msg.detections = []
    assert convert(msg).detections == ()


def test_wrong_frame_ids_are_refused():
    assert refused("odometry", lambda m: setattr(m.header, "frame_id", "odom")).field_name == "header.frame_id"
    assert refused("odometry", lambda m: setattr(m, "child_frame_id", "imu")).field_name == "child_frame_id"
    assert refused("plan", lambda m: setattr(m.header, "frame_id", "base_link")).field_name == "header.frame_id"
    assert refused("image", lambda m: setattr(m.header, "frame_id", "lidar_top")).field_name == "header.frame_id"


def test_a_bad_proposal_inside_an_hmi_state_names_its_place():
    error = refused("hmi_state", lambda m: setattr(m.proposals[0], "direction", 0))
    assert error.field_name == "proposals[0].Proposal.direction"


def test_time_going_backwards_on_a_topic_is_refused_and_other_topics_are_independent():
    order = conv.StampOrder()
    order.check("/vehicle/status", conv.header(10.0))
    order.check("/vehicle/status", conv.header(10.0))  # the same cycle again: fine
    order.check("/sensing/imu", conv.header(9.0))
    with pytest.raises(conv.MessageError) as info:
        order.check("/vehicle/status", conv.header(9.95))
    assert (info.value.message_type, info.value.field_name) == ("/vehicle/status", "header.stamp")
    assert "backwards by 0.05" in info.value.reason
    order.check("/vehicle/status", conv.header(10.05))  # the refused stamp did not move the clock back
    order.forget("/vehicle/status")
    order.check("/vehicle/status", conv.header(0.0))  # e.g. a new simulation run


def test_a_stamp_with_nanoseconds_beyond_a_second_is_refused():
    error = refused("vehicle_command", lambda m: setattr(m.header.stamp, "nanosec", 1_500_000_000))
    assert error.field_name == "header.stamp.nanosec"
