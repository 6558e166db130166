"""Process replay: one node of the stack fed again with the inputs it got in a recorded run.

In: a run.mcap (lockstep or ROS mode), a node name and optional parameter changes
(`group.name=value`). The node itself (its ROS node class: the same conversions and core
component) is built with the run's map, rig and parameters, every recorded message of a
topic it subscribes to is handed to that subscription's callback in recording order, and
what it publishes is captured; nothing is spun, so no timer fires and nothing goes over DDS.
Out: every output that differs from the recorded one (topic, stamp, field, recorded and
replayed value), a message that is missing on either side included. No difference: the
node's decisions are reproducible from its recorded inputs.

The map, rig and node parameters of the run come from the recording's `propilot_run`
metadata (lockstep mode writes it), the `params.yaml` beside it (ROS mode) or the scenario
file given instead.
"""

from __future__ import annotations

import array
import importlib
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from propilot.core.settings import ConfigError, read_yaml, spec
from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from mcap.reader import make_reader  # noqa: E402
from rclpy.serialization import deserialize_message  # noqa: E402

from propilot.ros.conversions import stamp_ns  # noqa: E402
from propilot.ros.recording import RUN_METADATA  # noqa: E402
from propilot.stack import NODE_SETTINGS  # noqa: E402

# The nodes whose inputs are all recorded (lane detection's raw image is not: only JPEG at 5 Hz).
NODE_CLASSES = {
    "localization": ("propilot.ros.localization_node", "LocalizationNode"),
    "fusion": ("propilot.ros.fusion_node", "FusionNode"),
    "hmi": ("propilot.ros.hmi_node", "HmiNode"),
    "behaviour": ("propilot.ros.behaviour_node", "BehaviourNode"),
    "control": ("propilot.ros.control_node", "ControlNode"),
}
NOT_REPLAYABLE = {"lane_detection": "its input, the raw front camera image, is not recorded (only JPEG at 5 Hz)"}
_HEALTH_TOPICS = frozenset({"/rosout", "/parameter_events", "/diagnostics", "/heartbeat"})


@dataclass(frozen=True, slots=True)
class Difference:
    topic: str
    t_s: float
    field: str  # dotted path into the message; '' when the whole message is missing on one side
    recorded: Any
    replayed: Any

    def as_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "t_s": round(self.t_s, 9), "field": self.field, "recorded": self.recorded,
                "replayed": self.replayed}

    def line(self) -> str:
        return (f"{self.topic} t={self.t_s:.3f} s {self.field or '(message)'}: recorded {self.recorded!r}, "
                f"replayed {self.replayed!r}")


@dataclass(frozen=True, slots=True)
class RunInfo:
    map_path: str
    rig_path: str
    node_settings: dict[str, Any]  # {node: {group: {name: value}}}


def parse_param(text: str, node: str) -> tuple[str, str, Any]:
    """'group.name=value' -> (group, name, value typed like the setting), or a ConfigError naming it."""
    origin = f"--param {text}"
    key, sep, raw = text.partition("=")
    group, dot, name = key.strip().partition(".")
    if not sep or not dot:
        raise ConfigError(origin, "--param", "expected group.name=value")
    groups = NODE_SETTINGS[node]
    if group not in groups:
        raise ConfigError(origin, group, f"no such parameter group of node {node} (known: {', '.join(groups)})")
    infos = {info.name: info for info in spec(groups[group])}
    if name not in infos:
        raise ConfigError(origin, f"{group}.{name}", f"no such parameter (known: {', '.join(infos)})")
    value = yaml.safe_load(raw)
    default = infos[name].default
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if type(value) is not type(default):
        raise ConfigError(origin, f"{group}.{name}", f"expected a {type(default).__name__}, got {raw!r}")
    return group, name, value


