"""The parking node on real rclpy and DDS: fob packets and sonar ranges in, state and command out;
a refused packet is reported with its reason, a malformed one does not stop the node, and a key
file others can read stops it from starting."""

import math
import os

import pytest
from propilot_msgs.msg import FobCommand, ParkingState

from propilot.core.fusion.rig import load_rig
from propilot.core.parking.fob import sign, write_key
from propilot.core.parking.types import FobCommandKind, FobPacket, Gear, VehicleMotion
from propilot.core.settings import ConfigError
from propilot.core.types import DetectionFrame, SensorKind
from propilot.ros import conversions as conv
from propilot.ros import topics
from propilot.ros.parking_node import ParkingNode
from tests.conftest import REPO
from tests.node.conftest import Probe, add_node

pytestmark = pytest.mark.ros

KEY = bytes(range(32))
RIG_PATH = REPO / "sim" / "rigs" / "default.yaml"
SONARS = [s for s in load_rig(RIG_PATH).sensors if s.kind == SensorKind.SONAR]


def node_params(key_path):
    return {"map_path": str(REPO / "maps" / "parking" / "map.yaml"), "rig_path": str(RIG_PATH),
            "fob.key_path": str(key_path), "fob.vehicle_id": "PP-TEST", "manoeuvre.space": "AN05",
            "manoeuvre.start_x_m": 26.25, "manoeuvre.start_y_m": -1.2, "manoeuvre.start_yaw_deg": 90.0}


def fob_msg(counter, t_s, command):
    return conv.fob_packet_to_msg(FobPacket(t_s, "PP-TEST", counter, command, t_s,
                                            sign(KEY, "PP-TEST", counter, command, t_s), 2.0))


def test_a_start_is_planned_a_replay_refused_and_a_malformed_packet_survived(ros, tmp_path):
    add_node(ros, ParkingNode, **node_params(write_key(tmp_path / "fob.key", KEY)))
    probe = Probe(*ros, listen=[topics.PARKING_STATE])
    ranges = {s.sensor_id: probe.node.create_publisher(topics.sensor_types(load_rig(RIG_PATH))[
        topics.range_topic(s.sensor_id)], topics.range_topic(s.sensor_id), topics.QOS) for s in SONARS}
    probe.wait_for_subscribers(topics.PARKING_FOB, topics.VEHICLE_STATUS)

    def cycle(t_s, *fob):
        for msg in fob:
            probe.publish(topics.PARKING_FOB, msg)
        for s in SONARS:
            ranges[s.sensor_id].publish(conv.sonar_range_to_msg(DetectionFrame(t_s, s.sensor_id, SensorKind.SONAR, ()),
                                                                s))
        probe.publish(topics.VEHICLE_STATUS, conv.parking_motion_to_msg(VehicleMotion(t_s, 0.0, 0.0, Gear.PARK)))

    bad = fob_msg(1, 0.45, FobCommandKind.HOLD)
    bad.timestamp_s = math.nan
    cycle(0.45, bad)
    start = fob_msg(1, 0.5, FobCommandKind.START_IN)
    cycle(0.5, start)
    cycle(0.55, start)  # the same packet again
    states: list[ParkingState] = probe.spin_until(topics.PARKING_STATE, count=3)
    assert [s.state for s in states] == [ParkingState.STATE_IDLE, ParkingState.STATE_READY,
                                         ParkingState.STATE_READY]
    assert states[1].reason == "waiting_for_hold" and states[1].remaining_m > 4.0
    assert list(states[2].fob_rejections) == ["replayed"]


def test_a_key_file_others_can_read_stops_the_node_from_starting(ros, tmp_path):
    key_path = write_key(tmp_path / "fob.key", KEY)
    os.chmod(key_path, 0o644)
    with pytest.raises(ConfigError, match="group or others"):
        add_node(ros, ParkingNode, **node_params(key_path))


def test_fob_packets_survive_the_message_round_trip():
    packet = FobPacket(1.25, "PP-TEST", 7, FobCommandKind.STOP, 1.2, sign(KEY, "PP-TEST", 7, FobCommandKind.STOP, 1.2),
                       3.5)
    assert conv.fob_packet_from_msg(fob_msg(7, 1.25, FobCommandKind.STOP)).mac == sign(
        KEY, "PP-TEST", 7, FobCommandKind.STOP, 1.25)
    assert conv.fob_packet_from_msg(conv.fob_packet_to_msg(packet)) == packet
    assert isinstance(conv.fob_packet_to_msg(packet), FobCommand)
