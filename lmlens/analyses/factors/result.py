"""Results of the neuron-factor analyses (numpy arrays, frozen; shapes in each field's docstring).

Shapes: ``n_factors`` NMF factors, ``n_positions`` tokens of the text, ``n_neurons`` columns of
the factorised matrix (every FFN neuron of the chosen layers; twice that with
``positive="split"``), ``t`` top neurons kept per factor, ``n`` decoded neurons, ``k`` tokens
kept per neuron and direction.

>>> import numpy as np
>>> r = NeuronTokensResult(
...     neurons=np.array([[0, 5]]), top_ids=np.array([[2, 1]]), top_logits=np.array([[3.0, 1.0]]),
...     bottom_ids=np.array([[0, 1]]), bottom_logits=np.array([[-2.0, 1.0]]),
...     strings={0: "a", 1: "b", 2: "c"})
>>> r.top_tokens, r.bottom_tokens
((('c', 'b'),), (('a', 'b'),))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from ..result import Result

#: What ``positive=`` can do to negative activations before NMF (which needs X ≥ 0).
POSITIVE = ("clip", "abs", "split")


def _writes(obj: Result, prefix: str, n: int) -> None:
    """The four ``top/bottom ids/logits`` arrays: ``(n, k)``, ids sorted by logit."""
    top_ids = getattr(obj, f"{prefix}top_ids")
    if top_ids is None or top_ids.ndim != 2:
        raise ValueError(f"{prefix}top_ids must be a (n, k) array")
    shape = (n, top_ids.shape[1])
    obj.expect(f"{prefix}top_ids", shape, "iu")
    obj.expect(f"{prefix}bottom_ids", shape, "iu")
    obj.expect(f"{prefix}top_logits", shape, "f")
    obj.expect(f"{prefix}bottom_logits", shape, "f")
    top, bottom = getattr(obj, f"{prefix}top_logits"), getattr(obj, f"{prefix}bottom_logits")
    if np.any(np.diff(top, axis=1) > 0) or np.any(np.diff(bottom, axis=1) < 0):
        raise ValueError(f"{prefix}top_logits must descend and {prefix}bottom_logits ascend")


@dataclass(frozen=True, eq=False, repr=False)
class NeuronTokensResult(Result):
    """What FFN neurons write: the tokens each one's output direction promotes and suppresses
    (``lens.neuron_tokens``).

    A neuron ``n`` of block ``l`` adds ``a · w`` to the residual stream, where ``a`` is its
    activation (``blocks.l.mlp.post[:, n]``) and ``w`` its column of the down-projection
    (``W_down[:, n]``; GPT-2's ``Conv1D`` stores it as row ``n``). Decoded here, per unit of
    activation, is ``logits = W_U (γ ⊙ C w)``: ``γ`` the final norm's scale (``weight``), ``C``
    the centring a LayerNorm applies (identity for RMSNorm), ``W_U`` the unembedding. Left out:
    the final norm's division by the residual's RMS (one positive number per position, the same
    for every token: rankings are exact, values are per unit of normalised residual), the
    LayerNorm bias ``β`` and any head bias (both are added whatever the neuron writes).
    """

    neurons: np.ndarray
    """``(n, 2)`` int64: ``(layer, neuron)`` of each decoded neuron."""
    top_ids: np.ndarray
    """``(n, k)`` int64: the tokens the neuron's direction promotes most, highest logit first."""
    top_logits: np.ndarray
    """``(n, k)`` float32: their logits per unit of activation (see the class docstring)."""
    bottom_ids: np.ndarray
    """``(n, k)`` int64: the tokens it suppresses most, lowest logit first."""
    bottom_logits: np.ndarray
    """``(n, k)`` float32: their (negative) logits per unit of activation."""
    strings: Mapping[int, str]
    """Display string of every id in ``top_ids`` and ``bottom_ids``."""
    notes: tuple[str, ...] = ()
    """What was decoded, and anything approximate about it."""
    model_name: str = ""
    model_dtype: str = ""
    """The dtype the model ran in (``"float32"``, ``"bfloat16"``, ...; ``""``: not recorded)."""

    def check(self) -> None:
        if self.neurons.ndim != 2 or self.neurons.shape[1] != 2:
            raise ValueError(f"neurons must be (n, 2) = (layer, neuron), got {self.neurons.shape}")
        self.expect("neurons", self.neurons.shape, "iu")
        _writes(self, "", self.neurons.shape[0])
        self.expect_strings("top_ids", "bottom_ids")

    @property
    def k(self) -> int:
        """Tokens kept per neuron and direction."""
        return int(self.top_ids.shape[1])

    @property
    def top_tokens(self) -> tuple[tuple[str, ...], ...]:
        """Display strings of ``top_ids``, one tuple per neuron."""
        return tuple(tuple(self.strings[int(i)] for i in row) for row in self.top_ids)

    @property
    def bottom_tokens(self) -> tuple[tuple[str, ...], ...]:
        """Display strings of ``bottom_ids``, one tuple per neuron."""
        return tuple(tuple(self.strings[int(i)] for i in row) for row in self.bottom_ids)


@dataclass(frozen=True, eq=False, repr=False)
class NeuronFactorsResult(Result):
    """Groups of FFN neurons that fire together over a text: a non-negative matrix
    factorisation ``X ≈ activations.T @ loadings`` of the ``(n_positions, n_neurons)`` matrix of
    FFN activations (``blocks.{i}.mlp.post`` of the chosen layers, side by side in numeric
    layer order), after ``positive`` made it non-negative (``lens.neuron_factors``).

    Factors are ordered by their share of the reconstruction (``‖activations[f]‖ ·
    ‖loadings[f]‖``, largest first), except when transferred (then as in the components' result).
    The values are the solver's ``W.T`` and ``H`` unscaled (``hals.py``: accelerated HALS, the
    Frobenius loss of scikit-learn's ``NMF``).
    """

    activations: np.ndarray
    """``(n_factors, n_positions)`` float32 ≥ 0: how strongly each factor fires at each token."""
    loadings: np.ndarray
    """``(n_factors, n_neurons)`` float32 ≥ 0: each factor's weight on each neuron column."""
    neuron_index: np.ndarray
    """``(n_neurons, 2)`` int64: ``(layer, neuron)`` of each column. With ``positive="split"``
    every neuron appears twice: first all positive parts, then all negative parts
    (``neuron_sign`` says which)."""
    neuron_sign: np.ndarray
    """``(n_neurons,)`` int8: ``+1`` for a column of ``max(a, 0)`` (or ``|a|`` with ``"abs"``),
    ``-1`` for a column of ``max(-a, 0)`` (the negative part, ``"split"`` only)."""
    error: float
    """Frobenius norm ``‖X − activations.T @ loadings‖`` of the factorised matrix ``X`` (what
    scikit-learn's ``reconstruction_err_`` reports), summed in float64 in one pass after the fit."""
    relative_error: float
    """``error / ‖X‖``."""
    positive: str
    """What was done to negative activations: ``"clip"`` (set to 0), ``"abs"`` (absolute value)
    or ``"split"`` (a column for each sign)."""
    negative_share: float
    """Share of the activations' absolute mass ``Σ|a|`` that was negative, before ``positive``."""
    negative_entries: float
    """Share of the activation entries that were negative."""
    n_iter: int
    """Iterations the solver ran (each reads the matrix twice; for a transfer: sweeps solving for
    ``activations`` only, after one read)."""
    converged: bool
    """Whether an iteration lowered the error by less than ``tol`` (relative) before ``max_iter``."""
    layers: np.ndarray
    """``(n_layers,)`` int64: the blocks whose FFN neurons were factorised, in numeric order."""
    layer_names: tuple[str, ...]
    """``n_layers`` capture points: ``"blocks.{i}.mlp.post"``."""
    input_ids: np.ndarray
    """``(n_positions,)`` int64: the text's tokens."""
    tokens: tuple[str, ...]
    """``n_positions`` display strings."""
    generated: np.ndarray
    """``(n_positions,)`` bool: True where ``lens.generate`` produced the token."""
    top_neurons: np.ndarray
    """``(n_factors, t)`` int64: columns (indices into ``neuron_index``) of each factor's
    largest loadings, largest first."""
    params: Mapping[str, object]
    """How the factorisation was run: ``n_factors``, ``init``, ``solver``, ``beta_loss``,
    ``max_iter``, ``tol``, ``random_state``, ``transferred`` (components from another result)."""
    write_neurons: np.ndarray | None = None
    """``(n_w, 2)`` int64: the distinct ``(layer, neuron)`` among ``top_neurons`` whose writes
    were decoded (None when the model has no unembedding or they were not asked for)."""
    write_top_ids: np.ndarray | None = None
    """``(n_w, k)`` int64: tokens each ``write_neurons`` direction promotes (``NeuronTokensResult``)."""
    write_top_logits: np.ndarray | None = None
    """``(n_w, k)`` float32."""
    write_bottom_ids: np.ndarray | None = None
    """``(n_w, k)`` int64: tokens it suppresses."""
    write_bottom_logits: np.ndarray | None = None
    """``(n_w, k)`` float32."""
    strings: Mapping[int, str] = field(default_factory=dict)
    """Display string of every id in the ``write_*_ids``."""
    kind: str = "causal"
    """``"causal"`` or ``"masked"`` (or ``"base"`` for a model without an LM head)."""
    notes: tuple[str, ...] = ()
    """What was done to the negatives, convergence, how writes were decoded."""
    model_name: str = ""
    model_dtype: str = ""
    """The dtype the model ran in (``"float32"``, ``"bfloat16"``, ...; ``""``: not recorded)."""

    token_labels: tuple[str, ...] = ()
    """``n_positions`` chip labels (``Trace.labels``): ``""`` where the token is whole characters,
    else its partial UTF-8 bytes as hex with their character, ``"<E6 9D>(東)"``; may be empty."""
    word_spans: np.ndarray | None = None
    """``(n_positions, 2)`` int64 ``[start, end)`` token positions of each word when the result is
    grouped into words (``by_word``; then a "position" is a word), else None."""

    def by_word(self, starts: np.ndarray) -> NeuronFactorsResult:
        """The same factors over words instead of tokens: a word starts where ``starts`` is True
        (``Trace.word_starts``: morphemes in Japanese, ``lmlens.capture.words``); a factor's
        activation at a word is its largest over the word's tokens; ``input_ids`` holds each
        word's first token, ``generated`` whether any of its tokens was generated.

        >>> view.result.by_word(trace.word_starts).tokens  # doctest: +SKIP
        ('東京', 'は', '日本', 'の', '首都', 'です', '。')
        """
        if self.word_spans is not None:
            return self
        n = len(self.tokens)
        starts = np.asarray(starts, dtype=bool).copy()
        if starts.shape != (n,):
            raise ValueError(f"starts must have shape ({n},), got {starts.shape}")
        if n:
            starts[0] = True
        first = np.flatnonzero(starts)
        ends = np.append(first[1:], n)
        labels = self.token_labels
        words = ["".join(self.tokens[a:b]) for a, b in zip(first, ends, strict=True)]
        return replace(
            self,
            activations=np.stack([self.activations[:, a:b].max(axis=1) for a, b in zip(first, ends, strict=True)],
                                 axis=1).astype(self.activations.dtype) if n else self.activations,
            input_ids=self.input_ids[first],
            generated=np.logical_or.reduceat(self.generated, first) if n else self.generated,
            tokens=tuple(words),
            token_labels=tuple((labels[a] if b - a == 1 else "") for a, b in zip(first, ends, strict=True))
            if labels else (),
            word_spans=np.stack([first, ends], axis=1).astype(np.int64),
        )

    def check(self) -> None:
        n, f = len(self.tokens), self.activations.shape[0] if self.activations.ndim == 2 else -1
        if f < 1:
            raise ValueError(f"activations must be (n_factors, n_positions), got {self.activations.shape}")
        m = self.loadings.shape[-1]
        self.expect("activations", (f, n), "f")
        self.expect("loadings", (f, m), "f")
        self.expect("neuron_index", (m, 2), "iu")
        self.expect("neuron_sign", (m,), "i")
        self.expect("input_ids", (n,), "iu")
        if self.word_spans is not None:
            self.expect("word_spans", (n, 2), "iu")
        self.expect("generated", (n,), "b")
        self.expect("layers", (len(self.layer_names),), "iu")
        if self.top_neurons.ndim != 2 or self.top_neurons.shape[0] != f:
            raise ValueError(f"top_neurons must be (n_factors, t), got {self.top_neurons.shape}")
        self.expect("top_neurons", self.top_neurons.shape, "iu")
        if self.top_neurons.size and not 0 <= int(self.top_neurons.min()) <= int(self.top_neurons.max()) < m:
            raise ValueError(f"top_neurons must index the {m} neuron columns")
        if self.positive not in POSITIVE:
            raise ValueError(f"positive must be one of {POSITIVE}, got {self.positive!r}")
        if np.any(self.activations < 0) or np.any(self.loadings < 0):
            raise ValueError("activations and loadings must be non-negative (NMF factors)")
        if not set(np.unique(self.neuron_sign).tolist()) <= {-1, 1}:
            raise ValueError("neuron_sign must hold +1 and -1 only")
        if not np.isin(self.neuron_index[:, 0], self.layers).all():
            raise ValueError("neuron_index names layers that are not in layers")
        if self.write_neurons is not None:
            if self.write_neurons.ndim != 2 or self.write_neurons.shape[1] != 2:
                raise ValueError(f"write_neurons must be (n_w, 2), got {self.write_neurons.shape}")
            _writes(self, "write_", self.write_neurons.shape[0])
            self.expect_strings("write_top_ids", "write_bottom_ids")
        elif any(getattr(self, f"write_{x}") is not None for x in
                 ("top_ids", "top_logits", "bottom_ids", "bottom_logits")):
            raise ValueError("write_* arrays need write_neurons")
        if not all(isinstance(x, str) for x in (*self.tokens, *self.layer_names, *self.notes)):
            raise ValueError("tokens, layer_names and notes must be strings")

    @property
    def n_factors(self) -> int:
        """Number of factors."""
        return int(self.activations.shape[0])

    @property
    def n_positions(self) -> int:
        """Tokens in the text."""
        return len(self.tokens)

    @property
    def n_neurons(self) -> int:
        """Columns of the factorised matrix."""
        return int(self.loadings.shape[1])

    @property
    def writes(self) -> NeuronTokensResult | None:
        """What the decoded top neurons write, as a ``NeuronTokensResult`` (None if not decoded).

        >>> r = lens.neuron_factors("The capital of France is", n_factors=4).result  # doctest: +SKIP
        >>> r.writes.top_tokens[0]  # doctest: +SKIP
        (' Paris', ' France', ...)
        """
        if self.write_neurons is None:
            return None
        used = np.unique(np.concatenate([self.write_top_ids.ravel(), self.write_bottom_ids.ravel()]))
        return NeuronTokensResult(
            neurons=self.write_neurons, top_ids=self.write_top_ids, top_logits=self.write_top_logits,
            bottom_ids=self.write_bottom_ids, bottom_logits=self.write_bottom_logits,
            strings={int(i): self.strings[int(i)] for i in used},
            notes=tuple(n for n in self.notes if n.startswith("Writes:")), model_name=self.model_name,
        )
