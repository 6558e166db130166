"""Proposal lifecycle: no sequence of driver inputs and safety verdicts runs an unsafe proposal."""

from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from propilot.core.planning.proposals import ProposalBook
from propilot.core.types import ProposalKind, ProposalState

TIMEOUT = 10.0
set_hypothesis_home_dir(Path(__file__).resolve().parents[2] / "out" / "hypothesis")  # caches out of the tree


def test_confirmed_safe_proposal_starts():
    book = ProposalBook(TIMEOUT)
    p = book.propose(0.0, ProposalKind.OVERTAKE, +1, 7, "slower vehicle", 20.0)
    assert book.approve(p.uuid).state == ProposalState.EXECUTING


def test_confirmation_of_an_unsafe_proposal_is_refused():
    book = ProposalBook(TIMEOUT)
    p = book.propose(0.0, ProposalKind.OVERTAKE, +1, 7, "slower vehicle", 20.0)
    book.update_safety(p.uuid, False, -3.0, "vehicle approaching from behind")
    assert book.approve(p.uuid) is None
    assert book.open_proposal().state == ProposalState.PROPOSED


def test_unanswered_proposal_expires():
    book = ProposalBook(TIMEOUT)
    p = book.propose(0.0, ProposalKind.OVERTAKE, +1, 7, "slower vehicle", 20.0)
    book.begin_cycle()
    book.expire(TIMEOUT - 0.05)
    assert book.open_proposal() is not None
    book.expire(TIMEOUT)
    assert book.open_proposal() is None
    assert [(q.uuid, q.state) for q in book.snapshot()] == [(p.uuid, ProposalState.EXPIRED)]


def test_same_run_gives_the_same_ids():
    ids = [ProposalBook(TIMEOUT).propose(3.25, ProposalKind.RETURN, -1, 1, "", 0.0).uuid for _ in range(2)]
    assert ids[0] == ids[1]


class ProposalLifecycle(RuleBasedStateMachine):
    """Any interleaving of proposals, safety verdicts, driver approvals and rejections, manoeuvre
    outcomes and time passing: a proposal starts EXECUTING only from PROPOSED, before it expires,
    and only when its latest safety verdict was safe."""

    proposals = Bundle("proposals")

    def __init__(self):
        super().__init__()
        self.book = ProposalBook(TIMEOUT)
        self.t = 0.0
        self.safe: dict[str, bool] = {}  # the latest verdict given for each proposal
        self.ended: set[str] = set()

    @rule(target=proposals, kind=st.sampled_from(list(ProposalKind)), direction=st.sampled_from((-1, 1)))
    def planner_proposes(self, kind, direction):
        p = self.book.propose(self.t, kind, direction, 7, "", 10.0)  # proposed after a safe verdict
        self.safe[p.uuid] = True
        return p.uuid

    @rule(target=proposals, text=st.text(max_size=8))
    def an_unknown_id(self, text):
        return text

    @rule(proposal=proposals, safe=st.booleans())
    def safety_verdict(self, proposal, safe):
        if self._open(proposal) is not None:
            self.book.update_safety(proposal, safe, 5.0 if safe else -5.0, "" if safe else "vehicle approaching")
            self.safe[proposal] = safe

    @rule(proposal=proposals)
    def driver_approves(self, proposal):
        before = self._open(proposal)
        started = self.book.approve(proposal)
        if started is not None:
            assert before is not None and before.state == ProposalState.PROPOSED, "started from a non-proposed state"
            assert self.safe[proposal], "an unsafe proposal started"
            assert self.t < before.expires_s, "an expired proposal started"
            assert started.state == ProposalState.EXECUTING

    @rule(proposal=proposals)
    def driver_rejects(self, proposal):
        self.book.end(proposal, ProposalState.REJECTED, "declined by the driver")
        self.ended.add(proposal)

    @rule(proposal=proposals, outcome=st.sampled_from((ProposalState.SUCCEEDED, ProposalState.ABORTED)))
    def manoeuvre_ends(self, proposal, outcome):
        p = self._open(proposal)
        if p is not None and p.state == ProposalState.EXECUTING:
            self.book.end(proposal, outcome)
            self.ended.add(proposal)

    @rule(state=st.sampled_from((ProposalState.ABORTED, ProposalState.REJECTED)))
    def everything_ends(self, state):
        self.ended |= {p.uuid for p in self.book.snapshot() if p.state.open}
        self.book.end_all(state, "route driving is off")

    @rule(dt=st.sampled_from((0.05, 0.5, 3.0, TIMEOUT)))
    def next_cycle(self, dt):
        self.t += dt
        self.book.begin_cycle()
        self.book.expire(self.t)
        self.ended |= {p.uuid for p in self.book.snapshot() if not p.state.open}

    @invariant()
    def ended_proposals_never_run_again(self):
        for p in self.book.snapshot():
            if p.state == ProposalState.EXECUTING:
                assert p.uuid not in self.ended, "an ended proposal is running again"
                assert p.uuid in self.safe

    @invariant()
    def open_proposals_are_listed_once(self):
        ids = [p.uuid for p in self.book.snapshot() if p.state.open]
        assert len(ids) == len(set(ids))

    def _open(self, proposal_id):
        return next((p for p in self.book.snapshot() if p.uuid == proposal_id and p.state.open), None)


ProposalLifecycle.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None, database=None)
test_no_input_sequence_executes_an_unsafe_proposal = ProposalLifecycle.TestCase
