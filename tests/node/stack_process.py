"""A whole stack under test: `propilot drive --mode ros-realtime` in a subprocess, watched over DDS.

In: a scenario (written to a temporary folder), a ROS domain of its own. Out: the running drive
process, its node processes (found by module name, to kill or restart one), and a watcher node
in the test's own rclpy context that keeps the newest /clock and what arrives on chosen topics.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import rclpy
import yaml
from propilot_msgs.msg import DriverInput as DriverInputMsg
from propilot_msgs.msg import HmiState
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock

from propilot.core.types import DriverEvent, DriverInput
from propilot.ros import topics
from propilot.ros.conversions import driver_input_to_msg, from_time
from propilot.ros.sim_bridge_node import STACK_NODES, node_command
from tests.conftest import REPO

WARM_UP_S = 3.0  # simulated seconds of driving before the test engages (nodes warmed up)
STARTUP_TIMEOUT_S = 240.0  # node start-up on a loaded machine (imports, maps, DDS discovery)


def write_scenario(path: Path, **changes) -> Path:
    """The demo scenario with some fields replaced (a dict value replaces the whole field)."""
    data = yaml.safe_load((REPO / "sim" / "scenarios" / "follow_slower_traffic.yaml").read_text())
    data.update(changes)
    data["map"] = str(REPO / "maps" / "highway_small" / "map.yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


class RunningStack:
    def __init__(self, scenario: Path, out: Path, domain: int, listen: list[str]):
        self.out = out
        self.env = dict(os.environ, ROS_DOMAIN_ID=str(domain), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
        out.mkdir(parents=True, exist_ok=True)
        self.log = out.parent / "drive.log"  # a file, not a pipe: a full pipe would block the simulator
        with self.log.open("w") as log:
            self.drive = subprocess.Popen(
                [sys.executable, "-m", "propilot.cli", "drive", "--scenario", str(scenario), "--out", str(out),
                 "--mode", "ros-realtime", "--quiet"], cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.restarted: list[subprocess.Popen] = []
        self.context = rclpy.Context()
        rclpy.init(context=self.context, domain_id=domain)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.node = Node("watcher", context=self.context)
        self.executor.add_node(self.node)
        self.clock_s = 0.0
        self.node.create_subscription(Clock, "/clock", self._on_clock,
                                      QoSProfile(depth=10, reliability=ReliabilityPolicy.BEST_EFFORT))
        self.received: dict[str, list] = {name: [] for name in listen}
        for name in listen:
            self.node.create_subscription(topics.TYPES[name], name, self.received[name].append, topics.qos(name))

    def _on_clock(self, msg: Clock) -> None:
        self.clock_s = max(self.clock_s, from_time(msg.clock))

    def spin_until(self, condition, timeout_s: float, what: str):
        deadline = time.monotonic() + timeout_s
        while not (result := condition()):
            assert self.drive.poll() is None, f"drive ended early: {self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"{what} not seen within {timeout_s:.0f} s ({self.last_seen()})"
            self.executor.spin_once(timeout_sec=0.02)
        return result

    def engage(self) -> None:
        """The driver presses the main switch once route driving is offered; returns once engaged."""
        self.spin_until(lambda: self.clock_s >= WARM_UP_S and any(m.pilot_state == HmiState.PILOT_AVAILABLE
                                                                  for m in self.received[topics.HMI_STATE][-5:]),
                        STARTUP_TIMEOUT_S, "route driving offered")
        press = self.node.create_publisher(DriverInputMsg, topics.DRIVER_INPUT, topics.qos(topics.DRIVER_INPUT))
        press.publish(driver_input_to_msg(DriverInput(self.clock_s, DriverEvent.MAIN_SWITCH)))
        engaged = (HmiState.PILOT_ENGAGED_HANDS_OFF, HmiState.PILOT_ENGAGED_HANDS_ON)
        self.spin_until(lambda: any(m.pilot_state in engaged for m in self.received[topics.HMI_STATE]), 60.0,
                        "route driving engaged")

    def last_seen(self) -> str:
        """The newest message of each topic listened to, for a failure message."""
        return "; ".join(f"{name}: {msgs[-1] if msgs else None}" for name, msgs in self.received.items()
                         if name != topics.DIAGNOSTICS) + f"; clock {self.clock_s:.2f} s"

    def node_process(self, name: str) -> psutil.Process:
        module = STACK_NODES[name]
        for child in psutil.Process(self.drive.pid).children(recursive=True):
            if module in child.cmdline():
                return child
        raise AssertionError(f"no process of node {name}")

    def restart(self, name: str) -> subprocess.Popen:
        with (self.out.parent / f"{name}.restarted.log").open("w") as log:
            process = subprocess.Popen(node_command(STACK_NODES[name], self.out / "params.yaml"), env=self.env,
                                       stdout=log, stderr=subprocess.STDOUT)
        self.restarted.append(process)
        return process

    def close(self) -> None:
        nodes = psutil.Process(self.drive.pid).children(recursive=True) if self.drive.poll() is None else []
        for process in [*self.restarted, self.drive]:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in [*self.restarted, self.drive]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for node in nodes:  # none may outlive the test and talk into the next one
            if node.is_running():
                node.kill()
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)
