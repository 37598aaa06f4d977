"""The causal-tracing view: ``CausalTraceResult`` → spec ``{"kind": "causal_trace", "version": 1}``.

One layer × position heatmap per traced site (``resid``, ``mlp``, ``attn``), drawn by the canvas
grid the logit lens shares (``js/src/ui/grid.js``): each cell coloured by how much of the answer's
probability restoring it brings back, the subject's tokens marked, the answer named. Hovering a
cell shows its numbers; a click pins it, with that layer's logit-lens predictions at that
position in the clean run (``js/src/views/causal_trace.js``).

>>> view = causal_trace_view(result)  # doctest: +SKIP
>>> view.save_html("trace.html"); view.figure().savefig("trace.png")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..analyses.tracing import CausalTraceResult
from ._budget import DEFAULT_MAX_BYTES
from ._encode import encode_array
from ._format import format_prob, token_label, visible_token
from ._spec import check_result, spec_header, vocab
from .causal_trace_text import site_title
from .figure_view import FigureView
from .fit import fit_window

#: Spec version written here; js/src/views/causal_trace.js reads up to its own VERSION.
VERSION = 1

#: Positions in the no-JS fallback tables (the last ones, where the answer is read).
FALLBACK_COLUMNS = 24

def _summary(r: CausalTraceResult) -> str:
    subject = "".join(r.tokens[int(p)] for p in r.subject_positions).strip()
    head = (f"Causal tracing of “{visible_token(r.target)}” after the text: the subject “{subject}” is "
            f"corrupted with noise ({format_prob(r.clean_prob)} → {format_prob(r.corrupted_prob)}), then one "
            f"clean activation at a time is restored.")
    parts = []
    for s, name in enumerate(r.sites):
        layer, pos = r.strongest(name)
        parts.append(f"{name}: layer {layer} at “{visible_token(token_label(r, pos))}” ({format_prob(float(r.scores[s, layer, pos]))})")
    return head + " Strongest restoration — " + "; ".join(parts) + "."


def to_spec(result: CausalTraceResult, *, lo: int = 0, hi: int | None = None) -> dict:
    """The spec of positions ``lo:hi`` of ``result`` (all by default).

    >>> to_spec(result)["kind"]  # doctest: +SKIP
    'causal_trace'
    """
    r = check_result(result, CausalTraceResult)
    hi = r.n_positions if hi is None else max(lo + 1, min(int(hi), r.n_positions))
    sub = r.subject_positions[(r.subject_positions >= lo) & (r.subject_positions < hi)] - lo
    answer = r.answer_position - lo if lo <= r.answer_position < hi else -1
    return {
        **spec_header("causal_trace", VERSION, r, title="Causal tracing", summary=_summary(r), lo=lo, hi=hi),
        "sites": list(r.sites),
        "site_titles": [site_title(n, k) for n, k in zip(r.sites, r.points, strict=True)],
        "n_layers": r.n_layers,
        "n_positions": r.n_positions,
        "offset": lo,
        "scores": encode_array(np.ascontiguousarray(r.scores[:, :, lo:hi]), "float32"),
        "clean_prob": r.clean_prob,
        "corrupted_prob": r.corrupted_prob,
        "target_id": r.target_id,
        "answer_position": answer,
        "subject": encode_array(sub.astype(np.int64), "int32"),
        "lens_top_ids": encode_array(np.ascontiguousarray(r.lens_top_ids[:, lo:hi]), "int32"),
        "lens_top_probs": encode_array(np.ascontiguousarray(r.lens_top_probs[:, lo:hi]), "float16"),
        "lens_target_ranks": encode_array(np.minimum(r.lens_target_ranks[:, lo:hi], 2**31 - 1), "int32"),
        "lens_target_probs": encode_array(np.ascontiguousarray(r.lens_target_probs[:, lo:hi]), "float32"),
        "params": {k: v for k, v in r.params.items() if isinstance(v, (int, float, str, bool))},
        **vocab(r.strings, np.array([r.target_id]), r.lens_top_ids[:, lo:hi]),
    }


def _fallback(r: CausalTraceResult, lo: int, hi: int) -> dict:
    """Data for templates/fallback/causal_trace.html.j2: per site, the best layer at each of the
    last ``FALLBACK_COLUMNS`` positions shown and what restoring it gives."""
    more = max(0, hi - lo - FALLBACK_COLUMNS)
    lo += more
    sites = []
    for s, name in enumerate(r.sites):
        scores = r.scores[s, :, lo:hi]
        best = scores.argmax(axis=0)
        sites.append({
            "title": site_title(name, r.points[s]),
            "cells": [{"token": visible_token(token_label(r, lo + p)), "layer": int(best[p]),
                       "prob": format_prob(float(scores[best[p], p])),
                       "subject": bool(np.isin(lo + p, r.subject_positions))} for p in range(hi - lo)],
        })
    return {"sites": sites, "clean": format_prob(r.clean_prob), "corrupted": format_prob(r.corrupted_prob),
            "target": visible_token(r.target), "more_columns": more}


def causal_trace_view(
    result: CausalTraceResult,
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    theme: str = "auto",
) -> FigureView:
    """The causal-tracing view of ``result`` (``lens.causal_trace`` builds both;
    ``view.figure()``: a matplotlib figure).

    Over ``max_bytes`` it shows the widest window of positions around the answer that fits, and
    says so.

    >>> view = causal_trace_view(lens.causal_trace(text, subject="Eiffel Tower").result)  # doctest: +SKIP
    """
    from .causal_trace_figure import causal_trace_figure

    r = check_result(result, CausalTraceResult)

    def build(lo: int, hi: int) -> FigureView:
        return FigureView(to_spec(r, lo=lo, hi=hi), r, figure=causal_trace_figure,
                          fallback=_fallback(r, lo, hi), max_bytes=max_bytes, theme=theme)

    return fit_window(build, r.n_positions, r.answer_position, max_bytes=max_bytes, unit="tokens")
