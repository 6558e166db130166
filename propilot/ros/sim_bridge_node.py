"""Simulator bridge: the embedded simulator driving the stack's nodes over DDS.

`RosBackend` is the `ros` mode of `propilot drive`: it starts the stack's nodes as
separate processes (the same console scripts `ros2 launch` starts), publishes each
step's sensor data and driver inputs stamped with simulation time, and waits for
the command, HMI state and fused objects of that stamp before the world moves on. So ROS mode is
deterministic and computes what lockstep computes. `main()` is the `propilot_sim_bridge`
node for a stack started by `ros2 launch` (parameters `scenario`, `output_dir`).

Publishes: the sensor, vehicle and driver topics of `topics.SUBSCRIBERS`, every sensor topic of
the scenario's rig (`topics.sensor_types`), /clock.
Subscribes: /control/command, /hmi/state, /perception/objects (scored against the ground truth),
/localization/odometry and /localization/lane (scored too), /perception/camera/lane_lines: a step's
camera frames are published first and its lane lines awaited before the rest of the step's inputs,
so the localiser fuses them in the same cycle, as in lockstep.
"""

from __future__ import annotations

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

import os  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import rclpy  # noqa: E402
import yaml  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402

from propilot.core.fusion.rig import Rig, load_rig  # noqa: E402
from propilot.core.settings import ConfigError  # noqa: E402
from propilot.core.types import (  # noqa: E402
    UNMATCHED,
    EgoEstimate,
    HmiState,
    LanePosition,
    SensorKind,
    Track,
    VehicleCommand,
)
from propilot.ros import conversions as conv  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.sim.runner import StepInputs  # noqa: E402
from propilot.sim.scenario import Scenario  # noqa: E402

# node name -> module; the same executables the launch file starts
STACK_NODES = {
    "lane_detection": "propilot.ros.lane_detection_node",
    "localization": "propilot.ros.localization_node",
    "fusion": "propilot.ros.fusion_node",
    "hmi": "propilot.ros.hmi_node",
    "behaviour": "propilot.ros.behaviour_node",
    "control": "propilot.ros.control_node",
    "recorder": "propilot.ros.recorder_node",
}
DISCOVERY_TIMEOUT_S = 60.0
STEP_TIMEOUT_S = 10.0
RECORDER_DRAIN_S = 1.0


def choose_domain_id() -> int:
    """The caller's ROS_DOMAIN_ID if set, else a random one, so parallel runs do not hear each other."""
    if os.environ.get("ROS_DOMAIN_ID"):
        return int(os.environ["ROS_DOMAIN_ID"])
    domain = random.SystemRandom().randint(1, 100)
    os.environ["ROS_DOMAIN_ID"] = str(domain)
    return domain


