"""The display riding along a simulated drive: real-time pacing, page/wheel inputs in, views out.

In (each step of `run_scenario`, as its step hook): the virtual driver's inputs and monitor
reading, then the stack's HMI state, objects, lane and route. Out: the driver's inputs from
the page, the keyboard and the wheel merged with the virtual driver's (with the hands-on
stand-in), the step held back to wall-clock time, and one display view per step. A confirming
press (approve, turn signal) counts with hands on the wheel for `HANDS_ON_FOR_S` afterwards:
the page has no hands-on sensor, the person pressing the switch holds the wheel.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from propilot.core.types import DriverEvent, DriverInput, DriverMonitorReading, HmiState
from propilot.hmi_web.server import DisplayServer
from propilot.hmi_web.view import Screen, display_view
from propilot.hmi_web.wheel import WheelInput

LOG = logging.getLogger("propilot.hmi_web")
HANDS_ON_FOR_S = 8.0  # as the virtual driver: hands stay on through the manoeuvre
_NEEDS_HANDS = (DriverEvent.APPROVE, DriverEvent.TURN_SIGNAL_LEFT, DriverEvent.TURN_SIGNAL_RIGHT)


class LiveDisplay:
    def __init__(self, server: DisplayServer, show_countdown: bool = True, realtime_factor: float = 1.0,
                 wheel: WheelInput | None = None, wait_for_page: bool = False):
        self.server = server
        self.show_countdown = show_countdown
        self.realtime_factor = realtime_factor  # 1.0: real time; 0: as fast as the stack runs
        self.wheel = wheel
        self.wait_for_page = wait_for_page  # hold the first step until a page is open (a person drives)
        self.screen: Screen | None = None
        self._wall_start: float | None = None
        self._last_t_s = float("inf")
        self._hands_until_s = -1.0
        self.received: list[DriverInput] = []  # every input from the page and the wheel, stamped

    def before_step(self, t_s: float, inputs: list[DriverInput], monitor: DriverMonitorReading
                    ) -> tuple[list[DriverInput], DriverMonitorReading]:
        self._pace(t_s)
        person = [replace(m.driver_input, t_s=t_s) for m in self.server.take_messages() if m.kind == "input"]
        if self.wheel is not None:
            person += [replace(i, t_s=t_s) for i in self.wheel.poll()]
        for i in person:
            LOG.info("driver input %s from %s at %.2f s", i.event.name, i.source, t_s)
            if i.event in _NEEDS_HANDS:
                self._hands_until_s = t_s + HANDS_ON_FOR_S
        self.received += person
        hands = (monitor.hands_on_wheel or self.server.hands_on or t_s <= self._hands_until_s
                 or (self.wheel is not None and self.wheel.hands_on))
        return inputs + person, replace(monitor, hands_on_wheel=hands)

    def after_step(self, t_s: float, hmi: HmiState, backend) -> None:
        stack = getattr(backend, "stack", None)  # lockstep: the route comes from the planner's last cycle
        route = stack.last_plan.route if stack is not None else None
        self.server.publish(display_view(hmi, backend.tracks, route, backend.localization[1], self.show_countdown,
                                         screen=self.screen))

    def _pace(self, t_s: float) -> None:
        if self.wait_for_page:
            self.wait_for_page = False
            LOG.warning("waiting for the display page to open")
            while self.server.clients == 0:
                time.sleep(0.05)
        if self.realtime_factor <= 0.0:
            return
        now = time.perf_counter()
        if self._wall_start is None or t_s < self._last_t_s:  # the first step of a run (a study has several)
            self._wall_start = now - t_s / self.realtime_factor
        self._last_t_s = t_s
        ahead_s = self._wall_start + t_s / self.realtime_factor - now
        if ahead_s > 0.0:
            time.sleep(ahead_s)
