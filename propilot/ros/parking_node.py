"""Parking node: key-fob packets, sonar ranges and vehicle status -> the parking command and state.

Subscribes /parking/fob (FobCommand) and /sensing/sonar/<id>/range (sensor_msgs/Range, every sonar
of the rig at `rig_path`), both buffered, and /vehicle/status (VehicleStatus: wheel speed, yaw rate,
gear), which triggers one cycle of remote park with every packet and range received up to its stamp.
The buffered topics are subscribed first: when they and a status wait together, the executor takes
them first (the simulator bridge publishes them before the status); a packet or range that comes in
after its cycle's status is used in the next cycle and logged as late.
Publishes /parking/state (ParkingState: state, reason, remaining path, nearest echo, speed, refused
packets) once per cycle, and /control/command (VehicleCommand in MODE_PARKING: acceleration,
curvature, gear, parking brake) once per cycle while remote park is not idle. Refused fob packets
are logged with their reason.
Parameters: `map_path`, `rig_path` and the groups of `stack.NODE_SETTINGS["parking"]`; the fob key is
read from `fob.key_path` (a file only its owner may read).
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from propilot_msgs.msg import FobCommand, ParkingState, VehicleCommand, VehicleStatus  # noqa: E402
from rclpy.node import Node  # noqa: E402
from sensor_msgs.msg import Range  # noqa: E402

from propilot.core.parking.fob import load_key  # noqa: E402
from propilot.core.parking.remote_park import ParkingSettings, RemotePark  # noqa: E402
from propilot.core.parking.types import FobPacket, SonarReading  # noqa: E402
from propilot.core.types import SensorKind  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.conversions import (  # noqa: E402
    fob_packet_from_msg,
    parking_command_to_msg,
    parking_motion_from_msg,
    parking_status_to_msg,
    sonar_reading_from_msg,
)
from propilot.ros.node_common import declare_map, declare_rig, declare_settings, guarded, run_node  # noqa: E402
from propilot.stack import NODE_SETTINGS  # noqa: E402


class ParkingNode(Node):
    def __init__(self, **kwargs):
        super().__init__("parking", **kwargs)
        groups = declare_settings(self, NODE_SETTINGS["parking"])
        settings = ParkingSettings(**groups)
        rig = declare_rig(self)
        sonars = [s for s in rig.sensors if s.kind == SensorKind.SONAR]
        key = load_key(settings.fob.key_path) if settings.fob.key_path else None
        if key is None:
            self.get_logger().error("no fob key configured (fob.key_path): every fob packet will be refused")
        self.park = RemotePark(settings, declare_map(self), sonars, key)
        self.packets: list[FobPacket] = []
        self.readings: list[SonarReading] = []
        self.last_cycle_s = -float("inf")
        self.command_pub = self.create_publisher(VehicleCommand, topics.COMMAND, topics.QOS)
        self.state_pub = self.create_publisher(ParkingState, topics.PARKING_STATE, topics.QOS)
        self.create_subscription(FobCommand, topics.PARKING_FOB, guarded(self, self.on_fob), topics.QOS)
        for sonar in sonars:  # safety input: reliable, like the fob
            self.create_subscription(Range, topics.range_topic(sonar.sensor_id), guarded(self, self.on_range),
                                     topics.QOS)
        self.create_subscription(VehicleStatus, topics.VEHICLE_STATUS, guarded(self, self.on_status), topics.QOS)

    def on_fob(self, msg: FobCommand) -> None:
        packet = fob_packet_from_msg(msg)
        self._check_late("fob packet", packet.received_t_s)
        self.packets.append(packet)

    def on_range(self, msg: Range) -> None:
        reading = sonar_reading_from_msg(msg)
        self._check_late("sonar range", reading.t_s)
        self.readings.append(reading)

    def _check_late(self, what: str, t_s: float) -> None:
        if t_s < self.last_cycle_s - 1e-9:
            self.get_logger().warning(f"{what} of t={t_s:.3f} s came after the cycle of t={self.last_cycle_s:.3f} s",
                                      throttle_duration_sec=1.0)

    def on_status(self, msg: VehicleStatus) -> None:
        motion = parking_motion_from_msg(msg)
        packets = [p for p in self.packets if p.received_t_s <= motion.t_s + 1e-9]
        readings = [r for r in self.readings if r.t_s <= motion.t_s + 1e-9]
        self.packets = [p for p in self.packets if p.received_t_s > motion.t_s + 1e-9]
        self.readings = [r for r in self.readings if r.t_s > motion.t_s + 1e-9]
        self.last_cycle_s = motion.t_s
        out = self.park.step(motion, packets, readings)
        for reason in out.status.fob_rejections:
            self.get_logger().warning(f"fob packet refused: {reason}")
        if out.command.active:  # idle: remote park leaves the car to the driver and the other nodes
            self.command_pub.publish(parking_command_to_msg(out.command))
        self.state_pub.publish(parking_status_to_msg(out.status))


def main(args: list[str] | None = None) -> int:
    return run_node(ParkingNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
