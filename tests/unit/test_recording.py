"""MCAP recording: ROS 2 profile, CDR, full schemas; read back with the mcap_ros2 reader."""

from mcap.reader import make_reader
from mcap_ros2.reader import read_ros2_messages

from propilot.core.types import CommandMode, Track, VehicleCommand
from propilot.ros import topics
from propilot.ros.conversions import command_to_msg, stamp_ns, tracks_to_msg
from propilot.ros.recording import McapRecorder


def test_recorded_messages_decode_with_the_standard_reader(tmp_path):
    path = tmp_path / "run.mcap"
    tracks = (Track(3, 10.0, 2.0, 20.0, 0.0, relative_lane=0, lanelet_id=5, gap_m=5.0, relative_speed_mps=-1.0),)
    with McapRecorder(path) as recorder:
        for i in range(3):
            command = command_to_msg(VehicleCommand(i * 0.05, CommandMode.ROUTE_PILOT, accel_mps2=-0.5 * i))
            recorder.write(topics.COMMAND, command, stamp_ns(command.header.stamp))
        objects = tracks_to_msg(0.1, tracks)
        recorder.write(topics.OBJECTS, objects, stamp_ns(objects.header.stamp))

    with path.open("rb") as f:
        summary = make_reader(f).get_summary()
    assert summary.statistics.message_count == 4
    schemas = {s.name: s for s in summary.schemas.values()}
    assert schemas["propilot_msgs/msg/TrackedObjectArray"].encoding == "ros2msg"
    assert b"MSG: propilot_msgs/TrackedObject" in schemas["propilot_msgs/msg/TrackedObjectArray"].data
    assert {c.message_encoding for c in summary.channels.values()} == {"cdr"}

    decoded = list(read_ros2_messages(str(path)))
    accels = [m.ros_msg.accel_mps2 for m in decoded if m.channel.topic == topics.COMMAND]
    assert accels == [0.0, -0.5, -1.0]
    obj = next(m.ros_msg for m in decoded if m.channel.topic == topics.OBJECTS).objects[0]
    assert (obj.id, obj.relative_lane, obj.longitudinal_gap_m) == (3, 0, 5.0)
