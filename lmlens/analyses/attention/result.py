"""The attention result (numpy arrays, frozen; shapes in each field's docstring).

Shapes: ``n_layers`` chosen blocks, ``n_heads`` chosen heads, ``n_positions`` tokens.

>>> import numpy as np
>>> p = np.array([[[[1.0, 0.0], [0.25, 0.75]]]], dtype=np.float32)   # 1 layer, 1 head, 2 tokens
>>> r = AttentionResult(patterns=p, layers=np.array([0]), heads=np.array([0]),
...                     layer_names=["blocks.0.attn.pattern"], input_ids=np.array([5, 6]),
...                     tokens=["a", "b"], generated=np.zeros(2, bool), hidden=np.array([True, False]))
>>> r.weights[0, 0].tolist()          # key 0 hidden: row 1 renormalised over the other key
[[0.0, 0.0], [0.0, 1.0]]
>>> r.pair(1, 1).tolist(), float(r.patterns[0, 0, 1, 1])   # query 1 → key 1 (layers × heads); as captured
([[1.0]], 0.75)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..result import Result

#: What ``weighting=`` can show.
WEIGHTINGS = ("attention", "norm")


def renormalise(a: np.ndarray, hidden: np.ndarray, hidden_rows: np.ndarray | None = None) -> np.ndarray:
    """``a`` (``(..., n_queries, n_positions)``, rows = queries) with hidden keys and hidden
    queries (``hidden_rows``, default ``hidden``) set to 0 and every other row rescaled to sum to
    what it summed to before over all keys (1 for attention); a row with nothing left stays 0.

    >>> renormalise(np.array([[0.5, 0.5], [0.9, 0.1]]), np.array([True, False])).tolist()
    [[0.0, 0.0], [0.0, 1.0]]
    """
    rows = hidden if hidden_rows is None else hidden_rows
    if not hidden.any() and not rows.any():
        return np.asarray(a, dtype=np.float32)
    out = np.array(a, dtype=np.float64)
    total = out.sum(-1, keepdims=True)
    out[..., hidden] = 0.0
    kept = out.sum(-1, keepdims=True)
    out = np.divide(out * total, kept, out=np.zeros_like(out), where=kept > 0)
    out[..., rows, :] = 0.0
    return out.astype(np.float32)


@dataclass(frozen=True, eq=False, repr=False)
class AttentionResult(Result):
    """Where each head attends (``lens.attention``): the attention patterns of the chosen blocks
    and heads, as the model computed them, with what the views draw from them.

    ``weights`` is what the views draw: with ``weighting="attention"`` the weights α with the
    hidden positions removed and each row renormalised over the keys left; with ``"norm"`` the
    value-weighted norms ``‖α_ij f(x_j)‖`` (Kobayashi et al. 2020) with the hidden positions
    removed (norms are not a distribution: nothing is renormalised; views scale each layer by
    its largest value).
    """

    patterns: np.ndarray
    """``(n_layers, n_heads, n_positions, n_positions)`` float32: attention weights α[query, key]
    as the model computed them (each row sums to 1; a causal model's upper triangle is 0)."""
    layers: np.ndarray
    """``(n_layers,)`` int64: the blocks, in numeric order."""
    heads: np.ndarray
    """``(n_heads,)`` int64: the heads, in numeric order."""
    layer_names: tuple[str, ...]
    """``n_layers`` capture points: ``"blocks.{i}.attn.pattern"``."""
    input_ids: np.ndarray
    """``(n_positions,)`` int64: the text's tokens."""
    tokens: tuple[str, ...]
    """``n_positions`` display strings."""
    generated: np.ndarray
    """``(n_positions,)`` bool: True where ``lens.generate`` produced the token."""
    hidden: np.ndarray
    """``(n_positions,)`` bool: positions left out of ``weights`` (``hide=``: special or sink tokens)."""
    weighting: str = "attention"
    """``"attention"`` (α) or ``"norm"`` (``‖α_ij f(x_j)‖``)."""
    value_norms: np.ndarray | None = None
    """``(n_layers, n_heads, n_positions)`` float32: ``‖f(x_j)‖``, the norm of key ``j``'s value
    vector after the head's slice of the output projection (``weighting="norm"``; else None)."""
    rollout: np.ndarray | None = None
    """``(n_layers, n_positions, n_positions)`` float32: attention rollout (Abnar & Zuidema 2020)
    through each chosen block: the product over blocks ``0..layer`` of ``0.5·Ā + 0.5·I``, ``Ā`` the
    mean of every head's α (all heads, as captured). Rows sum to 1. None when not asked for."""
    sentence_b_start: int = -1
    """Position of the first token of sentence B for a sentence pair, -1 for one text."""
    n_heads_total: int = 0
    """Heads per block in the model (``heads`` may choose fewer)."""
    kind: str = "causal"
    """``"causal"``, ``"masked"`` or ``"base"`` (a model without an LM head)."""
    notes: tuple[str, ...] = ()
    """What was hidden, how norms and rollout were computed."""
    model_name: str = ""
    model_dtype: str = ""
    """The dtype the model ran in (``"float32"``, ``"bfloat16"``, ...; ``""``: not recorded)."""
    token_labels: tuple[str, ...] = ()
    """``n_positions`` chip labels (``Trace.labels``): ``"<E6 9D>(東)"`` where a token holds part of a
    UTF-8 character (byte-level BPE), ``""`` for whole tokens; empty when not recorded."""

    def check(self) -> None:
        n = len(self.tokens)
        p = self.patterns
        if p.ndim != 4 or p.shape[2:] != (n, n):
            raise ValueError(f"patterns must be (n_layers, n_heads, {n}, {n}), got {p.shape}")
        nl, nh = p.shape[:2]
        if p.dtype.kind != "f":
            raise ValueError(f"patterns must be floats, got {p.dtype}")
        for name, shape, kinds in (
            ("layers", (nl,), "iu"), ("heads", (nh,), "iu"), ("input_ids", (n,), "iu"),
            ("generated", (n,), "b"), ("hidden", (n,), "b"),
            ("value_norms", (nl, nh, n), "f"), ("rollout", (nl, n, n), "f"),
        ):
            if getattr(self, name) is not None:
                self.expect(name, shape, kinds)
        if len(self.layer_names) != nl:
            raise ValueError(f"layer_names must name the {nl} layers, got {len(self.layer_names)}")
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")
        if (self.weighting == "norm") != (self.value_norms is not None):
            raise ValueError("value_norms go with weighting='norm', and only with it")
        if not -1 <= self.sentence_b_start < n:
            raise ValueError(f"sentence_b_start must be -1 or a position, got {self.sentence_b_start}")
        if np.any(np.diff(self.layers) <= 0) or np.any(np.diff(self.heads) <= 0):
            raise ValueError("layers and heads must be increasing")

    @property
    def n_layers(self) -> int:
        """Chosen blocks."""
        return int(self.patterns.shape[0])

    @property
    def n_heads(self) -> int:
        """Chosen heads."""
        return int(self.patterns.shape[1])

    @property
    def n_positions(self) -> int:
        """Tokens in the text."""
        return len(self.tokens)

    @property
    def norms(self) -> np.ndarray | None:
        """``(n_layers, n_heads, n_positions, n_positions)`` float32 ``‖α_ij f(x_j)‖ = α_ij ‖f(x_j)‖``
        (``weighting="norm"``), or None."""
        if self.value_norms is None:
            return None
        return (self.patterns * self.value_norms[:, :, None, :]).astype(np.float32)

    @property
    def weights(self) -> np.ndarray:
        """What the views draw, ``(n_layers, n_heads, n_positions, n_positions)`` float32: α
        renormalised over the keys that are not hidden, or the norms with hidden positions at 0."""
        if self.weighting == "norm":
            out = np.array(self.norms)
            out[..., self.hidden] = 0.0
            out[..., self.hidden, :] = 0.0
            return out
        return renormalise(self.patterns, self.hidden)

    @property
    def rollout_weights(self) -> np.ndarray | None:
        """``rollout`` as the views draw it (hidden keys removed, rows renormalised), or None."""
        return None if self.rollout is None else renormalise(self.rollout, self.hidden)

    def pair(self, query: int, key: int) -> np.ndarray:
        """``(n_layers, n_heads)``: what ``weights`` gives from position ``query`` to position
        ``key`` in every chosen layer and head (positions, never token strings: a repeated token
        is a different position)."""
        n = self.n_positions
        for name, p in (("query", query), ("key", key)):
            if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not -n <= p < n:
                raise ValueError(f"{name} must be a position in -{n}..{n - 1}, got {p!r}")
        q, k = int(query) % n, int(key) % n
        row = self.patterns[:, :, q : q + 1, :]
        rows = self.hidden[q : q + 1]
        if self.weighting == "norm":
            out = row[..., 0, k] * self.value_norms[:, :, k]
            return (out * (not (rows[0] or self.hidden[k]))).astype(np.float32)
        return np.ascontiguousarray(renormalise(row, self.hidden, rows)[:, :, 0, k])
