"""Route-pilot engagement and driver interaction: what is offered, who drives, what is said.

In, each cycle: the driver's inputs since the last cycle, the driver monitor, the ego's
lane position and speed, the brake pedal, and the planner's proposals (last cycle).
Out: the `HmiState`: pilot state, message, sound, warning level, set speed, time gap,
and what the driver did for the planner (a confirmed or declined proposal, a turn-signal
lane-change request with hands on the wheel).

States (one branch each in `update`):
UNAVAILABLE -> AVAILABLE (announced on display and by sound) -> ENGAGED_HANDS_OFF (eyes on
the road) / ENGAGED_HANDS_ON (eyes off: escalating) -> TAKEOVER_REQUEST -> MINIMAL_RISK.
Eyes-off escalation (UN R171): eyes off > 5 s -> optical eyes-on request; 3 s later
acoustic; 5 s later direct-control alert; 10 s after the first escalated request a
risk-mitigation stop in lane with hazard lights. Attention counts as back after 0.2 s
of eyes on the road. Repeated direct-control alerts lock route driving out until the
next run cycle. Brake, cancel or the main switch always hand control to the driver.
A system fault (a stack node failed) goes straight to MINIMAL_RISK with a take-over alarm.
HMI variants (approval manual/automatic, proposal sound, countdown) come in as settings.
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
    Proposal,
    ProposalKind,
    ProposalState,
    RouteStatus,
    WarningLevel,
)

KPH = 1.0 / 3.6
BRAKE_OVERRIDE = 0.05  # pedal travel that counts as the driver braking
_PROPOSAL_TEXT = {
    ProposalKind.OVERTAKE: "Overtake the slower vehicle?",
    ProposalKind.RETURN: "Return to the travel lane?",
    ProposalKind.BRANCH: "Change lane for the junction?",
    ProposalKind.EXIT: "Change lane for the exit?",
    ProposalKind.DRIVER_REQUESTED: "Lane change",
}


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
    eyes_off_request_s: float = setting(5.0, unit="s", description="eyes off the road before the eyes-on request",
                                        minimum=1.0, maximum=5.0, source="UN R171: eyes off > 5 s")
    escalate_after_s: float = setting(3.0, unit="s", description="request -> acoustic escalation", minimum=0.5,
                                      maximum=3.0, source="UN R171: escalated <= 3 s later")
    direct_control_after_s: float = setting(5.0, unit="s", description="escalation -> direct-control alert",
                                            minimum=0.5, maximum=5.0, source="UN R171: <= 5 s after")
    risk_stop_after_s: float = setting(10.0, unit="s", description="first escalation -> risk-mitigation stop",
                                       minimum=1.0, maximum=10.0,
                                       source="UN R171: stop <= 10 s after the first escalated request")
    attention_back_s: float = setting(0.2, unit="s", description="eyes on the road for this long = attentive",
                                      minimum=0.0, maximum=1.0, source="UN R171: gaze >= 200 ms")
    takeover_timeout_s: float = setting(10.0, unit="s",
                                        description="take-over request unanswered -> risk-mitigation stop",
                                        minimum=2.0, maximum=10.0, source="UN R171: risk mitigation <= 10 s")
    exit_notice_m: float = setting(1000.0, unit="m", description="the exit is announced this far ahead",
                                   minimum=100.0, maximum=5000.0,
                                   source="Japanese expressway exit advance signs at 2 km, 1 km and 500 m")
    lockout_after_alerts: int = setting(2, description="direct-control alerts in a run cycle before lock-out",
                                        minimum=1, maximum=10,
                                        source="UN R171: repeated unavailability locks out; openpilot alike")
    # HMI variant (propilot/core/hmi/variants.py): what a driving-simulator study compares.
    approval: str = setting("manual", description="proposals: 'manual' (hands on the wheel + switch) or "
                                                  "'automatic' (carried out when the safety check passes)")
    proposal_sound: bool = setting(True, description="proposals and notices also sound (false: visual only; "
                                                     "warnings always sound)")
    show_countdown: bool = setting(True, description="the display shows the time left to confirm a proposal")

    def check(self) -> tuple[str, str] | None:
        if self.approval not in ("manual", "automatic"):
            return "approval", f"must be 'manual' or 'automatic', not {self.approval!r}"
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
        self._eyes_off_since: float | None = None
        self._eyes_on_since: float | None = None
        self._takeover_since: float | None = None
        self._alerts = 0
        self._alerted_this_episode = False
        self.locked_out = False
        self._seen_proposals: set[str] = set()
        self._announced_exits: set[str] = set()

    @property
    def time_gap_s(self) -> float:
        return self._gaps[self._gap_index]

    def update(self, t_s: float, inputs: list[DriverInput], monitor: DriverMonitorReading, lane: LanePosition,
               speed_mps: float, brake_pedal: float, proposals: tuple[Proposal, ...] = (),
               route: RouteStatus | None = None, system_fault: str = "") -> HmiState:
        """system_fault: what failed in the stack (the supervisor's verdict), "" when nothing did."""
        s = self.settings
        events = {i.event for i in inputs}
        self._apply_settings_inputs(events)
        attentive = self._track_attention(t_s, monitor)
        eyes_off_s = 0.0 if self._eyes_off_since is None else t_s - self._eyes_off_since
        # Staying engaged needs the lane and the monitor; being offered also needs motorway speed
        # (route driving follows a lead down to standstill once it runs).
        route_end = self._route_end(route)
        conditions_ok = lane.matched and lane.lane_level and monitor.available and route_end is None
        offer_ok = conditions_ok and s.min_speed_mps <= speed_mps and not system_fault
        driver_takes_over = bool(events & {DriverEvent.CANCEL, DriverEvent.MAIN_SWITCH}) or brake_pedal > BRAKE_OVERRIDE
        message, sound = "", ""

        if system_fault and self.state in (PilotState.ENGAGED_HANDS_OFF, PilotState.ENGAGED_HANDS_ON,
                                           PilotState.TAKEOVER_REQUEST) and not driver_takes_over:
            # The stack cannot drive on: the supervisor already stops in lane; the driver is asked to take over.
            self.state = PilotState.MINIMAL_RISK
            message, sound = f"System fault ({system_fault}): take over, stopping in lane", "alarm"
        elif self.state in (PilotState.ENGAGED_HANDS_OFF, PilotState.ENGAGED_HANDS_ON):
            if driver_takes_over:
                message, sound = self._hand_over("Route driving off")
            elif not conditions_ok:
                self._enter_takeover(t_s, driver_caused=False)
                reason = route_end or _unavailable_reason(lane, monitor, speed_mps, s)
                message, sound = f"Take over: {reason}", "takeover"
            elif eyes_off_s >= self._direct_control_at():
                self._enter_takeover(t_s, driver_caused=True)
                message, sound = "Take over now", "takeover"
            else:
                self.state = PilotState.ENGAGED_HANDS_OFF if attentive else PilotState.ENGAGED_HANDS_ON
        elif self.state == PilotState.TAKEOVER_REQUEST:
            eyes_episode = conditions_ok and self._eyes_off_since is not None
            if driver_takes_over:
                message, sound = self._hand_over("Driver in control")
            elif conditions_ok and attentive:
                self.state = PilotState.ENGAGED_HANDS_OFF  # attention back before the stop
                self._takeover_since = None
            elif (eyes_episode and eyes_off_s >= self._risk_stop_at()) or (
                    not eyes_episode and t_s - self._takeover_since >= s.takeover_timeout_s):
                self.state = PilotState.MINIMAL_RISK
                message, sound = "Driver unresponsive: stopping in lane", "alarm"
        elif self.state == PilotState.MINIMAL_RISK:
            if driver_takes_over:
                message, sound = self._hand_over("Driver in control")
        elif self.state == PilotState.AVAILABLE:
            if not offer_ok or self.locked_out:
                self.state = PilotState.UNAVAILABLE
                message = "Route driving unavailable" + ("" if conditions_ok else
                                                         f": {_unavailable_reason(lane, monitor, speed_mps, s)}")
            elif DriverEvent.MAIN_SWITCH in events:
                self.state = PilotState.ENGAGED_HANDS_OFF if attentive else PilotState.ENGAGED_HANDS_ON
                message, sound = "Route driving on", "engage"
        else:  # UNAVAILABLE
            if offer_ok and attentive and not self.locked_out:
                self.state = PilotState.AVAILABLE
                message, sound = "Route driving available", "available"

        warning = self._warning_level(eyes_off_s)
        if warning == WarningLevel.OPTICAL and not message:
            message = "Eyes on the road"
        elif warning == WarningLevel.ACOUSTIC and not sound:
            message, sound = "Eyes on the road", "warning"
        approved, rejected, request, note, chime = self._driver_actions(inputs, monitor, proposals)
        if not note and self.state.engaged:
            note, chime = self._exit_notice(route)
        if not s.proposal_sound:
            chime = ""  # visual-only variant: proposals and notices are shown, not sounded
        return HmiState(
            t_s, self.state, message or note, sound or chime, warning, self.set_speed_mps, self.time_gap_s,
            proposals=proposals, approved_proposal_uuid=approved, rejected_proposal_uuid=rejected,
            lane_change_request=request, hands_on_wheel=monitor.hands_on_wheel, eyes_on_road=attentive,
            locked_out=self.locked_out,
        )

    # --- guards and helpers -----------------------------------------------------------------------

    def _direct_control_at(self) -> float:
        s = self.settings
        return s.eyes_off_request_s + s.escalate_after_s + s.direct_control_after_s

    def _risk_stop_at(self) -> float:
        s = self.settings
        return s.eyes_off_request_s + s.escalate_after_s + s.risk_stop_after_s

    def _track_attention(self, t_s: float, monitor: DriverMonitorReading) -> bool:
        """Eyes on the road now and for attention_back_s (a glance does not reset the warnings)."""
        eyes_on = monitor.available and monitor.eyes_on_road
        if eyes_on:
            self._eyes_on_since = t_s if self._eyes_on_since is None else self._eyes_on_since
            if t_s - self._eyes_on_since >= self.settings.attention_back_s or self._eyes_off_since is None:
                if self._alerted_this_episode:
                    self._count_alert()
                self._eyes_off_since = None
                return True
            return False
        self._eyes_on_since = None
        if self._eyes_off_since is None:
            self._eyes_off_since = t_s
        return False

    def _warning_level(self, eyes_off_s: float) -> WarningLevel:
        s = self.settings
        if self.state in (PilotState.TAKEOVER_REQUEST, PilotState.MINIMAL_RISK):
            return WarningLevel.DIRECT_CONTROL
        if not self.state.engaged or self._eyes_off_since is None:
            return WarningLevel.NONE
        if eyes_off_s >= s.eyes_off_request_s + s.escalate_after_s:
            return WarningLevel.ACOUSTIC
        if eyes_off_s >= s.eyes_off_request_s:
            return WarningLevel.OPTICAL
        return WarningLevel.NONE

    def _enter_takeover(self, t_s: float, driver_caused: bool) -> None:
        """driver_caused: an inattentive driver (counts towards lock-out), not the road or the map."""
        self.state = PilotState.TAKEOVER_REQUEST
        self._takeover_since = t_s
        self._alerted_this_episode = self._alerted_this_episode or driver_caused

    def _hand_over(self, message: str) -> tuple[str, str]:
        if self._alerted_this_episode:
            self._count_alert()
        self.state = PilotState.UNAVAILABLE
        self._takeover_since = None
        return (message + (": locked out until restart" if self.locked_out else ""), "disengage")

    def _count_alert(self) -> None:
        self._alerts += 1
        self._alerted_this_episode = False
        self.locked_out = self._alerts >= self.settings.lockout_after_alerts

    @staticmethod
    def _route_end(route: RouteStatus | None) -> str | None:
        """Why route driving must end here, or None."""
        end = route.next_of("route_drive_end") if route is not None else None
        if end is None or end.distance_m > 0.0:
            return None
        return end.name or "route driving ends here"

    def _exit_notice(self, route: RouteStatus | None) -> tuple[str, str]:
        exit_ahead = route.next_of("exit") if route is not None else None
        if exit_ahead is None or exit_ahead.distance_m > self.settings.exit_notice_m:
            return "", ""
        if exit_ahead.name in self._announced_exits:
            return "", ""
        self._announced_exits.add(exit_ahead.name)
        return f"{exit_ahead.name or 'Exit'} in {exit_ahead.distance_m:.0f} m: route driving ends there", "notice"

    def _apply_settings_inputs(self, events: set[DriverEvent]) -> None:
        s = self.settings
        if DriverEvent.SET_SPEED_UP in events:
            self.set_speed_mps = min(self.set_speed_mps + s.set_speed_step_mps, s.max_speed_mps)
        if DriverEvent.SET_SPEED_DOWN in events:
            self.set_speed_mps = max(self.set_speed_mps - s.set_speed_step_mps, s.min_speed_mps)
        if DriverEvent.TIME_GAP in events:
            self._gap_index = (self._gap_index + 1) % len(self._gaps)

    def _driver_actions(self, inputs: list[DriverInput], monitor: DriverMonitorReading,
                        proposals: tuple[Proposal, ...]) -> tuple[str, str, int, str, str]:
        """(approved uuid, rejected uuid, lane-change request, message, sound) from this cycle's inputs."""
        approved = rejected = note = chime = ""
        request = 0
        waiting = next((p.uuid for p in proposals if p.state == ProposalState.PROPOSED), "")
        for p in proposals:
            if p.uuid not in self._seen_proposals:
                self._seen_proposals.add(p.uuid)
                if p.state == ProposalState.PROPOSED:
                    prompt = ("Hands on the wheel and press the switch" if self.settings.approval == "manual"
                              else "Changing lane when clear")
                    note, chime = f"{_PROPOSAL_TEXT[p.kind]} {prompt}", "proposal"
            if p.state in (ProposalState.ABORTED, ProposalState.EXPIRED) or (
                    p.state == ProposalState.REJECTED and p.kind == ProposalKind.DRIVER_REQUESTED):
                note, chime = f"{_PROPOSAL_TEXT[p.kind]}: {p.reason}", "refused"
        if not self.state.engaged:
            return "", "", 0, note, chime
        for i in inputs:
            if i.event == DriverEvent.APPROVE:
                if monitor.hands_on_wheel:
                    approved = i.proposal_uuid or waiting
                else:
                    note = "Hands on the wheel to confirm"
            elif i.event == DriverEvent.REJECT:
                rejected = i.proposal_uuid or waiting
            elif i.event in (DriverEvent.TURN_SIGNAL_LEFT, DriverEvent.TURN_SIGNAL_RIGHT):
                if monitor.hands_on_wheel:
                    request = 1 if i.event == DriverEvent.TURN_SIGNAL_LEFT else -1
                else:
                    note = "Hands on the wheel to change lane"
        if self.settings.approval == "automatic" and not approved and not rejected:
            approved = next((p.uuid for p in proposals if p.state == ProposalState.PROPOSED and p.safe), "")
        return approved, rejected, request, note, chime


def _unavailable_reason(lane: LanePosition, monitor: DriverMonitorReading, speed_mps: float,
                        s: HmiSettings) -> str:
    """What the driver is told when route driving cannot go on: the first condition that failed."""
    if not lane.matched:
        return "not on the map"
    if not lane.lane_level:
        return "lane position uncertain (no RTK)"
    if not monitor.available:
        return "driver monitor unavailable"
    if speed_mps < s.min_speed_mps:
        return "too slow"
    return "route driving cannot continue here"
