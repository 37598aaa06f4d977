"""What the model predicted at every position, and how likely it found each actual token.

Two modes, picked by the model kind (``result.mode`` says which):

- ``"next"`` (causal LMs): position ``i`` predicts token ``i + 1``. ``probs[i]`` is the
  probability the model gave token ``i`` at position ``i - 1`` (NaN at position 0, which
  nothing predicts); ``topk_*[i]`` are the predictions for the token after position ``i``.
- ``"same"`` (masked LMs such as BERT): there is no next token; the MLM head predicts the
  token at each position itself, *with that token visible* (nothing is masked), so
  ``probs[i]`` and ``topk_*[i]`` both describe position ``i``. High values mean the model
  reconstructs the token, not that it could guess it.

>>> import lmlens  # doctest: +SKIP
>>> from lmlens.analyses.predictions import predictions  # doctest: +SKIP
>>> r = predictions(lmlens.load("smollm2").trace("The capital of France is"), topk=5)  # doctest: +SKIP
>>> r.topk_tokens[-1][0], r.topk_probs.shape  # doctest: +SKIP
(' Paris', (6, 5))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..capture import Trace


@dataclass(frozen=True, eq=False)
class PredictionsResult:
    """Per-position predictions of one text (``n`` positions, top ``k``).

    Fields:
        token_ids: ``(n,)`` int64, the text's token ids.
        tokens: ``n`` display strings.
        probs: ``(n,)`` float32, the probability the model gave each token (from the position
            before it in ``"next"`` mode; NaN at position 0 there).
        ranks: ``(n,)`` int64, ``1 + (logits > logits[token]).sum()`` for that same prediction;
            0 where there is none.
        topk_ids: ``(n, k)`` int64, the ``k`` most likely tokens at each position, most likely
            first.
        topk_probs: ``(n, k)`` float32, their probabilities.
        topk_tokens: ``n`` lists of ``k`` display strings of ``topk_ids``.
        generated: ``(n,)`` bool, True where ``lens.generate`` produced the token.
        mode: ``"next"`` (causal LM: predictions of the next token) or ``"same"`` (masked LM:
            predictions of the token at the position itself).
        model_name: the model's name, for display.
    """

    token_ids: np.ndarray
    tokens: list[str]
    probs: np.ndarray
    ranks: np.ndarray
    topk_ids: np.ndarray
    topk_probs: np.ndarray
    topk_tokens: list[list[str]]
    generated: np.ndarray
    mode: str
    model_name: str = ""

    def __post_init__(self) -> None:
        n = self.token_ids.shape[0]
        if self.token_ids.shape != (n,) or len(self.tokens) != n:
            raise ValueError(f"token_ids {self.token_ids.shape} and {len(self.tokens)} tokens disagree")
        for name in ("probs", "ranks", "generated"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have shape ({n},), got {getattr(self, name).shape}")
        if self.topk_ids.ndim != 2 or self.topk_ids.shape[0] != n:
            raise ValueError(f"topk_ids must have shape ({n}, k), got {self.topk_ids.shape}")
        if self.topk_probs.shape != self.topk_ids.shape:
            raise ValueError(f"topk_probs {self.topk_probs.shape} != topk_ids {self.topk_ids.shape}")
        if len(self.topk_tokens) != n or any(len(r) != self.k for r in self.topk_tokens):
            raise ValueError(f"topk_tokens must hold {n} lists of {self.k} strings")
        if self.mode not in ("next", "same"):
            raise ValueError(f"mode must be 'next' or 'same', got {self.mode!r}")

    @property
    def n_positions(self) -> int:
        """Number of positions ``n``."""
        return int(self.token_ids.shape[0])

    @property
    def k(self) -> int:
        """Number of predictions kept per position."""
        return int(self.topk_ids.shape[1])

    def __repr__(self) -> str:
        return f"PredictionsResult(n_positions={self.n_positions}, k={self.k}, mode={self.mode!r})"


def _check_topk(topk: object, d_vocab: int | None = None) -> int:
    if isinstance(topk, bool) or not isinstance(topk, (int, np.integer)) or topk < 1:
        raise ValueError(f"topk must be a positive int, got {topk!r}")
    if d_vocab is not None and topk > d_vocab:
        raise ValueError(f"topk must be at most the vocabulary size {d_vocab}, got {topk}")
    return int(topk)


def predictions(trace: Trace, *, topk: int = 10) -> PredictionsResult:
    """Top-``topk`` predictions at every position and the probability of each actual token.

    Needs ``"logits"`` in the trace (``lens.trace(text)`` captures it by default) and a model
    with an LM head. See the module docstring for the ``"next"`` / ``"same"`` modes.

    >>> r = predictions(trace, topk=3)  # doctest: +SKIP
    >>> r.topk_ids.shape  # doctest: +SKIP
    (n_positions, 3)
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be an lmlens Trace, got {type(trace).__name__}")
    _check_topk(topk)
    if trace.kind == "base":
        raise ValueError(
            "predictions need a model with an LM head; this trace comes from a base model "
            f"({trace.model_name or 'no name'}) that only outputs hidden states"
        )
    if "logits" not in trace:
        raise ValueError(
            f"predictions need 'logits' in the trace; it holds {trace.names}. "
            "Trace with points=None or points=['logits']."
        )
    logits = trace["logits"].detach().to("cpu", torch.float32)
    n, d_vocab = logits.shape
    k = _check_topk(topk, d_vocab)
    ids = trace.token_ids.detach().to("cpu", torch.long)
    mode = "same" if trace.kind == "masked" else "next"
    with torch.no_grad():
        logp = torch.log_softmax(logits, dim=-1)
        top_logp, top_ids = logp.topk(k, dim=-1)
        probs = torch.full((n,), float("nan"))
        ranks = torch.zeros(n, dtype=torch.long)
        # row j of (src, src_logp) predicts tgt[j], the token at position `at[j]`
        if mode == "same":
            src, src_logp, tgt, at = logits, logp, ids, slice(0, n)
        else:
            src, src_logp, tgt, at = logits[:-1], logp[:-1], ids[1:], slice(1, n)
        if tgt.numel():
            rows = torch.arange(tgt.shape[0])
            probs[at] = src_logp[rows, tgt].exp()
            ranks[at] = 1 + (src > src[rows, tgt][:, None]).sum(-1)
    topk_ids = top_ids.numpy().astype(np.int64)
    unique = np.unique(topk_ids)
    strings = dict(zip(unique.tolist(), trace.id_to_str(unique.tolist()), strict=True))
    return PredictionsResult(
        token_ids=ids.numpy().astype(np.int64),
        tokens=list(trace.tokens),
        probs=probs.numpy().astype(np.float32),
        ranks=ranks.numpy().astype(np.int64),
        topk_ids=topk_ids,
        topk_probs=top_logp.exp().numpy().astype(np.float32),
        topk_tokens=[[strings[i] for i in row] for row in topk_ids.tolist()],
        generated=np.asarray(trace.generated, dtype=bool).copy(),
        mode=mode,
        model_name=trace.model_name,
    )
