"""The predictions view: ``PredictionsResult`` → spec ``{"kind": "predictions", "version": 1}``.

The text shows as tokens tinted by the probability the model gave each one; hovering or
clicking a token shows the top-k predictions there (``js/src/views/predictions.js``).

>>> from lmlens.analyses.predictions import predictions  # doctest: +SKIP
>>> view = predictions_view(predictions(lens.trace("The capital of France is")))  # doctest: +SKIP
>>> view.save_html("predictions.html")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..analyses.predictions import PredictionsResult
from ._budget import DEFAULT_MAX_BYTES
from ._encode import encode_array
from ._format import format_prob, token_label, visible_token
from ._spec import check_result, spec_header
from .fit import fit
from .view import View

#: Spec version written here; js/src/views/predictions.js reads up to its own VERSION.
VERSION = 1
#: Rows of the no-JS fallback table.
FALLBACK_ROWS = 64
#: Predictions per row in the fallback table.
FALLBACK_TOP = 3


def _summary(r: PredictionsResult) -> str:
    p = r.probs.astype(np.float64)
    ok = np.flatnonzero(~np.isnan(p))
    where = "from the position before" if r.kind == "causal" else "at their own positions"
    if ok.size == 0:
        return f"{r.n_positions:,} token{'s' if r.n_positions != 1 else ''}; nothing predicts the first token."
    low = ok[np.argmin(p[ok])]
    return (
        f"{r.n_positions:,} tokens, top-{r.k} predictions at each. The model gave the actual tokens "
        f"a median probability of {format_prob(float(np.median(p[ok])))} ({where}); it least "
        f"expected “{visible_token(token_label(r, low))}” ({format_prob(p[low])})."
    )


def to_spec(result: PredictionsResult, *, limit: int | None = None) -> dict:
    """The spec for the first ``limit`` positions (all by default).

    >>> spec = to_spec(result)  # doctest: +SKIP
    >>> spec["kind"], spec["version"]  # doctest: +SKIP
    ('predictions', 1)
    """
    check_result(result, PredictionsResult)
    n = result.n_positions
    m = n if limit is None else max(0, min(int(limit), n))
    top = result.top_ids[:m]
    vocab_ids, first = np.unique(top, return_index=True)
    flat_strings = [s for row in result.top_tokens[:m] for s in row]
    title = "Next-token predictions" if result.kind == "causal" else "Predictions at each position"
    return {
        **spec_header("predictions", VERSION, result, title=title, summary=_summary(result), hi=m),
        "mode": "next" if result.kind == "causal" else "same",
        "k": result.k,
        "n_positions": n,
        "token_ids": encode_array(result.input_ids[:m], "int32"),
        "probs": encode_array(result.probs[:m], "float32"),
        "ranks": encode_array(result.ranks[:m], "int32"),
        "topk_ids": encode_array(top, "int32"),
        "topk_probs": encode_array(result.top_probs[:m], "float16"),
        "vocab_ids": encode_array(vocab_ids, "int32"),
        "vocab_strings": [flat_strings[i] for i in first.tolist()],
    }


def _fallback(result: PredictionsResult, m: int) -> dict:
    """Data for templates/fallback/predictions.html.j2."""
    titles = []
    for i in range(m):
        p, rank = result.probs[i], int(result.ranks[i])
        titles.append(f"p = {format_prob(p)}" + (f" · rank {rank:,}" if rank else ""))
    rows = []
    for i in range(min(m, FALLBACK_ROWS)):
        top = zip(result.top_tokens[i][:FALLBACK_TOP], result.top_probs[i][:FALLBACK_TOP], strict=True)
        rows.append({
            "index": i,
            "token": visible_token(token_label(result, i)),
            "prob": format_prob(result.probs[i]),
            "top": "  ".join(f"{visible_token(t)} {format_prob(p)}" for t, p in top),
        })
    header = "predicted next" if result.kind == "causal" else "predicted here"
    return {
        "token_titles": titles,
        "rows": rows,
        "more_rows": max(0, m - FALLBACK_ROWS),
        "topk_header": f"{header} (top {min(FALLBACK_TOP, result.k)})",
    }


def predictions_view(
    result: PredictionsResult,
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    theme: str = "auto",
) -> View:
    """The predictions view of a ``PredictionsResult`` (``lens.predictions`` builds both).

    Over ``max_bytes`` the view shows the first tokens that fit and says so.

    >>> view = predictions_view(predictions(trace, topk=5))  # doctest: +SKIP
    >>> view.result.top_ids.shape  # doctest: +SKIP
    (6, 5)
    """
    check_result(result, PredictionsResult)

    def build(m: int) -> View:
        return View(
            to_spec(result, limit=m), result, fallback=_fallback(result, m),
            max_bytes=max_bytes, theme=theme,
        )

    return fit(build, result.n_positions, max_bytes=max_bytes, unit="tokens")