class SimBridge(Node):
    """Publishes one step's inputs and collects the stack's answer for that stamp."""

    def __init__(self, rig: Rig):
        super().__init__("sim_bridge")
        self.rig = rig
        self.pubs = {name: self.create_publisher(topics.TYPES[name], name, topics.QOS)
                     for name in (topics.GNSS_FIX, topics.GNSS_RTK, topics.DRIVER_INPUT,
                                  topics.DRIVER_MONITOR, topics.VEHICLE_STATUS, topics.IMU,
                                  topics.CAMERA_FRONT_COMPRESSED)}
        self.pubs[topics.CAMERA_FRONT] = self.create_publisher(topics.TYPES[topics.CAMERA_FRONT], topics.CAMERA_FRONT,
                                                               topics.IMAGE_QOS)
        self._image_recorded_s = -float("inf")
        self.localization: tuple[EgoEstimate | None, LanePosition] = (None, UNMATCHED)
        self.lane_lines: set[int] = set()  # stamps of the lane-line frames received
        self.odometry: dict[int, Any] = {}
        self.lanes: dict[int, Any] = {}
        self.create_subscription(topics.TYPES[topics.LANE_LINES], topics.LANE_LINES,
                                 lambda m: self.lane_lines.add(conv.stamp_ns(m.header.stamp)), topics.QOS)
        self.create_subscription(topics.TYPES[topics.ODOMETRY], topics.ODOMETRY,
                                 lambda m: self.odometry.__setitem__(conv.stamp_ns(m.header.stamp), m), topics.QOS)
        self.create_subscription(topics.TYPES[topics.LANE], topics.LANE,
                                 lambda m: self.lanes.__setitem__(conv.stamp_ns(m.header.stamp), m), topics.QOS)
        self.pubs.update({name: self.create_publisher(msg_type, name, topics.QOS)
                          for name, msg_type in topics.sensor_types(rig).items()})
        self.objects: dict[int, Any] = {}
        self.create_subscription(topics.TYPES[topics.OBJECTS], topics.OBJECTS,
                                 lambda m: self.objects.__setitem__(conv.stamp_ns(m.header.stamp), m), topics.QOS)
        self.clock_pub = self.create_publisher(Clock, "/clock", 10)
        self.commands: dict[int, Any] = {}
        self.hmi_states: dict[int, Any] = {}
        self.create_subscription(topics.TYPES[topics.COMMAND], topics.COMMAND,
                                 lambda m: self.commands.__setitem__(conv.stamp_ns(m.header.stamp), m), topics.QOS)
        self.create_subscription(topics.TYPES[topics.HMI_STATE], topics.HMI_STATE,
                                 lambda m: self.hmi_states.__setitem__(conv.stamp_ns(m.header.stamp), m), topics.QOS)

    def wiring_complete(self) -> list[str]:
        """Topics whose publisher or subscribers are not there yet (empty when ready)."""
        missing = []
        for name, subscribers in {**topics.SUBSCRIBERS, **topics.sensor_subscribers(self.rig)}.items():
            if name in self.pubs:
                if self.pubs[name].get_subscription_count() < len(subscribers):
                    missing.append(name)
            elif self.count_publishers(name) < 1 or self.count_subscribers(name) < len(subscribers):
                missing.append(name)
        return missing

    def publish_images(self, inputs: StepInputs) -> list[int]:
        """Camera frames go first: their lane lines must reach the localiser before the cycle's status.
        Returns the stamps whose lane lines to wait for."""
        for image in inputs.images:
            self.pubs[topics.CAMERA_FRONT].publish(conv.image_to_msg(image))
            if image.t_s - self._image_recorded_s >= topics.IMAGE_RECORD_PERIOD_S - 1e-9:
                self._image_recorded_s = image.t_s
                self.pubs[topics.CAMERA_FRONT_COMPRESSED].publish(
                    conv.image_to_compressed(image, topics.IMAGE_JPEG_QUALITY))
        return [conv.stamp_ns(conv.to_time(image.t_s)) for image in inputs.images]

    def publish_inputs(self, inputs: StepInputs) -> None:
        t = inputs.status.t_s
        self.clock_pub.publish(Clock(clock=conv.to_time(t)))
        for sample in inputs.imu:
            self.pubs[topics.IMU].publish(conv.imu_to_msg(sample))
        for fix in inputs.gnss:  # order matters: GNSS and driver inputs before the cycle's status
            navsat, rtk = conv.gnss_to_msgs(fix)
            self.pubs[topics.GNSS_FIX].publish(navsat)
            self.pubs[topics.GNSS_RTK].publish(rtk)
        for event in inputs.driver_inputs:
            self.pubs[topics.DRIVER_INPUT].publish(conv.driver_input_to_msg(event))
        for frame in inputs.detections:
            sensor = self.rig.sensor(frame.sensor_id)
            self.pubs[topics.detections_topic(sensor.kind, sensor.sensor_id)].publish(conv.detections_to_msg(frame))
            if sensor.kind == SensorKind.SONAR:
                self.pubs[topics.range_topic(sensor.sensor_id)].publish(conv.sonar_range_to_msg(frame, sensor))
        self.pubs[topics.DRIVER_MONITOR].publish(conv.monitor_to_msg(inputs.monitor))
        self.pubs[topics.VEHICLE_STATUS].publish(conv.vehicle_status_to_msg(inputs.status))

    def take_answer(self, stamp: int) -> tuple[HmiState, VehicleCommand, tuple[Track, ...]] | None:
        if stamp in self.commands and stamp in self.hmi_states and stamp in self.objects \
                and stamp in self.odometry and stamp in self.lanes:
            command = conv.command_from_msg(self.commands.pop(stamp))
            hmi = conv.hmi_from_msg(self.hmi_states.pop(stamp))
            self.localization = (conv.ego_from_odometry(self.odometry.pop(stamp)),
                                 conv.lane_from_msg(self.lanes.pop(stamp)))
            return hmi, command, conv.tracks_from_msg(self.objects.pop(stamp))
        return None


