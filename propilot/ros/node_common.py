"""What every node shares: settings as ROS parameters, stamp synchronisation, guarded callbacks, health.

In: a node and the parameter groups of its core components (`stack.NODE_SETTINGS`).
Out: validated settings (ROS parameters `group.name`, each with its description,
unit and bounds), callbacks that survive one bad message, exact-stamp
synchronisation of several topics (what lets ROS mode compute exactly what
lockstep mode computes), and the node's health (`NodeHealth`): a heartbeat at 20 Hz
and /diagnostics (status, input rates, age of the last input by its stamp, rejected
messages with the last reason), published each second and at once on a rejection.
"""

from __future__ import annotations

import sys
import time
import traceback
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.event_handler import PublisherEventCallbacks
from rclpy.node import Node
from rclpy.publisher import Publisher
from std_msgs.msg import Header

from propilot.core.fusion.rig import Rig, load_rig
from propilot.core.map.hdmap import HDMap, MapError, load_map
from propilot.core.settings import ConfigError, groups_from_mapping, spec
from propilot.ros import topics
from propilot.ros.conversions import MessageError, StampOrder, stamp_ns

DIAGNOSTICS_PERIOD_S = 1.0
REJECTION_REPORT_PERIOD_S = 0.1  # a flood of bad messages gives at most 10 diagnostics per second
RATE_WINDOW_S = 2.0  # input rates are counted over this much of the node clock
STALE_AFTER_PERIODS = 5.0  # an input whose last stamp is this many nominal periods old is stale ...
MIN_STALE_S = 0.25  # ... and 5 control cycles old (fast data such as the IMU comes in a burst per cycle)
RECENT_REJECTIONS_S = 10.0  # rejections make the status WARN for this long
DROP_OLDER_THAN_S = 1.0  # a periodic input older than this on arrival is refused, not acted on
OK, WARN, ERROR, STALE = (level[0] for level in (DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR,
                                                  DiagnosticStatus.STALE))
# Topics every node publishes on: their stamps come from many clocks, so no order is checked.
MANY_PUBLISHERS = frozenset({topics.HEARTBEAT, topics.DIAGNOSTICS})
LEVEL_NAMES = {OK: "OK", WARN: "WARN", ERROR: "ERROR", STALE: "STALE"}
_SEVERITY = {OK: 0, WARN: 1, STALE: 2, ERROR: 3}


def worse(a: int, b: int) -> int:
    """The more severe of two diagnostic levels (ERROR > STALE > WARN > OK)."""
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def declare_settings(node: Node, groups: dict[str, type]) -> dict[str, Any]:
    """Declare one ROS parameter per setting and return the validated settings groups."""
    values: dict[str, dict[str, Any]] = {}
    for group, cls in groups.items():
        values[group] = {}
        for info in spec(cls):
            text = f"{info.description} ({info.unit or 'no unit'}) {info.bounds}".rstrip()
            if info.source:
                text += f"; source: {info.source}"
            descriptor = ParameterDescriptor(description=text, read_only=True)
            param = node.declare_parameter(f"{group}.{info.name}", info.default, descriptor)
            values[group][info.name] = param.value
    return groups_from_mapping(groups, values, f"node {node.get_name()} parameters")


def declare_map(node: Node) -> HDMap:
    path = node.declare_parameter("map_path", "", ParameterDescriptor(
        description="map.yaml of the HD map (Lanelet2 + metadata)", read_only=True)).value
    if not path:
        raise ConfigError(f"node {node.get_name()} parameters", "map_path", "missing")
    return load_map(path)


def declare_rig(node: Node, required: bool = True) -> Rig | None:
    """The sensor rig named by the `rig_path` parameter (None when not required and not given)."""
    path = node.declare_parameter("rig_path", "", ParameterDescriptor(
        description="sensor rig YAML: mounts, fields of view, noise of every sensor", read_only=True)).value
    if not path:
        if not required:
            return None
        raise ConfigError(f"node {node.get_name()} parameters", "rig_path", "missing")
    return load_rig(path)


@dataclass
class InputStats:
    """What a node knows about one input topic."""

    received: int = 0
    rejected: int = 0
    last_reason: str = ""
    last_stamp_ns: int | None = None  # header stamp of the newest message taken
    arrivals_ns: deque = field(default_factory=lambda: deque(maxlen=1000))  # node clock at arrival
    rejections_s: deque = field(default_factory=lambda: deque(maxlen=1000))  # monotonic time of each


