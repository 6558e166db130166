"""Route-pilot engagement: when it is offered, when it runs, what the driver is told.

In, each cycle: the driver's inputs since the last cycle, the driver monitor, the
ego's lane position and speed, the brake pedal. Out: the `HmiState` (pilot state,
message, sound, set speed, time gap). States: UNAVAILABLE -> AVAILABLE (announced
on display and by sound) -> ENGAGED_HANDS_OFF / ENGAGED_HANDS_ON (main switch) ->
back to UNAVAILABLE/AVAILABLE on the main switch, cancel, brake, or when the
conditions are lost (take-over request). The escalation of UN R171 builds on this.
"""

from __future__ import annotations

from dataclasses import dataclass

from propilot.core.settings import setting
from propilot.core.types import (
    DriverEvent,
    DriverInput,
    DriverMonitorReading,
    HmiState,
    LanePosition,
    PilotState,
    WarningLevel,
)

KPH = 1.0 / 3.6


@dataclass(frozen=True, slots=True)
class HmiSettings:
    min_speed_mps: float = setting(40 * KPH, unit="m/s", description="lowest speed route driving is offered at",
                                   minimum=0.0)
    max_speed_mps: float = setting(135 * KPH, unit="m/s", description="highest set speed", minimum=10.0,
                                   maximum=40.0)
    initial_set_speed_mps: float = setting(100 * KPH, unit="m/s", description="set speed after engaging",
                                           minimum=5.0, maximum=40.0)
    set_speed_step_mps: float = setting(5 * KPH, unit="m/s", description="set speed change per press",
                                        minimum=0.1)
    time_gap_short_s: float = setting(1.2, unit="s", description="short time-gap setting", minimum=0.8,
                                      maximum=3.0, source="ISO 15622: time gap >= 0.8 s")
    time_gap_medium_s: float = setting(1.5, unit="s", description="medium time-gap setting", minimum=0.8,
                                       maximum=3.0, source="ISO 15622: one setting in 1.5-2.2 s")
    time_gap_long_s: float = setting(1.8, unit="s", description="long time-gap setting (default)", minimum=0.8,
                                     maximum=3.0, source="ISO 15622: one setting in 1.5-2.2 s")

    def check(self) -> tuple[str, str] | None:
        if not self.time_gap_short_s <= self.time_gap_medium_s <= self.time_gap_long_s:
            return "time_gap_medium_s", "time gaps must be ordered short <= medium <= long"
        if self.initial_set_speed_mps > self.max_speed_mps:
            return "initial_set_speed_mps", "must not exceed max_speed_mps"
        return None


class PilotHmi:
    def __init__(self, settings: HmiSettings):
        self.settings = settings
        self.state = PilotState.UNAVAILABLE
        self.set_speed_mps = settings.initial_set_speed_mps
        self._gaps = (settings.time_gap_short_s, settings.time_gap_medium_s, settings.time_gap_long_s)
        self._gap_index = len(self._gaps) - 1

    @property
    def time_gap_s(self) -> float:
        return self._gaps[self._gap_index]

    def update(self, t_s: float, inputs: list[DriverInput], monitor: DriverMonitorReading,
               lane: LanePosition, speed_mps: float, brake_pedal: float) -> HmiState:
        s = self.settings
        conditions_ok = (lane.matched and lane.lane_level and monitor.available and monitor.eyes_on_road
                         and s.min_speed_mps <= speed_mps)
        events = {i.event for i in inputs}
        driver_cancels = bool(events & {DriverEvent.CANCEL}) or brake_pedal > 0.05
        message, sound = "", ""
        self._apply_settings_inputs(events)

        if self.state.engaged:
            if driver_cancels or DriverEvent.MAIN_SWITCH in events:
                self.state = PilotState.UNAVAILABLE
                message, sound = "Route driving off", "disengage"
            elif not conditions_ok:
                self.state = PilotState.TAKEOVER_REQUEST
                message, sound = "Take over: route driving ends", "takeover"
            else:
                self.state = PilotState.ENGAGED_HANDS_OFF if monitor.eyes_on_road else PilotState.ENGAGED_HANDS_ON
        elif self.state == PilotState.AVAILABLE:
            if not conditions_ok:
                self.state = PilotState.UNAVAILABLE
                message = "Route driving unavailable"
            elif DriverEvent.MAIN_SWITCH in events:
                self.state = PilotState.ENGAGED_HANDS_OFF
                message, sound = "Route driving on", "engage"
        else:  # UNAVAILABLE or TAKEOVER_REQUEST
            if conditions_ok:
                self.state = PilotState.AVAILABLE
                message, sound = "Route driving available", "available"

        warning = WarningLevel.ACOUSTIC if self.state == PilotState.TAKEOVER_REQUEST else WarningLevel.NONE
        return HmiState(t_s, self.state, message, sound, warning, self.set_speed_mps, self.time_gap_s)

    def _apply_settings_inputs(self, events: set[DriverEvent]) -> None:
        s = self.settings
        if DriverEvent.SET_SPEED_UP in events:
            self.set_speed_mps = min(self.set_speed_mps + s.set_speed_step_mps, s.max_speed_mps)
        if DriverEvent.SET_SPEED_DOWN in events:
            self.set_speed_mps = max(self.set_speed_mps - s.set_speed_step_mps, s.min_speed_mps)
        if DriverEvent.TIME_GAP in events:
            self._gap_index = (self._gap_index + 1) % len(self._gaps)
