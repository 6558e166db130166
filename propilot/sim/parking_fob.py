"""Key-fob simulator: the driver's fob and an attacker's radio, as the car's receiver hears them.

In: the scenario's `FobScript` (where the operator stands and walks, when the hold button is
pressed, signal losses, attacks), the shared key and the vehicle id; each step the time and the
car's pose. Out: the `FobPacket`s received this step, and the truth the metrics need: until when
the operator commands motion (`valid_until_s`: the last valid hold - genuine, received, operator
within range - plus the hold period, or the moment of a release).

The genuine fob sends START_IN / START_OUT once at the scenario's start time, HOLD every
`HOLD_PERIOD_S` while the button is pressed and STOP on release; every packet carries the next
counter, the fob's clock and the HMAC. Attacks: `replay` sends recorded genuine packets again
(valid MAC, old counter and timestamp); `forged_mac` sends fresh HOLDs signed with a wrong key.
The receiver takes one packet per control step (a packet that collides waits for the next step),
and measures the operator's distance to the car's body (`distance_m`).
"""

from __future__ import annotations

import math
from collections import deque

from propilot.core.parking.fob import sign
from propilot.core.parking.types import FobCommandKind, FobPacket
from propilot.core.types import Pose2D
from propilot.core.vehicle import EGO
from propilot.sim.parking_scenario import FobScript

HOLD_PERIOD_S = 0.1  # the fob repeats HOLD this often while pressed (UN R79 RCP: <= 100 ms)
WALK_SPEED_MPS = 1.4
RADIO_RANGE_M = 30.0  # beyond this nothing is received at all
_EPS_S = 1e-9


def body_distance_m(pose: Pose2D, x_m: float, y_m: float) -> float:
    """Distance from a point to the car's body (0 inside)."""
    dx, dy = x_m - pose.x_m, y_m - pose.y_m
    c, s = math.cos(pose.yaw_rad), math.sin(pose.yaw_rad)
    along, across = dx * c + dy * s, -dx * s + dy * c
    ex = max(-EGO.rear_overhang_m - along, 0.0, along - EGO.front_from_base_m)
    ey = max(abs(across) - EGO.width_m / 2.0, 0.0)
    return math.hypot(ex, ey)


class FobSimulator:
    def __init__(self, script: FobScript, key: bytes, vehicle_id: str, start_at_s: float, start: FobCommandKind,
                 max_operator_distance_m: float):
        self.script = script
        self.key = key
        self.vehicle_id = vehicle_id
        self.start_at_s = start_at_s
        self.start_command = start
        self.max_operator_distance_m = max_operator_distance_m
        self.counter = 0
        self.sent: list[FobPacket] = []  # genuine packets, as sent (for the replay attacker)
        self.queue: deque[tuple[FobPacket, bool]] = deque()  # (packet, sent by the genuine fob now)
        self.valid_until_s = -math.inf  # motion is commanded until then: last valid hold + its period
        self.operator_distance_m = math.inf
        self._start_sent = False
        self._next_hold_s: float | None = None
        self._released: set[int] = set()
        self._forged_counter = 1_000_000
        self._next_attack_s: dict[int, float] = {}
        self._replay_index: dict[int, int] = {}

    def operator_xy(self, t_s: float) -> tuple[float, float]:
        """Where the operator is: walking at WALK_SPEED_MPS towards the latest waypoint started."""
        x, y = self.script.operator_xy_m
        for at_s, wx, wy in self.script.walk:
            if t_s < at_s:
                break
            d = math.hypot(wx - x, wy - y)
            reach = WALK_SPEED_MPS * (t_s - at_s)
            if reach >= d or d == 0.0:
                x, y = wx, wy
            else:
                x, y = x + (wx - x) * reach / d, y + (wy - y) * reach / d
        return x, y

    def _genuine(self, t_s: float, command: FobCommandKind) -> FobPacket:
        self.counter += 1
        packet = FobPacket(t_s, self.vehicle_id, self.counter, command, t_s,
                           sign(self.key, self.vehicle_id, self.counter, command, t_s), 0.0)
        self.sent.append(packet)
        return packet

    def _pressed(self, t_s: float) -> int | None:
        for i, (start, end) in enumerate(self.script.holds):
            if start <= t_s + _EPS_S and t_s < end - _EPS_S:
                return i
        return None

    def step(self, t_s: float, car: Pose2D) -> list[FobPacket]:
        """The packets the car's receiver takes at t_s."""
        x, y = self.operator_xy(t_s)
        self.operator_distance_m = body_distance_m(car, x, y)
        outgoing: list[FobPacket] = []
        if not self._start_sent and t_s + _EPS_S >= self.start_at_s:
            self._start_sent = True
            outgoing.append(self._genuine(t_s, self.start_command))
        pressed = self._pressed(t_s)
        for i, (_, end) in enumerate(self.script.holds):
            if i not in self._released and t_s + _EPS_S >= end:
                self._released.add(i)
                outgoing.append(self._genuine(t_s, FobCommandKind.STOP))
                self._next_hold_s = None
        if pressed is not None:
            if self._next_hold_s is None:
                self._next_hold_s = t_s
            if t_s + _EPS_S >= self._next_hold_s:
                outgoing.append(self._genuine(t_s, FobCommandKind.HOLD))
                self._next_hold_s += HOLD_PERIOD_S
        radio = [(p, True) for p in outgoing] + [(p, False) for p in self._attacks(t_s)]
        lost = any(start <= t_s < end for start, end in self.script.signal_loss)
        if not lost and self.operator_distance_m <= RADIO_RANGE_M:
            self.queue.extend(radio)
        if not self.queue:
            return []
        packet, genuine = self.queue.popleft()
        received = FobPacket(t_s, packet.vehicle_id, packet.counter, packet.command, packet.timestamp_s, packet.mac,
                             self.operator_distance_m)
        if genuine and packet.command == FobCommandKind.HOLD \
                and self.operator_distance_m <= self.max_operator_distance_m:
            self.valid_until_s = t_s + HOLD_PERIOD_S  # the next hold is due then
        if genuine and packet.command == FobCommandKind.STOP:
            self.valid_until_s = min(self.valid_until_s, t_s)  # released now
        return [received]

    def _attacks(self, t_s: float) -> list[FobPacket]:
        out = []
        for i, attack in enumerate(self.script.attacks):
            if not attack.start_s <= t_s + _EPS_S < attack.end_s:
                continue
            due = self._next_attack_s.setdefault(i, attack.start_s)
            if t_s + _EPS_S < due:
                continue
            self._next_attack_s[i] = due + HOLD_PERIOD_S
            if attack.kind == "replay":
                recorded = [p for p in self.sent if p.timestamp_s >= attack.replay_of_s - _EPS_S]
                k = self._replay_index.get(i, 0)
                if k < len(recorded):
                    self._replay_index[i] = k + 1
                    out.append(recorded[k])
            else:  # forged: fresh counter and time, but the attacker does not have the key
                self._forged_counter += 1
                wrong_key = bytes(b ^ 0x5A for b in self.key)
                out.append(FobPacket(t_s, self.vehicle_id, self._forged_counter, FobCommandKind.HOLD, t_s,
                                     sign(wrong_key, self.vehicle_id, self._forged_counter, FobCommandKind.HOLD,
                                          t_s), 0.0))
        return out
