"""Fuzz targets: what is fed to which loader or converter, and what must hold for every input.

In: nothing (the base inputs are the repository's own map, scenario, parameter and rig files and
messages made from valid core values). Out: `TARGETS`, one `Target` per input kind: a hypothesis
strategy of mutated inputs and a `check` that raises `Broken` when the property does not hold:

- files: the loader returns a value with no NaN or infinity in it, or raises `ConfigError`
  (`MapError` for maps) naming the file, the field and the reason; any other exception is a crash;
- messages: the conversion returns a core value with no NaN or infinity except the meanings listed
  in `conversions.NOT_FINITE_ALLOWED`, or raises `MessageError` naming message, field and reason.

tests/fuzz runs each target with the "ci" profile (few examples), benchmarks/fuzz.py with many.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import math
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from propilot.rosenv import setup_ros_environment

setup_ros_environment()

from propilot.core.fusion.rig import load_rig  # noqa: E402
from propilot.core.map.hdmap import MapError, load_map  # noqa: E402
from propilot.core.settings import ConfigError, groups_from_mapping, key_name, read_yaml  # noqa: E402
from propilot.ros import conversions as conv  # noqa: E402
from propilot.sim.scenario import load_scenario  # noqa: E402
from propilot.stack import NODE_SETTINGS  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
WORK_DIR = Path(tempfile.mkdtemp(prefix="propilot-fuzz-"))
set_hypothesis_home_dir(REPO / "out" / "hypothesis")  # hypothesis' caches stay out of the source tree

settings.register_profile("ci", max_examples=25, deadline=None, database=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("bench", max_examples=10_000, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck))


class Broken(AssertionError):
    """The property of a fuzz target does not hold for one input."""


@dataclass(frozen=True)
class Target:
    name: str
    inputs: st.SearchStrategy
    check: Callable[[Any], str]  # "accepted" or "rejected"; raises Broken (or crashes) otherwise
    examples_in_ci: int = 25  # the test suite's share; the benchmark runs --examples of each


# --- invariants ------------------------------------------------------------------------------------

def assert_finite(value: Any, allowed: dict[tuple[str, str], tuple[str, str]] | None = None, where: str = "") -> None:
    """No NaN or infinity anywhere in a (nested) dataclass, except the allowed (type, field) meanings."""
    allowed = allowed or {}
    if isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            assert_finite(item, allowed, f"{where}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_finite(item, allowed, f"{where}.{key}")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if isinstance(item, float) and not math.isfinite(item):
                kind = "nan" if math.isnan(item) else ("+inf" if item > 0 else "-inf")
                meaning = allowed.get((name, f.name))
                if meaning is None or meaning[0] != kind:
                    raise Broken(f"{where}.{f.name} ({name}) is {item} and that means nothing there")
            else:
                assert_finite(item, allowed, f"{where}.{f.name}")


def check_config_error(exc: ConfigError, files: tuple[Path, ...]) -> None:
    """A rejection must name the file, the field and the reason (every one, for a MapError)."""
    problems = [(p.file, str(p.element_id), p.reason) for p in exc.problems] if isinstance(exc, MapError) \
        else [(exc.origin, exc.field_name, exc.reason)]
    names = {f.name for f in files} | {str(f) for f in files} | {"parameter"}
    for origin, field_name, reason in problems:
        if not any(n in origin for n in names):
            raise Broken(f"rejection does not name the file: {origin!r} ({field_name}: {reason})")
        if not field_name.strip() or not reason.strip():
            raise Broken(f"rejection without field or reason: {exc}")


def load_checked(load: Callable[[Path], Any], path: Path, files: tuple[Path, ...] = ()) -> str:
    try:
        value = load(path)
    except ConfigError as exc:
        check_config_error(exc, (path, *files))
        return "rejected"
    assert_finite(value)
    return "accepted"


# --- YAML documents: a base document, mutated --------------------------------------------------------

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10), st.integers(), st.just(10**400),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308, -1e-308, 0.5, 2.5e3]),
    st.floats(-1e4, 1e4), st.text(max_size=12),
    st.sampled_from(["", "left", "right", "radar", "camera", "sonar", "approve", "none", "front", "x", "1e3", ".nan"]),
)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: the rig file dumps 5x faster
YAML_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.one_of(st.text(max_size=8), st.integers(-2, 5)), inner, max_size=3),
                           max_leaves=6)


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every place in a YAML tree (as a key path), the root included."""
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, prefix + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += _paths(value, prefix + (i,))
    return out


