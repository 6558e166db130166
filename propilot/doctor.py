"""`propilot doctor`: inspect a running stack and say what is missing, slow or degraded.

In: the ROS graph of this domain (ROS_DOMAIN_ID), listened to for `timeout_s`: every node's
heartbeat and /diagnostics, the stack's topics (rate from their header stamps against the
nominal rate of `topics.NOMINAL_RATE_HZ`, age of the newest stamp against the clock), the
RTK state, the supervisor's /system/fault and the commands. The clock is simulation time when
someone publishes /clock (the simulator), else the system clock.
Out: one line per check and a verdict; `main` exits 0 only when healthy, 1 when not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

import rclpy  # noqa: E402
from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from propilot_msgs.msg import DetectionArray, RtkStatus, VehicleCommand  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from rosgraph_msgs.msg import Clock  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from propilot.core.types import RtkState  # noqa: E402
from propilot.ros import topics  # noqa: E402
from propilot.ros.conversions import from_time  # noqa: E402

# The nodes a route-driving stack needs (the recorder is optional: reported, never a problem).
EXPECTED_NODES = ("lane_detection", "localization", "fusion", "hmi", "behaviour", "control")
SLOW_SHARE = 0.8  # a topic below 80 % of its nominal rate is slow
STALE_PERIODS = 5.0  # a newest stamp older than this many nominal periods is stale ...
MIN_STALE_S = 0.25  # ... and than 5 control cycles (fast data such as the IMU comes in a burst per cycle)
DISCOVERY_S = 1.0  # DDS discovery before listening
DRAIN_S = 0.5  # after listening: the messages still queued are taken
LEVELS = {0: "OK", 1: "WARN", 2: "ERROR", 3: "STALE"}
COMMAND_MODES = {VehicleCommand.MODE_MANUAL: "MANUAL", VehicleCommand.MODE_ROUTE_PILOT: "ROUTE_PILOT",
                 VehicleCommand.MODE_MINIMAL_RISK: "MINIMAL_RISK", VehicleCommand.MODE_PARKING: "PARKING"}


@dataclass
class Observed:
    """What arrived while listening."""

    stamps: dict[str, list[float]] = field(default_factory=dict)  # topic -> header stamps (s)
    beats: dict[str, int] = field(default_factory=dict)  # node -> heartbeats
    diagnostics: dict[str, Any] = field(default_factory=dict)  # node -> newest DiagnosticStatus
    rtk: RtkStatus | None = None
    faults: DiagnosticArray | None = None
    command: VehicleCommand | None = None


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def ok(self, text: str) -> None:
        self.lines.append(f"  ok        {text}")

    def bad(self, kind: str, text: str) -> None:
        self.lines.append(f"  {kind:<9} {text}")
        self.problems.append(f"{kind.lower()}: {text}")

    @property
    def healthy(self) -> bool:
        return not self.problems


def listen(timeout_s: float) -> tuple[Observed, float, float, bool]:
    """Subscribe to everything the doctor checks; returns (observed, clock now, listened s, simulated clock)."""
    context = rclpy.Context()
    rclpy.init(context=context)
    node = Node("propilot_doctor", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    seen = Observed()
    try:
        clock_s: list[float] = []  # the newest /clock: under a simulator, the stack's time
        node.create_subscription(Clock, "/clock", lambda m: clock_s.append(from_time(m.clock)),
                                 QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
        end = time.monotonic() + DISCOVERY_S
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)

        def on_stamped(name: str):
            return lambda msg: seen.stamps.setdefault(name, []).append(from_time(msg.header.stamp))

        for name, rate in topics.NOMINAL_RATE_HZ.items():
            if rate is not None:
                node.create_subscription(topics.TYPES[name], name, on_stamped(name), topics.qos(name))
        for name, types in node.get_topic_names_and_types():
            if "propilot_msgs/msg/DetectionArray" in types and name not in topics.NOMINAL_RATE_HZ:
                node.create_subscription(DetectionArray, name, on_stamped(name), topics.qos(name))
        node.create_subscription(Header, topics.HEARTBEAT,
                                 lambda m: seen.beats.__setitem__(m.frame_id, seen.beats.get(m.frame_id, 0) + 1),
                                 topics.HEARTBEAT_QOS)

        def on_diagnostics(msg: DiagnosticArray) -> None:
            for status in msg.status:
                seen.diagnostics[status.hardware_id or status.name] = status

        node.create_subscription(DiagnosticArray, topics.DIAGNOSTICS, on_diagnostics, topics.DIAGNOSTICS_QOS)
        node.create_subscription(RtkStatus, topics.GNSS_RTK, lambda m: setattr(seen, "rtk", m),
                                 topics.qos(topics.GNSS_RTK))
        node.create_subscription(DiagnosticArray, topics.SYSTEM_FAULT, lambda m: setattr(seen, "faults", m),
                                 topics.qos(topics.SYSTEM_FAULT))
        node.create_subscription(VehicleCommand, topics.COMMAND, lambda m: setattr(seen, "command", m),
                                 topics.qos(topics.COMMAND))
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            executor.spin_once(timeout_sec=0.05)
        simulated = bool(clock_s)
        now_s = max(clock_s) if simulated else node.get_clock().now().nanoseconds / 1e9
        listened_s = time.monotonic() - start
        # The executor takes one message per subscription per round: drain what is still queued
        # (100 Hz IMU samples last), so the newest stamps are judged, not a backlog.
        end = time.monotonic() + DRAIN_S
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.0)
        return seen, now_s, listened_s, simulated
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)


def judge(seen: Observed, now_s: float, listened_s: float) -> Report:
    """The findings, one per node, topic and state (no ROS here: testable on its own)."""
    report = Report()
    report.lines.append("nodes:")
    for name in EXPECTED_NODES:
        beats, status = seen.beats.get(name, 0), seen.diagnostics.get(name)
        if not beats:
            report.bad("MISSING", f"{name}: no heartbeat")
        elif status is None:
            report.bad("MISSING", f"{name}: heartbeat {beats / listened_s:.0f} Hz but no /diagnostics")
        elif status.level[0] != 0:
            report.bad("DEGRADED", f"{name}: diagnostics {LEVELS.get(status.level[0], '?')}: {status.message}")
        else:
            report.ok(f"{name}: heartbeat {beats / listened_s:.0f} Hz, diagnostics OK")
    if "recorder" in seen.beats:
        report.ok("recorder: running")
    report.lines.append("topics (rate from header stamps):")
    for name in sorted({*(n for n, r in topics.NOMINAL_RATE_HZ.items() if r is not None), *seen.stamps}):
        nominal = topics.NOMINAL_RATE_HZ.get(name)
        stamps = sorted(set(seen.stamps.get(name, [])))
        if not stamps:
            report.bad("MISSING", f"{name}: nothing received")
            continue
        rate = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 and stamps[-1] > stamps[0] else 0.0
        age_s = now_s - stamps[-1]
        if nominal is None:
            if age_s > 1.0:
                report.bad("STALE", f"{name}: newest stamp {age_s:.2f} s old")
            else:
                report.ok(f"{name}: {rate:.1f} Hz")
        elif age_s > max(STALE_PERIODS / nominal, MIN_STALE_S):
            report.bad("STALE", f"{name}: newest stamp {age_s:.2f} s old (nominal {nominal:g} Hz)")
        elif rate < SLOW_SHARE * nominal:
            report.bad("SLOW", f"{name}: {rate:.1f} Hz (nominal {nominal:g} Hz)")
        else:
            report.ok(f"{name}: {rate:.1f} Hz (nominal {nominal:g} Hz)")
    report.lines.append("state:")
    if seen.rtk is None:
        report.bad("MISSING", "GNSS: no RTK status")
    elif seen.rtk.state != RtkState.RTK_FIXED:
        state = RtkState(seen.rtk.state).name if seen.rtk.state in iter(RtkState) else str(seen.rtk.state)
        report.bad("DEGRADED", f"GNSS: {state} (lane-level localisation needs RTK_FIXED)")
    else:
        report.ok("GNSS: RTK_FIXED")
    failed = [s.hardware_id for s in seen.faults.status] if seen.faults is not None else []
    if failed:
        report.bad("DEGRADED", f"supervisor: system fault, {', '.join(failed)} silent")
    elif seen.command is None:
        report.bad("MISSING", "supervisor: no command")
    elif "stale" in seen.command.limited_reason:
        report.bad("DEGRADED", f"supervisor: {seen.command.limited_reason}")
    else:
        report.ok(f"supervisor: no fault, command {COMMAND_MODES.get(seen.command.mode, seen.command.mode)}")
    return report


def main(timeout_s: float) -> int:
    seen, now_s, listened_s, simulated = listen(timeout_s)
    report = judge(seen, now_s, listened_s)
    clock = "simulation time" if simulated else "system time"
    print(f"propilot doctor: listened {listened_s:.1f} s ({clock} {now_s:.2f} s)")
    print("\n".join(report.lines))
    if report.healthy:
        print("verdict: healthy")
        return 0
    print(f"verdict: NOT healthy ({len(report.problems)} problems)")
    return 1
