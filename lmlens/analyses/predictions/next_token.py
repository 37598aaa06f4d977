"""What the model predicted at every position, and how likely it found each actual token.

Two readings, picked by the model kind (``result.kind`` says which):

- causal LMs: position ``i`` predicts token ``i + 1``. ``probs[i]`` is the
  probability the model gave token ``i`` at position ``i - 1`` (NaN at position 0, which
  nothing predicts); ``top_*[i]`` are the predictions for the token after position ``i``.
- masked LMs (such as BERT): there is no next token; the MLM head predicts the
  token at each position itself, *with that token visible* (nothing is masked), so
  ``probs[i]`` and ``top_*[i]`` both describe position ``i``. High values mean the model
  reconstructs the token, not that it could guess it.

>>> import lmlens  # doctest: +SKIP
>>> from lmlens.analyses.predictions import predictions  # doctest: +SKIP
>>> r = predictions(lmlens.load("smollm2").trace("The capital of France is"), topk=5)  # doctest: +SKIP
>>> r.top_tokens[-1][0], r.top_probs.shape  # doctest: +SKIP
(' Paris', (6, 5))
"""


from __future__ import annotations

import numpy as np
import torch

from ...capture import Trace
from ..checks import check_topk
from .result import PredictionsResult


def predictions(trace: Trace, *, topk: int = 10) -> PredictionsResult:
    """Top-``topk`` predictions at every position and the probability of each actual token.

    Needs ``"logits"`` in the trace (``lens.trace(text)`` captures it by default) and a model
    with an LM head. What a position predicts depends on the model kind (see ``PredictionsResult``).

    >>> r = predictions(trace, topk=3)  # doctest: +SKIP
    >>> r.top_ids.shape  # doctest: +SKIP
    (n_positions, 3)
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be an lmlens Trace, got {type(trace).__name__}")
    check_topk(topk)
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
    k = check_topk(topk, d_vocab)
    ids = trace.token_ids.detach().to("cpu", torch.long)
    same = trace.kind == "masked"
    with torch.no_grad():
        logp = torch.log_softmax(logits, dim=-1)
        top_logp, top_ids = logp.topk(k, dim=-1)
        probs = torch.full((n,), float("nan"))
        ranks = torch.zeros(n, dtype=torch.long)
        # row j of (src, src_logp) predicts tgt[j], the token at position `at[j]`
        if same:
            src, src_logp, tgt, at = logits, logp, ids, slice(0, n)
        else:
            src, src_logp, tgt, at = logits[:-1], logp[:-1], ids[1:], slice(1, n)
        if tgt.numel():
            rows = torch.arange(tgt.shape[0])
            probs[at] = src_logp[rows, tgt].exp()
            ranks[at] = 1 + (src > src[rows, tgt][:, None]).sum(-1)
    top = top_ids.numpy().astype(np.int64)
    unique = np.unique(top)
    strings = dict(zip(unique.tolist(), trace.id_to_str(unique.tolist()), strict=True))
    return PredictionsResult(
        input_ids=ids.numpy().astype(np.int64),
        tokens=tuple(trace.tokens),
        token_labels=tuple(trace.labels),
        probs=probs.numpy().astype(np.float32),
        ranks=ranks.numpy().astype(np.int64),
        top_ids=top,
        top_probs=top_logp.exp().numpy().astype(np.float32),
        top_tokens=tuple(tuple(strings[i] for i in row) for row in top.tolist()),
        generated=np.asarray(trace.generated, dtype=bool).copy(),
        kind="masked" if same else "causal",
        model_name=trace.model_name,
        model_dtype=trace.model_dtype,
    )
