"""The matrix NMF factorises: FFN activations of the chosen layers, side by side, made ≥ 0.

``select_layers`` turns ``layers=`` into block numbers in numeric order; ``activation_matrix``
reads ``blocks.{i}.mlp.post`` (the input of each block's down-projection) from a trace into one
``(n_positions, n_neurons)`` float32 matrix, and ``positive`` says what happens to negatives
(SiLU- and GELU-gated FFNs have many: about half of SmolLM2's entries):

- ``"clip"``: ``max(a, 0)`` (ecco's choice, made silently there; here the share it removed is
  reported);
- ``"abs"``: ``|a|`` (a factor then mixes both signs of a neuron);
- ``"split"``: two columns per neuron, ``max(a, 0)`` and ``max(-a, 0)``: nothing is lost.

>>> select_layers([12, 3, -1], 30)
[3, 12, 29]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ... import names as N
from ...capture import Trace
from ..checks import check_choice, check_indices
from .result import POSITIVE

#: The capture points the analysis reads (``lens.trace(text, points=POINTS)``).
POINTS = ["blocks.*.mlp.post"]


def select_layers(layers: int | str | Sequence[int | str] | range | None, n_layers: int) -> list[int]:
    """Block numbers in numeric order for ``layers``: None (every block), an int, a point name
    (``"blocks.3.mlp.post"``), or a sequence / range of them; negative ints count from the end.

    ``ValueError`` for a layer out of range, a repeated one, or an empty selection.
    """
    return check_indices("layers", layers, n_layers, site="mlp.post", site_what="an FFN activation point")


@dataclass(frozen=True)
class ActivationMatrix:
    """What NMF factorises, and what was done to get it.

    Fields:
        X: ``(n_positions, n_neurons)`` float32 ≥ 0, C-contiguous.
        neuron_index: ``(n_neurons, 2)`` int64 ``(layer, neuron)`` of each column.
        neuron_sign: ``(n_neurons,)`` int8, ``-1`` for negative-part columns (``"split"``).
        layers: the blocks, numeric order.
        negative_share: share of ``Σ|a|`` on negative entries, before ``positive``.
        negative_entries: share of entries that were negative.
    """

    X: np.ndarray
    neuron_index: np.ndarray
    neuron_sign: np.ndarray
    layers: list[int]
    negative_share: float
    negative_entries: float


def activation_matrix(trace: Trace, layers: Sequence[int], positive: str) -> ActivationMatrix:
    """Read ``blocks.{i}.mlp.post`` of ``layers`` (block numbers, numeric order) from ``trace``
    into the non-negative matrix NMF factorises (filled layer by layer: no full-size temporary)."""
    check_choice("positive", positive, POSITIVE)
    names = [N.mlp_post(i) for i in layers]
    missing = [n for n in names if n not in trace]
    if missing:
        have = [n for n in trace.names if n.endswith(".mlp.post")]
        raise ValueError(
            f"neuron factors read the FFN activations, and the trace lacks {missing[:3]}"
            f"{'...' if len(missing) > 3 else ''} (it holds {len(have)} FFN points). Trace with "
            f"points={POINTS!r}, or pass layers= naming only the blocks the trace holds."
        )
    widths = [int(trace[n].shape[-1]) for n in names]
    n_pos, m = trace.n_positions, sum(widths)
    split = positive == "split"
    X = np.empty((n_pos, 2 * m if split else m), dtype=np.float32)
    neg_mass = abs_mass = 0.0
    neg_count = 0
    col = 0
    for name, w in zip(names, widths, strict=True):
        a = trace[name].detach().to("cpu").float().numpy()
        if a.shape != (n_pos, w):
            raise ValueError(f"{name} must be (n_positions, d_mlp) = ({n_pos}, {w}), got {a.shape}")
        total = float(a.sum(dtype=np.float64))  # Σa = Σmax(a, 0) − Σmax(−a, 0): the negative
        neg_count += int(np.count_nonzero(a < 0))  # mass follows from one more sum, no gather
        block = X[:, col:col + w]
        if positive == "abs":
            np.abs(a, out=block)
            neg = (float(block.sum(dtype=np.float64)) - total) / 2
        else:
            np.maximum(a, 0, out=block)
            neg = float(block.sum(dtype=np.float64)) - total
            if split:
                np.negative(a, out=X[:, m + col:m + col + w])
                np.maximum(X[:, m + col:m + col + w], 0, out=X[:, m + col:m + col + w])
        neg_mass += neg
        abs_mass += total + 2 * neg
        col += w
    index = np.concatenate([
        np.stack([np.full(w, layer, dtype=np.int64), np.arange(w, dtype=np.int64)], axis=1)
        for layer, w in zip(layers, widths, strict=True)
    ])
    sign = np.ones(m, dtype=np.int8)
    if split:
        index = np.concatenate([index, index])
        sign = np.concatenate([sign, -sign])
    return ActivationMatrix(
        X=X, neuron_index=index, neuron_sign=sign, layers=list(layers),
        negative_share=neg_mass / abs_mass if abs_mass > 0 else 0.0,
        negative_entries=neg_count / max(1, n_pos * m),
    )
