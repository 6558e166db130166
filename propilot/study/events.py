"""Trial events for HMI studies: what the driver was shown, what they did, how long it took.

In (each step of a run, as its step hook): the driver's inputs and monitor reading, then the HMI
state. Out: `TrialEvents.rows`, one row per event, written as events.csv:
proposal_shown, proposal_response (approve / reject, latency from shown), proposal_outcome
(executing, succeeded, expired, rejected, aborted; open at the end), warning (each escalation
level reached), takeover_request, takeover (take-over time) or minimal_risk, eyes_off (duration).
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from propilot.core.types import DriverInput, DriverMonitorReading, HmiState, PilotState, ProposalState

EVENT_KINDS = ("proposal_shown", "proposal_response", "proposal_outcome", "warning", "takeover_request",
               "takeover", "minimal_risk", "eyes_off")


@dataclass(frozen=True, slots=True)
class EventRow:
    t_s: float
    event: str  # one of EVENT_KINDS
    proposal_uuid: str = ""
    proposal_kind: str = ""
    response: str = ""  # approve | reject | automatic, + "_late" after the proposal ended (proposal_response)
    latency_s: float | None = None  # shown -> response
    outcome: str = ""  # proposal_outcome: the proposal's final state
    duration_s: float | None = None  # takeover: request -> driver in control; eyes_off: time looking away
    warning_level: int | None = None


FIELDS = tuple(f.name for f in fields(EventRow))


class TrialEvents:
    """Step hook recording one trial's events (it changes nothing of the run)."""

    def __init__(self, automatic_approval: bool = False):
        self.automatic_approval = automatic_approval
        self.rows: list[EventRow] = []
        self._shown: dict[str, tuple[float, str]] = {}  # uuid -> (shown at, kind)
        self._answered: set[str] = set()
        self._ended: set[str] = set()
        self._executing: set[str] = set()
        self._warning = 0
        self._takeover_at: float | None = None
        self._eyes_off_at: float | None = None
        self._t_s = 0.0

    def before_step(self, t_s: float, inputs: list[DriverInput], monitor: DriverMonitorReading
                    ) -> tuple[list[DriverInput], DriverMonitorReading]:
        self._t_s = t_s
        eyes_on = monitor.available and monitor.eyes_on_road
        if not eyes_on and self._eyes_off_at is None:
            self._eyes_off_at = t_s
        elif eyes_on and self._eyes_off_at is not None:
            self.rows.append(EventRow(t_s, "eyes_off", duration_s=round(t_s - self._eyes_off_at, 3)))
            self._eyes_off_at = None
        return inputs, monitor

    def after_step(self, t_s: float, hmi: HmiState, backend=None) -> None:
        for p in hmi.proposals:
            if p.uuid not in self._shown and p.state == ProposalState.PROPOSED:
                self._shown[p.uuid] = (t_s, p.kind.name)
                self.rows.append(EventRow(t_s, "proposal_shown", p.uuid, p.kind.name))
            if p.state == ProposalState.EXECUTING and p.uuid not in self._executing:
                self._executing.add(p.uuid)
                self.rows.append(EventRow(t_s, "proposal_outcome", p.uuid, p.kind.name, outcome="executing"))
            if not p.state.open and p.uuid not in self._ended:
                self._ended.add(p.uuid)
                self.rows.append(EventRow(t_s, "proposal_outcome", p.uuid, p.kind.name, outcome=p.state.name.lower()))
        for uuid, response in ((hmi.approved_proposal_uuid, "approve"), (hmi.rejected_proposal_uuid, "reject")):
            if uuid and uuid not in self._answered:
                self._answered.add(uuid)
                shown_at, kind = self._shown.get(uuid, (t_s, ""))
                label = "automatic" if self.automatic_approval and response == "approve" else response
                if uuid in self._ended:
                    label += "_late"  # after the proposal had ended (e.g. expired): it changed nothing
                self.rows.append(EventRow(t_s, "proposal_response", uuid, kind, label,
                                          latency_s=round(t_s - shown_at, 3)))
        level = int(hmi.warning_level)
        if level > self._warning:
            self.rows.append(EventRow(t_s, "warning", warning_level=level))
        self._warning = level
        state = hmi.pilot_state
        if state == PilotState.TAKEOVER_REQUEST and self._takeover_at is None:
            self._takeover_at = t_s
            self.rows.append(EventRow(t_s, "takeover_request"))
        elif state != PilotState.TAKEOVER_REQUEST and self._takeover_at is not None:
            kind = "minimal_risk" if state == PilotState.MINIMAL_RISK else "takeover"
            self.rows.append(EventRow(t_s, kind, duration_s=round(t_s - self._takeover_at, 3)))
            self._takeover_at = None

    def finish(self) -> list[EventRow]:
        """Close what is still going at the end of the trial; the rows in time order."""
        if self._eyes_off_at is not None:
            self.rows.append(EventRow(self._t_s, "eyes_off", duration_s=round(self._t_s - self._eyes_off_at, 3)))
            self._eyes_off_at = None
        for uuid, (_, kind) in self._shown.items():
            if uuid not in self._ended:
                self._ended.add(uuid)
                self.rows.append(EventRow(self._t_s, "proposal_outcome", uuid, kind, outcome="open"))
        return sorted(self.rows, key=lambda r: r.t_s)


def write_events(rows: list[EventRow], path: Path) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for row in rows:
            values = {k: ("" if v is None else v) for k, v in asdict(row).items()}
            writer.writerow({**values, "t_s": round(row.t_s, 3)})
