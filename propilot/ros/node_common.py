"""What every node shares: settings as ROS parameters, stamp synchronisation, guarded callbacks.

In: a node and the parameter groups of its core components (`stack.NODE_SETTINGS`).
Out: validated settings (ROS parameters `group.name`, each with its description,
unit and bounds), callbacks that survive one bad message, and exact-stamp
synchronisation of several topics (what lets ROS mode compute exactly what
lockstep mode computes).
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node

from propilot.core.fusion.rig import Rig, load_rig
from propilot.core.map.hdmap import HDMap, MapError, load_map
from propilot.core.settings import ConfigError, groups_from_mapping, spec
from propilot.ros.conversions import MessageError, stamp_ns
from propilot.ros.topics import QOS


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


def guarded(node: Node, callback: Callable[..., None]) -> Callable[..., None]:
    """A callback that logs and drops a bad message instead of killing the node."""

    def run(*messages: Any) -> None:
        try:
            callback(*messages)
        except MessageError as exc:
            node.get_logger().warning(f"dropped message: {exc}", throttle_duration_sec=1.0)

    return run


class StampSync:
    """Calls back with one message per topic when all share the same header stamp."""

    def __init__(self, node: Node, topics: list[tuple[type, str]], callback: Callable[..., None], keep: int = 50):
        self._topics = [name for _, name in topics]
        self._pending: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._callback = guarded(node, callback)
        self._keep = keep
        for msg_type, name in topics:
            node.create_subscription(msg_type, name, lambda msg, name=name: self._add(name, msg), QOS)

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
