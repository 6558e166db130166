"""Counterbalancing: the order of the conditions for a participant, from a balanced Latin square.

In: the number of conditions and the participant id (e.g. "P07"). Out: the condition indices in
the order that participant drives them. Williams design: every condition comes first equally
often and follows every other condition equally often (n rows for even n, 2n for odd n); the
participant's number (the digits of the id, 1-based) picks the row, cycling.
"""

from __future__ import annotations

import re
import zlib


def balanced_latin_square(n: int) -> list[list[int]]:
    """Rows of a Williams design for n conditions."""
    if n < 1:
        raise ValueError("need at least one condition")
    first, low, high = [0], 1, n - 1
    while len(first) < n:  # 0, 1, n-1, 2, n-2, ...
        first.append(low)
        low += 1
        if len(first) < n:
            first.append(high)
            high -= 1
    rows = [[(c + r) % n for c in first] for r in range(n)]
    if n % 2:
        rows += [list(reversed(row)) for row in rows]  # odd n: the mirrored rows balance the carry-over
    return rows


def participant_number(participant: str) -> int:
    """P07 -> 7; an id without digits gets a stable number from its text."""
    digits = re.findall(r"\d+", participant)
    return int(digits[-1]) if digits else zlib.crc32(participant.encode()) % 1000 + 1


def condition_order(n: int, participant: str) -> list[int]:
    rows = balanced_latin_square(n)
    return rows[(participant_number(participant) - 1) % len(rows)]
