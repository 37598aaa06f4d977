"""A static matplotlib figure of a ``NeuronFactorsResult``, for slides (``view.figure()``).

One row per factor over the positions (each row scaled to its own maximum), tokens below;
left, the factor and its share of the reconstruction; right, its top neuron and the tokens that
neuron writes. Japanese labels render (the logit-lens figures' font list).

>>> fig = neuron_factors_figure(result)  # doctest: +SKIP
>>> fig.savefig("factors.png", dpi=200, bbox_inches="tight")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..analyses.factors import NeuronFactorsResult
from ._format import token_label
from ._spec import check_result
from .logit_lens_figures import _fonts, _label, _new_figure, _title
from .neuron_factors_text import factor_shares, layer_ranges, neuron_text

#: Above this many positions only every n-th token is labelled.
LABEL_MAX = 80


def neuron_factors_figure(result: NeuronFactorsResult, *, figsize: tuple[float, float] | None = None):
    """Factors × positions heatmap of ``result.activations`` (each factor scaled to its maximum);
    generated tokens get red labels.

    >>> neuron_factors_figure(lens.neuron_factors(text).result)  # doctest: +SKIP
    """
    r = check_result(result, NeuronFactorsResult)
    F, n = r.activations.shape
    peak = r.activations.max(axis=1, keepdims=True)
    data = r.activations / np.where(peak > 0, peak, 1)
    fig = _new_figure(figsize or (min(40.0, max(7.0, 0.22 * min(n, 200) + 5.0)), max(2.5, 0.42 * F + 1.6)))
    ax = fig.add_subplot()
    fam = _fonts(ax)
    im = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    cb = fig.colorbar(im, ax=ax, pad=0.01, fraction=0.03)
    cb.set_label("activation / factor's maximum", fontfamily=fam)
    shares = factor_shares(r)
    ax.set_yticks(range(F), [f"F{f + 1} ({shares[f] * 100:.0f}%)" for f in range(F)])
    step = 1 if n <= LABEL_MAX else int(np.ceil(n / LABEL_MAX))
    ticks = list(range(0, n, step))
    ax.set_xticks(ticks, [_label(token_label(r, p), 12) for p in ticks], rotation=60, ha="right",
                  rotation_mode="anchor")
    for j, p in enumerate(ticks):
        if r.generated[p]:
            ax.get_xticklabels()[j].set_color("#c0392b")
    right = ax.secondary_yaxis("right")
    right.set_yticks(range(F), [neuron_text(r, int(r.top_neurons[f, 0]), fmt=lambda t: _label(t, 10))
                                for f in range(F)])
    right.tick_params(labelfontfamily=fam, labelsize=8)
    layers = r.layers.tolist()
    where_text = f"block {layers[0]}" if len(layers) == 1 else f"blocks {layer_ranges(layers)}"
    _title(ax, f"Neuron factors: FFN activations of {where_text}, relative error "
               f"{r.relative_error * 100:.1f}%" + (f" · {r.model_name}" if r.model_name else ""), fam)
    return fig

