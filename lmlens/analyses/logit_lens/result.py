"""Result dataclasses of the logit lens (numpy arrays; shapes in each field's docstring).

``n_layers`` counts the decoded layers: ``embed`` (the embeddings) then every block's output
(``layer_names`` says which), so a 30-block model has 31. ``k`` is the number of top tokens kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..result import Result

TARGETS = ("output", "next", "input", "given")


def _ranks_probs(obj, ranks: str, probs: str) -> None:
    r, p = getattr(obj, ranks), getattr(obj, probs)
    if r.size and int(r.min()) < 1:
        raise ValueError(f"{ranks} must be >= 1 (1 = the most likely token), got {int(r.min())}")
    if p.size and not (np.all(p >= 0) and np.all(p <= 1.0 + 1e-5)):
        raise ValueError(f"{probs} must lie in [0, 1] (NaN or inf logits?)")


def _position(obj) -> None:
    n = len(obj.tokens)
    if not (0 <= obj.position < n):
        raise ValueError(f"position must lie in [0, {n}), got {obj.position}")


def _common(obj) -> None:
    n, L = len(obj.tokens), len(obj.layer_names)
    if L < 1:
        raise ValueError("layer_names must name at least one layer")
    obj.expect("input_ids", (n,), "iu")
    obj.expect("generated", (n,), "b")
    if not all(isinstance(x, str) for x in (*obj.tokens, *obj.layer_names, *obj.notes)):
        raise ValueError("tokens, layer_names and notes must be strings")


@dataclass(frozen=True, eq=False)
class RankingsResult(Result):
    """Rank and probability of one token per position, at every layer (``lens.rankings``).

    >>> r = rankings(trace)  # doctest: +SKIP
    >>> r.ranks[-1]  # the last layer ranks the model's own output first  # doctest: +SKIP
    array([1, 1, 1, 1, 1])
    """

    ranks: np.ndarray
    """``(n_layers, n_positions)`` int64: 1 + how many tokens that layer finds more likely
    than ``token_ids[position]`` (1 = top)."""
    probs: np.ndarray
    """``(n_layers, n_positions)`` float32: that layer's probability of ``token_ids[position]``."""
    token_ids: np.ndarray
    """``(n_positions,)`` int64: the token whose rank is shown at each position (see ``target``)."""
    top_ids: np.ndarray
    """``(n_layers, n_positions, k)`` int64: each layer's most likely tokens, most likely first."""
    top_probs: np.ndarray
    """``(n_layers, n_positions, k)`` float32: their probabilities."""
    input_ids: np.ndarray
    """``(n_positions,)`` int64: the text's tokens."""
    generated: np.ndarray
    """``(n_positions,)`` bool: True where ``lens.generate`` produced the input token."""
    layer_names: tuple[str, ...]
    """``n_layers`` names: ``"embed"``, ``"blocks.0.resid_post"``, ... in numeric order."""
    tokens: tuple[str, ...]
    """``n_positions`` display strings of ``input_ids``."""
    strings: Mapping[int, str]
    """Display string of every token id in ``token_ids`` and ``top_ids``."""
    target: str = "output"
    """``"output"``: the model's final top-1 at each position (ecco); ``"next"``: the next token
    of the text (the last position falls back to the output); ``"input"``: the token at the
    position itself (masked LMs); ``"given"``: ids passed by the caller."""
    kind: str = "causal"
    """``"causal"`` (position i predicts token i + 1) or ``"masked"`` (predicts token i)."""
    notes: tuple[str, ...] = ()
    """Things the reader should know (e.g. how the last layer was decoded)."""
    model_name: str = ""
    model_dtype: str = ""
    """The dtype the model ran in (``"float32"``, ``"bfloat16"``, ...; ``""``: not recorded)."""

    token_labels: tuple[str, ...] = ()
    """``n_positions`` chip labels (``Trace.labels``): ``""`` where the token is whole characters,
    else its partial UTF-8 bytes as hex with their character, ``"<E6 9D>(東)"``; may be empty."""

    def check(self) -> None:
        _common(self)
        L, n = len(self.layer_names), len(self.tokens)
        self.expect("ranks", (L, n), "iu")
        self.expect("probs", (L, n), "f")
        self.expect("token_ids", (n,), "iu")
        if self.top_ids.ndim != 3:
            raise ValueError(f"top_ids must be (n_layers, n_positions, k), got {self.top_ids.shape}")
        self.expect("top_ids", (L, n, self.top_ids.shape[2]), "iu")
        self.expect("top_probs", self.top_ids.shape, "f")
        _ranks_probs(self, "ranks", "probs")
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {self.target!r}")
        self.expect_strings("token_ids", "top_ids")

    @property
    def n_layers(self) -> int:
        """Decoded layers (embeddings + blocks)."""
        return len(self.layer_names)

    @property
    def n_positions(self) -> int:
        """Tokens in the text."""
        return len(self.tokens)

    @property
    def k(self) -> int:
        """Top tokens kept per cell."""
        return int(self.top_ids.shape[2])

    @property
    def target_tokens(self) -> list[str]:
        """Display strings of ``token_ids``."""
        return [self.strings[int(i)] for i in self.token_ids]

    def __repr__(self) -> str:
        return (f"RankingsResult(n_layers={self.n_layers}, n_positions={self.n_positions}, "
                f"target={self.target!r})")


