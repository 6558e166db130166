"""One parameter spec per component: typed settings with unit, bounds and source.

In: a frozen dataclass whose fields are declared with `setting(...)`, and a mapping
of values (from YAML or ROS parameters). Out: a validated settings object, or a
`ConfigError` naming the file, the field and the reason. The same spec declares the
ROS parameters of a node and generates the parameter table of the docs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the same documents, 20x faster
MAX_SETTING_INT = 2**53  # integers beyond this do not convert to float exactly (and from 2**1024 not at all)


class ConfigError(ValueError):
    """Invalid input file or parameter; the message names file, field and reason."""

    def __init__(self, origin: str, field_name: str, reason: str):
        self.origin = origin
        self.field_name = field_name
        self.reason = reason
        super().__init__(f"{origin}: {field_name}: {reason}")


def key_name(key: Any) -> str:
    """A mapping key as a field name in an error: itself if a non-empty string, else its YAML-ish repr."""
    return key if isinstance(key, str) and key.strip() else repr(key)


def read_yaml(path: str | Path) -> Any:
    """The YAML document at path; a file that cannot be read or parsed is a ConfigError naming it."""
    origin = str(path)
    try:
        return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except OSError as exc:
        raise ConfigError(origin, "(file)", f"cannot read: {exc.strerror or exc}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(origin, "(file)", f"not valid YAML: {exc}") from None


def setting(
    default: Any,
    *,
    unit: str = "",
    description: str,
    minimum: float | None = None,
    maximum: float | None = None,
    source: str = "",
) -> Any:
    """A dataclass field that carries its own documentation and bounds."""
    return field(
        default=default,
        metadata={
            "unit": unit,
            "description": description,
            "minimum": minimum,
            "maximum": maximum,
            "source": source,
        },
    )


@dataclass(frozen=True, slots=True)
class SettingInfo:
    name: str
    type: type
    default: Any
    unit: str
    description: str
    minimum: float | None
    maximum: float | None
    source: str

    @property
    def bounds(self) -> str:
        """'[min, max]' with an empty side when open, '' when unbounded."""
        if self.minimum is None and self.maximum is None:
            return ""
        low, high = ("" if v is None else v for v in (self.minimum, self.maximum))
        return f"[{low}, {high}]"


def spec(cls: type) -> list[SettingInfo]:
    """The documented settings of a settings dataclass, in declaration order."""
    infos = []
    hints = {f.name: f.type for f in dataclasses.fields(cls)}
    for f in dataclasses.fields(cls):
        kind = _resolve_type(hints[f.name])
        infos.append(
            SettingInfo(
                f.name,
                kind,
                f.default,
                f.metadata.get("unit", ""),
                f.metadata.get("description", ""),
                f.metadata.get("minimum"),
                f.metadata.get("maximum"),
                f.metadata.get("source", ""),
            )
        )
    return infos


def _resolve_type(annotation: Any) -> type:
    names = {"float": float, "int": int, "bool": bool, "str": str}
    if isinstance(annotation, str):
        if annotation not in names:
            raise TypeError(f"settings fields must be float, int, bool or str, not {annotation}")
        return names[annotation]
    return annotation


def _coerce(info: SettingInfo, value: Any, origin: str, prefix: str) -> Any:
    name = prefix + info.name
    if info.type is bool:
        if not isinstance(value, bool):
            raise ConfigError(origin, name, f"expected true or false, got {value!r}")
        return value
    if info.type is str:
        if not isinstance(value, str):
            raise ConfigError(origin, name, f"expected a string, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(origin, name, f"expected a number, got {value!r}")
    if isinstance(value, int) and abs(value) > MAX_SETTING_INT:  # float(value) would overflow
        raise ConfigError(origin, name, f"{value} is too large")
    if info.type is int and not float(value).is_integer():
        raise ConfigError(origin, name, f"expected an integer, got {value!r}")
    number = info.type(value)
    if not math.isfinite(number):
        raise ConfigError(origin, name, f"must be finite, got {value!r}")
    unit = f" {info.unit}" if info.unit else ""
    if info.minimum is not None and number < info.minimum:
        raise ConfigError(origin, name, f"{number}{unit} is below the minimum {info.minimum}{unit}")
    if info.maximum is not None and number > info.maximum:
        raise ConfigError(origin, name, f"{number}{unit} is above the maximum {info.maximum}{unit}")
    return number


def from_mapping(cls: type[T], values: Mapping[str, Any] | None, origin: str, prefix: str = "") -> T:
    """Build settings from a mapping; unknown keys and bad values are refused."""
    if not isinstance(values or {}, Mapping):
        raise ConfigError(origin, prefix.rstrip(".") or "(root)", "expected a mapping")
    values = dict(values or {})
    infos = {info.name: info for info in spec(cls)}
    unknown = sorted(set(values) - set(infos), key=str)
    if unknown:
        raise ConfigError(origin, prefix + key_name(unknown[0]), f"unknown setting (known: {', '.join(infos)})")
    kwargs = {name: _coerce(infos[name], value, origin, prefix) for name, value in values.items()}
    settings = cls(**kwargs)
    check = getattr(settings, "check", None)
    if check is not None:
        problem = check()
        if problem:
            field_name, reason = problem
            raise ConfigError(origin, prefix + field_name, reason)
    return settings


def as_dict(settings: Any) -> dict[str, Any]:
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}


def markdown_table(cls: type) -> str:
    """The parameter table for a README: name | unit | type | default | range | source."""
    rows = ["| name | unit | type | default | range | description | source |", "|---|---|---|---|---|---|---|"]
    for info in spec(cls):
        rows.append(
            f"| `{info.name}` | {info.unit} | {info.type.__name__} | {info.default} | {info.bounds} "
            f"| {info.description} | {info.source} |"
        )
    return "\n".join(rows)


def groups_from_mapping(groups: Mapping[str, type], values: Mapping[str, Any] | None, origin: str) -> dict[str, Any]:
    """Settings of a node made of several groups: {"acc": AccSettings, ...} <- {"acc": {...}, ...}."""
    values = values or {}
    if not isinstance(values, Mapping):
        raise ConfigError(origin, "(root)", "expected a mapping of setting groups")
    unknown = sorted(set(values) - set(groups), key=str)
    if unknown:
        raise ConfigError(origin, key_name(unknown[0]), f"unknown setting group (known: {', '.join(groups)})")
    return {name: from_mapping(cls, values.get(name), origin, prefix=f"{name}.") for name, cls in groups.items()}
