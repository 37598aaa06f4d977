"""The rankings-watch view: ``RankingsWatchResult`` → spec ``{"kind": "rankings_watch", "version": 1}``.

One line per watched token across layers (rank on a log scale, 1 on top; a toggle shows
probabilities), plus a dashed line for the token the model finally outputs. Hovering a layer
shows every watched token's rank and probability there and that layer's top-5
(``js/src/views/rankings_watch.js``, plain SVG).

>>> view = watch_view(lens.trace("The keys to the cabinet"), watch=[" is", " are"])  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..analyses.logit_lens import RankingsWatchResult
from ._budget import DEFAULT_MAX_BYTES
from ._encode import encode_array
from ._format import format_prob, visible_token
from ._spec import check_result, spec_header, vocab
from .figure_view import FigureView, layer_label

#: Spec version written here; js/src/views/rankings_watch.js reads up to its own VERSION.
VERSION = 1
#: Tokens of context shown before the position in the title.
CONTEXT = 8


def _summary(r: RankingsWatchResult) -> str:
    last = r.n_layers - 1
    bits = []
    for j, label in enumerate(r.watch_labels):
        rk = r.ranks[:, j]
        best = int(np.argmin(rk))
        bits.append(f"“{visible_token(label)}” ends at rank {int(rk[last]):,} "
                    f"({format_prob(r.probs[last, j])}); best rank {int(rk[best]):,} at layer "
                    f"{layer_label(r.layer_names[best])}")
    where = "the next token after" if r.kind == "causal" else "the token at"
    return (f"Ranks of {r.n_watch} watched token{'s' if r.n_watch != 1 else ''} at every layer, "
            f"as {where} position {r.position}. The model outputs "
            f"“{visible_token(r.strings[r.output_id])}”. " + "; ".join(bits) + ".")


def to_spec(result: RankingsWatchResult) -> dict:
    """The spec of a ``RankingsWatchResult``.

    >>> to_spec(result)["kind"]  # doctest: +SKIP
    'rankings_watch'
    """
    r = check_result(result, RankingsWatchResult)
    lo = max(0, r.position - CONTEXT)
    return {
        **spec_header("rankings_watch", VERSION, r, title="Logit lens: watched tokens across layers",
                      summary=_summary(r), lo=lo, hi=r.position + 1),
        "position": r.position,
        "context": list(r.tokens[lo:r.position + 1]),
        "context_cut": lo > 0,
        "position_generated": bool(r.generated[r.position]),
        "n_positions": len(r.tokens),
        "layer_names": list(r.layer_names),
        "layer_labels": [layer_label(x) for x in r.layer_names],
        "watch_labels": list(r.watch_labels),
        "watch_ids": encode_array(r.watch_ids, "int32"),
        "ranks": encode_array(r.ranks, "int32"),
        "probs": encode_array(r.probs, "float32"),
        "output_id": int(r.output_id),
        "output_ranks": encode_array(r.output_ranks, "int32"),
        "output_probs": encode_array(r.output_probs, "float32"),
        "top_ids": encode_array(r.top_ids, "int32"),
        "top_probs": encode_array(r.top_probs, "float16"),
        **vocab(r.strings, r.watch_ids, r.top_ids, np.array([r.output_id])),
    }


def _fallback(r: RankingsWatchResult) -> dict:
    rows = []
    for i in range(r.n_layers - 1, -1, -1):
        rows.append({
            "label": layer_label(r.layer_names[i]),
            "cells": [f"{int(r.ranks[i, j]):,} · {format_prob(r.probs[i, j])}" for j in range(r.n_watch)],
            "output": f"{int(r.output_ranks[i]):,}",
        })
    return {
        "labels": [visible_token(x) for x in r.watch_labels],
        "output": visible_token(r.strings[r.output_id]),
        "rows": rows,
    }


def watch_view(
    result: RankingsWatchResult, *, max_bytes: int | None = DEFAULT_MAX_BYTES, theme: str = "auto"
) -> FigureView:
    """The rankings-watch view of a ``RankingsWatchResult`` (``lens.rankings_watch`` builds both).

    >>> watch_view(rankings_watch(trace, watch=[42])).figure()  # doctest: +SKIP
    """
    check_result(result, RankingsWatchResult)
    from .logit_lens_figures import watch_figure

    return FigureView(to_spec(result), result, figure=watch_figure, fallback=_fallback(result),
                      max_bytes=max_bytes, theme=theme)
