"""Study files: conditions (an HMI variant each), the scenarios every condition drives, instructions.

In: a study YAML (format in sim/studies/README.md). Out: a validated `Study` with the variants
loaded and the scenario paths resolved, or a `ConfigError` naming the file, the field and the
reason. The participant behaviour of a condition is what the scripted participant does there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propilot.core.hmi.variants import HmiVariant, load_variant
from propilot.core.settings import ConfigError, read_yaml

RESPONSES = ("approve", "reject", "ignore")


@dataclass(frozen=True, slots=True)
class ScriptedBehaviour:
    """What the scripted participant does in a condition (the virtual driver's script fields)."""

    proposals: str = "approve"  # approve | reject | ignore
    reaction_s: float = 1.5
    eyes_off: tuple[tuple[float, float], ...] = ()
    takes_over: bool = True


@dataclass(frozen=True, slots=True)
class StudyScenario:
    path: Path
    duration_s: float | None = None  # shortened trial; None: the scenario's own duration
    instructions: str = ""


@dataclass(frozen=True, slots=True)
class Condition:
    name: str
    variant: HmiVariant
    instructions: str
    scenarios: tuple[StudyScenario, ...]
    participant: ScriptedBehaviour


@dataclass(frozen=True, slots=True)
class Study:
    name: str
    path: Path
    description: str
    conditions: tuple[Condition, ...]


def _mapping(value: Any, origin: str, where: str, known: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(origin, where, "expected a mapping")
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ConfigError(origin, f"{where}.{unknown[0]}", f"unknown field (known: {', '.join(known)})")
    return value


def _text(data: dict[str, Any], key: str, origin: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise ConfigError(origin, f"{where}.{key}" if where else key, f"expected a non-empty string, got {value!r}")
    return value


def _number(value: Any, origin: str, where: str, minimum: float, maximum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not minimum <= value <= maximum:
        raise ConfigError(origin, where, f"expected a number in {minimum}..{maximum}, got {value!r}")
    return float(value)


def _scenarios(items: Any, base: Path, origin: str, where: str) -> tuple[StudyScenario, ...]:
    if not isinstance(items, list) or not items:
        raise ConfigError(origin, where, "expected a non-empty list of scenarios")
    scenarios = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]"
        item = {"path": item} if isinstance(item, str) else _mapping(item, origin, at,
                                                                   ("path", "duration_s", "instructions"))
        path = (base / _text(item, "path", origin, at)).resolve()
        if not path.is_file():
            raise ConfigError(origin, f"{at}.path", f"no such scenario file: {path}")
        duration = item.get("duration_s")
        scenarios.append(StudyScenario(path, None if duration is None else
                                       _number(duration, origin, f"{at}.duration_s", 1.0, 3600.0),
                                       _text(item, "instructions", origin, at, "")))
    return tuple(scenarios)


def _participant(data: Any, origin: str, where: str) -> ScriptedBehaviour:
    data = _mapping(data or {}, origin, where, ("proposals", "reaction_s", "eyes_off", "takes_over"))
    proposals = data.get("proposals", "approve")
    if proposals not in RESPONSES:
        raise ConfigError(origin, f"{where}.proposals", f"must be one of {', '.join(RESPONSES)}, got {proposals!r}")
    eyes_off = []
    for i, interval in enumerate(data.get("eyes_off") or []):
        at = f"{where}.eyes_off[{i}]"
        if not isinstance(interval, list) or len(interval) != 2:
            raise ConfigError(origin, at, "expected [start_s, end_s]")
        start, end = (_number(v, origin, at, 0.0, 3600.0) for v in interval)
        if end <= start:
            raise ConfigError(origin, at, "end_s must be after start_s")
        eyes_off.append((start, end))
    takes_over = data.get("takes_over", True)
    if not isinstance(takes_over, bool):
        raise ConfigError(origin, f"{where}.takes_over", f"expected true or false, got {takes_over!r}")
    return ScriptedBehaviour(proposals, _number(data.get("reaction_s", 1.5), origin, f"{where}.reaction_s", 0.0, 30.0),
                             tuple(eyes_off), takes_over)


def load_study(path: str | Path) -> Study:
    """The study file at path, validated (variants and scenario files must exist)."""
    path = Path(path)
    origin = str(path)
    data = _mapping(read_yaml(path), origin, "(root)", ("name", "description", "conditions", "scenarios"))
    base = path.resolve().parent
    shared = _scenarios(data["scenarios"], base, origin, "scenarios") if "scenarios" in data else None
    items = data.get("conditions")
    if not isinstance(items, list) or len(items) < 2:
        raise ConfigError(origin, "conditions", "expected a list of at least two conditions")
    conditions = []
    for i, item in enumerate(items):
        at = f"conditions[{i}]"
        item = _mapping(item, origin, at, ("name", "variant", "instructions", "scenarios", "participant"))
        variant = load_variant((base / _text(item, "variant", origin, at)).resolve())
        scenarios = _scenarios(item["scenarios"], base, origin, f"{at}.scenarios") if "scenarios" in item else shared
        if scenarios is None:
            raise ConfigError(origin, f"{at}.scenarios", "no scenarios here and none shared at the top level")
        conditions.append(Condition(_text(item, "name", origin, at), variant, _text(item, "instructions", origin, at,
                                                                                      ""),
                                    scenarios, _participant(item.get("participant"), origin, f"{at}.participant")))
    names = [c.name for c in conditions]
    if len(set(names)) != len(names):
        raise ConfigError(origin, "conditions", f"condition names must be unique: {names}")
    return Study(_text(data, "name", origin, "", path.stem), path, _text(data, "description", origin, "", ""),
                 tuple(conditions))