def _parent(doc: Any, path: tuple) -> tuple[Any, Any]:
    for key in path[:-1]:
        doc = doc[key]
    return doc, path[-1]


@st.composite
def mutated_yaml(draw: Any, bases: list[Any]) -> str:
    """A base document with 1-4 random edits (replace, delete, add, rename), sometimes broken as text."""
    doc = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 4))):
        places = _paths(doc)
        path = draw(st.sampled_from(places))
        action = draw(st.sampled_from(("replace", "replace", "delete", "add", "rename")))
        if not path:
            if action == "replace":
                doc = draw(YAML_VALUES)
            continue
        parent, key = _parent(doc, path)
        if action == "replace":
            parent[key] = draw(YAML_VALUES)
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.one_of(st.text(max_size=8), st.integers(-2, 5)))] = draw(YAML_VALUES)
        elif action == "add":
            parent.append(draw(YAML_VALUES))
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = parent.pop(key)
    text = yaml.dump(doc, Dumper=_DUMPER, allow_unicode=True, sort_keys=False)
    if draw(st.integers(0, 19)) == 0:  # one in twenty: not even valid YAML
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", ":", "- [", "\t", "{", "\x00", "\ufffe"])) + text[cut:]
    return text


def _write(name: str, text: str | bytes) -> Path:
    path = WORK_DIR / f"{os.getpid()}-{name}"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    return path


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _absolute_files(doc: dict, folder: Path, keys: tuple[str, ...]) -> dict:
    """The document with its file fields made absolute, so the mutated copy can live elsewhere."""
    doc = copy.deepcopy(doc)
    for key in keys:
        if key in doc:
            doc[key] = str((folder / doc[key]).resolve())
    return doc


# map.yaml: highway_small and parking (the cheaper map to build)
_MAP_YAMLS = [_absolute_files(_yaml(REPO / "maps" / m / "map.yaml"), REPO / "maps" / m,
                              ("lanelet2", "opendrive", "sumo_net", "sumo_additional"))
              for m in ("highway_small", "parking")]


def check_map_yaml(text: str) -> str:
    path = _write("map.yaml", text)
    return load_checked(lambda p: _map_summary(load_map(p)), path,
                        tuple(REPO / "maps" / m / f"{m}.osm" for m in ("highway_small", "parking")))


def _map_summary(hdmap: Any) -> dict[str, float]:
    """What a loaded map answers everywhere (its numbers must be finite)."""
    ids = hdmap.lanelet_ids()
    return {"lanelets": float(len(ids)), "length_m": float(sum(hdmap.length(i) for i in ids)),
            "speed_mps": float(min(hdmap.speed_limit_mps(i) for i in ids))}


# Lanelet2 .osm of highway_small: line-level mutations of the XML text
_OSM_PATH = REPO / "maps" / "highway_small" / "highway_small.osm"
_OSM_LINES = _OSM_PATH.read_text().splitlines(keepends=True)
_OSM_KINDS: dict[str, list[int]] = {}
for _i, _line in enumerate(_OSM_LINES):
    _kind = ("relation-tag" if "<tag" in _line and _i > len(_OSM_LINES) * 0.95 else
             "tag" if "<tag" in _line else "member" if "<member" in _line else "nd" if "<nd" in _line else
             "node" if "<node" in _line else "way" if "<way" in _line else
             "relation" if "<relation" in _line else "other")
    _OSM_KINDS.setdefault(_kind, []).append(_i)
_OSM_VALUES = st.one_of(
    st.sampled_from(["", "-1", "0", "nan", "inf", "-inf", "1e308", "999999999", "1001018", "1001000", "1000",
                     "highway", "road", "solid", "dashed", "virtual", "line_thin", "yes", "no", "100", "-30",
                     "0 km/h", "60 mph", "lanelet", "left", "right", "centerline", "regulatory_element", "etc",
                     "parking_space", "toll_booth", "speed_limit", "subtype", "type", "location", "one_way"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=10),
    st.floats(-400.0, 400.0).map(repr),
)
_ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')
_MAP_FOR_OSM = {**_MAP_YAMLS[0], "lanelet2": "", "points_of_interest": []}


@st.composite
def mutated_osm(draw: Any) -> str:
    lines = list(_OSM_LINES)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(sorted(_OSM_KINDS)))
        i = draw(st.sampled_from(_OSM_KINDS[kind]))
        action = draw(st.sampled_from(("attribute", "attribute", "attribute", "delete", "duplicate", "truncate")))
        if i >= len(lines):
            continue
        if action == "attribute":
            attributes = _ATTRIBUTE.findall(lines[i])
            if attributes:
                name, old = draw(st.sampled_from(attributes))
                lines[i] = lines[i].replace(f'{name}="{old}"', f'{name}="{draw(_OSM_VALUES)}"', 1)
        elif action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif draw(st.integers(0, 9)) == 0:  # truncate, rarely: most such files fail at once
            lines = lines[:i]
    return "".join(lines)


def check_osm(text: str) -> str:
    osm = _write("highway_small.osm", text)
    path = _write("osm-map.yaml", yaml.safe_dump({**_MAP_FOR_OSM, "lanelet2": str(osm)}))
    return load_checked(lambda p: _map_summary(load_map(p)), path, (osm,))


# scenario files
_SCENARIOS = [_absolute_files(_yaml(REPO / "sim" / "scenarios" / f), REPO / "sim" / "scenarios", ("map", "rig"))
              for f in ("follow_slower_traffic.yaml", "overtake_and_return.yaml", "fusion_sensor_dropout.yaml",
                        "eyes_off_escalation.yaml")]


def check_scenario(text: str) -> str:
    return load_checked(load_scenario, _write("scenario.yaml", text))


# parameter files, read as a ROS node reads them, validated by the node's settings spec


def load_param_file(path: Path) -> dict[str, Any]:
    """{node: {ros__parameters: {group: {name: value}}}} -> that node's settings groups."""
    doc = read_yaml(path)
    origin = str(path)
    if not isinstance(doc, dict) or len(doc) != 1:
        raise ConfigError(origin, "(root)", "expected one node: {node: {ros__parameters: {...}}}")
    (node, body), = doc.items()
    if node not in NODE_SETTINGS:
        raise ConfigError(origin, key_name(node), f"unknown node (known: {', '.join(NODE_SETTINGS)})")
    if not isinstance(body, dict) or set(body) != {"ros__parameters"}:
        raise ConfigError(origin, key_name(node), "expected exactly {ros__parameters: {...}}")
    return groups_from_mapping(NODE_SETTINGS[node], body["ros__parameters"], origin)


_PARAMS = [_yaml(p) for p in sorted((REPO / "launch" / "params").glob("*.param.yaml"))
           if next(iter(_yaml(p))) in NODE_SETTINGS]


def check_params(text: str) -> str:
    return load_checked(load_param_file, _write("node.param.yaml", text))


# sensor rig files
_RIGS = [_yaml(REPO / "sim" / "rigs" / "default.yaml")]


def check_rig(text: str) -> str:
    return load_checked(load_rig, _write("rig.yaml", text))


# HMI variant files (driving-simulator study conditions)
_VARIANT_DIR = REPO / "sim" / "hmi_variants"
_VARIANTS = [_yaml(p) for p in sorted(_VARIANT_DIR.glob("*.yaml"))]
_VARIANTS.append({**_VARIANTS[0], "warnings": {"eyes_off_request_s": 5.0, "escalate_after_s": 3.0}}
                 if _VARIANTS else {})


def check_hmi_variant(text: str) -> str:
    from propilot.core.hmi.variants import load_variant

    return load_checked(load_variant, _write("variant.yaml", text))


# --- messages: valid messages from core values, mutated field by field --------------------------------

_FRAMES = ["", "map", "base_link", "gnss_link", "camera_front", "camera_", "odom", "Camera_front", "camera_../x"]
_INT_RANGES = {"int8": (-2**7, 2**7 - 1), "uint8": (0, 2**8 - 1), "int16": (-2**15, 2**15 - 1),
               "uint16": (0, 2**16 - 1), "int32": (-2**31, 2**31 - 1), "uint32": (0, 2**32 - 1),
               "int64": (-2**63, 2**63 - 1), "uint64": (0, 2**64 - 1), "octet": (0, 255)}
_DOUBLES = st.one_of(st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -1.0, 1.0, 1e308, -1e308, 5e-324]),
                     st.floats(-200.0, 200.0), st.floats(allow_nan=True, allow_infinity=True))


