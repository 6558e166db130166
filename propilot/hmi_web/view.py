"""What the driver display shows, as one JSON-ready dict per cycle.

In: the HMI state (pilot state, message, sound, warning, settings, proposals), the fused
objects, the route status, the ego's lane, the remote-park state and an optional
instruction screen. Out: `display_view(...)`, a dict of plain numbers and strings the page
renders (docs/hmi.md lists the fields). Only the web display package uses it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from propilot.core.parking.types import ParkingStatus
from propilot.core.types import HmiState, LanePosition, PilotState, RouteStatus, Track

MPS_TO_KPH = 3.6
VEHICLES_BEHIND_M = 60.0  # the lane view shows this far behind the ego
VEHICLES_AHEAD_M = 150.0  # and this far ahead
ROUTE_EVENT_KINDS = ("branch", "exit")  # the route events the lane view announces


@dataclass(frozen=True, slots=True)
class Screen:
    """A full-screen page over the display, e.g. a study's instructions; continue by button or space."""

    title: str
    text: str
    wait_for_continue: bool = True


def _number(value: float, digits: int = 1) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def display_view(hmi: HmiState, tracks: tuple[Track, ...] = (), route: RouteStatus | None = None,
                 lane: LanePosition | None = None, show_countdown: bool = True,
                 parking: ParkingStatus | None = None, screen: Screen | None = None) -> dict[str, Any]:
    """The page's model of one cycle."""
    vehicles = [
        {"id": t.track_id, "lane": t.relative_lane, "gap_m": _number(t.gap_m), "length_m": _number(t.length_m),
         "relative_speed_kph": _number(t.relative_speed_mps * MPS_TO_KPH, 0)}
        for t in tracks
        if t.relative_lane is not None and math.isfinite(t.gap_m) and -VEHICLES_BEHIND_M <= t.gap_m
        <= VEHICLES_AHEAD_M]
    ahead = [v for v in vehicles if v["lane"] == 0 and v["gap_m"] > 0.0]
    lead = min(ahead, key=lambda v: v["gap_m"], default=None)
    if lead is None and hmi.lead_detected:
        lead = {"id": 0, "lane": 0, "gap_m": _number(hmi.lead_gap_m), "relative_speed_kph": None}
    event = next((n for n in (route.ahead if route else ()) if n.kind in ROUTE_EVENT_KINDS), None)
    state = hmi.pilot_state
    return {
        "t_s": round(hmi.t_s, 2),
        "state": state.name,
        "available": state not in (PilotState.OFF, PilotState.UNAVAILABLE),
        "engaged": state.engaged,
        "hands_off": state == PilotState.ENGAGED_HANDS_OFF,
        "hands_on_wheel": hmi.hands_on_wheel,
        "eyes_on_road": hmi.eyes_on_road,
        "locked_out": hmi.locked_out,
        "message": hmi.message,
        "sound": hmi.sound,
        "warning_level": int(hmi.warning_level),
        "warning": hmi.warning_level.name,
        "set_speed_kph": round(hmi.set_speed_mps * MPS_TO_KPH),
        "time_gap_s": round(hmi.time_gap_s, 1),
        "lead": lead,
        "vehicles": vehicles,
        "lane": ({"index": lane.lane_index, "count": lane.lane_count} if lane is not None and lane.matched
                 else None),
        "next_event": ({"kind": event.kind, "name": event.name, "distance_m": round(event.distance_m),
                        "lane_change": event.lane_change} if event else None),
        "countdown": show_countdown,
        "proposals": [
            {"uuid": p.uuid, "kind": p.kind.name, "state": p.state.name, "direction": p.direction,
             "reason": p.reason, "safe": p.safe,
             "time_left_s": _number(max(0.0, p.expires_s - hmi.t_s)) if show_countdown else None,
             "timeout_s": _number(p.expires_s - p.created_s)}
            for p in hmi.proposals],
        "parking": (None if parking is None else
                    {"state": parking.state.name, "reason": parking.reason, "remaining_m": _number(parking.remaining_m),
                     "min_clearance_m": _number(parking.min_clearance_m), "speed_mps": _number(parking.speed_mps),
                     "fob_rejections": list(parking.fob_rejections)}),
        "screen": (None if screen is None else
                   {"title": screen.title, "text": screen.text, "wait": screen.wait_for_continue}),
    }
