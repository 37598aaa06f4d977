"""``lens.attention``: where each head attends, as a view (heads, model, matrix, pair).

Captures the ``blocks.{i}.attn.pattern`` points the chosen blocks need (every block up to the last
one for the rollout; the ``blocks.{i}.attn.v`` value vectors too for ``weighting="norm"``), runs
``analyses.attention.attention`` and builds ``views.attention.attention_view``.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..capture import Trace, record
from .defaults import VIEW_MAX_BYTES
from .live import finish

if TYPE_CHECKING:
    from ..views.figure_view import FigureView
    from .core import LensCore

TextOrTrace = str | Sequence[int] | torch.Tensor | Trace
#: Names ``hide=`` understands besides positions.
HIDE_NAMES = ("special", "first")


def hide_positions(lens: LensCore, ids: Sequence[int], hide: object) -> list[int]:
    """Positions for ``hide``: None (none), ``"special"`` (the tokenizer's special tokens: [CLS],
    [SEP], BOS, ...), ``"first"`` (position 0, the usual attention sink of a causal LM), a position
    (negative counts from the end), or a list mixing them.

    >>> hide_positions(lens, [101, 7592, 102], ["special"])  # doctest: +SKIP
    [0, 2]
    """
    if hide is None:
        return []
    items = [hide] if isinstance(hide, (str, int, np.integer)) else hide
    if not isinstance(items, (list, tuple, range, np.ndarray)):
        raise TypeError(f"hide must be None, 'special', 'first', a position or a list of them, got {type(hide).__name__}")
    n = len(ids)
    special = set(getattr(lens.tokenizer, "all_special_ids", []) or [])
    out: set[int] = set()
    for item in items:
        if isinstance(item, str):
            if item not in HIDE_NAMES:
                raise ValueError(f"hide: {item!r} is not one of {list(HIDE_NAMES)} (or a position)")
            if item == "special":
                out.update(i for i, t in enumerate(ids) if int(t) in special)
            else:
                out.add(0)
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not -n <= item < n:
                raise ValueError(f"hide: position {item} is out of range for a text of {n} tokens (valid: 0..{n - 1}, or -{n}..-1)")
            out.add(int(item) % n)
        else:
            raise TypeError(f"hide: each entry must be 'special', 'first' or a position, got {item!r}")
    return sorted(out)


def _pair_trace(lens: LensCore, a: object, b: object, points: list[str]) -> tuple[Trace, int]:
    """A trace of the sentence pair ``(a, b)`` as the tokenizer encodes pairs (``[CLS] a [SEP] b
    [SEP]`` for BERT, with segment ids where the model takes them: the tokenizer's, else 0 before
    B and 1 from B on), and where ``b`` starts."""
    if not isinstance(a, str) or not isinstance(b, str) or not a.strip() or not b.strip():
        raise ValueError("sentence_b: a sentence pair needs two non-empty texts (x and sentence_b strings)")
    enc = lens.tokenizer(a, b)
    ids = torch.tensor(list(enc["input_ids"]), dtype=torch.long)
    lens.tokenize(ids)  # length and vocabulary checks
    seq = enc.sequence_ids() if hasattr(enc, "sequence_ids") else None
    types = enc.get("token_type_ids")
    if seq is not None and 1 in seq:
        start = seq.index(1)
    elif types is not None and 1 in list(types):
        start = list(types).index(1)
    else:
        raise ValueError("sentence_b: this tokenizer does not say where sentence B starts (no sequence ids)")
    tt = None
    params = inspect.signature(lens.model.forward).parameters
    if "token_type_ids" in params and (getattr(lens.model.config, "type_vocab_size", 0) or 0) >= 2:
        # BERT's segments: 0 for [CLS] A [SEP], 1 for B [SEP]; built when the tokenizer gives none
        given = list(types) if types is not None else []
        segments = given if 1 in given else [0] * start + [1] * (len(ids) - start)
        tt = torch.tensor(segments, dtype=torch.long)
    chosen = lens._select(points)
    tensors = record(lens.model, lens.anatomy, ids, chosen, token_type_ids=tt)
    return lens._make_trace(ids, tensors, np.zeros(ids.shape[0], dtype=bool)), start


def attention(
    lens: LensCore,
    x: TextOrTrace,
    *,
    view: str = "heads",
    layers: int | Sequence[int] | None = None,
    heads: int | Sequence[int] | None = None,
    sentence_b: str | None = None,
    hide: object = None,
    weighting: str = "attention",
    mass: float = 1.0,
    pair: tuple[int, int] | None = None,
    rollout: bool = True,
    max_bytes: int | None = VIEW_MAX_BYTES,
    theme: str = "auto",
    live: bool = False,
) -> FigureView:
    """Where each head attends: ``view="heads"`` (BertViz's head view: lines from query to key
    tokens, a colour per head, layer selector, head toggles, hover / click to pin), ``"model"``
    (every layer × head as a thumbnail; click for detail), ``"matrix"`` (query × key heatmap,
    causal mask shaded) or ``"pair"`` (attention from one position to another across layers, a
    dot per head and the head mean). A switch in the view moves between the four.

    - ``layers``, ``heads``: which blocks and heads to show (None: all; fewer makes a smaller view);
    - ``sentence_b``: a second text; the pair is encoded as the tokenizer encodes pairs and the view
      filters A→A, A→B, B→A, B→B;
    - ``hide``: ``"special"`` ([CLS], [SEP], BOS, ...), ``"first"`` (the sink of a causal LM), positions,
      or a list of them: left out, each attention row renormalised over the keys left;
    - ``weighting="norm"``: ‖α_ij f(x_j)‖, the norm of each weighted value vector after the
      output projection (Kobayashi et al. 2020), instead of α;
    - ``mass``: draw only the edges that make up this share of each row's total (a slider too);
    - ``pair``: ``(query, key)`` positions the pair view starts on; ``rollout``: attention rollout
      (Abnar & Zuidema 2020) as one more "head";
    - ``live=True``: a live widget whose page holds only the shown layer's data and asks the kernel
      for another layer when it is picked (``view.live()`` does the same from the view).

    ``view.result`` is an ``AttentionResult`` (``patterns``: ``(n_layers, n_heads, n, n)``);
    ``view.figure()`` a matplotlib figure of the matrix, pair or model view.

    >>> lens.attention("The cat sat on the mat because it was tired", view="pair", pair=(7, 1))  # doctest: +SKIP
    >>> lens.attention("The cat sat.", sentence_b="It was tired.", hide="special")  # doctest: +SKIP
    """
    from ..analyses.attention import WEIGHTINGS, points
    from ..analyses.attention import attention as compute
    from ..analyses.checks import check_choice, check_indices
    from ..views.attention import MODES, attention_view, check_mass
    from ..views.attention_live import slice_actions

    check_choice("view", view, MODES)
    check_choice("weighting", weighting, WEIGHTINGS)
    check_mass(mass)
    if not isinstance(rollout, bool):
        raise TypeError(f"rollout must be True or False, got {type(rollout).__name__}")
    chosen = check_indices("layers", layers, lens.n_layers)
    head_ids = check_indices("heads", heads, lens.anatomy.n_heads, unit="head") if heads is not None else None
    if weighting == "norm":
        for part in ("attn_v", "attn_out"):
            if not lens.anatomy.has(part):
                raise lens.anatomy.missing_part(part, "weighting='norm'")
    wanted = points(chosen, lens.n_layers, weighting=weighting, rollout=rollout)
    start = -1
    if sentence_b is not None:
        if isinstance(x, Trace):
            raise ValueError("sentence_b: give two texts (x and sentence_b), not a Trace")
        trace, start = _pair_trace(lens, x, sentence_b, wanted)
    else:
        trace = lens.as_trace(x, points=wanted, refill=True)
    hidden = hide_positions(lens, trace.token_ids.tolist(), hide)
    out_proj = None
    if weighting == "norm":
        out_proj = [lens.anatomy.part_module(lens.model, "attn_out", i) for i in range(lens.n_layers)]
    result = compute(trace, layers=chosen, heads=head_ids, hide=hidden, weighting=weighting,
                     rollout=rollout, out_proj=out_proj, sentence_b_start=start)
    full = attention_view(result, view=view, mass=mass, pair=pair, max_bytes=max_bytes, theme=theme)
    return finish(full, slice_actions(full), live)
