"""Scenario files: load a YAML scenario and validate every field.

In: a path to `sim/scenarios/*.yaml`. Out: a `Scenario` (typed, immutable), or a
`ConfigError` naming the file, the field and the reason. Paths inside the file
(the map) are relative to the scenario file. See `sim/scenarios/README.md` for
the format.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propilot.core.fusion.rig import Rig, load_rig
from propilot.core.settings import ConfigError, key_name, read_yaml
from propilot.core.types import SensorKind

METRIC_NAMES = (
    "collisions", "min_ttc_s", "min_time_headway_s", "route_completion", "engaged_share",
    "max_lat_accel_mps2", "max_lat_jerk_mps3", "max_decel_mps2", "mean_speed_mps", "final_speed_mps",
    "supervisor_limited_share", "lane_changes", "critical_distance_margin_m", "indicator_to_lateral_s",
    "lateral_duration_s", "proposals_made", "proposals_accepted", "proposals_expired", "proposals_rejected",
    "proposals_aborted", "refused_requests", "max_warning_level", "minimal_risk_s", "hazard_lights_s",
    "fusion_gospa_m", "fusion_false_tracks", "fusion_missed_tracks", "rear_tracking_range_m",
    "max_lateral_error_m", "lane_correct_share", "lane_level_share",
    "driving_score", "hands_off_share", "mean_approval_latency_s", "max_approval_latency_s", "travel_time_s",
    "baseline_travel_time_s", "travel_time_ratio",
)
PROPOSAL_RESPONSES = ("approve", "reject", "ignore")


@dataclass(frozen=True, slots=True)
class EgoStart:
    lane: int  # 0 = leftmost lane
    station_m: float  # along the main carriageway
    speed_mps: float


@dataclass(frozen=True, slots=True)
class VehicleAction:
    """What a scripted vehicle does at `at_s`: change lane and/or go to a new speed."""

    at_s: float
    lane_change: int = 0  # +1 left, -1 right
    speed_mps: float | None = None
    decel_mps2: float | None = None  # braking used to reach a lower speed


@dataclass(frozen=True, slots=True)
class ScriptedVehicle:
    vehicle_id: str
    lane: int
    station_m: float
    speed_mps: float
    max_speed_mps: float  # the vehicle does not go faster than this
    actions: tuple[VehicleAction, ...] = ()


@dataclass(frozen=True, slots=True)
class RandomTraffic:
    count: int
    min_speed_mps: float
    max_speed_mps: float
    min_spacing_m: float


@dataclass(frozen=True, slots=True)
class DriverScript:
    engage_at_s: float | None  # presses the main switch then; None: never
    eyes_on_road: bool
    hands_on_wheel: bool
    set_speed_mps: float
    proposals: str = "ignore"  # approve | reject | ignore
    reaction_s: float = 1.5  # from seeing a proposal or request to acting on it
    eyes_off: tuple[tuple[float, float], ...] = ()  # (start_s, end_s) intervals looking away
    turn_signals: tuple[tuple[float, int], ...] = ()  # (at_s, +1 left / -1 right), hands on the wheel
    brake_at_s: tuple[float, ...] = ()
    takes_over: bool = True  # answers a take-over request by braking after reaction_s


# Fault kinds a scenario may inject; `target` names a sensor where the kind needs one.
FAULT_KINDS = ("gnss_outage", "sensor_dropout", "camera_blinded", "rtk_float", "gnss_standalone", "gnss_multipath",
               "stale_messages", "nan_messages", "node_crash")
SENSOR_FAULTS = {"sensor_dropout": None, "camera_blinded": SensorKind.CAMERA}  # kind -> the target's kind (any)
# Message faults hit one of the ego's own streams: stale = the sender repeats its last message, stamp and all;
# nan = every value of the message is NaN.
MESSAGE_STREAMS = ("gnss", "imu")
# node_crash: the node stops (no output, its inputs are lost) from start_s and restarts at end_s.
CRASHABLE_NODES = ("lane_detection", "localization", "fusion", "behaviour")
TARGET_NAMES = {"stale_messages": MESSAGE_STREAMS, "nan_messages": MESSAGE_STREAMS, "node_crash": CRASHABLE_NODES}
DEFAULT_RIG_PATH = Path(__file__).resolve().parents[2] / "sim" / "rigs" / "default.yaml"


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str  # one of FAULT_KINDS
    start_s: float
    end_s: float
    target: str = ""  # e.g. the sensor id for sensor_dropout

    def active(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s


@dataclass(frozen=True, slots=True)
class Expectation:
    metric: str
    minimum: float | None
    maximum: float | None


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    path: Path
    purpose: str
    map_path: Path
    seed: int
    duration_s: float
    step_s: float
    ego: EgoStart
    destination_station_m: float
    driver: DriverScript
    vehicles: tuple[ScriptedVehicle, ...]
    random_traffic: RandomTraffic | None
    expectations: tuple[Expectation, ...]
    settings: dict[str, Any]  # node parameter overrides, {node: {group: {name: value}}}
    faults: tuple[Fault, ...] = ()
    destination: str = ""  # the navigation destination given to the stack (named point, lanelet id, 'lat,lon')
    rig_path: Path = DEFAULT_RIG_PATH  # the car's sensor rig
    rig: Rig | None = None  # loaded from rig_path by load_scenario

    def faulty_sensors(self, t_s: float, kind: str) -> frozenset[str]:
        """Ids of the sensors a fault of this kind hits at t_s."""
        return frozenset(f.target for f in self.faults if f.kind == kind and f.active(t_s))

    def active_faults(self, t_s: float, kind: str, target: str = "") -> bool:
        """Whether a fault of this kind (and target, if given) is active at t_s."""
        return any(f.kind == kind and f.active(t_s) and (not target or f.target == target) for f in self.faults)


def _finite_number(value: Any) -> bool:
    """An int or float (not a bool) that is finite as a float (huge YAML integers are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) if isinstance(value, float) else abs(value) <= 1e300