def _leaf_strategy(type_name: str, field_name: str) -> st.SearchStrategy:
    if type_name == "double":
        return _DOUBLES
    if type_name == "float":
        return st.floats(width=32)
    if type_name in _INT_RANGES:
        low, high = _INT_RANGES[type_name]
        return st.one_of(st.integers(max(low, -3), min(high, 12)), st.integers(low, high))
    if type_name == "boolean":
        return st.booleans()
    if type_name == "string":
        if field_name == "frame_id" or field_name == "child_frame_id":
            return st.one_of(st.sampled_from(_FRAMES), st.text(max_size=12))
        return st.text(max_size=12)
    if type_name in ("sequence<uint8>", "sequence<octet>"):
        return st.binary(max_size=64)
    raise KeyError(type_name)


def _leaves(msg: Any) -> list[tuple[Any, str | int, str, str]]:
    """(container, key, ROS type, field name) of every field a mutation can set, nested ones included."""
    out = []
    for name, type_name in msg.get_fields_and_field_types().items():
        value = getattr(msg, name)
        element = re.fullmatch(r"(?:sequence<(.+)>|(.+)\[(\d+)\])", type_name)
        if "/" in type_name and element is None:
            out += _leaves(value)
        elif element is not None and type_name not in ("sequence<uint8>", "sequence<octet>"):
            inner = element.group(1) or element.group(2)
            if type_name.startswith("sequence"):
                out.append((msg, name, "list:" + inner, name))
            for i, item in enumerate(value):
                if "/" in inner:
                    out += _leaves(item)
                else:
                    out.append((value, i, inner, name))
        else:
            out.append((msg, name, type_name, name))
    return out


