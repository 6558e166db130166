"""Hold-to-move supervisor: may the car move this cycle, and if not, why.

In, each cycle: the accepted fob commands of the cycle (with their reception times), the operator's
measured distance, the sonar guard's view (blocked, clear), whether the manoeuvre is done or over
its travel limit. Out: the `ParkState`, the reason it is not moving, and whether motion is allowed.

Rules (UN R79 remote control parking, industry practice; shared REFERENCE §2):
- the car moves only while valid holds keep arriving (at most `hold_timeout_s` apart); a release
  (STOP), a missing hold (signal lost) or the operator beyond `max_operator_distance_m` pauses it;
- an obstacle inside the stop clearance blocks it; after 30 s blocked the manoeuvre aborts;
- after any stop, motion resumes only with a renewed hold: a hold press that began after the stop
  (and, when blocked, after the obstacle cleared), never with a press that was already going on.

    IDLE --start--> READY --hold--> MOVING --release / lost / range--> PAUSED --renewed hold--> MOVING
                                      |--obstacle--> BLOCKED --cleared + renewed hold--> MOVING
                                      |                 `--30 s--> ABORTED
                                      `--path done--> COMPLETED      (travel limit --> ABORTED)
"""

from __future__ import annotations

from dataclasses import dataclass

from propilot.core.parking.types import FobCommandKind, ParkState
from propilot.core.settings import setting

# reasons shown on the display and the fob
REASON_WAITING_FOR_HOLD = "waiting_for_hold"
REASON_RELEASED = "released"
REASON_SIGNAL_LOST = "signal_lost"
REASON_OUT_OF_RANGE = "out_of_range"
REASON_OBSTACLE = "obstacle"
REASON_BLOCKED_TIMEOUT = "blocked_too_long"
REASON_TRAVEL_LIMIT = "travel_limit"
REASON_COMPLETED = "completed"
REASON_STOPPED_BY_OPERATOR = "stopped_by_operator"


@dataclass(frozen=True, slots=True)
class HoldSettings:
    hold_timeout_s: float = setting(0.12, unit="s", minimum=0.05, maximum=0.3,
                                    description="a hold older than this no longer allows motion (the fob "
                                                "repeats holds every 100 ms; 20 ms for radio jitter)",
                                    source="UN R79 RCP hold-to-move: holds every <= 100 ms")
    max_operator_distance_m: float = setting(6.0, unit="m", minimum=0.5, maximum=6.0,
                                             description="operator farther than this: stop",
                                             source="UN R79 RCP; UK Construction and Use (Amendment) "
                                                    "Regulations 2018, reg. 110: remote parking within 6 m")
    blocked_abort_s: float = setting(30.0, unit="s", minimum=1.0, maximum=120.0,
                                     description="abort the manoeuvre after this long blocked by an obstacle",
                                     source="ProPILOT Remote Park requirement: abort after 30 s blocked")


@dataclass(frozen=True, slots=True)
class SupervisorInput:
    t_s: float
    commands: tuple[tuple[float, FobCommandKind], ...]  # accepted this cycle: (reception time, command)
    operator_distance_m: float
    guard_blocked: bool  # an obstacle is (or will be, at this speed) inside the stop clearance
    guard_clear: bool  # the path is clear with hysteresis and every sonar reports
    path_done: bool
    travel_exceeded: bool


@dataclass(frozen=True, slots=True)
class SupervisorOutput:
    state: ParkState
    reason: str
    motion_allowed: bool
    start: FobCommandKind | None = None  # a start command to plan a manoeuvre for (IDLE/COMPLETED/ABORTED)


class HoldToMove:
    def __init__(self, settings: HoldSettings):
        self.settings = settings
        self.state = ParkState.IDLE
        self.reason = ""
        self.last_hold_s = -float("inf")
        self.press_start_s = -float("inf")  # when the current hold press began
        self.stopped_at_s = -float("inf")  # when motion was last stopped (a renewed hold must begin after)
        self.blocked_since_s = -float("inf")
        self.cleared_at_s = -float("inf")

    def start(self, t_s: float) -> None:
        """A manoeuvre was planned: wait for a hold press that begins now or later."""
        self.state, self.reason = ParkState.READY, REASON_WAITING_FOR_HOLD
        self.stopped_at_s = t_s

    def finish(self, state: ParkState, reason: str) -> None:
        """End the manoeuvre from outside (no path, not aligned)."""
        self.state, self.reason = state, reason

    def update(self, u: SupervisorInput) -> SupervisorOutput:
        start = None
        stop_pressed = False
        for t_rx, command in u.commands:
            if command == FobCommandKind.HOLD:
                if t_rx - self.last_hold_s > self.settings.hold_timeout_s:
                    self.press_start_s = t_rx  # a gap or a release before: a new press
                self.last_hold_s = t_rx
            elif command == FobCommandKind.STOP:
                stop_pressed = True
                self.last_hold_s = -float("inf")
            elif self.state in (ParkState.IDLE, ParkState.COMPLETED, ParkState.ABORTED):
                start = command

        # guards, named once
        holding = u.t_s - self.last_hold_s <= self.settings.hold_timeout_s
        renewed = holding and self.press_start_s > self.stopped_at_s
        in_range = u.operator_distance_m <= self.settings.max_operator_distance_m
        lost_reason = REASON_RELEASED if stop_pressed else REASON_SIGNAL_LOST

        if self.state == ParkState.MOVING:
            if u.path_done:
                self._stop(u.t_s, ParkState.COMPLETED, REASON_COMPLETED)
            elif u.travel_exceeded:
                self._stop(u.t_s, ParkState.ABORTED, REASON_TRAVEL_LIMIT)
            elif not holding:
                self._stop(u.t_s, ParkState.PAUSED, lost_reason)
            elif not in_range:
                self._stop(u.t_s, ParkState.PAUSED, REASON_OUT_OF_RANGE)
            elif u.guard_blocked:
                self._stop(u.t_s, ParkState.BLOCKED, REASON_OBSTACLE)
                self.blocked_since_s, self.cleared_at_s = u.t_s, float("inf")
        elif self.state in (ParkState.READY, ParkState.PAUSED):
            if renewed and in_range and u.guard_clear:
                self.state, self.reason = ParkState.MOVING, ""
            elif not in_range:
                self.reason = REASON_OUT_OF_RANGE
            elif renewed:
                self.reason = REASON_OBSTACLE  # held, in range, but the path is not clear
        elif self.state == ParkState.BLOCKED:
            if u.t_s - self.blocked_since_s >= self.settings.blocked_abort_s:
                self._stop(u.t_s, ParkState.ABORTED, REASON_BLOCKED_TIMEOUT)
            elif not u.guard_clear:
                self.cleared_at_s = float("inf")
            else:
                self.cleared_at_s = min(self.cleared_at_s, u.t_s)
                if holding and self.press_start_s >= self.cleared_at_s and in_range:
                    self.state, self.reason = ParkState.MOVING, ""
        return SupervisorOutput(self.state, self.reason, self.state == ParkState.MOVING, start)

    def _stop(self, t_s: float, state: ParkState, reason: str) -> None:
        self.state, self.reason = state, reason
        self.stopped_at_s = t_s
