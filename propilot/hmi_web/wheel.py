"""Gamepad or simulator steering wheel (SDL2 joystick through pygame) -> driver inputs.

In: a mapping YAML (`load_wheel_mapping`, e.g. wheel_default.yaml next to this module) and SDL joystick
events (button down/up, hat motion, axis motion). Out: driver events (main switch, approve, turn
signal, set speed +/-, time gap, cancel, ...) and the hands-on stand-in (a button held = hands on
the wheel). Buttons, hats and axes the mapping does not name are ignored with a log.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from propilot.core.settings import ConfigError, read_yaml
from propilot.core.types import DriverEvent, DriverInput

LOG = logging.getLogger("propilot.hmi_web")
HAT_DIRECTIONS = {"up": (0, 1), "down": (0, -1), "left": (-1, 0), "right": (1, 0)}
DEFAULT_MAPPING = Path(__file__).resolve().parent / "wheel_default.yaml"


@dataclass(frozen=True, slots=True)
class AxisRule:
    positive: DriverEvent | None  # fired when the axis passes +threshold
    negative: DriverEvent | None  # fired when it passes -threshold
    threshold: float = 0.5  # of full travel (-1..1)


@dataclass(frozen=True, slots=True)
class WheelMapping:
    device: int = 0
    buttons: dict[int, DriverEvent] = field(default_factory=dict)
    hands_on_button: int | None = None
    hats: dict[tuple[int, int], DriverEvent] = field(default_factory=dict)  # hat 0 direction -> event
    axes: dict[int, AxisRule] = field(default_factory=dict)


def _event(value: Any, origin: str, field_name: str) -> DriverEvent:
    if not isinstance(value, str) or value not in DriverEvent.__members__ or value == "NONE":
        known = ", ".join(e.name for e in DriverEvent if e != DriverEvent.NONE)
        raise ConfigError(origin, field_name, f"unknown driver event {value!r} (known: {known})")
    return DriverEvent[value]


def _index(value: Any, origin: str, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(origin, field_name, f"expected a button/axis number >= 0, got {value!r}")
    return value


def load_wheel_mapping(path: str | Path = DEFAULT_MAPPING) -> WheelMapping:
    """The mapping file, validated; a ConfigError names the file, the field and the reason."""
    origin = str(path)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(origin, "(root)", "expected a mapping")
    known = ("device", "buttons", "hands_on_button", "hats", "axes")
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(origin, unknown[0], f"unknown field (known: {', '.join(known)})")
    buttons = data.get("buttons") or {}
    hats = data.get("hats") or {}
    axes = data.get("axes") or {}
    for name, value in (("buttons", buttons), ("hats", hats), ("axes", axes)):
        if not isinstance(value, dict):
            raise ConfigError(origin, name, "expected a mapping")
    hands = data.get("hands_on_button")
    mapping_axes = {}
    for axis, rule in axes.items():
        where = f"axes.{axis}"
        if not isinstance(rule, dict):
            raise ConfigError(origin, where, "expected {positive, negative, threshold}")
        threshold = rule.get("threshold", 0.5)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.05 <= threshold <= 1.0:
            raise ConfigError(origin, f"{where}.threshold", f"expected a number in 0.05..1, got {threshold!r}")
        mapping_axes[_index(axis, origin, where)] = AxisRule(
            _event(rule["positive"], origin, f"{where}.positive") if "positive" in rule else None,
            _event(rule["negative"], origin, f"{where}.negative") if "negative" in rule else None, float(threshold))
    for direction in hats:
        if direction not in HAT_DIRECTIONS:
            raise ConfigError(origin, f"hats.{direction}", f"expected one of {', '.join(HAT_DIRECTIONS)}")
    return WheelMapping(
        device=_index(data.get("device", 0), origin, "device"),
        buttons={_index(b, origin, f"buttons.{b}"): _event(e, origin, f"buttons.{b}") for b, e in buttons.items()},
        hands_on_button=None if hands is None else _index(hands, origin, "hands_on_button"),
        hats={HAT_DIRECTIONS[d]: _event(e, origin, f"hats.{d}") for d, e in hats.items()},
        axes=mapping_axes,
    )


class WheelInput:
    """Turns SDL joystick events into driver inputs through a mapping; keeps the hands-on stand-in."""

    def __init__(self, mapping: WheelMapping):
        self.mapping = mapping
        self.hands_on = False
        self._axis_side: dict[int, int] = {}  # axis -> -1/0/+1 past the threshold (edge-triggered)
        self._joystick = None

    def handle(self, event: Any) -> list[DriverInput]:
        """The driver inputs of one pygame event (t_s is set when they reach the stack)."""
        import pygame

        m = self.mapping
        if event.type == pygame.JOYBUTTONDOWN:
            if event.button == m.hands_on_button:
                self.hands_on = True
                return []
            if event.button in m.buttons:
                return [DriverInput(0.0, m.buttons[event.button], "", "wheel")]
            LOG.info("wheel input ignored: button %s is not mapped", event.button)
        elif event.type == pygame.JOYBUTTONUP:
            if event.button == m.hands_on_button:
                self.hands_on = False
        elif event.type == pygame.JOYHATMOTION:
            direction = tuple(event.value)
            if direction == (0, 0):
                return []
            if direction in m.hats:
                return [DriverInput(0.0, m.hats[direction], "", "wheel")]
            LOG.info("wheel input ignored: hat direction %s is not mapped", direction)
        elif event.type == pygame.JOYAXISMOTION:
            rule = m.axes.get(event.axis)
            if rule is None:
                return []  # unmapped axes (steering, pedals) move all the time: not worth a log line
            side = 1 if event.value >= rule.threshold else -1 if event.value <= -rule.threshold else 0
            previous, self._axis_side[event.axis] = self._axis_side.get(event.axis, 0), side
            fired = rule.positive if side == 1 else rule.negative if side == -1 else None
            if side != previous and fired is not None:
                return [DriverInput(0.0, fired, "", "wheel")]
        return []

    def open(self) -> bool:
        """Open the mapped joystick (SDL2); False (logged) when there is none."""
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        import pygame

        pygame.display.init()  # the event queue needs the video subsystem (the dummy driver is enough)
        pygame.joystick.init()
        if pygame.joystick.get_count() <= self.mapping.device:
            LOG.warning("no joystick %d (found %d): wheel inputs off", self.mapping.device,
                        pygame.joystick.get_count())
            return False
        self._joystick = pygame.joystick.Joystick(self.mapping.device)
        LOG.info("wheel: %s", self._joystick.get_name())
        return True

    def poll(self) -> list[DriverInput]:
        """The driver inputs of the joystick events queued since the last poll."""
        import pygame

        inputs: list[DriverInput] = []
        for event in pygame.event.get((pygame.JOYBUTTONDOWN, pygame.JOYBUTTONUP, pygame.JOYHATMOTION,
                                       pygame.JOYAXISMOTION)):
            inputs += self.handle(event)
        pygame.event.clear()
        return inputs