def read_run_info(mcap_path: Path, scenario_path: Path | None = None) -> RunInfo:
    """The map, rig and parameters of the run: the scenario's if given, else the recording's metadata."""
    if scenario_path is not None:
        from propilot.sim.runner import node_settings
        from propilot.sim.scenario import load_scenario

        scenario = load_scenario(scenario_path)
        return RunInfo(str(scenario.map_path), str(scenario.rig_path), node_settings(scenario))
    with mcap_path.open("rb") as f:
        for record in make_reader(f).iter_metadata():
            if record.name == RUN_METADATA:
                return RunInfo(record.metadata["map_path"], record.metadata["rig_path"],
                               json.loads(record.metadata["node_settings"]))
    params_path = mcap_path.parent / "params.yaml"  # ROS mode: the parameters the nodes were started with
    if params_path.is_file():
        nodes = {node: (values or {}).get("ros__parameters") or {} for node, values in read_yaml(params_path).items()}
        settings = {node: {group: values for group, values in parameters.items() if isinstance(values, dict)}
                    for node, parameters in nodes.items()}
        fusion = nodes.get("fusion", {})
        return RunInfo(str(fusion.get("map_path", "")), str(fusion.get("rig_path", "")), settings)
    raise ConfigError(str(mcap_path), RUN_METADATA, "the recording names no map, rig and parameters and there is "
                                                    "no params.yaml beside it: give the run's --scenario")


def recorded_messages(mcap_path: Path) -> Iterator[tuple[str, Any]]:
    """(topic, message) of every recorded message, in the order they were written."""
    types: dict[str, type] = {}
    with mcap_path.open("rb") as f:
        for schema, channel, message in make_reader(f).iter_messages(log_time_order=False):
            msg_type = types.get(schema.name)
            if msg_type is None:
                package, _, name = schema.name.split("/")
                msg_type = types[schema.name] = getattr(importlib.import_module(f"{package}.msg"), name)
            yield channel.topic, deserialize_message(message.data, msg_type)


def compare(topic: str, t_s: float, recorded: Any, replayed: Any, tolerance: float, path: str = "",
            out: list[Difference] | None = None) -> list[Difference]:
    """Field-by-field differences of two messages (floats equal within `tolerance`, relative and absolute)."""
    out = [] if out is None else out
    if hasattr(recorded, "get_fields_and_field_types"):
        for name in recorded.get_fields_and_field_types():
            compare(topic, t_s, getattr(recorded, name), getattr(replayed, name), tolerance,
                    f"{path}.{name}" if path else name, out)
    elif isinstance(recorded, (float, np.floating)) or isinstance(replayed, (float, np.floating)):
        a, b = float(recorded), float(replayed)
        same = (math.isnan(a) and math.isnan(b)) or a == b or abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))
        if not same:
            out.append(Difference(topic, t_s, path, a, b))
    elif isinstance(recorded, (list, tuple, np.ndarray, array.array)):
        recorded_items, replayed_items = list(recorded), list(replayed)
        if len(recorded_items) != len(replayed_items):
            out.append(Difference(topic, t_s, f"{path} (length)", len(recorded_items), len(replayed_items)))
        for i, (a, b) in enumerate(zip(recorded_items, replayed_items, strict=False)):
            compare(topic, t_s, a, b, tolerance, f"{path}[{i}]", out)
    elif recorded != replayed:
        out.append(Difference(topic, t_s, path, recorded, replayed))
    return out


def _make_node(node: str, info: RunInfo, changes: list[tuple[str, str, Any]]):
    import rclpy
    from rclpy.parameter import Parameter

    module, class_name = NODE_CLASSES[node]
    node_class = getattr(importlib.import_module(module), class_name)
    values: dict[str, Any] = {"map_path": info.map_path, "use_sim_time": True}
    if node == "fusion":
        values["rig_path"] = info.rig_path
    for group, settings in (info.node_settings.get(node) or {}).items():
        values.update({f"{group}.{name}": value for name, value in (settings or {}).items()})
    values.update({f"{group}.{name}": value for group, name, value in changes})
    context = rclpy.Context()
    rclpy.init(context=context, args=[])
    overrides = [Parameter(name, value=value) for name, value in values.items()]
    try:
        instance = node_class(context=context, parameter_overrides=overrides, enable_rosout=False,
                              start_parameter_services=False)
    except BaseException:
        rclpy.shutdown(context=context)
        raise
    return instance, context