class NodeHealth:
    """Heartbeat and /diagnostics of one node; counts what arrives on each of its subscriptions.

    Attach after the node created its subscriptions: every subscription callback is wrapped to
    count the message, note its stamp and refuse a stamp older than the topic's last one (time
    going backwards) or, on a periodic topic, older than DROP_OLDER_THAN_S by the node clock,
    before the node's own (guarded) callback sees it. A node's method
    `health_report() -> (level, message, [(key, value)])` adds its own verdict to the status.
    """

    def __init__(self, node: Node, nominal_rate_hz: dict[str, float | None] | None = None):
        self.node = node
        self.name = node.get_name()
        self.inputs: dict[str, InputStats] = {}
        self.stamp_order = StampOrder()  # time going backwards, per topic
        self.internal_errors = 0
        self.deadlines_missed: dict[str, int] = {}
        self._nominal = {**topics.NOMINAL_RATE_HZ, **(nominal_rate_hz or {})}
        self._current: str | None = None
        self._reported_s = -float("inf")  # monotonic time of the last diagnostics published
        self._heartbeat_pub = node.create_publisher(Header, topics.HEARTBEAT, topics.HEARTBEAT_QOS)
        self._diagnostics_pub = node.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, topics.DIAGNOSTICS_QOS)
        self.extra = getattr(node, "health_report", None)
        for sub in node.subscriptions:
            if sub.topic_name in ("/clock", "/parameter_events"):
                continue
            counted = sub.topic_name not in self.inputs  # a second subscription to a topic is not counted twice
            self.inputs.setdefault(sub.topic_name, InputStats())
            sub.callback = self._wrap(sub.topic_name, sub.callback, counted)
        node.create_timer(topics.HEARTBEAT_PERIOD_S, self.beat)
        node.create_timer(DIAGNOSTICS_PERIOD_S, self.publish_diagnostics)
        _HEALTH[node] = self

    def _now_ns(self) -> int:
        return self.node.get_clock().now().nanoseconds

    def _wrap(self, topic: str, callback: Callable[[Any], None], counted: bool) -> Callable[[Any], None]:
        def run(msg: Any) -> None:
            stats = self.inputs[topic]
            stamp = getattr(getattr(msg, "header", None), "stamp", None)
            if stamp is not None:
                if topic not in MANY_PUBLISHERS:  # several publishers' stamps interleave: no order to keep
                    try:
                        self.stamp_order.check(topic, msg.header)
                    except MessageError as exc:
                        if counted:
                            self.reject(topic, f"{type(msg).__name__}: header.stamp: {exc.reason}")
                        return
                ns = max(stamp_ns(stamp), stats.last_stamp_ns if stats.last_stamp_ns is not None else 0)
                stats.last_stamp_ns = ns
                age_s = (self._now_ns() - ns) / 1e9
                if age_s > DROP_OLDER_THAN_S and self._nominal.get(topic):
                    if counted:  # e.g. the transient-local history a restarted node is handed
                        self.reject(topic, f"{type(msg).__name__}: header.stamp: {age_s:.2f} s old")
                    return
            if counted:
                stats.received += 1
                stats.arrivals_ns.append(self._now_ns())
            self._current = topic
            try:
                callback(msg)
            finally:
                self._current = None

        return run

    def reject(self, topic: str | None, reason: str) -> None:
        """A message refused: counted with its reason and reported at once (at most 10 times a second)."""
        stats = self.inputs.setdefault(topic or self._current or "(unknown)", InputStats())
        stats.rejected += 1
        stats.last_reason = reason
        stats.rejections_s.append(time.monotonic())
        if time.monotonic() - self._reported_s >= REJECTION_REPORT_PERIOD_S:  # wall time: a load limit
            self.publish_diagnostics()

    def internal_error(self) -> None:
        self.internal_errors += 1
        self.publish_diagnostics()

    def deadline_missed(self, topic: str, total: int) -> None:
        self.deadlines_missed[topic] = total

    def beat(self) -> None:
        header = Header(frame_id=self.name)
        header.stamp = self.node.get_clock().now().to_msg()
        self._heartbeat_pub.publish(header)

    def status(self) -> DiagnosticStatus:
        now = self._now_ns()
        level, problems = OK, []
        values = [KeyValue(key="heartbeat_period_s", value=f"{topics.HEARTBEAT_PERIOD_S:g}")]
        for topic, stats in sorted(self.inputs.items()):
            recent = [t for t in stats.arrivals_ns if 0 <= now - t <= RATE_WINDOW_S * 1e9]
            rate = len(recent) / RATE_WINDOW_S
            age_s = (now - stats.last_stamp_ns) / 1e9 if stats.last_stamp_ns is not None else None
            values += [KeyValue(key=f"{topic} rate_hz", value=f"{rate:.1f}"),
                       KeyValue(key=f"{topic} age_s", value="never" if age_s is None else f"{age_s:.3f}"),
                       KeyValue(key=f"{topic} received", value=str(stats.received)),
                       KeyValue(key=f"{topic} rejected", value=str(stats.rejected))]
            if stats.last_reason:
                values.append(KeyValue(key=f"{topic} last_rejection", value=stats.last_reason))
            recently = sum(1 for t in stats.rejections_s if time.monotonic() - t <= RECENT_REJECTIONS_S)
            if recently:
                level = worse(level, WARN)
                problems.append(f"{recently} rejected on {topic} in the last {RECENT_REJECTIONS_S:g} s")
            nominal = self._nominal.get(topic)
            if nominal and (age_s is None or age_s > max(STALE_AFTER_PERIODS / nominal, MIN_STALE_S)):
                level = worse(level, STALE)
                problems.append(f"{topic} {'never received' if age_s is None else f'stale ({age_s:.2f} s)'}")
        for topic, missed in sorted(self.deadlines_missed.items()):
            values.append(KeyValue(key=f"{topic} deadlines_missed", value=str(missed)))
        if self.internal_errors:
            level = ERROR
            problems.append(f"{self.internal_errors} internal errors")
            values.append(KeyValue(key="internal_errors", value=str(self.internal_errors)))
        if self.extra is not None:
            extra_level, extra_message, extra_values = self.extra()
            if extra_level != OK:
                level = worse(level, extra_level)
                problems.append(extra_message)
            values += [KeyValue(key=k, value=v) for k, v in extra_values]
        return DiagnosticStatus(level=bytes([level]), name=f"propilot/{self.name}", hardware_id=self.name,
                                message="; ".join(problems) or "OK", values=values)

    def publish_diagnostics(self) -> None:
        self._reported_s = time.monotonic()
        array = DiagnosticArray(status=[self.status()])
        array.header.stamp = self.node.get_clock().now().to_msg()
        self._diagnostics_pub.publish(array)


