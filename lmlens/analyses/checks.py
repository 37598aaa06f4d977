"""Argument checks every analysis shares (one place, one wording).

>>> check_position(-1, 5), check_int("topk", 3)
(4, 3)
"""

from __future__ import annotations

import numpy as np

from .. import names as N


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


def answer_position_for(answer_position: object, n: int, kind: str) -> int:
    """Where the answer is read: ``answer_position`` checked as a position, or, when None, the
    last position of a causal LM (a masked LM has to be told where its mask is)."""
    if answer_position is None:
        if kind != "causal":
            raise ValueError("answer_position: a masked LM needs the position of the mask to read")
        answer_position = n - 1
    return check_position(answer_position, n, "answer_position")


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


def check_indices(
    name: str, values: object, n: int, *, unit: str = "block", site: str | None = None, site_what: str = ""
) -> list[int]:
    """Indices into ``n`` things (blocks, heads) in numeric order for ``values``: None (all), an
    int, or a sequence / range of ints; negative ints count from the end. With ``site`` (e.g.
    ``"mlp.post"``), point names of that site (``"blocks.3.mlp.post"``) stand for their block
    (``site_what`` names such a point in the error for another one, e.g. "an FFN activation point").

    ``TypeError``/``ValueError`` naming ``name`` for a wrong type, an index out of range, a repeated
    one, or an empty selection.

    >>> check_indices("layers", [12, 3, -1], 30), check_indices("heads", None, 3, unit="head")
    ([3, 12, 29], [0, 1, 2])
    """
    if values is None:
        return list(range(n))
    if isinstance(values, (int, np.integer, str)) and not isinstance(values, bool):
        values = [values]
    if not isinstance(values, (list, tuple, range, np.ndarray)):
        raise TypeError(f"{name} must be None, an int or a list of ints, got {type(values).__name__}")
    out: list[int] = []
    for x in values:
        if isinstance(x, str) and site is not None:
            layer, key = N.parse(x)
            if key != site:
                raise ValueError(f"{name}: {x!r} is not {site_what or 'a ' + repr(site) + ' point'} ('blocks.{{i}}.{site}')")
            x = layer
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
            raise TypeError(f"{name} must hold ints ({unit} numbers), got {type(x).__name__}")
        if not -n <= x < n:
            raise ValueError(
                f"{name}: {unit} {int(x)} does not exist; this model has {n} {unit}s "
                f"(valid: 0..{n - 1}, or -{n}..-1 from the end)"
            )
        i = int(x) % n
        if i in out:
            raise ValueError(f"{name}: {unit} {i} is given twice")
        out.append(i)
    if not out:
        raise ValueError(f"{name} must name at least one {unit} (or be None for all)")
    return sorted(out)
