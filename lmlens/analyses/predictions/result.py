"""``PredictionsResult``: the model's top-k at every position and the probability of each
actual token.

>>> r = lens.predictions("The capital of France is").result  # doctest: +SKIP
>>> r.top_ids.shape, r.kind  # doctest: +SKIP
((5, 10), 'causal')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..result import Result

KINDS = ("causal", "masked")


@dataclass(frozen=True, eq=False, repr=False)
class PredictionsResult(Result):
    """Per-position predictions of one text (``n`` positions, top ``k``).

    What a position predicts depends on ``kind``: a causal LM's position ``i`` predicts token
    ``i + 1``; a masked LM's MLM head predicts the token at the position itself, with that token
    visible (nothing is masked), so high values mean the model reconstructs the token.
    """

    input_ids: np.ndarray
    """``(n,)`` int64: the text's token ids."""
    tokens: tuple[str, ...]
    """``n`` display strings of ``input_ids``."""
    probs: np.ndarray
    """``(n,)`` float32: the probability the model gave each token (causal: from the position
    before it, NaN at position 0 which nothing predicts)."""
    ranks: np.ndarray
    """``(n,)`` int64: ``1 + (logits > logits[token]).sum()`` for that same prediction; 0 where
    there is none."""
    top_ids: np.ndarray
    """``(n, k)`` int64: the ``k`` most likely tokens at each position, most likely first."""
    top_probs: np.ndarray
    """``(n, k)`` float32: their probabilities."""
    top_tokens: tuple[tuple[str, ...], ...]
    """``n`` tuples of ``k`` display strings of ``top_ids``."""
    generated: np.ndarray
    """``(n,)`` bool: True where ``lens.generate`` produced the token."""
    kind: str = "causal"
    """``"causal"`` (predictions of the next token) or ``"masked"`` (of the token itself)."""
    notes: tuple[str, ...] = ()
    """What to know when reading the numbers (shown by the view)."""
    model_name: str = ""
    model_dtype: str = ""
    """The dtype the model ran in (``"float32"``, ``"bfloat16"``, ...; ``""``: not recorded)."""

    token_labels: tuple[str, ...] = ()
    """``n_positions`` chip labels (``Trace.labels``): ``""`` where the token is whole characters,
    else its partial UTF-8 bytes as hex with their character, ``"<E6 9D>(東)"``; may be empty."""

    def check(self) -> None:
        n = self.input_ids.shape[0]
        if self.input_ids.shape != (n,) or len(self.tokens) != n:
            raise ValueError(f"input_ids {self.input_ids.shape} and {len(self.tokens)} tokens disagree")
        for name in ("probs", "ranks", "generated"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have shape ({n},), got {getattr(self, name).shape}")
        if self.top_ids.ndim != 2 or self.top_ids.shape[0] != n:
            raise ValueError(f"top_ids must have shape ({n}, k), got {self.top_ids.shape}")
        if self.top_probs.shape != self.top_ids.shape:
            raise ValueError(f"top_probs {self.top_probs.shape} != top_ids {self.top_ids.shape}")
        if len(self.top_tokens) != n or any(len(r) != self.k for r in self.top_tokens):
            raise ValueError(f"top_tokens must hold {n} lists of {self.k} strings")
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")

    @property
    def n_positions(self) -> int:
        """Number of positions ``n``."""
        return int(self.input_ids.shape[0])

    @property
    def k(self) -> int:
        """Number of predictions kept per position."""
        return int(self.top_ids.shape[1])
