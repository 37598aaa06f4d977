"""How a ``NeuronFactorsResult`` reads as text: layer ranges, factor shares, neuron labels (the
view's spec, its fallback and the figure say them the same way).

>>> layer_ranges([0, 1, 2, 5, 7, 8]), neuron_label(12, 345, -1, "split")
('0–2, 5, 7–8', 'L12 N345−')
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..analyses.factors import NeuronFactorsResult
from ._format import visible_token


def layer_ranges(layers: list[int]) -> str:
    """Compact text of block numbers: ``[0, 1, 2, 5, 7, 8]`` → ``"0–2, 5, 7–8"``.

    >>> layer_ranges([3])
    '3'
    """
    parts: list[str] = []
    start = prev = None
    for x in [*layers, None]:
        if x is not None and prev is not None and x == prev + 1:
            prev = x
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}–{prev}")
        start = prev = x
    return ", ".join(parts)


def factor_shares(r: NeuronFactorsResult) -> np.ndarray:
    """``(n_factors,)``: each factor's ``‖activations[f]‖ · ‖loadings[f]‖`` over their sum (the
    order factors are listed in)."""
    size = np.linalg.norm(r.activations, axis=1) * np.linalg.norm(r.loadings, axis=1)
    return size / size.sum() if size.sum() > 0 else size


def neuron_label(layer: int, neuron: int, sign: int, positive: str) -> str:
    """``"L12 N345"``; ``"L12 N345−"`` for the negative part of a neuron (``positive="split"``)."""
    return f"L{layer} N{neuron}" + ("−" if sign < 0 else "+" if positive == "split" else "")


def neuron_text(r: NeuronFactorsResult, column: int, *, n_tokens: int = 3,
                fmt: Callable[[str], str] = visible_token) -> str:
    """``"L12 N345 → a b c"``: the neuron of a column and the first tokens it promotes when it
    fires (for a negative part, what ``−w`` promotes: the tokens ``w`` suppresses)."""
    layer, neuron = (int(v) for v in r.neuron_index[column])
    sign = int(r.neuron_sign[column])
    text = neuron_label(layer, neuron, sign, r.positive)
    if r.write_neurons is None:
        return text
    hit = np.flatnonzero((r.write_neurons[:, 0] == layer) & (r.write_neurons[:, 1] == neuron))
    if hit.size:
        ids = (r.write_bottom_ids if sign < 0 else r.write_top_ids)[hit[0], :n_tokens]
        text += " → " + " ".join(fmt(r.strings[int(i)]) for i in ids)
    return text
