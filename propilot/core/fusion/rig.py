"""Sensor rig: which sensors the car carries, where they sit and what each of them sees.

In: a rig YAML file (format in `sim/rigs/README.md`, the car's rig in `sim/rigs/default.yaml`).
Out: a `Rig` of `Sensor`s (typed, immutable), or a `ConfigError` naming the file, the field
and the reason. The simulator builds its sensor models from it; the tracker takes the
mounting poses (line of sight, lever arm of the range rate) and the fields of view (a
track counts a miss only from a sensor that should have seen it).

Mounts are on base_link (rear-axle centre, REP-103: x forward, y left, z up), yaw counter-
clockwise from x. Every kind has its own settings class; a field left out takes the
default of the `defaults` section of the file, else the one in code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from propilot.core.settings import ConfigError, from_mapping, key_name, read_yaml, setting
from propilot.core.types import Pose2D, SensorKind

KIND_NAMES = {"camera": SensorKind.CAMERA, "radar": SensorKind.RADAR, "sonar": SensorKind.SONAR}
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")  # a ROS topic name part


@dataclass(frozen=True, slots=True)
class MountSpec:
    x_m: float = setting(0.0, unit="m", description="ahead of base_link (rear axle)", minimum=-5.0, maximum=8.0)
    y_m: float = setting(0.0, unit="m", description="left of base_link", minimum=-2.0, maximum=2.0)
    z_m: float = setting(0.5, unit="m", description="above the ground", minimum=0.0, maximum=3.0)
    yaw_deg: float = setting(0.0, unit="deg", description="boresight, counter-clockwise from x", minimum=-180.0,
                             maximum=180.0)


@dataclass(frozen=True, slots=True)
class RadarSpec:
    fov_deg: float = setting(40.0, unit="deg", description="full horizontal field of view", minimum=1.0,
                             maximum=180.0, source="typical 77 GHz long-range radar (+-20 deg far beam)")
    min_range_m: float = setting(0.5, unit="m", description="nearest detected object", minimum=0.0)
    max_range_m: float = setting(200.0, unit="m", description="farthest detected object", minimum=1.0,
                                 maximum=400.0, source="typical 77 GHz front long-range radar")
    rate_hz: float = setting(20.0, unit="Hz", description="scan rate", minimum=1.0, maximum=100.0)
    latency_s: float = setting(0.05, unit="s", description="measurement to delivery", minimum=0.0, maximum=0.5)
    detection_probability: float = setting(0.98, description="chance that a visible object is reported",
                                           minimum=0.0, maximum=1.0)
    false_alarms_per_scan: float = setting(0.2, description="mean number of false detections per scan "
                                           "(Poisson, uniform over the field of view)", minimum=0.0, maximum=20.0)
    occlusion_fraction: float = setting(0.7, description="share of an object's angular extent that a nearer "
                                        "object must cover to hide it (1 = no occlusion)", minimum=0.0, maximum=1.0)
    range_sigma_m: float = setting(0.25, unit="m", description="1-sigma range noise", minimum=0.0, maximum=10.0)
    azimuth_sigma_deg: float = setting(0.3, unit="deg", description="1-sigma azimuth noise", minimum=0.0,
                                       maximum=10.0)
    range_rate_sigma_mps: float = setting(0.1, unit="m/s", description="1-sigma range-rate (Doppler) noise",
                                          minimum=0.0, maximum=5.0)

    def check(self) -> tuple[str, str] | None:
        return _range_check(self)


@dataclass(frozen=True, slots=True)
class CameraSpec:
    fov_deg: float = setting(60.0, unit="deg", description="full horizontal field of view", minimum=1.0,
                             maximum=190.0)
    min_range_m: float = setting(1.0, unit="m", description="nearest detected object", minimum=0.0)
    max_range_m: float = setting(100.0, unit="m", description="farthest detected object (about 20 px high)",
                                 minimum=1.0, maximum=400.0)
    rate_hz: float = setting(20.0, unit="Hz", description="frame rate of the object detections", minimum=1.0,
                             maximum=100.0)
    latency_s: float = setting(0.1, unit="s", description="exposure to detections delivered (image processing)",
                               minimum=0.0, maximum=0.5)
    detection_probability: float = setting(0.95, description="chance that a visible object is reported",
                                           minimum=0.0, maximum=1.0)
    false_alarms_per_scan: float = setting(0.05, description="mean number of false detections per frame",
                                           minimum=0.0, maximum=20.0)
    occlusion_fraction: float = setting(0.7, description="share of an object's angular extent that a nearer "
                                        "object must cover to hide it (1 = no occlusion)", minimum=0.0, maximum=1.0)
    range_sigma_m: float = setting(0.3, unit="m", description="1-sigma range noise near the camera", minimum=0.0,
                                   maximum=10.0)
    range_sigma_fraction: float = setting(0.06, description="1-sigma range noise as a share of the range "
                                          "(monocular range from the box size and the ground contact)",
                                          minimum=0.0, maximum=0.5)
    azimuth_sigma_deg: float = setting(0.2, unit="deg", description="1-sigma bearing noise", minimum=0.0,
                                       maximum=10.0)
    width_sigma_m: float = setting(0.15, unit="m", description="1-sigma noise of the seen width", minimum=0.0,
                                   maximum=2.0)
    class_error_probability: float = setting(0.02, description="chance that the class is wrong", minimum=0.0,
                                             maximum=1.0)

    def check(self) -> tuple[str, str] | None:
        return _range_check(self)


@dataclass(frozen=True, slots=True)
class SonarSpec:
    fov_deg: float = setting(60.0, unit="deg", description="full horizontal beam cone", minimum=1.0,
                             maximum=180.0, source="typical automotive ultrasonic sensor, about +-30 deg at -6 dB")
    min_range_m: float = setting(0.15, unit="m", description="nearest echo (ring-down)", minimum=0.0)
    max_range_m: float = setting(3.0, unit="m", description="farthest echo", minimum=0.2, maximum=10.0,
                                 source="park assist 2.5-3 m; side sensors for parking-slot search 4.5-5.5 m")
    rate_hz: float = setting(10.0, unit="Hz", description="measurement cycle", minimum=1.0, maximum=50.0)
    latency_s: float = setting(0.05, unit="s", description="echo to delivery", minimum=0.0, maximum=0.5)
    detection_probability: float = setting(0.95, description="chance that an object in the beam gives an echo",
                                           minimum=0.0, maximum=1.0)
    false_alarms_per_scan: float = setting(0.01, description="chance of a false echo per cycle (ground, noise)",
                                           minimum=0.0, maximum=1.0)
    range_sigma_m: float = setting(0.03, unit="m", description="1-sigma range noise", minimum=0.0, maximum=1.0)

    def check(self) -> tuple[str, str] | None:
        return _range_check(self)


SPECS: dict[SensorKind, type] = {SensorKind.CAMERA: CameraSpec, SensorKind.RADAR: RadarSpec,
                                 SensorKind.SONAR: SonarSpec}
SensorSpec = CameraSpec | RadarSpec | SonarSpec


def _range_check(spec: Any) -> tuple[str, str] | None:
    if spec.min_range_m >= spec.max_range_m:
        return "min_range_m", f"{spec.min_range_m} m is not below max_range_m ({spec.max_range_m} m)"
    return None


@dataclass(frozen=True, slots=True)
class Sensor:
    """One mounted sensor: its id (unique in the rig), kind, mount and the settings of its kind."""

    sensor_id: str
    kind: SensorKind
    mount: Pose2D  # base_link, yaw in rad
    mount_z_m: float
    spec: SensorSpec

    @property
    def half_fov_rad(self) -> float:
        return math.radians(self.spec.fov_deg) / 2.0

    @property
    def period_s(self) -> float:
        return 1.0 / self.spec.rate_hz

    @property
    def kind_name(self) -> str:
        return self.kind.name.lower()

    def in_view(self, x_m: np.ndarray, y_m: np.ndarray) -> np.ndarray:
        """Which base_link points lie inside the field of view and the range band (vectorised)."""
        dx, dy = np.asarray(x_m) - self.mount.x_m, np.asarray(y_m) - self.mount.y_m
        distance = np.hypot(dx, dy)
        off_axis = (np.arctan2(dy, dx) - self.mount.yaw_rad + np.pi) % (2.0 * np.pi) - np.pi
        return ((np.abs(off_axis) <= self.half_fov_rad) & (distance >= self.spec.min_range_m)
                & (distance <= self.spec.max_range_m))


@dataclass(frozen=True, slots=True)
class Rig:
    name: str
    path: str
    sensors: tuple[Sensor, ...]

    @property
    def mounts(self) -> dict[str, Pose2D]:
        return {s.sensor_id: s.mount for s in self.sensors}

    def sensor(self, sensor_id: str) -> Sensor:
        for s in self.sensors:
            if s.sensor_id == sensor_id:
                return s
        raise KeyError(sensor_id)

    def ids(self, kind: SensorKind | None = None) -> tuple[str, ...]:
        return tuple(s.sensor_id for s in self.sensors if kind is None or s.kind == kind)

    def count(self, kind: SensorKind) -> int:
        return len(self.ids(kind))


def load_rig(path: str | Path) -> Rig:
    """Read and validate a rig file."""
    return rig_from_mapping(read_yaml(path), str(path))


def rig_from_mapping(data: Any, origin: str) -> Rig:
    """{name, description, defaults: {kind: {...}}, sensors: [{id, kind, mount, ...}]} -> Rig."""
    if not isinstance(data, dict):
        raise ConfigError(origin, "(root)", "expected a mapping with name, sensors and optionally defaults")
    _no_unknown(data, ("name", "description", "defaults", "sensors"), origin, "")
    name = data.get("name", Path(origin).stem)
    if not isinstance(name, str) or not name:
        raise ConfigError(origin, "name", f"expected a non-empty string, got {name!r}")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigError(origin, "defaults", "expected a mapping {kind: {setting: value}}")
    for kind_name, values in defaults.items():
        if kind_name not in KIND_NAMES:
            raise ConfigError(origin, f"defaults.{key_name(kind_name)}",
                              f"unknown sensor kind (known: {', '.join(KIND_NAMES)})")
        if not isinstance(values, dict):
            raise ConfigError(origin, f"defaults.{kind_name}", "expected a mapping {setting: value}")
        from_mapping(SPECS[KIND_NAMES[kind_name]], values, origin, prefix=f"defaults.{kind_name}.")
    raw_sensors = data.get("sensors")
    if not isinstance(raw_sensors, list) or not raw_sensors:
        raise ConfigError(origin, "sensors", "expected a non-empty list of sensors")
    sensors: list[Sensor] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_sensors):
        sensor = _sensor(raw, defaults, origin, f"sensors[{i}]")
        if sensor.sensor_id in seen:
            raise ConfigError(origin, f"sensors[{i}].id",
                              f"{sensor.sensor_id!r} is already used by sensors[{seen[sensor.sensor_id]}]")
        seen[sensor.sensor_id] = i
        sensors.append(sensor)
    return Rig(name, origin, tuple(sensors))


def _sensor(raw: Any, defaults: dict, origin: str, where: str) -> Sensor:
    if not isinstance(raw, dict):
        raise ConfigError(origin, where, f"expected a mapping, got {type(raw).__name__}")
    sensor_id, kind_name = raw.get("id"), raw.get("kind")
    if not isinstance(sensor_id, str) or not _ID_PATTERN.match(sensor_id):
        raise ConfigError(origin, f"{where}.id", f"expected a name of lower-case letters, digits and _, "
                          f"got {sensor_id!r}")
    if not isinstance(kind_name, str) or kind_name not in KIND_NAMES:
        raise ConfigError(origin, f"{where}.kind", f"expected one of {', '.join(KIND_NAMES)}, got {kind_name!r}")
    kind = KIND_NAMES[kind_name]
    spec_cls = SPECS[kind]
    settings = {k: v for k, v in raw.items() if k not in ("id", "kind", "mount")}
    known = [f for f in spec_cls.__dataclass_fields__]
    _no_unknown(settings, tuple(known), origin, f"{where}.", extra=("id", "kind", "mount"))
    spec = from_mapping(spec_cls, {**defaults.get(kind_name, {}), **settings}, origin, prefix=f"{where}.")
    if "mount" not in raw:
        raise ConfigError(origin, f"{where}.mount", "missing (x_m, y_m, z_m, yaw_deg on base_link)")
    if not isinstance(raw["mount"], dict):
        raise ConfigError(origin, f"{where}.mount", "expected a mapping {x_m, y_m, z_m, yaw_deg}")
    mount = from_mapping(MountSpec, raw["mount"], origin, prefix=f"{where}.mount.")
    return Sensor(sensor_id, kind, Pose2D(mount.x_m, mount.y_m, math.radians(mount.yaw_deg)), mount.z_m, spec)


def _no_unknown(data: dict, known: tuple[str, ...], origin: str, prefix: str, extra: tuple[str, ...] = ()) -> None:
    unknown = sorted(set(data) - set(known), key=str)
    if unknown:
        raise ConfigError(origin, prefix + key_name(unknown[0]), f"unknown field (known: {', '.join(extra + known)})")