class RosBackend:
    def __init__(self, scenario: Scenario, node_settings: dict[str, Any], out_dir: Path, launch_stack: bool = True):
        self.domain_id = choose_domain_id()
        self.processes: list[subprocess.Popen] = []
        self.out_dir = out_dir
        rclpy.init()
        self.tracks: tuple[Track, ...] = ()
        self.bridge = SimBridge(scenario.rig or load_rig(scenario.rig_path))
        self.executor = SingleThreadedExecutor()
        self.executor.add_node(self.bridge)
        try:
            if launch_stack:
                self._launch(scenario, node_settings)
            self._wait_for_wiring()
        except BaseException:
            self.close()
            raise

    def _launch(self, scenario: Scenario, node_settings: dict[str, Any]) -> None:
        params = {node: {"ros__parameters": {"map_path": str(scenario.map_path), **node_settings.get(node, {})}}
                  for node in STACK_NODES if node != "recorder"}
        params["recorder"] = {"ros__parameters": {"output": str(self.out_dir / "run.mcap")}}
        for node in ("fusion", "recorder"):
            params[node]["ros__parameters"]["rig_path"] = str(scenario.rig_path)
        params_file = self.out_dir / "params.yaml"
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        env = dict(os.environ, ROS_DOMAIN_ID=str(self.domain_id), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
        log = (self.out_dir / "nodes.log").open("w")
        for module in STACK_NODES.values():
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", module, "--ros-args", "--params-file", str(params_file)],
                env=env, stdout=log, stderr=subprocess.STDOUT))

    def _wait_for_wiring(self) -> None:
        deadline = time.monotonic() + DISCOVERY_TIMEOUT_S
        while missing := self.bridge.wiring_complete():
            self._check_processes()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the stack's nodes did not connect within {DISCOVERY_TIMEOUT_S:.0f} s; "
                                   f"missing: {', '.join(missing)} (see {self.out_dir / 'nodes.log'})")
            self.executor.spin_once(timeout_sec=0.05)

    def _check_processes(self) -> None:
        for process, name in zip(self.processes, STACK_NODES, strict=True):
            if process.poll() is not None:
                raise RuntimeError(f"node {name} exited with code {process.returncode} "
                                   f"(see {self.out_dir / 'nodes.log'})")

    @property
    def localization(self) -> tuple[EgoEstimate | None, LanePosition]:
        return self.bridge.localization

    def step(self, inputs: StepInputs) -> tuple[HmiState, VehicleCommand]:
        awaited = self.bridge.publish_images(inputs)
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while not self.bridge.lane_lines.issuperset(awaited):
            if time.monotonic() > deadline:
                self._check_processes()
                raise RuntimeError(f"no lane lines for t={inputs.status.t_s:.2f} s within {STEP_TIMEOUT_S:.0f} s "
                                   f"(see {self.out_dir / 'nodes.log'})")
            self.executor.spin_once(timeout_sec=0.01)
        self.bridge.lane_lines.difference_update(awaited)
        self.bridge.publish_inputs(inputs)
        stamp = conv.stamp_ns(conv.to_time(inputs.status.t_s))
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while (answer := self.bridge.take_answer(stamp)) is None:
            if time.monotonic() > deadline:
                self._check_processes()
                raise RuntimeError(f"no command for t={inputs.status.t_s:.2f} s within {STEP_TIMEOUT_S:.0f} s "
                                   f"(see {self.out_dir / 'nodes.log'})")
            self.executor.spin_once(timeout_sec=0.01)
        hmi, command, self.tracks = answer
        return hmi, command

    def close(self) -> None:
        if self.processes:
            # Let the recorder take the last cycle's messages before it is asked to stop.
            end = time.monotonic() + RECORDER_DRAIN_S
            while time.monotonic() < end:
                self.executor.spin_once(timeout_sec=0.05)
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=10.0)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes = []
        self.executor.shutdown()
        self.bridge.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()


def main(args: list[str] | None = None) -> int:
    """Run a scenario against a stack started by `ros2 launch propilot propilot.launch.py`."""
    from propilot.sim.runner import run_scenario
    from propilot.sim.scenario import load_scenario

    rclpy.init(args=args)
    probe = Node("sim_bridge_params")
    scenario_path = probe.declare_parameter("scenario", "").value
    output_dir = probe.declare_parameter("output_dir", "out/launch").value
    probe.destroy_node()
    rclpy.shutdown()
    try:
        scenario = load_scenario(scenario_path)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = run_scenario(scenario, Path(output_dir), "ros-external")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
