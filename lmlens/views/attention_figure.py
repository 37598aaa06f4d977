"""Static matplotlib figures of an ``AttentionResult`` (``view.figure()``), for slides and papers:

- ``view="matrix"``: the query × key heatmap of one head (``head=``), the mean of the chosen heads
  (``head=None``) or the rollout (``head="rollout"``) of one layer, the causal mask hatched and
  hidden positions grey;
- ``view="pair"``: the attention from one position to another in every layer, a dot per head
  and a line for the head mean (and a dashed one for the rollout);
- ``view="model"``: every layer × head as a small heatmap, in one image.

Head colours are the view's (``HEAD_COLORS``: 12 colours at least 18 ΔE apart for normal,
protan, deutan and tritan vision).

>>> fig = attention_figure(result, view="pair", pair=(7, 2))  # doctest: +SKIP
>>> fig.savefig("pair.png", dpi=200, bbox_inches="tight")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..analyses.attention import AttentionResult
from ..analyses.checks import check_choice
from ._format import token_label
from ._spec import check_result
from .attention_pair import check_pair, default_pair
from .logit_lens_figures import _fonts, _label, _new_figure, _title

#: Head colours, the same list as js/src/color.js HEAD_COLORS (a node test keeps them equal).
HEAD_COLORS = ["#5599FF", "#FF6611", "#DD99AA", "#8811FF", "#AA3388", "#557744", "#99BB77", "#9944BB", "#BB99CC", "#CC0000", "#00CC44", "#7755EE"]
#: Above this many positions only every n-th token is labelled.
LABEL_MAX = 60
FIGURE_VIEWS = ("matrix", "pair", "model")


def head_color(h: int) -> str:
    """Colour of the ``h``-th chosen head (the palette repeats after 12)."""
    return HEAD_COLORS[h % len(HEAD_COLORS)]


def _value_label(r: AttentionResult) -> str:
    return "attention α" if r.weighting == "attention" else "‖α f(x)‖"


def _ticks(ax, r: AttentionResult, axis: str) -> None:
    n = r.n_positions
    step = 1 if n <= LABEL_MAX else int(np.ceil(n / LABEL_MAX))
    ticks = list(range(0, n, step))
    labels = [_label(token_label(r, p), 12) for p in ticks]
    if axis == "x":
        ax.set_xticks(ticks, labels, rotation=60, ha="left", rotation_mode="anchor")
    else:
        ax.set_yticks(ticks, labels)


def _matrix(fig, r: AttentionResult, layer: int, head: int | str | None) -> None:
    import matplotlib.colors as mcolors

    li = _layer_index(r, layer)
    if head == "rollout":
        if r.rollout is None:
            raise ValueError("head='rollout': this result has no rollout (lens.attention(..., rollout=True))")
        data, what, color = r.rollout_weights[li], "rollout", "#444444"
    elif head is None:
        data, what, color = r.weights[li].mean(axis=0), f"mean of {r.n_heads} heads", "#2a6fdb"
    else:
        hi = _head_index(r, head)
        data, what, color = r.weights[li, hi], f"head {int(r.heads[hi])}", head_color(hi)
    ax = fig.add_subplot()
    fam = _fonts(ax)
    cmap = mcolors.LinearSegmentedColormap.from_list("att", ["#ffffff", color])
    n = r.n_positions
    shown = np.ma.masked_array(data, mask=np.zeros_like(data, dtype=bool))
    if r.kind == "causal":
        shown.mask |= np.triu(np.ones((n, n), dtype=bool), 1)
    shown.mask[r.hidden, :] = True
    shown.mask[:, r.hidden] = True
    ax.set_facecolor("#e6e6e6")
    ax.patch.set_hatch("//")
    ax.patch.set_edgecolor("#bbbbbb")
    top = float(data.max()) or 1.0
    im = ax.imshow(shown, cmap=cmap, vmin=0, vmax=top, interpolation="nearest")
    cb = fig.colorbar(im, ax=ax, pad=0.01, fraction=0.04)
    cb.set_label(_value_label(r) if head != "rollout" else "rollout", fontfamily=fam)
    _ticks(ax, r, "y")
    ax.xaxis.tick_top()
    _ticks(ax, r, "x")
    ax.set_ylabel("query (attends from)", fontfamily=fam)
    ax.set_xlabel("key (attends to)", fontfamily=fam)
    _title(ax, f"Layer {int(r.layers[li])}, {what}" + (f" · {r.model_name}" if r.model_name else ""), fam)


def _pair(fig, r: AttentionResult, pair: tuple[int, int]) -> None:
    q, k = pair
    vals = r.pair(q, k)  # (n_layers, n_heads)
    ax = fig.add_subplot()
    fam = _fonts(ax)
    x = np.arange(r.n_layers)
    for hi in range(r.n_heads):
        jitter = (hi - (r.n_heads - 1) / 2) * min(0.3 / max(1, r.n_heads), 0.04)
        ax.scatter(x + jitter, vals[:, hi], s=18, color=head_color(hi), alpha=0.85, linewidths=0,
                   label=f"head {int(r.heads[hi])}", zorder=3)
    ax.plot(x, vals.mean(axis=1), "-o", color="#222222", lw=1.8, ms=4, label="head mean", zorder=4)
    if r.rollout is not None and r.weighting == "attention":
        roll = r.rollout_weights[:, q, k]
        ax.plot(x, roll, "--", color="#777777", lw=1.4, label="rollout", zorder=2)
    ax.set_xticks(x, [str(int(i)) for i in r.layers])
    ax.set_xlabel("layer", fontfamily=fam)
    ax.set_ylabel(_value_label(r), fontfamily=fam)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.25)
    ax.legend(fontsize=7, ncols=max(1, (r.n_heads + 2) // 8), loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    _title(ax, f"“{_label(token_label(r, q), 16)}” ({q}) → “{_label(token_label(r, k), 16)}” ({k})"
               + (f" · {r.model_name}" if r.model_name else ""), fam)


def _model(fig, r: AttentionResult) -> None:
    w = r.weights
    nl, nh, n, _ = w.shape
    gap = max(1, n // 12)
    img = np.full((nl * (n + gap) - gap, nh * (n + gap) - gap), np.nan, dtype=np.float32)
    for li in range(nl):
        top = float(w[li].max()) or 1.0
        for hi in range(nh):
            y, x = li * (n + gap), hi * (n + gap)
            img[y : y + n, x : x + n] = w[li, hi] / top
    ax = fig.add_subplot()
    fam = _fonts(ax)
    ax.imshow(np.ma.masked_invalid(img), cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([hi * (n + gap) + n / 2 for hi in range(nh)], [str(int(h)) for h in r.heads])
    ax.set_yticks([li * (n + gap) + n / 2 for li in range(nl)], [str(int(i)) for i in r.layers])
    ax.xaxis.tick_top()
    ax.set_xlabel("head", fontfamily=fam)
    ax.set_ylabel("layer", fontfamily=fam)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    _title(ax, f"{_value_label(r).capitalize()}, every layer × head (each layer scaled to its largest value)"
               + (f" · {r.model_name}" if r.model_name else ""), fam)


def _layer_index(r: AttentionResult, layer: int | None) -> int:
    if layer is None:
        return 0
    got = np.flatnonzero(r.layers == int(layer))
    if isinstance(layer, bool) or not got.size:
        raise ValueError(f"layer must be one of the result's layers {r.layers.tolist()}, got {layer!r}")
    return int(got[0])


def _head_index(r: AttentionResult, head: int) -> int:
    got = np.flatnonzero(r.heads == int(head)) if isinstance(head, (int, np.integer)) and not isinstance(head, bool) else []
    if not len(got):
        raise ValueError(f"head must be None (the mean), 'rollout' or one of the result's heads {r.heads.tolist()}, got {head!r}")
    return int(got[0])


def attention_figure(
    result: AttentionResult,
    *,
    view: str = "matrix",
    layer: int | None = None,
    head: int | str | None = None,
    pair: tuple[int, int] | None = None,
    figsize: tuple[float, float] | None = None,
):
    """A matplotlib figure of ``result``: ``view="matrix"`` (``layer``: a block of the result, the
    first by default; ``head``: a head, None for the mean, ``"rollout"``), ``"pair"`` (``pair =
    (query, key)`` positions, by default the last token and where it attends most) or ``"model"``.

    >>> attention_figure(lens.attention(text).result, view="matrix", layer=3, head=None)  # doctest: +SKIP
    """

    r = check_result(result, AttentionResult)
    check_choice("view", view, FIGURE_VIEWS)
    n = r.n_positions
    if view == "matrix":
        side = min(16.0, max(5.0, 0.16 * min(n, LABEL_MAX) + 3.0))
        fig = _new_figure(figsize or (side + 1.2, side))
        _matrix(fig, r, layer if layer is not None else int(r.layers[0]), head)
    elif view == "pair":
        chosen = check_pair(pair, n) or default_pair(r, r.weights)
        fig = _new_figure(figsize or (min(16.0, max(6.0, 0.35 * r.n_layers + 3.5)), 4.0))
        _pair(fig, r, chosen)
    else:
        fig = _new_figure(figsize or (min(14.0, 0.7 * r.n_heads + 2), min(30.0, 0.6 * r.n_layers + 1.5)))
        _model(fig, r)
    return fig
