"""MCAP recording of ROS 2 messages (ROS 2 profile, CDR), readable by Foxglove.

In: (topic, message, time) triples. Out: an .mcap file whose schemas are the full
`ros2msg` definitions (with every nested type), as rosbag2 writes them. Used by the
recorder node in ROS mode and by the lockstep runner, so both write the same file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ament_index_python.packages import get_package_share_directory
from mcap.writer import CompressionType, Writer
from rclpy.serialization import serialize_message

_PRIMITIVES = {
    "bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32",
    "int64", "uint64", "string", "wstring",
}
_SEPARATOR = "=" * 80
RUN_METADATA = "propilot_run"  # metadata record: map, rig and node parameters of the run (`propilot replay`)


def run_metadata(map_path: Path, rig_path: Path, node_settings: dict[str, Any]) -> dict[str, str]:
    """The run's map and rig files and its node parameter overrides {node: {group: {name: value}}}."""
    return {"map_path": str(map_path), "rig_path": str(rig_path),
            "node_settings": json.dumps(node_settings, sort_keys=True, default=str)}


def message_type_name(message: Any) -> str:
    """'pkg/msg/Type' of a message instance or class."""
    cls = message if isinstance(message, type) else type(message)
    return f"{cls.__module__.split('.')[0]}/msg/{cls.__name__}"


def _definition_text(package: str, name: str) -> str:
    path = Path(get_package_share_directory(package)) / "msg" / f"{name}.msg"
    return path.read_text()


def _nested_types(text: str, package: str) -> list[tuple[str, str]]:
    """(package, Type) of every non-primitive field; constants are always primitive."""
    found = []
    for line in text.splitlines():
        tokens = line.split("#", 1)[0].split()
        if len(tokens) < 2:
            continue
        base = re.sub(r"\[.*?\]$", "", tokens[0]).split("<=")[0]
        if base in _PRIMITIVES:
            continue
        package_name, _, type_name = base.rpartition("/")
        found.append((package_name or package, type_name))
    return found


def ros2msg_schema(type_name: str) -> str:
    """The full definition of 'pkg/msg/Type' with its nested types, rosbag2 style."""
    package, _, name = type_name.split("/")
    main = _definition_text(package, name)
    seen: set[tuple[str, str]] = set()
    parts = [main]
    queue = _nested_types(main, package)
    while queue:
        dep = queue.pop(0)
        if dep in seen:
            continue
        seen.add(dep)
        text = _definition_text(*dep)
        parts.append(f"{_SEPARATOR}\nMSG: {dep[0]}/{dep[1]}\n{text}")
        queue.extend(_nested_types(text, dep[0]))
    return "\n".join(parts)


class McapRecorder:
    """Writes messages to one MCAP file; channels and schemas are created on first use."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = path.open("wb")
        self._writer = Writer(self._file, compression=CompressionType.ZSTD)
        self._writer.start(profile="ros2", library="propilot")
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, int] = {}
        self._sequence = 0
        self.message_count = 0

    def write(self, topic: str, message: Any, log_time_ns: int) -> None:
        self.write_serialized(topic, message_type_name(message), serialize_message(message), log_time_ns)

    def write_serialized(self, topic: str, type_name: str, data: bytes, log_time_ns: int) -> None:
        """CDR bytes of a 'pkg/msg/Type' message, as a raw subscription delivers them."""
        channel = self._channels.get(topic)
        if channel is None:
            channel = self._add_channel(topic, type_name)
        self._writer.add_message(channel_id=channel, log_time=log_time_ns, publish_time=log_time_ns,
                                 data=data, sequence=self._sequence)
        self._sequence += 1
        self.message_count += 1

    def add_metadata(self, name: str, values: dict[str, str]) -> None:
        """A metadata record (e.g. what produced the run, for `propilot replay`)."""
        self._writer.add_metadata(name, values)

    def _add_channel(self, topic: str, type_name: str) -> int:
        schema = self._schemas.get(type_name)
        if schema is None:
            schema = self._writer.register_schema(name=type_name, encoding="ros2msg",
                                                  data=ros2msg_schema(type_name).encode())
            self._schemas[type_name] = schema
        channel = self._writer.register_channel(topic=topic, message_encoding="cdr", schema_id=schema)
        self._channels[topic] = channel
        return channel

    def close(self) -> None:
        if self._file.closed:
            return
        self._writer.finish()
        self._file.close()

    def __enter__(self) -> McapRecorder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
