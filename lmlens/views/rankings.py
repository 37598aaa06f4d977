"""The rankings view: ``RankingsResult`` → spec ``{"kind": "rankings", "version": 1}``.

A layer × token grid (last layer on top) coloured by the rank of the target token at each
layer, on a log scale; a toggle shows probabilities instead. Hovering a cell shows the token,
its rank and probability and that layer's top-5 there; a click pins it
(``js/src/views/rankings.js``). Generated tokens are marked.

>>> from lmlens.analyses.logit_lens import rankings  # doctest: +SKIP
>>> view = rankings_view(rankings(lens.trace("The capital of France is")))  # doctest: +SKIP
>>> view.save_html("rankings.html"); view.figure().savefig("rankings.png")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..analyses.logit_lens import RankingsResult
from ._budget import DEFAULT_MAX_BYTES
from ._encode import encode_array
from ._format import format_prob, token_label, visible_token
from ._spec import check_result, spec_header, vocab
from .figure_view import FigureView, layer_label
from .fit import fit

#: Spec version written here; js/src/views/rankings.js reads up to its own VERSION.
VERSION = 1
#: Positions in the no-JS fallback table.
FALLBACK_COLUMNS = 24

_TARGET_WORDS = {
    "output": "the token the model finally outputs",
    "next": "the next token of the text",
    "input": "the token at the position itself",
    "given": "the token chosen for each position",
}


def settle_layers(ranks: np.ndarray) -> np.ndarray:
    """``(n_positions,)``: the first layer from which the rank stays 1 to the end (-1: never).

    >>> settle_layers(np.array([[5, 1], [1, 2], [1, 1]])).tolist()
    [1, 2]
    """
    top = ranks == 1
    stays = np.flip(np.cumprod(np.flip(top, 0), 0), 0).astype(bool)  # top from here to the end
    first = np.argmax(stays, axis=0)
    return np.where(stays.any(0), first, -1)


def _summary(r: RankingsResult) -> str:
    what = _TARGET_WORDS[r.target]
    settle = settle_layers(r.ranks)
    ok = settle[settle >= 0]
    head = (f"{r.n_layers} layers × {r.n_positions:,} positions: the rank (1 = top) of "
            f"{what} at each layer, decoded through the model's final norm and head.")
    if ok.size == 0:
        return head + " No position has its target at rank 1 in the last layers."
    med = int(np.median(ok))
    tail = f" Median over positions: it is the top token from layer {layer_label(r.layer_names[med])} on"
    never = r.n_positions - ok.size
    return head + tail + (f"; {never:,} position{'s' if never != 1 else ''} never settle." if never else ".")


def _ids(a: np.ndarray, compact: bool) -> dict:
    """Token ids or ranks as uint16 when ``compact`` and they fit, else int32."""
    fits = compact and (a.size == 0 or int(a.max()) < 2**16)
    return encode_array(a, "uint16") if fits else encode_array(np.minimum(a, 2**31 - 1), "int32")


def to_spec(result: RankingsResult, *, limit: int | None = None, compact: bool = False) -> dict:
    """The spec for the first ``limit`` positions (all by default). ``compact``: ids and ranks as
    uint16 where they fit and probabilities as float16 (for specs embedded by the dozen, as the
    probe view's).

    >>> to_spec(result)["kind"]  # doctest: +SKIP
    'rankings'
    """
    r = check_result(result, RankingsResult)
    n = r.n_positions
    m = n if limit is None else max(1, min(int(limit), n))
    return {
        **spec_header("rankings", VERSION, r, title="Logit lens: rank at every layer",
                      summary=_summary(r), hi=m),
        "target": r.target,
        "n_positions": n,
        "k": r.k,
        "layer_names": list(r.layer_names),
        "layer_labels": [layer_label(x) for x in r.layer_names],
        "token_ids": _ids(r.input_ids[:m], compact),
        "target_ids": _ids(r.token_ids[:m], compact),
        "ranks": _ids(r.ranks[:, :m], compact),
        "probs": encode_array(r.probs[:, :m], "float16" if compact else "float32"),
        "top_ids": _ids(r.top_ids[:, :m], compact),
        "top_probs": encode_array(r.top_probs[:, :m], "float16"),
        **vocab(r.strings, r.token_ids[:m], r.top_ids[:, :m]),
    }


def _fallback(r: RankingsResult, m: int) -> dict:
    """Data for templates/fallback/rankings.html.j2: a table of ranks, last layer first."""
    cols = min(m, FALLBACK_COLUMNS)
    rows = []
    for i in range(r.n_layers - 1, -1, -1):
        rows.append({
            "label": layer_label(r.layer_names[i]),
            "cells": [{"rank": f"{int(r.ranks[i, p]):,}", "title": format_prob(r.probs[i, p])}
                      for p in range(cols)],
        })
    return {
        "inputs": [visible_token(token_label(r, i)) for i in range(min(cols, len(r.tokens)))],
        "targets": [visible_token(r.strings[int(t)]) for t in r.token_ids[:cols]],
        "rows": rows,
        "more_columns": max(0, m - cols),
    }


def rankings_view(
    result: RankingsResult,
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    theme: str = "auto",
) -> FigureView:
    """The rankings view of a ``RankingsResult`` (``lens.rankings`` builds both).

    Over ``max_bytes`` it shows the first positions that fit and says so.

    >>> view = rankings_view(rankings(trace))  # doctest: +SKIP
    >>> view.result.ranks.shape  # doctest: +SKIP
    (31, 6)
    """
    check_result(result, RankingsResult)
    from .logit_lens_figures import rankings_figure

    def build(m: int) -> FigureView:
        return FigureView(to_spec(result, limit=m), result, figure=rankings_figure,
                          fallback=_fallback(result, m), max_bytes=max_bytes, theme=theme)

    return fit(build, result.n_positions, max_bytes=max_bytes, unit="tokens")