@st.composite
def mutated_messages(draw: Any, bases: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """A valid message (or tuple of messages) with 1-6 fields set to random values or lists changed."""
    msgs = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(1, 6))):
        container, key, type_name, name = draw(st.sampled_from([leaf for m in msgs for leaf in _leaves(m)]))
        if type_name.startswith("list:"):
            items = getattr(container, key)
            action = draw(st.sampled_from(("empty", "duplicate", "drop")))
            if action == "empty" or not items:
                setattr(container, key, [])
            elif action == "duplicate":
                setattr(container, key, list(items) + [copy.deepcopy(items[-1])])
            else:
                setattr(container, key, list(items)[1:])
            continue
        value = draw(_leaf_strategy(type_name, name))
        if isinstance(key, int):
            container[key] = value
        else:
            setattr(container, key, value)
    return msgs


def check_conversion(convert: Callable[..., Any], msgs: tuple[Any, ...]) -> str:
    try:
        core = convert(*msgs)
    except conv.MessageError as exc:
        if not (exc.message_type and exc.field_name and exc.reason):
            raise Broken(f"rejection without message, field or reason: {exc!r}") from None
        return "rejected"
    assert_finite(core, conv.NOT_FINITE_ALLOWED)
    for value in core if isinstance(core, tuple) else (core,):
        for f in dataclasses.fields(value) if dataclasses.is_dataclass(value) else ():
            item = getattr(value, f.name)
            if isinstance(f.type, str) and f.type.split(" ")[0] in _ENUM_NAMES and not isinstance(item, enum.Enum):
                raise Broken(f"{type(value).__name__}.{f.name} is {item!r}, not an enum member")
    return "accepted"


_ENUM_NAMES = {"TurnSignal", "RtkState", "LaneSource", "LaneLineSide", "LaneLineType", "SensorKind", "ObjectClass",
               "DriverEvent", "PilotState", "WarningLevel", "ProposalKind", "ProposalState", "CommandMode"}


