"""Inverses of many small square matrices at once: a stack (k, n, n) in, its inverses (k, n, n) out.

numpy's `linalg.inv` calls LAPACK once per matrix, which for 4x4 matrices costs more than the
arithmetic. For n = 4 (the constant-velocity state) the inverse is formed in closed form instead:
the adjugate from the 2x2 minors of the top and bottom row pairs (Laplace expansion), over the
determinant, as a few numpy operations on the whole stack. Other sizes go to `numpy.linalg.inv`.
No pivoting: the matrices must be well conditioned (the tracker inverts I + P J, P and J symmetric
positive (semi-)definite, whose eigenvalues are all >= 1).
"""

from __future__ import annotations

import numpy as np

# 2x2 minors (flat index r * 4 + c): minor k (0..5) of rows 0-1 and minor 6 + k of rows 2-3, over the
# column pairs below, each a[top, i] * a[top + 1, j] - a[top + 1, i] * a[top, j]
_PAIRS = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
_MINOR_P = np.array([4 * top + i for top in (0, 2) for i, _ in _PAIRS])
_MINOR_Q = np.array([4 * (top + 1) + j for top in (0, 2) for _, j in _PAIRS])
_MINOR_U = np.array([4 * (top + 1) + i for top in (0, 2) for i, _ in _PAIRS])
_MINOR_V = np.array([4 * top + j for top in (0, 2) for _, j in _PAIRS])
_DET_SIGN = np.array([1.0, -1.0, 1.0, 1.0, -1.0, 1.0])  # det = sum of sign_k * minor_k * minor_(11 - k)
# adjugate entry (row, column), row-major: three terms (sign, r, c, minor) = sign * a[r, c] * minor
_ADJUGATE = (
    ((+1, 1, 1, 11), (-1, 1, 2, 10), (+1, 1, 3, 9)), ((-1, 0, 1, 11), (+1, 0, 2, 10), (-1, 0, 3, 9)),
    ((+1, 3, 1, 5), (-1, 3, 2, 4), (+1, 3, 3, 3)), ((-1, 2, 1, 5), (+1, 2, 2, 4), (-1, 2, 3, 3)),
    ((-1, 1, 0, 11), (+1, 1, 2, 8), (-1, 1, 3, 7)), ((+1, 0, 0, 11), (-1, 0, 2, 8), (+1, 0, 3, 7)),
    ((-1, 3, 0, 5), (+1, 3, 2, 2), (-1, 3, 3, 1)), ((+1, 2, 0, 5), (-1, 2, 2, 2), (+1, 2, 3, 1)),
    ((+1, 1, 0, 10), (-1, 1, 1, 8), (+1, 1, 3, 6)), ((-1, 0, 0, 10), (+1, 0, 1, 8), (-1, 0, 3, 6)),
    ((+1, 3, 0, 4), (-1, 3, 1, 2), (+1, 3, 3, 0)), ((-1, 2, 0, 4), (+1, 2, 1, 2), (-1, 2, 3, 0)),
    ((-1, 1, 0, 9), (+1, 1, 1, 7), (-1, 1, 2, 6)), ((+1, 0, 0, 9), (-1, 0, 1, 7), (+1, 0, 2, 6)),
    ((-1, 3, 0, 3), (+1, 3, 1, 1), (-1, 3, 2, 0)), ((+1, 2, 0, 3), (-1, 2, 1, 1), (+1, 2, 2, 0)),
)
_TERM_ELEMENT = np.array([4 * r + c for entry in _ADJUGATE for _, r, c, _ in entry])  # (48,)
_TERM_MINOR = np.array([minor for entry in _ADJUGATE for *_, minor in entry])
_TERMS_TO_ENTRIES = np.zeros((48, 16))  # adds up the signed terms of all 16 entries in one matrix product
_TERMS_TO_ENTRIES[np.arange(48), np.repeat(np.arange(16), 3)] = [t[0] for entry in _ADJUGATE for t in entry]


def inverse(a: np.ndarray) -> np.ndarray:
    """Inverses of a stack of square matrices (k, n, n)."""
    k, n, _ = a.shape
    if n != 4:
        return np.linalg.inv(a)
    flat = a.reshape(k, 16)
    minors = flat[:, _MINOR_P] * flat[:, _MINOR_Q] - flat[:, _MINOR_U] * flat[:, _MINOR_V]  # (k, 12)
    det = (minors[:, :6] * minors[:, 11:5:-1]) @ _DET_SIGN
    adjugate = (flat[:, _TERM_ELEMENT] * minors[:, _TERM_MINOR]) @ _TERMS_TO_ENTRIES
    return (adjugate / det[:, None]).reshape(k, 4, 4)
