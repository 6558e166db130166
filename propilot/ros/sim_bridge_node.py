"""Simulator bridge: the embedded simulator driving the stack's nodes over DDS.

`RosBackend` is the `ros` mode of `propilot drive`: it starts the stack's nodes as
separate processes (the same console scripts `ros2 launch` starts), publishes each
step's sensor data and driver inputs stamped with simulation time, and waits for
the command, HMI state and fused objects of that stamp before the world moves on. So ROS mode is
deterministic and computes what lockstep computes. With `realtime=True` (mode `ros-realtime`)
the bridge instead paces the simulation at real time, as a vehicle would: it publishes each
step's data at its time, applies the newest command it has, and records the latency from each
step's sensor data to the command of that stamp; it waits for the stack (at most HOLD_MAX_S a
step) only when the stack's newest command is more than a step old, so a machine too busy for
real time slows the world down instead of leaving the stack behind (held steps are counted). The stack's
nodes run on simulation time (`use_sim_time`, /clock from the bridge: each step, and at 100 Hz
in between when paced). `main()` is the `propilot_sim_bridge` node for a stack started by
`ros2 launch` (parameters `scenario`, `output_dir`).

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

import json  # noqa: E402
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
    CommandMode,
    EgoEstimate,
    HmiState,
    LanePosition,
    PilotState,
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
DISCOVERY_TIMEOUT_S = 180.0  # node start-up imports and loads maps: slow on a busy 2-core machine
STEP_TIMEOUT_S = 10.0
RECORDER_DRAIN_S = 1.0
CLOCK_PERIOD_S = 0.01  # /clock between steps when paced at real time
HOLD_LAG_S = 0.05  # paced: the world holds while the stack's newest command is older than one step ...
HOLD_MAX_S = 0.5  # ... for at most this long per step (a node that is down answers nothing)
IMAGE_GIVE_UP_S = 0.5  # paced: lane lines not back this long after their frame are not waited for


def node_command(module: str, params_file: Path) -> list[str]:
    """The command line that starts one node of the stack (what a restart after a crash runs again)."""
    return [sys.executable, "-m", module, "--ros-args", "--params-file", str(params_file)]


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
        self.pubs = {name: self.create_publisher(topics.TYPES[name], name, topics.qos(name, publisher=True))
                     for name in (topics.GNSS_FIX, topics.GNSS_RTK, topics.DRIVER_INPUT,
                                  topics.DRIVER_MONITOR, topics.VEHICLE_STATUS, topics.IMU,
                                  topics.CAMERA_FRONT_COMPRESSED, topics.CAMERA_FRONT)}
        self._image_recorded_s = -float("inf")
        self.localization: tuple[EgoEstimate | None, LanePosition] = (None, UNMATCHED)
        self.tracks: tuple[Track, ...] = ()
        self.lane_lines: set[int] = set()  # stamps of the lane-line frames received
        self.odometry: dict[int, Any] = {}
        self.lanes: dict[int, Any] = {}
        self.create_subscription(topics.TYPES[topics.LANE_LINES], topics.LANE_LINES,
                                 lambda m: self.lane_lines.add(conv.stamp_ns(m.header.stamp)), topics.QOS)
        self.create_subscription(topics.TYPES[topics.ODOMETRY], topics.ODOMETRY,
                                 lambda m: self.odometry.__setitem__(conv.stamp_ns(m.header.stamp), m), topics.QOS)
        self.create_subscription(topics.TYPES[topics.LANE], topics.LANE,
                                 lambda m: self.lanes.__setitem__(conv.stamp_ns(m.header.stamp), m), topics.QOS)
        self.pubs.update({name: self.create_publisher(msg_type, name, topics.qos(name, publisher=True))
                          for name, msg_type in topics.sensor_types(rig).items()})
        self.objects: dict[int, Any] = {}
        self.create_subscription(topics.TYPES[topics.OBJECTS], topics.OBJECTS,
                                 lambda m: self.objects.__setitem__(conv.stamp_ns(m.header.stamp), m), topics.QOS)
        self.clock_pub = self.create_publisher(Clock, "/clock", 10)
        self.commands: dict[int, Any] = {}
        self.hmi_states: dict[int, Any] = {}
        self.published_wall_s: dict[int, float] = {}  # paced: when each step's data went out
        self.newest_command_s = -float("inf")
        self.awaited_images: set[int] = set()  # paced: camera frames whose lane lines have not come
        self.latencies_s: list[tuple[float, float]] = []  # paced: (stamp, step data out -> its command in)
        self.create_subscription(topics.TYPES[topics.COMMAND], topics.COMMAND, self.on_command, topics.QOS)
        self.create_subscription(topics.TYPES[topics.HMI_STATE], topics.HMI_STATE,
                                 lambda m: self.hmi_states.__setitem__(conv.stamp_ns(m.header.stamp), m), topics.QOS)

    def on_command(self, msg: Any) -> None:
        stamp = conv.stamp_ns(msg.header.stamp)
        sent_s = self.published_wall_s.pop(stamp, None)
        if sent_s is not None:
            self.latencies_s.append((conv.from_time(msg.header.stamp), time.monotonic() - sent_s))
        self.commands[stamp] = msg
        self.newest_command_s = max(self.newest_command_s, conv.from_time(msg.header.stamp))

    def behind(self, t_s: float) -> bool:
        """Paced: the stack has not answered up to t_s yet (no command of that stamp or later, or a
        camera frame of then still without its lane lines)."""
        limit = conv.stamp_ns(conv.to_time(t_s))
        given_up = limit - int(IMAGE_GIVE_UP_S * 1e9)  # lane detection down: stop waiting for those
        self.awaited_images = {s for s in self.awaited_images - self.lane_lines if s > given_up}
        self.lane_lines.clear()
        return self.newest_command_s < t_s - 1e-6 or any(stamp <= limit for stamp in self.awaited_images)

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
        self.published_wall_s[conv.stamp_ns(conv.to_time(t))] = time.monotonic()

    def take_newest(self) -> tuple[HmiState | None, VehicleCommand | None]:
        """Paced: the newest HMI state and command (older ones dropped), and the newest estimates."""
        newest = {}
        for name, received in (("hmi", self.hmi_states), ("command", self.commands), ("objects", self.objects),
                               ("odometry", self.odometry), ("lane", self.lanes)):
            if received:
                newest[name] = received[max(received)]
                received.clear()
        if "objects" in newest:
            self.tracks = conv.tracks_from_msg(newest["objects"])
        if "odometry" in newest or "lane" in newest:
            ego, lane = self.localization
            self.localization = (conv.ego_from_odometry(newest["odometry"]) if "odometry" in newest else ego,
                                 conv.lane_from_msg(newest["lane"]) if "lane" in newest else lane)
        for stamp in [s for s in self.published_wall_s if s < max(self.published_wall_s, default=0) - 10**10]:
            del self.published_wall_s[stamp]  # never answered (a node was down): forget after 10 s
        return (conv.hmi_from_msg(newest["hmi"]) if "hmi" in newest else None,
                conv.command_from_msg(newest["command"]) if "command" in newest else None)

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
    def __init__(self, scenario: Scenario, node_settings: dict[str, Any], out_dir: Path, launch_stack: bool = True,
                 realtime: bool = False):
        self.domain_id = choose_domain_id()
        self.processes: list[subprocess.Popen] = []
        self.out_dir = out_dir
        self.realtime = realtime
        self.step_s = scenario.step_s
        self._wall_zero_s: float | None = None  # paced: wall time of simulation time 0
        self._hmi = HmiState(0.0, PilotState.UNAVAILABLE)
        self._command = VehicleCommand(0.0, CommandMode.MANUAL)
        self._steps_published = self._steps_late = 0  # paced: steps, and those published after their time
        self._steps_held = 0  # paced: steps the world waited for the stack
        rclpy.init()
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
        params = {node: {"ros__parameters": {"map_path": str(scenario.map_path), "use_sim_time": True,
                                             **node_settings.get(node, {})}}
                  for node in STACK_NODES if node != "recorder"}
        params["recorder"] = {"ros__parameters": {"output": str(self.out_dir / "run.mcap"), "use_sim_time": True}}
        for node in ("fusion", "recorder"):
            params[node]["ros__parameters"]["rig_path"] = str(scenario.rig_path)
        params_file = self.out_dir / "params.yaml"
        params_file.write_text(yaml.safe_dump(params, sort_keys=False))
        env = dict(os.environ, ROS_DOMAIN_ID=str(self.domain_id), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
        log = (self.out_dir / "nodes.log").open("w")
        for module in STACK_NODES.values():
            self.processes.append(subprocess.Popen(node_command(module, params_file), env=env, stdout=log,
                                                   stderr=subprocess.STDOUT))

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

    @property
    def tracks(self) -> tuple[Track, ...]:
        return self.bridge.tracks

    def step(self, inputs: StepInputs) -> tuple[HmiState, VehicleCommand]:
        if self.realtime:
            return self._step_paced(inputs)
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
        hmi, command, self.bridge.tracks = answer
        return hmi, command

    def _step_paced(self, inputs: StepInputs) -> tuple[HmiState, VehicleCommand]:
        """Publish the step's data at its time, run until the next step's time, take the newest answer."""
        t_s = inputs.status.t_s
        if self._wall_zero_s is None:
            self._wall_zero_s = time.monotonic() - t_s
        while (ahead_s := self._wall_zero_s + t_s - time.monotonic()) > 0.0:  # the step's time has not come
            self.executor.spin_once(timeout_sec=min(ahead_s, CLOCK_PERIOD_S))
        self._steps_published += 1
        self._steps_late += ahead_s < -0.01  # the simulator itself fell behind real time by over 10 ms
        if ahead_s < -self.step_s:  # more than a step behind: slip instead of bursting steps to catch up
            self._wall_zero_s -= ahead_s
        self.bridge.awaited_images.update(self.bridge.publish_images(inputs))
        self.bridge.publish_inputs(inputs)
        start_s, end_s = self._wall_zero_s + t_s, self._wall_zero_s + t_s + self.step_s
        clock_at_s = time.monotonic() + CLOCK_PERIOD_S
        while (now_s := time.monotonic()) < end_s:
            self.executor.spin_once(timeout_sec=max(0.0, min(end_s, clock_at_s) - now_s))
            if time.monotonic() >= clock_at_s:  # the nodes' clock moves on between steps too
                clock_at_s += CLOCK_PERIOD_S
                elapsed_s = min(time.monotonic() - start_s, self.step_s - 1e-4)
                self.bridge.clock_pub.publish(Clock(clock=conv.to_time(t_s + elapsed_s)))
        # The world does not run more than HOLD_LAG_S ahead of the stack: on a machine too busy for real
        # time the simulation slows down (counted as held steps) instead of the stack falling behind.
        hold_until_s = time.monotonic() + HOLD_MAX_S
        held = False
        while self.bridge.behind(t_s - HOLD_LAG_S) and time.monotonic() < hold_until_s:
            held = True
            self.executor.spin_once(timeout_sec=0.005)
        if held:
            self._steps_held += 1
            self._wall_zero_s += max(0.0, time.monotonic() - end_s)
        hmi, command = self.bridge.take_newest()
        self._hmi = hmi or self._hmi
        if command is not None:
            self._command = command
        return self._hmi, self._command


    def close(self) -> None:
        if self.realtime:  # for benchmarks/ros_latency.py: sensor data out -> the command of its stamp in
            (self.out_dir / "latency.json").write_text(json.dumps(
                {"stamp_s": [round(t, 3) for t, _ in self.bridge.latencies_s],
                 "latency_s": [round(dt, 6) for _, dt in self.bridge.latencies_s],
                 "steps_published": self._steps_published, "steps_late": self._steps_late,
                 "steps_held": self._steps_held}))
        stop_stack(self.executor, self.bridge, self.processes)
        self.processes = []


def stop_stack(executor, bridge: Node, processes: list[subprocess.Popen]) -> None:
    """Let the recorder take the last cycle's messages, stop the node processes (SIGINT, then kill
    after 10 s), and shut the bridge's rclpy down."""
    if processes:
        end = time.monotonic() + RECORDER_DRAIN_S
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            process.kill()
    executor.shutdown()
    bridge.destroy_node()
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