class _Fields:
    """Reads one mapping of the file, naming the field path in every error."""

    def __init__(self, origin: str, data: Any, path: str, known: tuple[str, ...]):
        self.origin, self.path = origin, path
        if not isinstance(data, dict):
            raise ConfigError(origin, path or "(root)", f"expected a mapping, got {type(data).__name__}")
        unknown = sorted(set(data) - set(known), key=str)
        if unknown:
            raise ConfigError(origin, self._name(key_name(unknown[0])), f"unknown field (known: {', '.join(known)})")
        self.data = data

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def required(self, key: str) -> Any:
        if key not in self.data:
            raise ConfigError(self.origin, self._name(key), "missing")
        return self.data[key]

    def number(self, key: str, default: float | None = None, minimum: float | None = None,
               maximum: float | None = None) -> float:
        value = self.data.get(key, default) if default is not None else self.required(key)
        if not _finite_number(value):
            raise ConfigError(self.origin, self._name(key), f"expected a finite number, got {value!r}")
        if minimum is not None and value < minimum:
            raise ConfigError(self.origin, self._name(key), f"{value} is below the minimum {minimum}")
        if maximum is not None and value > maximum:
            raise ConfigError(self.origin, self._name(key), f"{value} is above the maximum {maximum}")
        return float(value)

    def integer(self, key: str, default: int | None = None, minimum: int = 0) -> int:
        value = self.number(key, default, minimum)
        if not value.is_integer():
            raise ConfigError(self.origin, self._name(key), f"expected an integer, got {value}")
        return int(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(self.origin, self._name(key), f"expected true or false, got {value!r}")
        return value

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default) if default is not None else self.required(key)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(self.origin, self._name(key), f"expected a non-empty string, got {value!r}")
        return value

    def sub(self, key: str, known: tuple[str, ...], required: bool = True) -> _Fields | None:
        if key not in self.data and not required:
            return None
        return _Fields(self.origin, self.required(key), self._name(key), known)


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    origin = str(path)
    data = read_yaml(path)
    if isinstance(data, dict) and "parking" in data:  # remote parking: its own format (parking_scenario.py)
        from propilot.sim.parking_scenario import load_parking_scenario

        return load_parking_scenario(path)
    top = _Fields(origin, data, "", ("purpose", "map", "seed", "duration_s", "step_s", "ego", "route", "driver",
                                     "traffic", "expectations", "settings", "faults", "rig"))
    map_path = (path.parent / top.text("map")).resolve()
    if not map_path.is_file():
        raise ConfigError(origin, "map", f"no such file: {map_path}")

    ego_f = top.sub("ego", ("lane", "station_m", "speed_mps"))
    ego = EgoStart(ego_f.integer("lane"), ego_f.number("station_m", minimum=0.0),
                   ego_f.number("speed_mps", minimum=0.0, maximum=60.0))
    route_f = top.sub("route", ("destination_station_m", "destination"))
    destination = route_f.number("destination_station_m", minimum=0.0)
    navigation = route_f.text("destination") if "destination" in route_f.data else ""
    if destination <= ego.station_m:
        raise ConfigError(origin, "route.destination_station_m", "must lie ahead of ego.station_m")

    driver = _driver(top.sub("driver", ("engage_at_s", "eyes_on_road", "hands_on_wheel", "set_speed_kph",
                                        "proposals", "reaction_s", "eyes_off", "turn_signals", "brake_at_s",
                                        "takes_over")), origin)
    vehicles, random_traffic = _traffic(top.sub("traffic", ("vehicles", "random"), required=False), origin)
    expectations = _expectations(top.data.get("expectations", {}), origin)
    settings = top.data.get("settings", {}) or {}
    if not isinstance(settings, dict):
        raise ConfigError(origin, "settings", "expected a mapping {node: {group: {name: value}}}")
    rig_path = (path.parent / top.text("rig")).resolve() if "rig" in top.data else DEFAULT_RIG_PATH
    rig = load_rig(rig_path)
    return Scenario(
        name=path.stem, path=path, purpose=top.text("purpose"), map_path=map_path,
        seed=top.integer("seed", 0), duration_s=top.number("duration_s", minimum=0.1, maximum=3600.0),
        step_s=top.number("step_s", 0.05, minimum=0.01, maximum=0.1), ego=ego, destination_station_m=destination,
        driver=driver, vehicles=vehicles, random_traffic=random_traffic, expectations=expectations,
        settings=settings, faults=_faults(top.data.get("faults", []), origin, rig),
        rig_path=rig_path, rig=rig, destination=navigation,
    )