@dataclass(frozen=True, eq=False)
class RankingsWatchResult(Result):
    """Ranks and probabilities of chosen tokens across layers at one position
    (``lens.rankings_watch``).

    >>> r = rankings_watch(trace, watch=[42, 7])  # doctest: +SKIP
    >>> r.ranks.shape  # (n_layers, n_watch)  # doctest: +SKIP
    (31, 2)
    """

    ranks: np.ndarray
    """``(n_layers, n_watch)`` int64: rank of each watched token at each layer (1 = top)."""
    probs: np.ndarray
    """``(n_layers, n_watch)`` float32: its probability."""
    watch_ids: np.ndarray
    """``(n_watch,)`` int64: the watched token ids."""
    watch_labels: tuple[str, ...]
    """``n_watch`` labels, as the caller named the tokens (a word, or the id's string)."""
    output_ranks: np.ndarray
    """``(n_layers,)`` int64: rank of the model's final output token (``output_id``) per layer."""
    output_probs: np.ndarray
    """``(n_layers,)`` float32: its probability per layer."""
    top_ids: np.ndarray
    """``(n_layers, k)`` int64: each layer's most likely tokens at the position."""
    top_probs: np.ndarray
    """``(n_layers, k)`` float32: their probabilities."""
    input_ids: np.ndarray
    """``(n_positions,)`` int64: the text's tokens."""
    generated: np.ndarray
    """``(n_positions,)`` bool: True where ``lens.generate`` produced the token."""
    position: int
    """The position looked at (0-based, never negative)."""
    output_id: int
    """The token the model finally outputs at ``position`` (its last layer's top-1)."""
    layer_names: tuple[str, ...]
    """``n_layers`` names, ``"embed"`` first."""
    tokens: tuple[str, ...]
    """``n_positions`` display strings of the text."""
    strings: Mapping[int, str]
    """Display string of every id in ``watch_ids``, ``top_ids`` and ``output_id``."""
    kind: str = "causal"
    """``"causal"`` (the position predicts the next token) or ``"masked"``."""
    notes: tuple[str, ...] = ()
    """E.g. "' Parisian' splits into 2 tokens: watching the first, ' Paris'"."""
    model_name: str = ""
    model_dtype: str = ""
    """The dtype the model ran in (``"float32"``, ``"bfloat16"``, ...; ``""``: not recorded)."""

    token_labels: tuple[str, ...] = ()
    """``n_positions`` chip labels (``Trace.labels``): ``""`` where the token is whole characters,
    else its partial UTF-8 bytes as hex with their character, ``"<E6 9D>(東)"``; may be empty."""

    def check(self) -> None:
        _common(self)
        L, w = len(self.layer_names), len(self.watch_labels)
        if w < 1:
            raise ValueError("watch_labels: at least one watched token is needed")
        self.expect("ranks", (L, w), "iu")
        self.expect("probs", (L, w), "f")
        self.expect("watch_ids", (w,), "iu")
        self.expect("output_ranks", (L,), "iu")
        self.expect("output_probs", (L,), "f")
        if self.top_ids.ndim != 2:
            raise ValueError(f"top_ids must be (n_layers, k), got {self.top_ids.shape}")
        self.expect("top_ids", (L, self.top_ids.shape[1]), "iu")
        self.expect("top_probs", self.top_ids.shape, "f")
        _ranks_probs(self, "ranks", "probs")
        _ranks_probs(self, "output_ranks", "output_probs")
        _position(self)
        if int(self.output_id) not in self.strings:
            raise ValueError(f"strings lacks the output id {self.output_id}")
        self.expect_strings("watch_ids", "top_ids")

    @property
    def n_layers(self) -> int:
        """Decoded layers (embeddings + blocks)."""
        return len(self.layer_names)

    @property
    def n_watch(self) -> int:
        """Watched tokens."""
        return len(self.watch_labels)

    def __repr__(self) -> str:
        return (f"RankingsWatchResult(n_layers={self.n_layers}, watch={list(self.watch_labels)!r}, "
                f"position={self.position})")


