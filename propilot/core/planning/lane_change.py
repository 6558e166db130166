"""One lane change from the driver's action to lane keeping in the new lane.

In, each cycle: the time, the safety verdict for the target lane and whether the ego has
crossed the lane marking. Out: the phase, the turn signal and the lateral blend weight
w(t) between the source lane (w = 0) and the target lane (w = 1) centrelines.

Timing (UN R79 Category C, UN R171):
- SIGNALLING: indicator on; lateral movement waits >= `indicator_lead_s` (R171: 3 s) and
  >= `min_start_delay_s` (R79: 1 s) after the procedure starts, then starts only when safe;
  not started within `max_start_delay_s` (R79: 5 s) -> CANCELLED;
- MOVING: a quintic blend w = 10x^3 - 15x^4 + 6x^5, x = (t - t0) / T, whose peak lateral
  acceleration 5.77 d / T^2 stays within `lateral_accel_mps2`; T < 5 s (R79);
  unsafe before crossing the marking -> ABORTING (back to the source lane);
- DONE when the blend ends; lane keeping resumes and the indicator goes off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from propilot.core.settings import setting
from propilot.core.types import TurnSignal

QUINTIC_PEAK_ACCEL = 10.0 / math.sqrt(3.0)  # max of d^2/dx^2 (10x^3 - 15x^4 + 6x^5) = 5.77


@dataclass(frozen=True, slots=True)
class LaneChangeSettings:
    indicator_lead_s: float = setting(3.0, unit="s", description="indicator on before lateral movement",
                                      minimum=3.0, maximum=5.0, source="UN R171: indicator >= 3 s before")
    min_start_delay_s: float = setting(1.0, unit="s", description="no lateral movement before this",
                                       minimum=1.0, maximum=5.0, source="UN R79 5.6.4.7: not before 1.0 s")
    max_start_delay_s: float = setting(5.0, unit="s", description="cancel if lateral movement has not started",
                                       minimum=3.0, maximum=5.0, source="UN R79 5.6.4.6.4: within 5.0 s")
    lateral_accel_mps2: float = setting(1.0, unit="m/s^2", description="peak lateral acceleration of the move",
                                        minimum=0.3, maximum=1.5,
                                        source="UN R171: <= 1.5 m/s^2 above what curvature needs")
    max_duration_s: float = setting(4.8, unit="s", description="longest lateral movement", minimum=2.0,
                                    maximum=4.99, source="UN R79 5.6.4.6.5: completed in < 5 s")
    abort_duration_s: float = setting(3.0, unit="s", description="time to move back when aborting",
                                      minimum=1.0, maximum=5.0)
    lane_width_m: float = setting(3.5, unit="m", description="lateral distance of a lane change", minimum=2.5,
                                  maximum=4.5)

    def move_duration_s(self) -> float:
        """Shortest T whose peak lateral acceleration stays within the limit, capped by R79."""
        t = math.sqrt(QUINTIC_PEAK_ACCEL * self.lane_width_m / self.lateral_accel_mps2)
        return min(t, self.max_duration_s)


class Phase(Enum):
    SIGNALLING = "signalling"
    MOVING = "moving"
    ABORTING = "aborting"
    DONE = "done"
    CANCELLED = "cancelled"


def _quintic(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * x * (10.0 + x * (-15.0 + 6.0 * x))


class LaneChange:
    def __init__(self, settings: LaneChangeSettings, direction: int, start_s: float):
        self.settings = settings
        self.direction = direction
        self.start_s = start_s
        self.phase = Phase.SIGNALLING
        self.reason = ""
        self.lateral_start_s: float | None = None
        self._blend = (0.0, 0.0, start_s, 1.0)  # w_from, w_to, t0, duration

    @property
    def turn_signal(self) -> TurnSignal:
        if self.phase in (Phase.SIGNALLING, Phase.MOVING):
            return TurnSignal.LEFT if self.direction > 0 else TurnSignal.RIGHT
        return TurnSignal.OFF

    @property
    def finished(self) -> bool:
        return self.phase in (Phase.DONE, Phase.CANCELLED)

    def weight(self, t_s: float) -> float:
        w_from, w_to, t0, duration = self._blend
        return w_from + (w_to - w_from) * _quintic((t_s - t0) / duration)

    def update(self, t_s: float, safe: bool, crossed: bool, unsafe_reason: str = "") -> Phase:
        s = self.settings
        elapsed = t_s - self.start_s
        if self.phase == Phase.SIGNALLING:
            may_start = elapsed >= max(s.indicator_lead_s, s.min_start_delay_s)
            if may_start and safe:
                self.phase = Phase.MOVING
                self.lateral_start_s = t_s
                self._blend = (0.0, 1.0, t_s, s.move_duration_s())
            elif elapsed >= s.max_start_delay_s:
                self.phase = Phase.CANCELLED
                self.reason = f"not started within {s.max_start_delay_s:g} s: {unsafe_reason or 'no safe gap'}"
        elif self.phase == Phase.MOVING:
            _, _, t0, duration = self._blend
            if not safe and not crossed:
                self.phase = Phase.ABORTING
                self.reason = f"aborted: {unsafe_reason}"
                self._blend = (self.weight(t_s), 0.0, t_s, s.abort_duration_s)
            elif t_s >= t0 + duration:
                self.phase = Phase.DONE
        elif self.phase == Phase.ABORTING:
            _, _, t0, duration = self._blend
            if t_s >= t0 + duration:
                self.phase = Phase.CANCELLED
        return self.phase