def _message_bases() -> dict[str, tuple[Callable[..., Any], list[tuple[Any, ...]]]]:
    """Each conversion from messages, with valid messages to start from (made by the *_to_msg side)."""
    from propilot.core.types import (
        CameraImage,
        CommandMode,
        Detection,
        DetectionFrame,
        DriverEvent,
        DriverInput,
        DriverMonitorReading,
        EgoEstimate,
        GnssFix,
        HmiState,
        ImuSample,
        LaneLine,
        LaneLineFrame,
        LaneLineSide,
        LaneLineType,
        LanePosition,
        LaneSource,
        ObjectClass,
        PathPoint,
        PilotState,
        Plan,
        Pose2D,
        Proposal,
        ProposalKind,
        ProposalState,
        RouteNotice,
        RouteStatus,
        RtkState,
        SensorKind,
        Track,
        TurnSignal,
        VehicleCommand,
        VehicleStatus,
        WarningLevel,
    )

    t = 12.35
    proposal = Proposal("6f1c2b1e-0000", ProposalKind.OVERTAKE, ProposalState.PROPOSED, 1, 1001020, "slower lead",
                        True, t - 1.0, t + 5.0, 35.0)
    returning = Proposal("6f1c2b1e-0001", ProposalKind.RETURN, ProposalState.EXECUTING, -1, 1001022, "", True,
                         t - 3.0, t + 2.0)
    pixels = (np.arange(6 * 8, dtype=np.uint8).reshape(6, 8) * 5)
    image = CameraImage(t, "front", pixels)
    colour = conv.image_to_msg(image)
    colour.encoding, colour.step = "bgra8", 32
    colour.data = np.dstack([pixels, pixels, pixels, pixels]).tobytes()
    lines = LaneLineFrame(t, "front", (LaneLine(LaneLineSide.LEFT, LaneLineType.DASHED, 1.7, 0.01, 1e-4, 0.0, 40.0,
                                                0.9),
                                       LaneLine(LaneLineSide.RIGHT, LaneLineType.SOLID, -1.8, 0.01, 1e-4, 0.0, 35.0,
                                                0.8)))
    radar = DetectionFrame(t, "front", SensorKind.RADAR, (
        Detection(SensorKind.RADAR, 43.7, 1.2, 40.0, 0.03, -3.0), Detection(SensorKind.RADAR, 83.7, -2.0, 80.0,
                                                                              -0.02, 1.5)))
    camera = DetectionFrame(t, "front_wide", SensorKind.CAMERA, (
        Detection(SensorKind.CAMERA, 21.9, 0.5, 20.0, 0.02, classification=ObjectClass.TRUCK, width_m=2.4),))
    tracks = (Track(7, 3100.0, 4.0, 22.0, 0.1, relative_lane=0, lanelet_id=1001020, gap_m=35.0,
                    relative_speed_mps=-3.0, classification=ObjectClass.CAR),
              Track(9, 3050.0, 7.5, 30.0, 0.0))
    route = RouteStatus(2500.0, 800.0, (RouteNotice("exit", 1200.0, "Exit 1 Minato", lane_change=-1),
                                        RouteNotice("speed_limit", 300.0, value=22.2)))
    ego = EgoEstimate(t, Pose2D(3070.0, 4.2, 0.01), 25.0, 0.002, 0.03)
    lane = LanePosition(1001020, 120.0, 0.2, 0.01, 1, 3, 0.97, True, LaneSource.RTK)
    plan = Plan(t, True, tuple(PathPoint(3070.0 + 5 * k, 4.2, 0.01, 0.001, 25.0) for k in range(4)), 1001020, 27.0,
                True, 7, 35.0, 22.0, 1.8, TurnSignal.LEFT, CommandMode.ROUTE_PILOT)
    hmi = HmiState(t, PilotState.ENGAGED_HANDS_OFF, "Overtake?", "chime", WarningLevel.NONE, 27.8, 1.8, True, 35.0,
                   (proposal,), lane_change_request=1, hands_on_wheel=True)
    navsat_fixed = conv.gnss_to_msgs(GnssFix(t, 35.001, 139.03, 0.02, RtkState.RTK_FIXED))
    navsat_none = conv.gnss_to_msgs(GnssFix(t, math.nan, math.nan, math.inf, RtkState.NO_FIX))
    return {
        "vehicle_status": (conv.vehicle_status_from_msg, [(conv.vehicle_status_to_msg(VehicleStatus(
            t, 25.0, 0.3, 0.01, 0.02, TurnSignal.LEFT, 0.1, 0.0, 1.5, True)),)]),
        "vehicle_command": (conv.command_from_msg, [(conv.command_to_msg(VehicleCommand(
            t, CommandMode.ROUTE_PILOT, -0.5, 0.002, TurnSignal.RIGHT, False, True, "jerk")),)]),
        "gnss": (conv.gnss_from_msgs, [navsat_fixed, navsat_none]),
        "imu": (conv.imu_from_msg, [(conv.imu_to_msg(ImuSample(t, 0.4, -0.2, 0.01)),)]),
        "image": (conv.image_from_msg, [(conv.image_to_msg(image),), (colour,)]),
        "compressed_image": (conv.compressed_from_msg, [(conv.image_to_compressed(image),)]),
        "lane_lines": (conv.lane_lines_from_msg, [(conv.lane_lines_to_msg(lines),)]),
        "odometry": (conv.ego_from_odometry, [(conv.ego_to_odometry(t, ego),), (conv.ego_to_odometry(t, None),)]),
        "lane": (conv.lane_from_msg, [(conv.lane_to_msg(t, lane),)]),
        "detections": (conv.detections_from_msg, [(conv.detections_to_msg(radar),),
                                                  (conv.detections_to_msg(camera),)]),
        "tracks": (conv.tracks_from_msg, [(conv.tracks_to_msg(t, tracks),)]),
        "driver_input": (conv.driver_input_from_msg, [(conv.driver_input_to_msg(DriverInput(
            t, DriverEvent.APPROVE, proposal.uuid, "wheel")),)]),
        "driver_monitor": (conv.monitor_from_msg, [(conv.monitor_to_msg(DriverMonitorReading(t, True, False, True)),)]),
        "proposal": (conv.proposal_from_msg, [(conv.proposal_to_msg(t, proposal),),
                                              (conv.proposal_to_msg(t, returning),)]),
        "proposals": (conv.proposals_from_msg, [(conv.proposals_to_msg(t, (proposal, returning)),)]),
        "route": (conv.route_from_msg, [(conv.route_to_msg(t, route),), (conv.route_to_msg(t, None),)]),
        "hmi_state": (conv.hmi_from_msg, [(conv.hmi_to_msg(hmi),)]),
        "plan": (conv.plan_from_msg, [(conv.plan_to_msg(plan),)]),
    }


