"""Scores: the object's rank over the vocabulary, a sentence's log-likelihood, and the ranking of
candidate objects. Ranks count the choices scored strictly higher, plus one (ties favour the object),
as everywhere in lmlens: ``1 + (logits > logits[object]).sum()``.

>>> import torch
>>> r = vocab_choice(torch.tensor([0.0, 2.0, 1.0]), 2, k=2)
>>> r.rank, r.top_ids.tolist()
(2, [1, 2])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Choice:
    """How the object fared among the choices: its ``rank`` (1 = top) among ``n_choices``, its
    probability, and the top ``k`` choices (``top_ids``: token ids, -1 for candidate strings;
    ``top_index``: indices into the candidates, -1 for tokens)."""

    rank: int
    n_choices: int
    object_prob: float
    top_ids: np.ndarray
    top_index: np.ndarray
    top_probs: np.ndarray


def vocab_choice(logits: torch.Tensor, object_id: int, *, k: int) -> Choice:
    """The object token's rank and the top ``k`` tokens, from one position's ``(d_vocab,)`` logits."""
    z = logits.double()
    lp = torch.log_softmax(z, dim=-1)
    top = torch.topk(z, min(k, z.shape[0]))
    return Choice(
        rank=int((z > z[object_id]).sum()) + 1, n_choices=int(z.shape[0]),
        object_prob=float(lp[object_id].exp()), top_ids=top.indices.numpy().astype(np.int64),
        top_index=np.full(top.indices.shape[0], -1, dtype=np.int64),
        top_probs=lp[top.indices].exp().numpy().astype(np.float32),
    )


def causal_loglik(logits: torch.Tensor, ids: torch.Tensor, start: int) -> float:
    """``sum_{t >= start} log p(ids[t] | ids[:t])`` from a causal LM's ``(n, d_vocab)`` logits
    (``start >= 1``: the object's first position)."""
    if start < 1:
        raise ValueError(f"start must be >= 1 (a causal LM predicts position t from t - 1), got {start}")
    lp = torch.log_softmax(logits[start - 1:-1].double(), dim=-1)
    return float(lp.gather(1, ids[start:, None].long()).sum())


def masked_loglik(logits: torch.Tensor, object_ids: torch.Tensor, start: int) -> float:
    """``sum_j log p(object_ids[j])`` at ``[MASK]`` position ``start + j``, from a masked LM's logits."""
    n = object_ids.shape[0]
    lp = torch.log_softmax(logits[start:start + n].double(), dim=-1)
    return float(lp.gather(1, object_ids[:, None].long()).sum())


def candidate_choice(scores: np.ndarray, true_index: int, *, k: int) -> Choice:
    """The object's rank among candidates scored ``scores`` (log-likelihoods); probabilities are
    the softmax over the candidates."""
    s = np.asarray(scores, dtype=np.float64)
    p = np.exp(s - s.max())
    p /= p.sum()
    order = np.argsort(-s, kind="stable")[:k]
    return Choice(
        rank=int((s > s[true_index]).sum()) + 1, n_choices=int(s.shape[0]),
        object_prob=float(p[true_index]), top_ids=np.full(order.shape[0], -1, dtype=np.int64),
        top_index=order.astype(np.int64), top_probs=p[order].astype(np.float32),
    )
