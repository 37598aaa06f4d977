"""The neuron-factors view: ``NeuronFactorsResult`` → spec ``{"kind": "neuron_factors", "version": 1}``.

ecco's ``explore()`` and more: the text shaded by the selected factor (or every shown factor at
once, each token in the colour of the factor that fires most there), a sparkline per factor
over the positions, factors toggled on and off; clicking a factor lists its top neurons
(layer, index, loading), the tokens that fire it most, and what each neuron writes (the tokens
its output direction promotes and suppresses) (``js/src/views/neuron_factors.js``).

>>> view = neuron_factors_view(result)  # doctest: +SKIP
>>> view.save_html("factors.html"); view.figure().savefig("factors.png")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..analyses.factors import NeuronFactorsResult
from ._budget import DEFAULT_MAX_BYTES
from ._encode import encode_array
from ._format import token_label, visible_token
from ._spec import check_result, spec_header, vocab
from .figure_view import FigureView
from .fit import fit
from .neuron_factors_text import factor_shares, layer_ranges, neuron_text

#: Spec version written here; js/src/views/neuron_factors.js reads up to its own VERSION.
VERSION = 1
#: Tokens listed per factor in the fallback (the ones that fire it most), and neurons.
FALLBACK_TOKENS = 5
FALLBACK_NEURONS = 3


def _summary(r: NeuronFactorsResult) -> str:
    layers = r.layers.tolist()
    where = f"block {layers[0]}" if len(layers) == 1 else f"blocks {layer_ranges(layers)}"
    solved = ("the activations were solved for these factors of another text" if r.params.get("transferred")
              else f"NMF {'converged' if r.converged else 'did not converge'} in {r.n_iter} iterations")
    text = (f"{r.n_factors} factors of the FFN activations of {where} ({r.n_neurons:,} neuron columns) "
            f"over {r.n_positions:,} tokens; they reconstruct the matrix with "
            f"{r.relative_error * 100:.1f}% relative error ({solved}).")
    peak = int(np.argmax(r.activations[0]))
    return text + f" Factor 1 fires most at “{visible_token(token_label(r, peak))}” (position {peak})."


def _writes(r: NeuronFactorsResult) -> dict | None:
    if r.write_neurons is None:
        return None
    rows = {(int(a), int(b)): i for i, (a, b) in enumerate(r.write_neurons)}
    index = np.array([[rows.get(tuple(int(v) for v in r.neuron_index[c]), -1) for c in cols]
                      for cols in r.top_neurons], dtype=np.int32)
    return {
        "row": encode_array(index, "int32"),
        "top_ids": encode_array(r.write_top_ids, "int32"),
        "top_logits": encode_array(r.write_top_logits, "float32"),
        "bottom_ids": encode_array(r.write_bottom_ids, "int32"),
        "bottom_logits": encode_array(r.write_bottom_logits, "float32"),
    }


def to_spec(result: NeuronFactorsResult, *, limit: int | None = None) -> dict:
    """The spec of ``result`` for its first ``limit`` positions (the factors stay whole).

    >>> spec = to_spec(result)  # doctest: +SKIP
    >>> spec["kind"], len(spec["factors"])  # doctest: +SKIP
    ('neuron_factors', 8)
    """
    r = check_result(result, NeuronFactorsResult)
    n = r.n_positions if limit is None else max(1, min(int(limit), r.n_positions))
    top = r.top_neurons
    spec = {
        **spec_header("neuron_factors", VERSION, r, title="Neuron factors", summary=_summary(r), hi=n),
        "activations": encode_array(np.ascontiguousarray(r.activations[:, :n]), "float32"),
        # each factor's maximum over the whole text (the colour scale), even when cut
        "factor_max": encode_array(r.activations.max(axis=1), "float32"),
        "factor_share": encode_array(factor_shares(r), "float32"),
        "neurons": encode_array(np.stack([r.neuron_index[top, 0], r.neuron_index[top, 1],
                                          r.neuron_sign[top].astype(np.int64)], axis=-1), "int32"),
        "loadings": encode_array(np.take_along_axis(r.loadings, top, axis=1), "float32"),
        "loading_total": encode_array(r.loadings.sum(axis=1), "float32"),
        "writes": _writes(r),
        "n_positions": r.n_positions,
        "layers": r.layers.tolist(),
        "n_neurons": r.n_neurons,
        "positive": r.positive,
        "negative_share": r.negative_share,
        "relative_error": r.relative_error,
        "converged": r.converged,
        "n_iter": r.n_iter,
        "transferred": bool(r.params.get("transferred", False)),
    }
    if r.write_neurons is not None:
        spec.update(vocab(r.strings, r.write_top_ids, r.write_bottom_ids))
    return spec


def _fallback(r: NeuronFactorsResult, n: int) -> dict:
    rows = []
    shares = factor_shares(r)
    for f in range(r.n_factors):
        a = r.activations[f, :n]
        peaks = np.argsort(-a, kind="stable")[:FALLBACK_TOKENS]
        rows.append({
            "factor": f + 1, "share": f"{shares[f] * 100:.0f}%",
            "tokens": "  ".join(visible_token(token_label(r, p)) for p in peaks if a[p] > 0),
            "neurons": " · ".join(neuron_text(r, int(c)) for c in r.top_neurons[f, :FALLBACK_NEURONS]),
        })
    return {"rows": rows}


def neuron_factors_view(
    result: NeuronFactorsResult,
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    theme: str = "auto",
) -> FigureView:
    """The neuron-factors view of ``result`` (``view.figure()``: a matplotlib figure of it).

    Over ``max_bytes`` the view shows the first positions that fit and says so.

    >>> view = neuron_factors_view(lens.neuron_factors(text).result)  # doctest: +SKIP
    """
    from .neuron_factors_figure import neuron_factors_figure

    r = check_result(result, NeuronFactorsResult)

    def build(m: int) -> FigureView:
        return FigureView(to_spec(r, limit=m), r, figure=neuron_factors_figure,
                          fallback=_fallback(r, m), max_bytes=max_bytes, theme=theme)

    return fit(build, r.n_positions, max_bytes=max_bytes, unit="tokens")
