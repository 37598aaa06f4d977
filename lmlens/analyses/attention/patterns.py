"""``attention(trace, ...)``: the attention patterns of the chosen blocks and heads, what the views
draw from them (hidden positions, value-weighted norms) and the rollout.

>>> import lmlens  # doctest: +SKIP
>>> lens = lmlens.load("smollm2")  # doctest: +SKIP
>>> trace = lens.trace("The cat saw the dog", points=points([0, 1], 30, rollout=False))  # doctest: +SKIP
>>> attention(trace, layers=[0, 1], rollout=False).patterns.shape  # doctest: +SKIP
(2, 9, 5, 5)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch import nn

from ... import names as N
from ...capture import Trace
from ..checks import check_choice, check_indices
from ..precision import precision_notes
from .norms import head_output_norms
from .result import WEIGHTINGS, AttentionResult
from .rollout import attention_rollout

NORM_NOTE = (
    "Value-weighted (Kobayashi et al. 2020): each edge is ‖α_ij f(x_j)‖ = α_ij ‖f(x_j)‖, f(x_j) the "
    "value vector of key j through the head's slice of the output projection (grouped-query heads "
    "use their group's values). The output projection's bias is added once per position whatever "
    "is attended, so it is left out. The views scale each layer by its largest value."
)
ROLLOUT_NOTE = (
    "Rollout (Abnar & Zuidema 2020): the product over blocks 0..l of 0.5·(mean of every head's "
    "attention) + 0.5·I, the identity standing for the residual connection; rows sum to 1."
)


def points(layers: Sequence[int], n_layers: int, *, weighting: str = "attention", rollout: bool = True) -> list[str]:
    """The capture points ``attention`` reads for ``layers`` (block numbers): their patterns (every
    block up to the last one for the rollout), and their value vectors for ``weighting="norm"``.

    >>> points([2], 4, weighting="norm")
    ['blocks.0.attn.pattern', 'blocks.1.attn.pattern', 'blocks.2.attn.v', 'blocks.2.attn.pattern']
    """
    layers = check_indices("layers", list(layers), n_layers)
    check_choice("weighting", weighting, WEIGHTINGS)
    blocks = range(layers[-1] + 1) if rollout else layers
    names = [N.pattern(i) for i in blocks]
    if weighting == "norm":
        names += [N.attn_v(i) for i in layers]
    return sorted(names, key=N.sort_key)


def hidden_mask(hide: Sequence[int] | np.ndarray | None, n: int) -> np.ndarray:
    """``(n,)`` bool from positions (negative count from the end) or a bool mask; ``ValueError``
    for a position out of range.

    >>> hidden_mask([0, -1], 4).tolist()
    [True, False, False, True]
    """
    mask = np.zeros(n, dtype=bool)
    if hide is None:
        return mask
    arr = np.asarray(hide)
    if arr.dtype == np.bool_:
        if arr.shape != (n,):
            raise ValueError(f"hide: a mask must have one entry per position ({n}), got shape {arr.shape}")
        return arr.copy()
    if arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"hide must hold positions (ints), got {arr.dtype}")
    for p in arr.ravel().tolist():
        if not -n <= p < n:
            raise ValueError(f"hide: position {p} is out of range for a text of {n} tokens (valid: 0..{n - 1}, or -{n}..-1)")
        mask[p % n] = True
    return mask


def _hidden_note(tokens: Sequence[str], hidden: np.ndarray, weighting: str) -> str:
    where = np.flatnonzero(hidden)
    shown = ", ".join(f"{tokens[i].strip() or repr(tokens[i])} ({i})" for i in where[:8])
    more = f" and {len(where) - 8} more" if len(where) > 8 else ""
    how = ("each row renormalised over the other keys" if weighting == "attention"
           else "the layer scales ignore them")
    return f"Hidden: {shown}{more} — left out as queries and keys, {how}."


def attention(
    trace: Trace,
    *,
    layers: int | Sequence[int] | None = None,
    heads: int | Sequence[int] | None = None,
    hide: Sequence[int] | np.ndarray | None = None,
    weighting: str = "attention",
    rollout: bool = True,
    out_proj: Sequence[nn.Module] | None = None,
    sentence_b_start: int = -1,
) -> AttentionResult:
    """The attention of ``layers`` (block numbers, None: all) and ``heads`` (None: all) from a
    trace holding their ``blocks.{i}.attn.pattern`` points (``points(...)`` lists what to capture).

    ``hide``: positions (or a bool mask) the views leave out, renormalising each attention row
    over the keys left. ``weighting="norm"`` also needs the ``blocks.{i}.attn.v`` points and
    ``out_proj[i]``, block ``i``'s attention output projection. ``rollout`` needs the patterns of
    every block up to the last chosen one.

    >>> r = attention(trace, layers=[0, 5], hide=[0])  # doctest: +SKIP
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be a Trace, got {type(trace).__name__}")
    check_choice("weighting", weighting, WEIGHTINGS)
    if not isinstance(rollout, bool):
        raise TypeError(f"rollout must be True or False, got {type(rollout).__name__}")
    chosen = check_indices("layers", layers, trace.n_layers)
    need = points(chosen, trace.n_layers, weighting=weighting, rollout=rollout)
    missing = [p for p in need if p not in trace]
    if missing:
        raise ValueError(
            f"the trace lacks {missing[:3]}{'...' if len(missing) > 3 else ''}; trace with "
            f"points=lmlens.analyses.attention.points({chosen}, {trace.n_layers}, weighting={weighting!r}, "
            f"rollout={rollout}) (lens.attention does this itself)"
        )
    n_total = int(trace[N.pattern(chosen[0])].shape[0])
    head_ids = check_indices("heads", heads, n_total, unit="head")
    n = trace.n_positions
    full = np.stack([trace[N.pattern(i)].float().numpy() for i in chosen]).astype(np.float32)
    patterns = np.ascontiguousarray(full[:, head_ids])
    hidden = hidden_mask(hide, n)
    if hidden.all():
        raise ValueError("hide: every position would be hidden; nothing would be left to draw")
    notes: list[str] = precision_notes(trace.model_dtype)
    value_norms = None
    if weighting == "norm":
        if out_proj is None or len(out_proj) < trace.n_layers:
            raise ValueError("weighting='norm' needs out_proj: the attention output projection of every block")
        value_norms = np.stack([head_output_norms(trace[N.attn_v(i)], out_proj[i], head_ids) for i in chosen])
        notes.append(NORM_NOTE)
    rolled = None
    if rollout:
        blocks = np.stack([trace[N.pattern(i)].float().numpy() for i in range(chosen[-1] + 1)])
        rolled = attention_rollout(blocks)[chosen]
        notes.append(ROLLOUT_NOTE + (" It uses every head, not only the chosen ones." if len(head_ids) < n_total else ""))
    if hidden.any():
        notes.insert(0, _hidden_note(trace.tokens, hidden, weighting))
    if sentence_b_start is None:
        sentence_b_start = -1
    return AttentionResult(
        patterns=patterns,
        layers=np.array(chosen, dtype=np.int64),
        heads=np.array(head_ids, dtype=np.int64),
        layer_names=[N.pattern(i) for i in chosen],
        input_ids=trace.token_ids.numpy().astype(np.int64),
        tokens=list(trace.tokens),
        token_labels=tuple(trace.labels),
        generated=np.asarray(trace.generated, dtype=bool),
        hidden=hidden,
        weighting=weighting,
        value_norms=value_norms,
        rollout=rolled,
        sentence_b_start=int(sentence_b_start),
        n_heads_total=n_total,
        kind=trace.kind,
        notes=tuple(notes),
        model_name=trace.model_name,
        model_dtype=trace.model_dtype,
    )
