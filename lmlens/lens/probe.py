"""``lens.probe(facts)``: a LAMA-style knowledge probe, as a view.

Two batched passes: every fact's sentence through the batched capture (its logits score a
one-token object over the vocabulary, and, with ``logit_lens``, every layer is decoded at every
position), then the candidate sentences of the facts ranked among candidates (logits only,
reduced to a log-likelihood per sentence as each batch comes).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from .. import names as N
from ..analyses.checks import check_int
from ..capture import iter_batches, token_label
from ..probes import Fact, as_facts, load_lama
from .defaults import VIEW_MAX_BYTES
from .progress import progress_bar

if TYPE_CHECKING:
    from ..analyses.probe import Query
    from ..views.view import View
    from .core import LensCore


def _targets(lens: LensCore, q: Query, ids: torch.Tensor) -> str | np.ndarray:
    """What the logit lens ranks at each position: the next token (causal; at the slot, the
    object's first token) or the token itself with the object's tokens at ``[MASK]`` (masked)."""
    if lens.kind == "causal":
        return "next"
    t = ids.numpy().astype(np.int64).copy()
    a, b = q.span
    t[a:b] = q.object_ids
    return t


def _candidate_scores(lens: LensCore, queries: Sequence[Query], *, batch_size: int, bar) -> dict[int, np.ndarray]:
    """Log-likelihood of every candidate sentence of the ``"candidates"`` facts."""
    from ..analyses.probe import causal_loglik, masked_ids, masked_loglik

    jobs = [(i, c) for i, q in enumerate(queries) if q.mode == "candidates" for c in range(len(q.candidates))]
    scores = {i: np.zeros(len(q.candidates)) for i, q in enumerate(queries) if q.mode == "candidates"}
    if not jobs:
        return scores
    mask = lens.tokenizer.mask_token_id if lens.kind == "masked" else None
    seqs = []
    for i, c in jobs:
        enc = queries[i].candidate_encodings[c]
        seqs.append(lens.tokenize(list(masked_ids(enc, mask) if mask is not None else enc.ids)))
    for batch in iter_batches(lens.model, lens.anatomy, seqs, [N.LOGITS], pad_id=lens.pad_id,
                              batch_size=batch_size, progress=False):
        for j, tensors in batch:
            i, c = jobs[j]
            enc = queries[i].candidate_encodings[c]
            a, b = enc.span
            logits = tensors[N.LOGITS]
            if mask is not None:
                scores[i][c] = masked_loglik(logits, torch.tensor(enc.ids[a:b]), a)
            else:
                scores[i][c] = causal_loglik(logits, seqs[j], a)
        if bar is not None:
            bar.update(len(batch))
    return scores


def probe(
    lens: LensCore,
    facts: Sequence[Fact | Mapping] | str | os.PathLike,
    *,
    k: int = 10,
    batch_size: int = 32,
    logit_lens: bool = True,
    progress=None,
    max_bytes: int | None = VIEW_MAX_BYTES,
    theme: str = "auto",
) -> View:
    """Ask the model cloze questions: for each fact (a template with ``[X]`` and ``[Y]``, a subject
    and an object; ``lmlens.probes.Fact``, a dict with our or LAMA's fields, or a path given to
    ``lmlens.probes.load_lama``) the rank of the object and the top ``k`` predictions, and per
    relation P@1, P@k and MRR.

    A masked LM fills ``[MASK]``. A causal LM scores the slot from the text before it when the slot
    ends the sentence; otherwise (words after the slot, as in Japanese) and for objects of several
    tokens, the relation's candidate objects are ranked by sentence log-likelihood (the result says
    which fact was scored how). ``logit_lens``: also decode every layer of every fact's sentence, so
    the view shows the layer at which the object first becomes the top prediction, and a click opens
    that fact's rankings. Sentences run ``batch_size`` at a time. ``view.result`` is a
    ``ProbeResult``.

    >>> view = lens.probe(lmlens.probes.shipped("en"))  # doctest: +SKIP
    >>> view.result.overall["precision_at_1"]  # doctest: +SKIP
    """
    from ..analyses.logit_lens import POINTS, rankings
    from ..analyses.probe import (
        SlotEncoder,
        candidate_choice,
        plan_queries,
        probe_result,
        vocab_choice,
    )
    from ..views.probe import probe_view

    lens.require_unembedding("lens.probe")
    if isinstance(facts, (str, os.PathLike)):
        facts = load_lama(facts)
    facts = as_facts(facts)
    k = check_int("k", k)
    batch_size = check_int("batch_size", batch_size)
    if not isinstance(logit_lens, bool):
        raise TypeError(f"logit_lens must be a bool, got {type(logit_lens).__name__}")
    queries = plan_queries(facts, SlotEncoder(lens.tokenizer, lens.kind), kind=lens.kind,
                           mask_id=getattr(lens.tokenizer, "mask_token_id", None))
    seqs = []
    for i, q in enumerate(queries):
        try:
            seqs.append(lens.tokenize(list(q.ids)))
        except ValueError as e:
            raise ValueError(f"facts[{i}] ({facts[i].sentence()!r}): {e}") from None
    n_cand = sum(len(q.candidates) for q in queries)
    bar = progress_bar(progress, len(queries) + n_cand, desc="probe", unit="sentence")
    choices: list = [None] * len(queries)
    lenses: list = [None] * len(queries)
    try:
        points = POINTS if logit_lens else [N.LOGITS]
        for i, trace in lens.iter_traces(seqs, points=points, batch_size=batch_size, progress=False):
            q = queries[i]
            if q.mode == "vocab":
                choices[i] = vocab_choice(trace[N.LOGITS][q.slot], q.object_ids[0], k=k)
            if logit_lens:
                lenses[i] = rankings(trace, target=_targets(lens, q, seqs[i]), topk=1, progress=False)
            if bar is not None:
                bar.update(1)
        for i, s in _candidate_scores(lens, queries, batch_size=batch_size, bar=bar).items():
            choices[i] = candidate_choice(s, queries[i].true_index, k=k)
    finally:
        if bar is not None:
            bar.close()
    tok = lens.tokenizer

    def id_to_str(ids: Sequence[int]) -> list[str]:  # a byte piece reads as hex, not U+FFFD
        return [token_label(tok, int(i)) for i in ids]

    result = probe_result(facts, queries, choices, lenses, id_to_str=id_to_str, k=k, kind=lens.kind,
                          model_name=lens.name)
    return probe_view(result, max_bytes=max_bytes, theme=theme)
