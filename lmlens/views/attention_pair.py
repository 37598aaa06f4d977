"""The pair of positions the attention view's pair mode and figure show: checked from the user's
``pair=(query, key)`` or chosen (the last shown position and the key it attends to most).

>>> check_pair((-1, 0), 5)
(4, 0)
"""

from __future__ import annotations

import numpy as np

from ..analyses.attention import AttentionResult


def default_pair(r: AttentionResult, weights: np.ndarray) -> tuple[int, int]:
    """``(query, key)`` shown first in the pair view: the last position that is not hidden, and
    the other shown position it attends to most (mean over layers and heads)."""
    shown = np.flatnonzero(~r.hidden)
    q = int(shown[-1])
    row = weights[:, :, q, :].mean(axis=(0, 1))
    row[q] = -1.0
    row[r.hidden] = -1.0
    k = int(np.argmax(row)) if r.n_positions > 1 else q
    return q, k


def check_pair(pair: object, n: int) -> tuple[int, int] | None:
    """``pair`` as ``(query, key)`` positions in ``0..n-1`` (negative count from the end), or None."""
    if pair is None:
        return None
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"pair must be (query_position, key_position), got {pair!r}")
    out = []
    for name, p in zip(("query", "key"), pair, strict=True):
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
            raise TypeError(f"pair: the {name} must be a position (an int), got {type(p).__name__}")
        if not -n <= p < n:
            raise ValueError(f"pair: {name} position {p} is out of range for {n} tokens (valid: 0..{n - 1}, or -{n}..-1)")
        out.append(int(p) % n)
    return out[0], out[1]
