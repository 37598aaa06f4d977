"""``rankings``: the rank and probability of one token per position at every layer.

>>> r = rankings(lens.trace("The capital of France is"))  # doctest: +SKIP
>>> r.ranks.shape  # doctest: +SKIP
(31, 5)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ...capture import Trace
from ..precision import precision_notes
from .common import (
    Progress,
    _check_trace,
    _common,
    _decode,
    _final,
    _layers,
    _output_ids,
    _strings,
    check_int,
    select_layers,
)
from .decode import DEFAULT_CHUNK_BYTES
from .result import RankingsResult


def rankings(
    trace: Trace,
    *,
    target: str | Sequence[int] | np.ndarray = "output",
    topk: int = 5,
    layers: Sequence[int | str] | int | str | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: Progress = None,
) -> RankingsResult:
    """Rank (1 = top) and probability, at every layer and position, of one token per position.

    Args:
        trace: from ``lens.trace(text)`` or ``lens.generate(prompt)`` (it needs ``embed`` and
            every ``blocks.*.resid_post``; ``logits`` too, for the last layer).
        target: whose rank to show at each position: ``"output"`` (default, as ecco): the token
            the model finally outputs there; ``"next"``: the actual next token of the text
            (causal LMs; the last position has none and uses the output); ``"input"``: the token
            at the position itself (natural for masked LMs); or ``n_positions`` token ids.
        topk: top tokens kept per cell (``top_ids``, for hovering).
        layers: which layers (default all): indices into ``layer_names(trace)`` (0 = embeddings,
            i + 1 = block i, negative from the end) or names. The targets do not depend on it
            (``"output"`` is still the model's final top token).
        chunk_bytes: memory for one chunk of logits; bounds the extra memory used.
        progress: tqdm bar: True, False, None (when the work is large), or a tqdm-like class.

    >>> r = rankings(lens.trace("The capital of France is"))  # doctest: +SKIP
    >>> r.ranks.shape, int(r.ranks[-1].max())  # doctest: +SKIP
    ((31, 5), 1)
    """
    trace = _check_trace(trace)
    topk = check_int("topk", topk)
    names, hidden = _layers(trace)
    chosen = select_layers(layers, names)
    notes: list[str] = precision_notes(trace.model_dtype)
    final = _final(trace, notes)
    n = trace.n_positions
    ids = trace.token_ids.detach().cpu().long()
    if isinstance(target, str):
        if target == "output":
            targets: torch.Tensor | str = "output"
        elif target == "next":
            if trace.kind != "causal":
                raise ValueError(f"target='next' needs a causal LM; this model is {trace.kind!r}: "
                                 "use target='input' or 'output'")
            last = _output_ids(trace, final, [n - 1])[0]
            targets = torch.cat([ids[1:], torch.tensor([last])])[:, None]
            notes.append("the last position has no next token: its target is the model's output")
        elif target == "input":
            targets = ids[:, None]
        else:
            raise ValueError(f"target must be 'output', 'next', 'input' or {n} token ids, got {target!r}")
        mode = target
    else:
        try:
            given = torch.as_tensor(np.asarray(target), dtype=torch.long)
        except (TypeError, ValueError):
            raise TypeError(f"target must be a string or a sequence of token ids, got {type(target).__name__}") from None
        if given.shape != (n,):
            raise ValueError(f"target ids must have shape ({n},) (one per position), got {tuple(given.shape)}")
        d_vocab = trace.readout.d_vocab
        if int(given.min()) < 0 or int(given.max()) >= d_vocab:
            raise ValueError(f"target ids must lie in [0, {d_vocab}), got {int(given.min())}..{int(given.max())}")
        targets, mode = given[:, None], "given"
    has_last = chosen[-1] == len(names) - 1
    if not has_last and isinstance(targets, str):  # "output" without the last layer: its ids
        targets = torch.tensor(_output_ids(trace, final, list(range(n))), dtype=torch.long)[:, None]
    out = _decode(trace, [hidden[i] for i in chosen], targets=targets, topk=topk,
                  final=final if has_last else None, chunk_bytes=chunk_bytes, progress=progress)
    token_ids = out.target_ids[:, 0].astype(np.int64)
    if trace.kind == "masked" and mode == "output":
        notes.append("masked LM: each position predicts its own token, which it can see")
    return RankingsResult(
        ranks=out.ranks[:, :, 0], probs=np.exp(out.logprobs[:, :, 0]),
        token_ids=token_ids, top_ids=out.top_ids, top_probs=np.exp(out.top_logprobs),
        layer_names=tuple(names[i] for i in chosen), strings=_strings(trace, token_ids, out.top_ids),
        target=mode, notes=tuple(notes), **_common(trace),
    )

