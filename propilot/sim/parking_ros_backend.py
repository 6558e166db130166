"""ROS parking backend: the parking node (and the recorder) as processes, driven over DDS.

In: each step's vehicle motion, fob packets and sonar frames. Out: the parking command and state the
parking node answers for that stamp. The node runs as its own process (`propilot.ros.parking_node`,
the console script `propilot_parking`), with its parameters in `out_dir/params.yaml`; the recorder
node writes run.mcap. Each step the bridge publishes /clock, the fob packets and the sonar ranges,
then the vehicle status that triggers the cycle (the node subscribes to the status last, so when they
wait together the executor takes the packets and ranges first), and waits for /parking/state of that
stamp (and /control/command unless remote park is idle): ROS mode computes what lockstep computes.
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import rclpy  # noqa: E402
import yaml  # noqa: E402
from propilot_msgs.msg import ParkingState as ParkingStateMsg  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402

from propilot.core.fusion.rig import Rig  # noqa: E402
from propilot.core.parking.types import ParkingCommand, ParkingStatus  # noqa: E402
from propilot.ros import conversions as conv  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.sim_bridge_node import choose_domain_id, stop_stack  # noqa: E402
from propilot.sim.parking_runner import ParkingInputs  # noqa: E402
from propilot.sim.parking_scenario import ParkingScenario  # noqa: E402

NODES = {"parking": "propilot.ros.parking_node", "recorder": "propilot.ros.recorder_node"}
DISCOVERY_TIMEOUT_S = 60.0
STEP_TIMEOUT_S = 10.0


class ParkingBridge(Node):
    def __init__(self, rig: Rig):
        super().__init__("parking_sim_bridge")
        self.rig = rig
        self.clock_pub = self.create_publisher(Clock, "/clock", 10)
        self.fob_pub = self.create_publisher(topics.TYPES[topics.PARKING_FOB], topics.PARKING_FOB, topics.QOS)
        self.range_pubs = {s.sensor_id: self.create_publisher(topics.sensor_types(rig)[topics.range_topic(s.sensor_id)],
                                                              topics.range_topic(s.sensor_id), topics.QOS)
                           for s in rig.sensors}
        self.status_pub = self.create_publisher(topics.TYPES[topics.VEHICLE_STATUS], topics.VEHICLE_STATUS,
                                                topics.QOS)
        self.commands: dict[int, Any] = {}
        self.states: dict[int, Any] = {}
        self.create_subscription(topics.TYPES[topics.COMMAND], topics.COMMAND,
                                 lambda m: self.commands.__setitem__(conv.stamp_ns(m.header.stamp), m), topics.QOS)
        self.create_subscription(topics.TYPES[topics.PARKING_STATE], topics.PARKING_STATE,
                                 lambda m: self.states.__setitem__(conv.stamp_ns(m.header.stamp), m), topics.QOS)

    def missing(self) -> list[str]:
        """Topics whose subscribers or publishers are not matched yet (empty when wired)."""
        wanted = {topics.PARKING_FOB: self.fob_pub, topics.VEHICLE_STATUS: self.status_pub,
                  **{topics.range_topic(i): p for i, p in self.range_pubs.items()}}
        missing = [name for name, pub in wanted.items() if pub.get_subscription_count() < 2]  # parking + recorder
        missing += [name for name in (topics.COMMAND, topics.PARKING_STATE) if self.count_publishers(name) < 1]
        return missing


class ParkingRosBackend:
    def __init__(self, scenario: ParkingScenario, rig: Rig, node_settings: dict[str, Any], out_dir: Path):
        self.domain_id = choose_domain_id()
        self.out_dir = out_dir
        self.rig = rig
        self.processes: list[subprocess.Popen] = []
        rclpy.init()
        self.bridge = ParkingBridge(rig)
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.bridge)
        try:
            self._launch(scenario, node_settings)
            self._wait_for_wiring()
        except BaseException:
            self.close()
            raise

    def _launch(self, scenario: ParkingScenario, node_settings: dict[str, Any]) -> None:
        params = {
            # the nodes run on simulation time (/clock from the bridge), as their inputs are stamped with it
            "parking": {"ros__parameters": {"map_path": str(scenario.map_path), "rig_path": str(scenario.rig_path),
                                            "use_sim_time": True, **node_settings}},
            "recorder": {"ros__parameters": {"output": str(self.out_dir / "run.mcap"),
                                             "rig_path": str(scenario.rig_path), "use_sim_time": True}},
        }
        params_file = self.out_dir / "params.yaml"
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        env = dict(os.environ, ROS_DOMAIN_ID=str(self.domain_id), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
        log = (self.out_dir / "nodes.log").open("w")
        for module in NODES.values():
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", module, "--ros-args", "--params-file", str(params_file)],
                env=env, stdout=log, stderr=subprocess.STDOUT))

    def _wait_for_wiring(self) -> None:
        deadline = time.monotonic() + DISCOVERY_TIMEOUT_S
        while missing := self.bridge.missing():
            self._check_processes()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the parking node did not connect within {DISCOVERY_TIMEOUT_S:.0f} s; "
                                   f"missing: {', '.join(missing)} (see {self.out_dir / 'nodes.log'})")
            self.executor.spin_once(timeout_sec=0.05)

    def _check_processes(self) -> None:
        for process, name in zip(self.processes, NODES, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"node {name} exited with code {process.returncode} "
                                   f"(see {self.out_dir / 'nodes.log'})")

    def step(self, inputs: ParkingInputs) -> tuple[ParkingCommand | None, ParkingStatus]:
        b = self.bridge
        t = inputs.motion.t_s
        b.clock_pub.publish(Clock(clock=conv.to_time(t)))
        for packet in inputs.packets:
            b.fob_pub.publish(conv.fob_packet_to_msg(packet))
        for frame in inputs.sonar:
            b.range_pubs[frame.sensor_id].publish(conv.sonar_range_to_msg(frame, self.rig.sensor(frame.sensor_id)))
        # the status last: published after them, it reaches the node after the cycle's packets and ranges
        b.status_pub.publish(conv.parking_motion_to_msg(inputs.motion))
        stamp = conv.stamp_ns(conv.to_time(t))
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while stamp not in b.states or (b.states[stamp].state != ParkingStateMsg.STATE_IDLE
                                        and stamp not in b.commands):
            if time.monotonic() > deadline:
                self._check_processes()
                raise RuntimeError(f"no parking state and command for t={t:.2f} s within {STEP_TIMEOUT_S:.0f} s "
                                   f"(see {self.out_dir / 'nodes.log'})")
            self.executor.spin_once(timeout_sec=0.01)
        command = b.commands.pop(stamp, None)
        return (None if command is None else conv.parking_command_from_msg(command),
                conv.parking_status_from_msg(b.states.pop(stamp)))

    def close(self) -> None:
        stop_stack(self.executor, self.bridge, self.processes)
        self.processes = []
