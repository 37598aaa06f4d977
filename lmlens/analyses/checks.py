"""Argument checks every analysis shares (one place, one wording).

>>> check_position(-1, 5), check_int("topk", 3)
(4, 3)
"""

from __future__ import annotations

import numpy as np


def check_int(name: str, value: object, lo: int = 1, hi: int | None = None) -> int:
    """``value`` as an int in ``[lo, hi]``; ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < lo:
        raise ValueError(f"{name} must be >= {lo}, got {value}")
    if hi is not None and value > hi:
        raise ValueError(f"{name} must be <= {hi}, got {value}")
    return int(value)


def check_position(position: object, n: int, name: str = "position") -> int:
    """``position`` as a non-negative index into ``n`` positions (negative counts from the end)."""
    if isinstance(position, bool) or not isinstance(position, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(position).__name__}")
    if not -n <= position < n:
        raise ValueError(
            f"{name}={position} is out of range for a text of {n} tokens "
            f"(valid: 0..{n - 1}, or -{n}..-1 from the end)"
        )
    return int(position) % n


def check_topk(topk: object, d_vocab: int | None = None) -> int:
    """``topk`` as a positive int, at most the vocabulary size."""
    if isinstance(topk, bool) or not isinstance(topk, (int, np.integer)) or topk < 1:
        raise ValueError(f"topk must be a positive int, got {topk!r}")
    if d_vocab is not None and topk > d_vocab:
        raise ValueError(f"topk must be at most the vocabulary size {d_vocab}, got {topk}")
    return int(topk)


def check_choice(name: str, value: object, choices: tuple) -> str:
    """``value`` if it is one of ``choices``; else ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value
