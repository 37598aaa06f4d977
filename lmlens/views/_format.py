"""Python twins of ``js/src/format.js`` (used by the no-JS fallbacks); keep them in step.

>>> format_prob(0.1234), format_prob(0.000456), format_prob(1e-7), format_prob(float("nan"))
('12.3%', '0.0456%', '<0.01%', '–')
>>> visible_token("a\\nb"), visible_token("")
('a↵b', '∅')
"""

from __future__ import annotations

import math


def format_prob(p: float) -> str:
    """Probability → percent with 3 significant digits (same text as the JS ``formatProb``)."""
    p = float(p)
    if math.isnan(p):
        return "–"
    pct = p * 100
    if pct < 0.01:
        return "<0.01%"
    return f"{float(f'{pct:.3g}'):g}%"


def visible_token(s: str) -> str:
    """A token as a chip shows it: ``\\r``, ``\\n``, ``\\t`` as ␍ ↵ ⇥; empty as ∅."""
    if s == "":
        return "∅"
    return s.replace("\r", "␍").replace("\n", "↵").replace("\t", "⇥")


def token_label(result, i: int) -> str:
    """How token ``i`` of ``result`` reads on its own: its chip label where it holds part of a
    character (``"<E6 9D>(東)"``, ``result.token_labels``), else the token."""
    labels = getattr(result, "token_labels", ()) or ()
    return (labels[i] if i < len(labels) else "") or result.tokens[i]