def _driver(f: _Fields, origin: str) -> DriverScript:
    engage = f.data.get("engage_at_s")
    response = f.text("proposals", "ignore")
    if response not in PROPOSAL_RESPONSES:
        raise ConfigError(origin, "driver.proposals", f"must be one of {', '.join(PROPOSAL_RESPONSES)}")
    eyes_off = []
    for i, item in enumerate(_list(f, "eyes_off", origin)):
        g = _Fields(origin, item, f"driver.eyes_off[{i}]", ("start_s", "end_s"))
        start, end = g.number("start_s", minimum=0.0), g.number("end_s", minimum=0.0)
        if end <= start:
            raise ConfigError(origin, f"driver.eyes_off[{i}].end_s", "must be after start_s")
        eyes_off.append((start, end))
    signals = []
    for i, item in enumerate(_list(f, "turn_signals", origin)):
        g = _Fields(origin, item, f"driver.turn_signals[{i}]", ("at_s", "direction"))
        direction = g.text("direction")
        if direction not in ("left", "right"):
            raise ConfigError(origin, f"driver.turn_signals[{i}].direction", "must be left or right")
        signals.append((g.number("at_s", minimum=0.0), 1 if direction == "left" else -1))
    brakes = []
    for i, value in enumerate(_list(f, "brake_at_s", origin)):
        if not _finite_number(value) or value < 0:
            raise ConfigError(origin, f"driver.brake_at_s[{i}]", f"expected a time >= 0, got {value!r}")
        brakes.append(float(value))
    return DriverScript(
        engage_at_s=None if engage is None else f.number("engage_at_s", minimum=0.0),
        eyes_on_road=f.boolean("eyes_on_road", True),
        hands_on_wheel=f.boolean("hands_on_wheel", False),
        set_speed_mps=f.number("set_speed_kph", 100.0, minimum=30.0, maximum=135.0) / 3.6,
        proposals=response, reaction_s=f.number("reaction_s", 1.5, minimum=0.0, maximum=30.0),
        eyes_off=tuple(eyes_off), turn_signals=tuple(signals), brake_at_s=tuple(brakes),
        takes_over=f.boolean("takes_over", True),
    )


def _list(f: _Fields, key: str, origin: str) -> list:
    value = f.data.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(origin, f"{f.path}.{key}", "expected a list")
    return value


def _actions(raw: Any, origin: str, path: str) -> tuple[VehicleAction, ...]:
    if not isinstance(raw, list):
        raise ConfigError(origin, path, "expected a list of {at_s, lane_change, speed_mps, decel_mps2}")
    actions = []
    for i, item in enumerate(raw):
        a = _Fields(origin, item, f"{path}[{i}]", ("at_s", "lane_change", "speed_mps", "decel_mps2"))
        change = a.data.get("lane_change", "none")
        if change not in ("left", "right", "none"):
            raise ConfigError(origin, f"{path}[{i}].lane_change", "must be left, right or none")
        speed = a.number("speed_mps", minimum=0.0, maximum=70.0) if "speed_mps" in a.data else None
        decel = a.number("decel_mps2", minimum=0.5, maximum=10.0) if "decel_mps2" in a.data else None
        if change == "none" and speed is None:
            raise ConfigError(origin, f"{path}[{i}]", "an action needs lane_change or speed_mps")
        actions.append(VehicleAction(a.number("at_s", minimum=0.0), {"left": 1, "right": -1, "none": 0}[change],
                                     speed, decel))
    return tuple(sorted(actions, key=lambda a: a.at_s))


