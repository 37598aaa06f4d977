"""The layer-predictions view: ``LayerPredictionsResult`` →
spec ``{"kind": "layer_predictions", "version": 1}``.

The text as clickable tokens; below, one row per layer (last on top) with that layer's top-k
tokens as bars. Clicking a token (or the arrow keys) shows another position; the token the
model finally outputs there is outlined wherever it appears (``js/src/views/layer_predictions.js``).

>>> view = layer_predictions_view(lens.trace("The capital of France is"), topk=10)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

from ..analyses.logit_lens import POINTS, LayerPredictionsResult, layer_predictions
from ..capture import Trace
from ._budget import DEFAULT_MAX_BYTES, fit_window
from ._encode import encode_array
from ._format import format_prob, visible_token
from ._lens_common import FigureView, layer_label, vocab

#: Spec version written here; js/src/views/layer_predictions.js reads up to its own VERSION.
VERSION = 1
#: Top tokens per layer in the no-JS fallback.
FALLBACK_TOP = 5


def _summary(r: LayerPredictionsResult) -> str:
    final = r.token_ids[-1, 0]
    first = next((i for i in range(r.n_layers) if r.token_ids[i, 0] == final), r.n_layers - 1)
    where = "after" if r.kind == "causal" else "at"
    return (f"The top {r.k} tokens of {r.n_layers} layers {where} position {r.position} "
            f"(“{visible_token(r.tokens[r.position])}”); click a token to look at another. "
            f"“{visible_token(r.strings[int(final)])}”, the top token of layer "
            f"{layer_label(r.layer_names[-1])}, is first on top at layer "
            f"{layer_label(r.layer_names[first])}.")


def to_spec(result: LayerPredictionsResult, *, lo: int = 0, hi: int | None = None) -> dict:
    """The spec for positions ``lo:hi`` (all by default); ``position`` must lie inside.

    >>> to_spec(result)["kind"]  # doctest: +SKIP
    'layer_predictions'
    """
    if not isinstance(result, LayerPredictionsResult):
        raise TypeError(f"result must be a LayerPredictionsResult, got {type(result).__name__}")
    r = result
    hi = r.n_positions if hi is None else hi
    if not 0 <= lo <= r.position < hi <= r.n_positions:
        raise ValueError(f"the window {lo}:{hi} must hold position {r.position}")
    ids, probs = r.all_token_ids[:, lo:hi], r.all_probs[:, lo:hi]
    return {
        "kind": "layer_predictions",
        "version": VERSION,
        "title": "Logit lens: top tokens of every layer",
        "model_name": r.model_name,
        "summary": _summary(r),
        "notices": list(r.notes),
        "lm_kind": r.kind,
        "k": r.k,
        "offset": lo,
        "n_positions": r.n_positions,
        "position": r.position - lo,
        "layer_names": list(r.layer_names),
        "layer_labels": [layer_label(x) for x in r.layer_names],
        "tokens": list(r.tokens[lo:hi]),
        "generated": encode_array(r.generated[lo:hi], "uint8"),
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
    return {"rows": rows, "position": r.position, "token": visible_token(r.tokens[r.position]),
            "top_header": f"top {min(FALLBACK_TOP, r.k)}"}


def layer_predictions_view(
    x: Trace | LayerPredictionsResult,
    *,
    position: int = -1,
    topk: int = 10,
    layers: Sequence[int | str] | None = None,
    progress=None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    theme: str = "auto",
) -> FigureView:
    """The layer-predictions view of a ``Trace`` (computed with the options) or a result.

    Over ``max_bytes`` it keeps the widest window of positions around ``position`` that fits.

    >>> layer_predictions_view(trace, position=-1).figure()  # doctest: +SKIP
    """
    if isinstance(x, LayerPredictionsResult):
        result = x
    elif isinstance(x, Trace):
        result = layer_predictions(x, position=position, topk=topk, layers=layers, progress=progress)
    else:
        raise TypeError(f"x must be a Trace or a LayerPredictionsResult, got {type(x).__name__} "
                        f"(trace a text with lens.trace(text, points={POINTS!r}))")
    from .logit_lens_figures import layer_predictions_figure

    fb = _fallback(result)

    def build(lo: int, hi: int) -> FigureView:
        return FigureView(to_spec(result, lo=lo, hi=hi), result, figure=layer_predictions_figure,
                          fallback=fb, max_bytes=max_bytes, theme=theme)

    return fit_window(build, result.n_positions, result.position, max_bytes=max_bytes)
