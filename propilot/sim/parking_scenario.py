"""Remote-parking scenario files: load a YAML scenario with a `parking` section and validate it.

In: a path to `sim/scenarios/parking_*.yaml`. Out: a `ParkingScenario` (typed, immutable) or a
`ConfigError` naming the file, the field and the reason. A file is a parking scenario when it has
a top-level `parking` section; `propilot.sim.scenario.load_scenario` hands such files here.

    purpose: one line          map: ../../maps/parking/map.yaml       seed: 1
    duration_s: 40             step_s: 0.05 (optional)                rig: (optional)
    parking:
      space: AN05              manoeuvre: in | out         start_at_s: 0.5
      start: {x_m, y_m, yaw_deg}          # the car's pose (rear-axle centre) at arming
    obstacles:                            # parked cars (in a space or at a pose), poles, pedestrians
      - {id: left, kind: car, space: AN04}
      - {id: pole, kind: pole, x_m: 26.2, y_m: 10.0}
      - {id: child, kind: pedestrian, x_m, y_m, appear_at_s: 6, leave_at_s: 10}
    fob:
      operator: {x_m, y_m}                # where the driver stands
      walk: [{at_s, x_m, y_m}]            # where the driver stands from at_s on (walks there at 1.4 m/s)
      holds: [{start_s, end_s}]           # the hold button pressed (release sends STOP)
      signal_loss: [{start_s, end_s}]     # no packet arrives
      attacks: [{kind: replay | forged_mac, start_s, end_s, replay_of_s}]
    settings: {parking: {group: {name: value}}}     # node parameter overrides
    expectations: {metric: {min, max}}              # metrics of PARKING_METRIC_NAMES
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propilot.core.fusion.rig import Rig, load_rig
from propilot.core.map.hdmap import load_map
from propilot.core.settings import ConfigError, read_yaml
from propilot.sim.scenario import DEFAULT_RIG_PATH, Expectation, _Fields

PARKING_METRIC_NAMES = (
    "collisions", "min_clearance_m", "motion_without_valid_hold_s", "max_stop_time_s", "max_stop_distance_m",
    "final_position_error_m", "final_heading_error_deg", "final_inside_space", "completed", "aborted",
    "blocked_stops", "fob_rejected", "fob_rejected_replayed", "fob_rejected_forged_mac", "fob_rejected_stale",
    "fob_rejected_out_of_order", "max_speed_mps", "travelled_m", "moving_s",
)
OBSTACLE_KINDS = {"car": (4.5, 1.8), "pole": (0.1, 0.1), "pedestrian": (0.4, 0.5)}  # length, width (m)
ATTACK_KINDS = ("replay", "forged_mac")
MANOEUVRES = ("in", "out")


@dataclass(frozen=True, slots=True)
class Obstacle:
    obstacle_id: str
    kind: str  # car | pole | pedestrian
    x_m: float  # box centre, map frame
    y_m: float
    yaw_rad: float
    length_m: float
    width_m: float
    appear_at_s: float = 0.0
    leave_at_s: float = math.inf

    def present(self, t_s: float) -> bool:
        return self.appear_at_s <= t_s < self.leave_at_s


@dataclass(frozen=True, slots=True)
class Attack:
    kind: str  # replay | forged_mac
    start_s: float
    end_s: float
    replay_of_s: float = 0.0  # replay: the genuine packets sent from this time on are sent again


@dataclass(frozen=True, slots=True)
class FobScript:
    operator_xy_m: tuple[float, float]
    walk: tuple[tuple[float, float, float], ...]  # (at_s, x_m, y_m)
    holds: tuple[tuple[float, float], ...]
    signal_loss: tuple[tuple[float, float], ...]
    attacks: tuple[Attack, ...]


@dataclass(frozen=True, slots=True)
class ParkingScenario:
    name: str
    path: Path
    purpose: str
    map_path: Path
    seed: int
    duration_s: float
    step_s: float
    space: str
    manoeuvre: str  # in | out
    start_at_s: float
    start_x_m: float
    start_y_m: float
    start_yaw_rad: float
    obstacles: tuple[Obstacle, ...]
    fob: FobScript
    expectations: tuple[Expectation, ...]
    settings: dict[str, Any]
    rig_path: Path = DEFAULT_RIG_PATH
    rig: Rig | None = None


def is_parking_scenario(data: Any) -> bool:
    return isinstance(data, dict) and "parking" in data


def load_parking_scenario(path: str | Path) -> ParkingScenario:
    path = Path(path)
    origin = str(path)
    top = _Fields(origin, read_yaml(path), "", ("purpose", "map", "seed", "duration_s", "step_s", "rig", "parking",
                                                 "obstacles", "fob", "settings", "expectations"))
    map_path = (path.parent / top.text("map")).resolve()
    if not map_path.is_file():
        raise ConfigError(origin, "map", f"no such file: {map_path}")
    spaces = {s.name: s for s in load_map(map_path).parking_spaces()}
    duration = top.number("duration_s", minimum=1.0, maximum=600.0)

    p = top.sub("parking", ("space", "manoeuvre", "start_at_s", "start"))
    space = p.text("space")
    if space not in spaces:
        raise ConfigError(origin, "parking.space", f"no parking space {space!r} in {map_path.name} "
                                                   f"(e.g. {', '.join(sorted(spaces)[:4])})")
    manoeuvre = p.text("manoeuvre")
    if manoeuvre not in MANOEUVRES:
        raise ConfigError(origin, "parking.manoeuvre", f"must be one of {', '.join(MANOEUVRES)}")
    start = p.sub("start", ("x_m", "y_m", "yaw_deg"))

    obstacles = _obstacles(top.data.get("obstacles", []), origin, spaces, duration)
    fob = _fob(top.sub("fob", ("operator", "walk", "holds", "signal_loss", "attacks")), origin, duration)
    settings = top.data.get("settings", {}) or {}
    if not isinstance(settings, dict) or set(settings) - {"parking"}:
        raise ConfigError(origin, "settings", "expected {parking: {group: {name: value}}}")
    rig_path = (path.parent / top.text("rig")).resolve() if "rig" in top.data else DEFAULT_RIG_PATH
    return ParkingScenario(
        name=path.stem, path=path, purpose=top.text("purpose"), map_path=map_path, seed=top.integer("seed", 0),
        duration_s=duration, step_s=top.number("step_s", 0.05, minimum=0.01, maximum=0.05),
        space=space, manoeuvre=manoeuvre, start_at_s=p.number("start_at_s", 0.5, minimum=0.0, maximum=duration),
        start_x_m=start.number("x_m"), start_y_m=start.number("y_m"),
        start_yaw_rad=math.radians(start.number("yaw_deg", minimum=-360.0, maximum=360.0)),
        obstacles=obstacles, fob=fob,
        expectations=_expectations(top.data.get("expectations", {}), origin),
        settings=settings, rig_path=rig_path, rig=load_rig(rig_path),
    )


def _items(raw: Any, origin: str, name: str) -> list:
    if not isinstance(raw, list):
        raise ConfigError(origin, name, "expected a list")
    return raw


def _interval(f: _Fields, origin: str, duration_s: float) -> tuple[float, float]:
    start, end = f.number("start_s", minimum=0.0), f.number("end_s", minimum=0.0)
    if end <= start:
        raise ConfigError(origin, f"{f.path}.end_s", "must be after start_s")
    if start > duration_s:
        raise ConfigError(origin, f"{f.path}.start_s", f"after the end of the scenario ({duration_s} s)")
    return start, end


def _obstacles(raw: Any, origin: str, spaces: dict, duration_s: float) -> tuple[Obstacle, ...]:
    out = []
    for i, item in enumerate(_items(raw, origin, "obstacles")):
        name = f"obstacles[{i}]"
        f = _Fields(origin, item, name, ("id", "kind", "space", "x_m", "y_m", "yaw_deg", "appear_at_s",
                                          "leave_at_s"))
        kind = f.text("kind")
        if kind not in OBSTACLE_KINDS:
            raise ConfigError(origin, f"{name}.kind", f"unknown obstacle {kind!r} (known: {', '.join(OBSTACLE_KINDS)})")
        length, width = OBSTACLE_KINDS[kind]
        if "space" in f.data:
            space_name = f.text("space")
            if space_name not in spaces:
                raise ConfigError(origin, f"{name}.space", f"no parking space {space_name!r} in the map")
            sp = spaces[space_name]
            x, y = (sp.entry_xy_m[0] + sp.end_xy_m[0]) / 2.0, (sp.entry_xy_m[1] + sp.end_xy_m[1]) / 2.0
            yaw = sp.heading_rad
        else:
            x, y, yaw = f.number("x_m"), f.number("y_m"), math.radians(f.number("yaw_deg", 0.0))
        appear = f.number("appear_at_s", 0.0, minimum=0.0)
        leave = f.number("leave_at_s", minimum=0.0) if "leave_at_s" in f.data else math.inf
        if leave <= appear:
            raise ConfigError(origin, f"{name}.leave_at_s", "must be after appear_at_s")
        out.append(Obstacle(f.text("id"), kind, x, y, yaw, length, width, appear, leave))
    ids = [o.obstacle_id for o in out]
    if len(set(ids)) != len(ids):
        raise ConfigError(origin, "obstacles", "obstacle ids must be unique")
    return tuple(out)


def _fob(f: _Fields, origin: str, duration_s: float) -> FobScript:
    op = f.sub("operator", ("x_m", "y_m"))
    walk = []
    for i, item in enumerate(_items(f.data.get("walk", []), origin, "fob.walk")):
        g = _Fields(origin, item, f"fob.walk[{i}]", ("at_s", "x_m", "y_m"))
        walk.append((g.number("at_s", minimum=0.0), g.number("x_m"), g.number("y_m")))
    holds = [_interval(_Fields(origin, item, f"fob.holds[{i}]", ("start_s", "end_s")), origin, duration_s)
             for i, item in enumerate(_items(f.data.get("holds", []), origin, "fob.holds"))]
    for i in range(1, len(holds)):
        if holds[i][0] <= holds[i - 1][1]:
            raise ConfigError(origin, f"fob.holds[{i}].start_s", "holds must be in time order and not overlap")
    losses = [_interval(_Fields(origin, item, f"fob.signal_loss[{i}]", ("start_s", "end_s")), origin, duration_s)
              for i, item in enumerate(_items(f.data.get("signal_loss", []), origin, "fob.signal_loss"))]
    attacks = []
    for i, item in enumerate(_items(f.data.get("attacks", []), origin, "fob.attacks")):
        g = _Fields(origin, item, f"fob.attacks[{i}]", ("kind", "start_s", "end_s", "replay_of_s"))
        kind = g.text("kind")
        if kind not in ATTACK_KINDS:
            raise ConfigError(origin, f"fob.attacks[{i}].kind", f"unknown attack {kind!r} "
                                                                f"(known: {', '.join(ATTACK_KINDS)})")
        start, end = _interval(g, origin, duration_s)
        replay_of = g.number("replay_of_s", minimum=0.0) if kind == "replay" else 0.0
        if kind == "replay" and replay_of >= start:
            raise ConfigError(origin, f"fob.attacks[{i}].replay_of_s", "must be before start_s (a recording)")
        attacks.append(Attack(kind, start, end, replay_of))
    return FobScript((op.number("x_m"), op.number("y_m")), tuple(sorted(walk)), tuple(holds), tuple(losses),
                     tuple(attacks))


def _expectations(raw: Any, origin: str) -> tuple[Expectation, ...]:
    if not isinstance(raw, dict):
        raise ConfigError(origin, "expectations", "expected a mapping {metric: {min: x, max: y}}")
    out = []
    for metric, bounds in raw.items():
        if metric not in PARKING_METRIC_NAMES:
            raise ConfigError(origin, f"expectations.{metric}",
                              f"unknown metric (known: {', '.join(PARKING_METRIC_NAMES)})")
        f = _Fields(origin, bounds, f"expectations.{metric}", ("min", "max"))
        minimum = f.number("min") if "min" in f.data else None
        maximum = f.number("max") if "max" in f.data else None
        if minimum is None and maximum is None:
            raise ConfigError(origin, f"expectations.{metric}", "needs min or max")
        out.append(Expectation(metric, minimum, maximum))
    return tuple(out)
