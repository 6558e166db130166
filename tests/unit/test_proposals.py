"""Proposal lifecycle: no sequence of driver inputs and safety verdicts runs an unsafe proposal."""

import random

from propilot.core.planning.proposals import ProposalBook
from propilot.core.types import ProposalKind, ProposalState

TIMEOUT = 10.0


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


def test_random_input_sequences_never_execute_an_unsafe_proposal():
    rng = random.Random(7)
    for _ in range(500):
        book = ProposalBook(TIMEOUT)
        t = 0.0
        for _ in range(40):
            t += rng.choice((0.05, 0.5, 3.0))
            book.begin_cycle()
            book.expire(t)
            if book.open_proposal() is None:
                book.propose(t, rng.choice(list(ProposalKind)), rng.choice((-1, 1)), 1, "", 0.0)
            p = book.open_proposal()
            safe = rng.random() < 0.5
            if p.state == ProposalState.PROPOSED:
                book.update_safety(p.uuid, safe, 0.0 if safe else -1.0)
            action = rng.choice(("approve", "reject", "none", "end"))
            if action == "approve":
                started = book.approve(p.uuid)
                assert started is None or (safe and p.state == ProposalState.PROPOSED)
            elif action == "reject":
                book.end(p.uuid, ProposalState.REJECTED)
            elif action == "end" and p.state == ProposalState.EXECUTING:
                book.end(p.uuid, rng.choice((ProposalState.SUCCEEDED, ProposalState.ABORTED)))
