"""``layer_predictions``: the top tokens of every layer, at every position.

>>> r = layer_predictions(trace, position=-1, topk=10)  # doctest: +SKIP
>>> r.token_ids.shape  # doctest: +SKIP
(31, 10)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...capture import Trace
from ..precision import precision_notes
from .common import (
    Progress,
    _check_trace,
    _common,
    _decode,
    _final,
    _layers,
    _strings,
    check_int,
    check_position,
    select_layers,
)
from .decode import DEFAULT_CHUNK_BYTES
from .result import LayerPredictionsResult


def layer_predictions(
    trace: Trace,
    *,
    position: int = -1,
    topk: int = 10,
    layers: Sequence[int | str] | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: Progress = None,
) -> LayerPredictionsResult:
    """The ``topk`` most likely tokens with probabilities at every layer.

    ``token_ids``/``probs`` hold ``position``; ``top_ids``/``top_probs`` hold every
    position (the view lets you click another token).

    Args:
        trace: from ``lens.trace`` or ``lens.generate``.
        position: the position of ``token_ids`` (negative from the end).
        topk: tokens per layer.
        layers: which layers (default all): indices into ``layer_names(trace)`` (0 = embeddings,
            i + 1 = block i, negative from the end) or names like ``"blocks.3.resid_post"``.
        chunk_bytes, progress: see ``rankings``.

    >>> r = layer_predictions(trace, position=-1, topk=10)  # doctest: +SKIP
    >>> r.top_tokens()[-1][:3]  # doctest: +SKIP
    [' Paris', ' the', ' a']
    """
    trace = _check_trace(trace)
    topk = check_int("topk", topk)
    n = trace.n_positions
    pos = check_position(position, n)
    names, hidden = _layers(trace)
    chosen = select_layers(layers, names)
    notes: list[str] = precision_notes(trace.model_dtype)
    last = len(names) - 1
    final = _final(trace, notes) if last in chosen else None
    out = _decode(trace, [hidden[i] for i in chosen], targets=None, topk=topk, final=final,
                  chunk_bytes=chunk_bytes, progress=progress)
    all_ids = out.top_ids.astype(np.int64)
    all_probs = np.exp(out.top_logprobs)
    return LayerPredictionsResult(
        token_ids=all_ids[:, pos].copy(), probs=all_probs[:, pos].copy(), top_ids=all_ids,
        top_probs=all_probs, position=pos, layer_names=tuple(names[i] for i in chosen),
        strings=_strings(trace, all_ids), notes=tuple(notes), **_common(trace),
    )

