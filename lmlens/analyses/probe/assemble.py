"""Put the facts' scores together: precision per relation, the notes, the logit lens arrays.

>>> precision(np.array([1, 3, 12]), np.array([0, 0, 1]), 2, k=10)
(array([0.5, 0. ]), array([1., 0.]), array([0.66666667, 0.08333333]))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ...probes import Fact
from ..logit_lens.result import RankingsResult
from .plan import Query
from .result import ProbeResult
from .score import Choice


def precision(ranks: np.ndarray, relation_index: np.ndarray, n_relations: int, *, k: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(P@1, P@k, MRR)`` per relation from the facts' ranks."""
    p1, pk, mrr = (np.zeros(n_relations) for _ in range(3))
    for j in range(n_relations):
        r = ranks[relation_index == j].astype(np.float64)
        p1[j], pk[j], mrr[j] = (r == 1).mean(), (r <= k).mean(), (1.0 / r).mean()
    return p1, pk, mrr


def first_top_layer(ranks: np.ndarray) -> int:
    """The first layer at which ``ranks`` (one per layer) is 1, or -1.

    >>> first_top_layer(np.array([9, 1, 3, 1])), first_top_layer(np.array([2, 2]))
    (1, -1)
    """
    hit = np.flatnonzero(ranks == 1)
    return int(hit[0]) if hit.size else -1


def _notes(queries: Sequence[Query], facts: Sequence[Fact], kind: str, k: int) -> list[str]:
    notes = []
    vocab = sum(q.mode == "vocab" for q in queries)
    multi = sum(len(q.object_ids) > 1 for q in queries)
    after = sum(q.mode == "candidates" and len(q.object_ids) == 1 for q in queries)
    if vocab:
        notes.append(f"{vocab} fact{'s' if vocab != 1 else ''} ranked over the whole vocabulary (a one-token "
                     f"object {'at [MASK]' if kind == 'masked' else 'predicted from the text before it'}).")
    if multi or after:
        how = ("the log-likelihood of the sentence from the object on" if kind == "causal"
               else "the log-likelihood of the object's tokens at [MASK] positions, one per token")
        why = []
        if multi:
            why.append(f"{multi} with objects of several tokens")
        if after:
            why.append(f"{after} with words after the slot")
        notes.append(f"{multi + after} facts ({', '.join(why)}) ranked among their relation's candidate "
                     f"objects by {how}; chance there is 1 in the number of candidates.")
    unclean = sum(not q.clean for q in queries)
    if unclean:
        notes.append(f"{unclean} sentence{'s' if unclean != 1 else ''}: the tokenizer merges the object with "
                     "the words around it; the object was tokenized apart and joined.")
    lone = sorted({f.relation for f, q in zip(facts, queries, strict=True)
                   if q.mode == "candidates" and len(q.candidates) == 1})
    if lone:
        notes.append(f"relations with one candidate object rank it first trivially: {', '.join(lone)}")
    notes.append(f"overall figures are means over relations (as LAMA reports); P@{k} counts ranks ≤ {k}.")
    return notes


def probe_result(
    facts: Sequence[Fact],
    queries: Sequence[Query],
    choices: Sequence[Choice],
    lenses: Sequence[RankingsResult | None],
    *,
    id_to_str: Callable[[Sequence[int]], list[str]],
    k: int,
    kind: str,
    model_name: str = "",
    notes: Sequence[str] = (),
) -> ProbeResult:
    """The ``ProbeResult`` of ``facts`` given, per fact, its plan, how the object fared and its
    sentence's logit lens (``lenses``: all None when the logit lens was not run)."""
    n = len(facts)
    relations = list(dict.fromkeys(f.relation for f in facts))
    rel_index = np.array([relations.index(f.relation) for f in facts], dtype=np.int64)
    ranks = np.array([c.rank for c in choices], dtype=np.int64)
    top_ids = np.full((n, k), -1, dtype=np.int64)
    top_probs = np.full((n, k), np.nan, dtype=np.float32)
    for i, c in enumerate(choices):
        top_ids[i, :c.top_ids.shape[0]] = c.top_ids
        top_probs[i, :c.top_probs.shape[0]] = c.top_probs
    vocab_ids = sorted({int(t) for t in top_ids.ravel() if t >= 0})
    strings = dict(zip(vocab_ids, id_to_str(vocab_ids), strict=True))
    top_strings = tuple(
        tuple(strings[int(t)] for t in c.top_ids) if q.mode == "vocab"
        else tuple(q.candidates[int(j)] for j in c.top_index)
        for q, c in zip(queries, choices, strict=True)
    )
    p1, pk, mrr = precision(ranks, rel_index, len(relations), k=k)
    slots = np.array([q.slot for q in queries], dtype=np.int64)
    have = [r for r in lenses if r is not None]
    if have:
        layer_names = have[0].layer_names
        sizes = [r.n_positions for r in have]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        lens_ranks = np.concatenate([r.ranks for r in have], axis=1).astype(np.int64)
        first = np.array([first_top_layer(lens_ranks[:, offsets[i] + slots[i]]) for i in range(n)], dtype=np.int64)
        for r in have:
            strings.update(r.strings)
        lens = {
            "lens_input_ids": np.concatenate([r.input_ids for r in have]).astype(np.int64),
            "lens_target_ids": np.concatenate([r.token_ids for r in have]).astype(np.int64),
            "lens_tokens": tuple(t for r in have for t in r.tokens),
            "lens_ranks": lens_ranks,
            "lens_probs": np.concatenate([r.probs for r in have], axis=1).astype(np.float32),
            "lens_top_ids": np.concatenate([r.top_ids[:, :, 0] for r in have], axis=1).astype(np.int64),
            "lens_top_probs": np.concatenate([r.top_probs[:, :, 0] for r in have], axis=1).astype(np.float32),
        }
    else:
        layer_names, offsets, first = (), np.zeros(n + 1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
        lens = {
            "lens_input_ids": np.zeros(0, np.int64), "lens_target_ids": np.zeros(0, np.int64), "lens_tokens": (),
            "lens_ranks": np.zeros((0, 0), np.int64), "lens_probs": np.zeros((0, 0), np.float32),
            "lens_top_ids": np.zeros((0, 0), np.int64), "lens_top_probs": np.zeros((0, 0), np.float32),
        }
    return ProbeResult(
        relations=tuple(relations), relation_index=rel_index,
        subjects=tuple(f.subject for f in facts), objects=tuple(f.object for f in facts),
        templates=tuple(f.template for f in facts), sentences=tuple(f.sentence() for f in facts),
        modes=tuple(q.mode for q in queries), ranks=ranks,
        n_choices=np.array([c.n_choices for c in choices], dtype=np.int64),
        n_object_tokens=np.array([len(q.object_ids) for q in queries], dtype=np.int64),
        object_probs=np.array([c.object_prob for c in choices], dtype=np.float32),
        top_ids=top_ids, top_probs=top_probs, top_strings=top_strings,
        precision_at_1=p1, precision_at_k=pk, mrr=mrr, k=int(k), layer_names=tuple(layer_names),
        first_layer=first, slots=slots, lens_offsets=offsets, strings=strings, kind=kind,
        model_name=model_name, notes=tuple(notes) + tuple(_notes(queries, facts, kind, k)), **lens,
    )