def _traffic(fields: _Fields | None, origin: str) -> tuple[tuple[ScriptedVehicle, ...], RandomTraffic | None]:
    if fields is None:
        return (), None
    raw_vehicles = fields.data.get("vehicles", [])
    if not isinstance(raw_vehicles, list):
        raise ConfigError(origin, "traffic.vehicles", "expected a list")
    vehicles = []
    for i, raw in enumerate(raw_vehicles):
        v = _Fields(origin, raw, f"traffic.vehicles[{i}]",
                    ("id", "lane", "station_m", "speed_mps", "max_speed_mps", "actions"))
        speed = v.number("speed_mps", minimum=0.0, maximum=70.0)
        vehicles.append(ScriptedVehicle(v.text("id"), v.integer("lane"), v.number("station_m", minimum=0.0), speed,
                                        v.number("max_speed_mps", speed if speed > 0 else 0.1, minimum=0.1),
                                        _actions(v.data.get("actions", []), origin,
                                                 f"traffic.vehicles[{i}].actions")))
    ids = [v.vehicle_id for v in vehicles]
    if len(set(ids)) != len(ids):
        raise ConfigError(origin, "traffic.vehicles", "vehicle ids must be unique")
    random_f = fields.sub("random", ("count", "min_speed_mps", "max_speed_mps", "min_spacing_m"), required=False)
    random_traffic = None
    if random_f is not None:
        random_traffic = RandomTraffic(
            random_f.integer("count", minimum=0), random_f.number("min_speed_mps", 20.0, minimum=0.0),
            random_f.number("max_speed_mps", 33.0, minimum=0.0), random_f.number("min_spacing_m", 40.0, minimum=10.0))
        if random_traffic.min_speed_mps > random_traffic.max_speed_mps:
            raise ConfigError(origin, "traffic.random.min_speed_mps", "must not exceed max_speed_mps")
    return tuple(vehicles), random_traffic


def _faults(raw: Any, origin: str, rig: Rig) -> tuple[Fault, ...]:
    if not isinstance(raw, list):
        raise ConfigError(origin, "faults", "expected a list of {kind, start_s, end_s, target}")
    faults = []
    for i, item in enumerate(raw):
        f = _Fields(origin, item, f"faults[{i}]", ("kind", "start_s", "end_s", "target"))
        kind = f.text("kind")
        if kind not in FAULT_KINDS:
            raise ConfigError(origin, f"faults[{i}].kind", f"unknown fault {kind!r} (known: {', '.join(FAULT_KINDS)})")
        start, end = f.number("start_s", minimum=0.0), f.number("end_s", minimum=0.0)
        if end <= start:
            raise ConfigError(origin, f"faults[{i}].end_s", "must be after start_s")
        target = f.text("target") if "target" in f.data else ""
        if kind in SENSOR_FAULTS:
            wanted = SENSOR_FAULTS[kind]
            ids = rig.ids(wanted)
            if target not in ids:
                what = f"a {wanted.name.lower()}" if wanted is not None else "a sensor"
                raise ConfigError(origin, f"faults[{i}].target", f"{kind} needs {what} of the rig {rig.name!r} "
                                  f"({', '.join(ids)}), got {target!r}")
        if kind in TARGET_NAMES and target not in TARGET_NAMES[kind]:
            raise ConfigError(origin, f"faults[{i}].target",
                              f"{kind} needs one of {', '.join(TARGET_NAMES[kind])}, got {target!r}")
        faults.append(Fault(kind, start, end, target))
    return tuple(faults)


def _expectations(raw: Any, origin: str) -> tuple[Expectation, ...]:
    if not isinstance(raw, dict):
        raise ConfigError(origin, "expectations", "expected a mapping {metric: {min: x, max: y}}")
    out = []
    for metric, bounds in raw.items():
        if metric not in METRIC_NAMES:
            raise ConfigError(origin, f"expectations.{metric}", f"unknown metric (known: {', '.join(METRIC_NAMES)})")
        f = _Fields(origin, bounds, f"expectations.{metric}", ("min", "max"))
        minimum = f.number("min") if "min" in f.data else None
        maximum = f.number("max") if "max" in f.data else None
        if minimum is None and maximum is None:
            raise ConfigError(origin, f"expectations.{metric}", "needs min or max")
        out.append(Expectation(metric, minimum, maximum))
    return tuple(out)
