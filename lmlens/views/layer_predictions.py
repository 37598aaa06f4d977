"""The layer-predictions view: ``LayerPredictionsResult`` →
spec ``{"kind": "layer_predictions", "version": 1}``.

The text as clickable tokens; below, one row per layer (last on top) with that layer's top-k
tokens as bars. Clicking a token (or the arrow keys) shows another position; the token the
model finally outputs there is outlined wherever it appears (``js/src/views/layer_predictions.js``).

>>> view = layer_predictions_view(lens.trace("The capital of France is"), topk=10)  # doctest: +SKIP
"""

from __future__ import annotations

from ..analyses.logit_lens import LayerPredictionsResult
from ._budget import DEFAULT_MAX_BYTES
from ._encode import encode_array
from ._format import format_prob, token_label, visible_token
from ._spec import check_result, spec_header, vocab
from .figure_view import FigureView, layer_label
from .fit import fit_window

#: Spec version written here; js/src/views/layer_predictions.js reads up to its own VERSION.
VERSION = 1
#: Top tokens per layer in the no-JS fallback.
FALLBACK_TOP = 5


def _summary(r: LayerPredictionsResult) -> str:
    final = r.token_ids[-1, 0]
    first = next((i for i in range(r.n_layers) if r.token_ids[i, 0] == final), r.n_layers - 1)
    where = "after" if r.kind == "causal" else "at"
    return (f"The top {r.k} tokens of {r.n_layers} layers {where} position {r.position} "
            f"(“{visible_token(token_label(r, r.position))}”); click a token to look at another. "
            f"“{visible_token(r.strings[int(final)])}”, the top token of layer "
            f"{layer_label(r.layer_names[-1])}, is first on top at layer "
            f"{layer_label(r.layer_names[first])}.")


def to_spec(result: LayerPredictionsResult, *, lo: int = 0, hi: int | None = None) -> dict:
    """The spec for positions ``lo:hi`` (all by default); ``position`` must lie inside.

    >>> to_spec(result)["kind"]  # doctest: +SKIP
    'layer_predictions'
    """
    r = check_result(result, LayerPredictionsResult)
    hi = r.n_positions if hi is None else hi
    if not 0 <= lo <= r.position < hi <= r.n_positions:
        raise ValueError(f"the window {lo}:{hi} must hold position {r.position}")
    ids, probs = r.top_ids[:, lo:hi], r.top_probs[:, lo:hi]
    return {
        **spec_header("layer_predictions", VERSION, r, title="Logit lens: top tokens of every layer",
                      summary=_summary(r), lo=lo, hi=hi),
        "k": r.k,
        "offset": lo,
        "n_positions": r.n_positions,
        "position": r.position - lo,
        "layer_names": list(r.layer_names),
        "layer_labels": [layer_label(x) for x in r.layer_names],
        "top_ids": encode_array(ids, "int32"),
        "top_probs": encode_array(probs, "float16"),
        **vocab(r.strings, ids),
    }


def _fallback(r: LayerPredictionsResult) -> dict:
    rows = []
    for i in range(r.n_layers - 1, -1, -1):
        top = zip(r.token_ids[i, :FALLBACK_TOP], r.probs[i, :FALLBACK_TOP], strict=True)
        rows.append({
            "label": layer_label(r.layer_names[i]),
            "top": "  ".join(f"{visible_token(r.strings[int(t)])} {format_prob(p)}" for t, p in top),
        })
    return {"rows": rows, "position": r.position, "token": visible_token(token_label(r, r.position)),
            "top_header": f"top {min(FALLBACK_TOP, r.k)}"}


def layer_predictions_view(
    result: LayerPredictionsResult,
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    theme: str = "auto",
) -> FigureView:
    """The layer-predictions view of a ``LayerPredictionsResult`` (``lens.layer_predictions``
    builds both).

    Over ``max_bytes`` it keeps the widest window of positions around ``position`` that fits.

    >>> layer_predictions_view(layer_predictions(trace, position=-1)).figure()  # doctest: +SKIP
    """
    check_result(result, LayerPredictionsResult)
    from .logit_lens_figures import layer_predictions_figure

    fb = _fallback(result)

    def build(lo: int, hi: int) -> FigureView:
        return FigureView(to_spec(result, lo=lo, hi=hi), result, figure=layer_predictions_figure,
                          fallback=fb, max_bytes=max_bytes, theme=theme)

    return fit_window(build, result.n_positions, result.position, max_bytes=max_bytes)
