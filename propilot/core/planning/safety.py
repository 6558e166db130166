"""Lane-change safety check: may the ego move into the lane beside it now?

In: the tracked objects (each with its lane relative to the ego, bumper gap and relative
speed), the ego speed, the direction (+1 left, -1 right) and whether the map's line
type allows the change. Out: a `SafetyVerdict` (safe, the reason when not, and the
smallest margin to the UN R79 critical distance, for metrics and the HMI).

Checks, each from its source:
- the shared boundary allows the change (Autoware / Lanelet2: dashed allows, solid forbids);
- nobody alongside in the target lane;
- UN R79 §5.6.4.8.3 critical distance to a vehicle approaching from behind in the
  target lane: S_crit = (v_app - v) t_B + (v_app - v)^2 / (2 a) + v t_G;
- RSS-style rear gap (Autoware lane change): the rear vehicle, reacting after t_r, must
  stop behind the ego when both brake at a_rear, plus a minimum gap;
- RSS-style front gap: the ego, reacting after t_r and braking at a_ego, must stay
  behind the front vehicle braking at a_front, plus a minimum gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from propilot.core.settings import setting
from propilot.core.types import Track


@dataclass(frozen=True, slots=True)
class SafetySettings:
    r79_decel_mps2: float = setting(3.0, unit="m/s^2", description="a: deceleration of the approaching vehicle",
                                    minimum=1.0, maximum=9.0, source="UN R79 5.6.4.8.3: a = 3 m/s^2")
    r79_reaction_s: float = setting(0.4, unit="s", description="t_B: its reaction time", minimum=0.0,
                                    maximum=2.0, source="UN R79 5.6.4.8.3: t_B = 0.4 s")
    r79_gap_s: float = setting(1.0, unit="s", description="t_G: time gap left after its braking", minimum=0.0,
                               maximum=3.0, source="UN R79 5.6.4.8.3: t_G = 1 s")
    rear_sensing_range_m: float = setting(80.0, unit="m", description="rear range the check relies on",
                                          minimum=55.0, source="UN R79: rear detection range >= 55 m")
    rear_reaction_s: float = setting(1.0, unit="s", description="reaction time of the rear vehicle (RSS)",
                                     minimum=0.0, maximum=3.0, source="Autoware lane change: 1-2 s")
    rear_decel_mps2: float = setting(3.0, unit="m/s^2", description="braking of the rear vehicle (RSS)",
                                     minimum=1.0, maximum=9.0,
                                     source="UN R171: do not force a vehicle behind to brake harder than 3 m/s^2")
    ego_reaction_s: float = setting(0.5, unit="s", description="reaction time of the ego (RSS front)",
                                    minimum=0.0, maximum=3.0)
    ego_decel_mps2: float = setting(5.0, unit="m/s^2", description="braking the ego can count on (RSS front)",
                                    minimum=1.0, maximum=9.0)
    front_decel_mps2: float = setting(6.0, unit="m/s^2", description="braking assumed of the front vehicle",
                                      minimum=1.0, maximum=10.0)
    min_gap_m: float = setting(3.0, unit="m", description="gap left after any braking", minimum=0.0,
                               maximum=20.0, source="Autoware lane change: minimum longitudinal gap 1-3 m")


@dataclass(frozen=True, slots=True)
class SafetyVerdict:
    safe: bool
    reason: str  # why not, or "" when safe
    critical_margin_m: float  # distance minus S_crit for the worst approaching vehicle (inf: none)


def r79_critical_distance(s: SafetySettings, ego_speed_mps: float, approaching_speed_mps: float) -> float:
    """S_crit of UN R79 for a vehicle at v_app approaching the ego at v."""
    dv = max(approaching_speed_mps - ego_speed_mps, 0.0)
    return dv * s.r79_reaction_s + dv * dv / (2.0 * s.r79_decel_mps2) + ego_speed_mps * s.r79_gap_s


def rss_rear_gap(s: SafetySettings, ego_speed_mps: float, rear_speed_mps: float) -> float:
    """Gap the rear vehicle needs to stop behind the ego if both brake at a_rear (RSS longitudinal)."""
    rear_stop = rear_speed_mps * s.rear_reaction_s + rear_speed_mps**2 / (2.0 * s.rear_decel_mps2)
    ego_stop = ego_speed_mps**2 / (2.0 * s.rear_decel_mps2)
    return max(rear_stop - ego_stop, 0.0) + s.min_gap_m


def rss_front_gap(s: SafetySettings, ego_speed_mps: float, front_speed_mps: float) -> float:
    """Gap the ego needs to stop behind the front vehicle if it brakes (RSS longitudinal)."""
    ego_stop = ego_speed_mps * s.ego_reaction_s + ego_speed_mps**2 / (2.0 * s.ego_decel_mps2)
    front_stop = front_speed_mps**2 / (2.0 * s.front_decel_mps2)
    return max(ego_stop - front_stop, 0.0) + s.min_gap_m


def check_lane_change(s: SafetySettings, tracks: tuple[Track, ...], ego_speed_mps: float, direction: int,
                      line_allows: bool) -> SafetyVerdict:
    """May the ego move one lane in `direction` (+1 left, -1 right) now?"""
    margin = math.inf
    if not line_allows:
        return SafetyVerdict(False, "solid line: lane change not permitted here", margin)
    reasons = []
    for track in tracks:
        if track.relative_lane != direction or not math.isfinite(track.gap_m):
            continue
        speed = ego_speed_mps + track.relative_speed_mps
        if track.gap_m == 0.0:
            reasons.append(f"vehicle alongside (track {track.track_id})")
        elif track.gap_m < 0.0:
            distance = -track.gap_m
            if distance > s.rear_sensing_range_m:
                continue
            critical = r79_critical_distance(s, ego_speed_mps, speed)
            margin = min(margin, distance - critical)
            if distance < critical:
                reasons.append(f"vehicle approaching from behind (track {track.track_id}, "
                               f"{distance:.0f} m < critical {critical:.0f} m)")
            elif distance < rss_rear_gap(s, ego_speed_mps, speed):
                reasons.append(f"gap behind too short (track {track.track_id})")
        elif track.gap_m < rss_front_gap(s, ego_speed_mps, speed):
            reasons.append(f"gap ahead too short (track {track.track_id})")
    return SafetyVerdict(not reasons, "; ".join(reasons), margin)