_HEALTH: weakref.WeakKeyDictionary[Node, NodeHealth] = weakref.WeakKeyDictionary()


def health_of(node: Node) -> NodeHealth | None:
    return _HEALTH.get(node)


def publisher(node: Node, msg_type: type, name: str) -> Publisher:
    """A publisher with the topic's QoS; a missed offered deadline is counted in the node's diagnostics."""

    def missed(info: Any) -> None:
        health = health_of(node)
        if health is not None:
            health.deadline_missed(name, info.total_count)

    events = PublisherEventCallbacks(deadline=missed) if name in topics.DEADLINE_S else None
    return node.create_publisher(msg_type, name, topics.qos(name, publisher=True), event_callbacks=events)


def subscribe(node: Node, msg_type: type, name: str, callback: Callable[[Any], None]) -> None:
    """A guarded subscription with the topic's QoS."""
    node.create_subscription(msg_type, name, guarded(node, callback), topics.qos(name))


def guarded(node: Node, callback: Callable[..., None]) -> Callable[..., None]:
    """A callback that survives a bad message: it is dropped, logged and reported on /diagnostics.

    A `MessageError` (the message is malformed) is a rejection (WARN); any other exception is an
    internal error (ERROR, with its traceback in the log): the node keeps running either way.
    """

    def run(*messages: Any) -> None:
        try:
            callback(*messages)
        except MessageError as exc:
            node.get_logger().warning(f"dropped message: {exc}", throttle_duration_sec=1.0)
            health = health_of(node)
            if health is not None:
                health.reject(None, str(exc))
        except Exception:  # noqa: BLE001 - one bad cycle must not stop the node
            node.get_logger().error(f"callback failed:\n{traceback.format_exc()}", throttle_duration_sec=1.0)
            health = health_of(node)
            if health is not None:
                health.internal_error()

    return run


class StampSync:
    """Calls back with one message per topic when all share the same header stamp."""

    def __init__(self, node: Node, inputs: list[tuple[type, str]], callback: Callable[..., None], keep: int = 50):
        self._topics = [name for _, name in inputs]
        self._pending: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._callback = guarded(node, callback)
        self._keep = keep
        for msg_type, name in inputs:
            node.create_subscription(msg_type, name, lambda msg, name=name: self._add(name, msg), topics.qos(name))

    def _add(self, topic: str, msg: Any) -> None:
        stamp = stamp_ns(msg.header.stamp)
        slot = self._pending.setdefault(stamp, {})
        slot[topic] = msg
        if len(slot) == len(self._topics):
            del self._pending[stamp]
            for older in [s for s in self._pending if s < stamp]:  # never completes now
                del self._pending[older]
            self._callback(*(slot[t] for t in self._topics))
        while len(self._pending) > self._keep:
            self._pending.popitem(last=False)


def run_node(factory: Callable[[], Node], args: list[str] | None = None) -> int:
    """`main()` of a node: init, spin until Ctrl-C, shut down; a bad configuration exits 2."""
    import rclpy
    from rclpy.executors import ExternalShutdownException

    rclpy.init(args=args)
    node = None
    try:
        node = factory()
        NodeHealth(node)
        rclpy.spin(node)
    except (ConfigError, MapError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            close = getattr(node, "close", None)
            if close is not None:
                close()
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 0