@dataclass(frozen=True, eq=False)
class LayerPredictionsResult(Result):
    """Top-``k`` tokens with probabilities per layer (``lens.layer_predictions``), at the
    chosen ``position`` and, for the view, at every position.

    >>> r = layer_predictions(trace, position=-1, topk=10)  # doctest: +SKIP
    >>> r.token_ids.shape, r.probs.shape  # doctest: +SKIP
    ((31, 10), (31, 10))
    """

    token_ids: np.ndarray
    """``(n_layers, k)`` int64: each layer's most likely tokens at ``position``, most likely first."""
    probs: np.ndarray
    """``(n_layers, k)`` float32: their probabilities."""
    top_ids: np.ndarray
    """``(n_layers, n_positions, k)`` int64: the same at every position (``token_ids`` is
    ``top_ids[:, position]``)."""
    top_probs: np.ndarray
    """``(n_layers, n_positions, k)`` float32: their probabilities."""
    input_ids: np.ndarray
    """``(n_positions,)`` int64: the text's tokens."""
    generated: np.ndarray
    """``(n_positions,)`` bool: True where ``lens.generate`` produced the token."""
    position: int
    """The position of ``token_ids`` / ``probs`` (0-based, never negative)."""
    layer_names: tuple[str, ...]
    """``n_layers`` names of the decoded layers, in numeric order."""
    tokens: tuple[str, ...]
    """``n_positions`` display strings of the text."""
    strings: Mapping[int, str]
    """Display string of every id in ``top_ids``."""
    kind: str = "causal"
    """``"causal"`` (a position predicts the next token) or ``"masked"``."""
    notes: tuple[str, ...] = ()
    model_name: str = ""
    model_dtype: str = ""
    """The dtype the model ran in (``"float32"``, ``"bfloat16"``, ...; ``""``: not recorded)."""

    token_labels: tuple[str, ...] = ()
    """``n_positions`` chip labels (``Trace.labels``): ``""`` where the token is whole characters,
    else its partial UTF-8 bytes as hex with their character, ``"<E6 9D>(東)"``; may be empty."""

    def check(self) -> None:
        _common(self)
        L, n = len(self.layer_names), len(self.tokens)
        if self.top_ids.ndim != 3:
            raise ValueError(f"top_ids must be (n_layers, n_positions, k), got {self.top_ids.shape}")
        k = self.top_ids.shape[2]
        self.expect("top_ids", (L, n, k), "iu")
        self.expect("top_probs", (L, n, k), "f")
        self.expect("token_ids", (L, k), "iu")
        self.expect("probs", (L, k), "f")
        _position(self)
        if not np.array_equal(self.token_ids, self.top_ids[:, self.position]):
            raise ValueError("token_ids must equal top_ids[:, position]")
        self.expect_strings("top_ids")

    @property
    def n_layers(self) -> int:
        """Decoded layers."""
        return len(self.layer_names)

    @property
    def n_positions(self) -> int:
        """Tokens in the text."""
        return len(self.tokens)

    @property
    def k(self) -> int:
        """Top tokens per layer."""
        return int(self.token_ids.shape[1])

    def top_tokens(self, position: int | None = None) -> list[list[str]]:
        """``n_layers`` lists of ``k`` display strings at ``position`` (default: ``self.position``)."""
        ids = self.token_ids if position is None else self.top_ids[:, position]
        return [[self.strings[int(i)] for i in row] for row in ids]

    def __repr__(self) -> str:
        return (f"LayerPredictionsResult(n_layers={self.n_layers}, n_positions={self.n_positions}, "
                f"position={self.position}, k={self.k})")


#: The earlier name of ``RankingsWatchResult``.
WatchResult = RankingsWatchResult