def _remote_parking_bases() -> dict[str, tuple[Callable[..., Any], list[tuple[Any, ...]]]]:
    """The remote-parking and system-fault conversions (absent in builds without remote parking)."""
    try:
        from propilot.core.parking.types import (
            FobCommandKind,
            FobPacket,
            Gear,
            ParkingCommand,
            ParkingStatus,
            ParkState,
            VehicleMotion,
        )
    except ImportError:
        return {}
    t = 40.5
    fob = FobPacket(t, "JN1-TEST", 17, list(FobCommandKind)[0], t - 0.02, bytes(range(32)), 4.5)
    sonar = conv.Range(header=conv.header(t, "sonar_front_left_centre"), range=1.2)
    return {
        "fob_command": (conv.fob_packet_from_msg, [(conv.fob_packet_to_msg(fob),)]),
        "sonar_range": (conv.sonar_reading_from_msg, [(sonar,)]),
        "parking_motion": (conv.parking_motion_from_msg, [(conv.parking_motion_to_msg(
            VehicleMotion(t, -0.8, 0.05, list(Gear)[1])),)]),
        "parking_command": (conv.parking_command_from_msg, [(conv.parking_command_to_msg(
            ParkingCommand(t, -0.3, 0.1, list(Gear)[1], False, True)),)]),
        "parking_state": (conv.parking_status_from_msg, [(conv.parking_status_to_msg(
            ParkingStatus(t, list(ParkState)[1], "", 6.5, math.inf, 0.8, ("replayed counter",))),)]),
        "system_fault": (conv.system_fault_from_msg, [(conv.system_fault_to_msg(t, {"behaviour": t - 0.3}),)]),
    }


MESSAGE_BASES = {**_message_bases(), **_remote_parking_bases()}


def _message_target(name: str, convert: Callable[..., Any], bases: list[tuple[Any, ...]]) -> Target:
    return Target(f"message:{name}", mutated_messages(bases), lambda msgs: check_conversion(convert, msgs))


TARGETS: dict[str, Target] = {t.name: t for t in [
    Target("file:map_yaml", mutated_yaml(_MAP_YAMLS), check_map_yaml, examples_in_ci=10),
    Target("file:lanelet2_osm", mutated_osm(), check_osm, examples_in_ci=10),
    Target("file:scenario", mutated_yaml(_SCENARIOS), check_scenario),
    Target("file:params", mutated_yaml(_PARAMS), check_params),
    Target("file:rig", mutated_yaml(_RIGS), check_rig),
    *([Target("file:hmi_variant", mutated_yaml(_VARIANTS), check_hmi_variant)] if _VARIANTS else []),
    *(_message_target(name, convert, bases) for name, (convert, bases) in MESSAGE_BASES.items()),
]}