def replay(mcap_path: Path, node: str, params: list[str] = (), scenario_path: Path | None = None,
           tolerance: float = 1e-9) -> list[Difference]:
    """Replay the node's recorded inputs through it; return every output that differs from the recording."""
    if node in NOT_REPLAYABLE:
        raise ConfigError("--node", node, f"cannot be replayed: {NOT_REPLAYABLE[node]}")
    if node not in NODE_CLASSES:
        raise ConfigError("--node", node, f"unknown node (known: {', '.join(NODE_CLASSES)})")
    if not mcap_path.is_file():
        raise ConfigError(str(mcap_path), "RUN.mcap", "no such file")
    changes = [parse_param(p, node) for p in params]
    info = read_run_info(mcap_path, scenario_path)
    import rclpy

    instance, context = _make_node(node, info, changes)
    try:
        callbacks: dict[str, list[Any]] = {}  # topic -> subscriptions
        for subscription in instance.subscriptions:
            callbacks.setdefault(subscription.topic_name, []).append(subscription)
        outputs = [p.topic_name for p in instance.publishers if p.topic_name not in _HEALTH_TOPICS]
        replayed: dict[str, dict[int, Any]] = {topic: {} for topic in outputs}
        for publisher in instance.publishers:
            if publisher.topic_name in replayed:
                publisher.publish = _capture(replayed[publisher.topic_name])
        recorded: dict[str, dict[int, Any]] = {topic: {} for topic in outputs}
        clock = _SimClock(callbacks.get("/clock", ()))
        for topic, message in recorded_messages(mcap_path):
            if topic == "/clock":
                clock.recorded = True
            elif topic in recorded:
                recorded[topic][stamp_ns(message.header.stamp)] = message
            header = getattr(message, "header", None)
            if header is not None:
                clock.advance(stamp_ns(header.stamp))
            for subscription in callbacks.get(topic, ()):
                subscription.callback(message)  # read at call time: a wrapper set after creation counts too
        outputs = [topic for topic in outputs if topic in recorded_topics(mcap_path)]  # others: nothing to compare
    finally:
        instance.destroy_node()
        rclpy.shutdown(context=context)
    differences: list[Difference] = []
    for topic in outputs:
        for stamp in sorted(set(recorded[topic]) | set(replayed[topic])):
            a, b = recorded[topic].get(stamp), replayed[topic].get(stamp)
            if a is None or b is None:
                differences.append(Difference(topic, stamp * 1e-9, "", "present" if a is not None else "missing",
                                              "present" if b is not None else "missing"))
            else:
                compare(topic, stamp * 1e-9, a, b, tolerance, out=differences)
    return differences


class _SimClock:
    """The node's simulation time (use_sim_time): the recorded /clock if there is one, else the newest
    stamp handed to the node so far, as the simulator's clock stood when that message was sent."""

    def __init__(self, subscriptions: Any):
        from rosgraph_msgs.msg import Clock

        self._clock_type = Clock
        self._subscriptions = list(subscriptions)
        self.recorded = False
        self.now_ns = -1

    def advance(self, ns: int) -> None:
        if self.recorded or ns <= self.now_ns:
            return
        self.now_ns = ns
        message = self._clock_type()
        message.clock.sec, message.clock.nanosec = divmod(ns, 1_000_000_000)
        for subscription in self._subscriptions:
            subscription.callback(message)


def recorded_topics(mcap_path: Path) -> set[str]:
    with mcap_path.open("rb") as f:
        summary = make_reader(f).get_summary()
    return {channel.topic for channel in summary.channels.values()} if summary else set()


def _capture(into: dict[int, Any]) -> Callable[[Any], None]:
    def publish(message: Any) -> None:
        into[stamp_ns(message.header.stamp)] = message

    return publish
