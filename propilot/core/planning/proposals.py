"""The proposal lifecycle: the planner proposes, the driver confirms, safety decides.

In: new proposals from the planner, the driver's approvals and rejections (from the
HMI), the safety verdict of each open proposal, and the outcome of its lane change.
Out: every proposal with its state. States (Autoware RTC, plus expiry):
PROPOSED -> EXECUTING (approved in time AND safe now) -> SUCCEEDED, or
PROPOSED -> EXPIRED | REJECTED, EXECUTING -> ABORTED (became unsafe, cancelled, override).
An approval of an unsafe proposal is refused: no input can make an unsafe proposal run.
Ids are derived from kind and time, so the same run gives the same ids in every mode.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from propilot.core.types import Proposal, ProposalKind, ProposalState

_NAMESPACE = uuid.UUID("6f1c2b1e-4c1d-4b8e-9a55-70726f70696c")


class ProposalBook:
    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self._open: dict[str, Proposal] = {}
        self._ended_this_cycle: list[Proposal] = []
        self._count = 0

    def begin_cycle(self) -> None:
        self._ended_this_cycle = []

    def propose(self, t_s: float, kind: ProposalKind, direction: int, target_lanelet_id: int, reason: str,
                critical_margin_m: float, state: ProposalState = ProposalState.PROPOSED,
                last_point_m: float = float("inf")) -> Proposal:
        self._count += 1
        proposal_id = str(uuid.uuid5(_NAMESPACE, f"{kind.name}-{self._count}-{t_s:.3f}"))
        proposal = Proposal(proposal_id, kind, state, direction, target_lanelet_id, reason, True, t_s,
                            t_s + self.timeout_s, critical_margin_m, last_point_m)
        if state.open:
            self._open[proposal_id] = proposal
        else:
            self._ended_this_cycle.append(proposal)
        return proposal

    def refused(self, t_s: float, kind: ProposalKind, direction: int, reason: str, critical_margin_m: float) -> None:
        """A request that could not even be proposed (e.g. a driver's unsafe lane change)."""
        proposal = self.propose(t_s, kind, direction, 0, reason, critical_margin_m, ProposalState.REJECTED)
        self._ended_this_cycle[-1] = replace(proposal, safe=False)

    def open_proposal(self) -> Proposal | None:
        return next(iter(self._open.values()), None)

    def update_safety(self, proposal_id: str, safe: bool, margin_m: float, reason: str = "") -> None:
        p = self._open[proposal_id]
        self._open[proposal_id] = replace(p, safe=safe, critical_margin_m=margin_m,
                                          reason=reason if not safe else p.reason)

    def approve(self, proposal_id: str) -> Proposal | None:
        """PROPOSED -> EXECUTING, only if it is safe now; returns it when it starts."""
        p = self._open.get(proposal_id)
        if p is None or p.state != ProposalState.PROPOSED or not p.safe:
            return None
        self._open[proposal_id] = replace(p, state=ProposalState.EXECUTING)
        return self._open[proposal_id]

    def end(self, proposal_id: str, state: ProposalState, reason: str = "") -> None:
        p = self._open.pop(proposal_id, None)
        if p is not None:
            self._ended_this_cycle.append(replace(p, state=state, reason=reason or p.reason))

    def expire(self, t_s: float) -> None:
        for p in list(self._open.values()):
            if p.state == ProposalState.PROPOSED and t_s >= p.expires_s:
                self.end(p.uuid, ProposalState.EXPIRED, "not confirmed in time")

    def end_all(self, state: ProposalState, reason: str) -> None:
        for proposal_id in list(self._open):
            self.end(proposal_id, state, reason)

    def snapshot(self) -> tuple[Proposal, ...]:
        """Open proposals and those that ended this cycle."""
        return tuple(self._open.values()) + tuple(self._ended_this_cycle)
