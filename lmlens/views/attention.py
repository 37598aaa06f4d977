"""The attention view: ``AttentionResult`` → spec ``{"kind": "attention", "version": 1}``.

One spec, four ways to look at it (``js/src/views/attention.js``; a switch in the view moves
between them, ``view=`` picks the first):

- ``"heads"``: BertViz's head view: two token columns and a line per head from each query to each
  key (one colour per head, ≥ 12 colour-blind-safe colours), a layer selector, head toggles,
  hover a token to filter, click to pin it (Unpin or Escape releases), sentence-pair filters
  (A→A, A→B, B→A, B→B), only the edges making up a chosen share of each row's mass, rollout;
- ``"model"``: every layer × head as a heatmap thumbnail on one canvas; a click shows that head
  in detail;
- ``"matrix"``: query × key heatmap of one head, the mean of the chosen heads, or the rollout,
  with the causal mask shaded; hovering a cell shows (query, key, value);
- ``"pair"``: two token positions (a repeated word is two positions); the attention from one to
  the other in every layer: a dot per head and the head mean (and the rollout).

Data travel as one record per layer (a live widget sends one at a time, ``attention_live.py``):
uint8 codes of what the result's ``weights`` hold, zlib-compressed (``codec: "deflate"``), with the
layer's ``scale`` (value = code × scale: 1/255 for attention, the layer's largest norm / 255 for
``weighting="norm"``). Over ``max_bytes`` the view keeps the first tokens that fit (or a window
around the pair's query) and says so.

>>> view = attention_view(lens.attention(text).result, view="matrix")  # doctest: +SKIP
>>> view.save_html("attention.html"); view.figure().savefig("matrix.png")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..analyses.attention import AttentionResult
from ..analyses.checks import check_choice
from ._budget import DEFAULT_MAX_BYTES
from ._encode import encode_array
from ._format import token_label, visible_token
from ._spec import check_result, spec_header
from .attention_pair import check_pair, default_pair
from .figure_view import FigureView
from .fit import fit_window

#: Spec version written here; js/src/views/attention.js reads up to its own VERSION.
VERSION = 1
#: The ways the view can show a result (``view=``).
MODES = ("heads", "model", "matrix", "pair")
#: Keys listed per layer in the fallback.
FALLBACK_KEYS = 3


def check_mass(mass: object) -> float:
    """``mass`` as a float in (0, 1]: the share of each row's total the drawn edges make up."""
    if isinstance(mass, bool) or not isinstance(mass, (int, float, np.floating)) or not 0 < float(mass) <= 1:
        raise ValueError(f"mass must be a number in (0, 1] (the share of each row's weight to draw), got {mass!r}")
    return float(mass)


def _sink_share(r: AttentionResult) -> float:
    """Mean share of the attention rows (queries after the first) that goes to position 0."""
    if r.n_positions < 2:
        return 0.0
    return float(r.patterns[:, :, 1:, 0].mean())


def _summary(r: AttentionResult) -> str:
    what = ("attention weights α" if r.weighting == "attention"
            else "value-weighted attention ‖α f(x)‖ (Kobayashi et al. 2020)")
    heads = (f"{r.n_heads} heads" if r.n_heads == r.n_heads_total
             else f"{r.n_heads} of {r.n_heads_total} heads")
    text = f"{what[0].upper()}{what[1:]} of {r.n_layers} blocks × {heads} over {r.n_positions:,} tokens."
    sink = _sink_share(r)
    if sink > 0.2 and not r.hidden[0]:
        fix = "hide=[0]" if r.weighting == "norm" else "hide=[0] or weighting='norm'"
        text += (f" On average {sink * 100:.0f}% of each row's {'mass' if r.weighting == 'norm' else 'attention'} "
                 f"goes to the first token “{visible_token(token_label(r, 0))}” (a sink): {fix} shows the rest.")
    if r.sentence_b_start > 0:
        text += f" Sentence B starts at position {r.sentence_b_start}."
    return text


class _Data:
    """What every window of the spec is cut from: uint8 codes of ``weights`` and the rollout."""

    def __init__(self, r: AttentionResult) -> None:
        w = r.weights
        self.weights = w
        if r.weighting == "norm":
            peak = w.reshape(w.shape[0], -1).max(axis=1)
            self.scales = [float(p) / 255 if p > 0 else 1 / 255 for p in peak]
        else:
            self.scales = [1 / 255] * w.shape[0]
        s = np.array(self.scales, dtype=np.float64)[:, None, None, None]
        self.codes = np.clip(np.rint(w / s), 0, 255).astype(np.uint8)
        roll = r.rollout_weights
        self.rollout = None if roll is None else np.clip(np.rint(roll * 255), 0, 255).astype(np.uint8)


def to_spec(
    result: AttentionResult,
    *,
    view: str = "heads",
    mass: float = 1.0,
    pair: tuple[int, int] | None = None,
    lo: int = 0,
    hi: int | None = None,
    data: _Data | None = None,
) -> dict:
    """The spec of ``result`` for positions ``lo:hi`` (every layer and head).

    >>> spec = to_spec(result, view="matrix")  # doctest: +SKIP
    >>> spec["kind"], len(spec["weights"]) == result.n_layers  # doctest: +SKIP
    ('attention', True)
    """
    r = check_result(result, AttentionResult)
    check_choice("view", view, MODES)
    n = r.n_positions
    hi = n if hi is None else hi
    d = data or _Data(r)
    q, k = check_pair(pair, n) or default_pair(r, d.weights)
    sb = r.sentence_b_start
    window = np.s_[lo:hi, lo:hi]
    return {
        **spec_header("attention", VERSION, r, title="Attention", summary=_summary(r), lo=lo, hi=hi),
        "mode": view,
        "layers": r.layers.tolist(),
        "heads": r.heads.tolist(),
        "n_heads_total": r.n_heads_total,
        "weighting": r.weighting,
        "causal": r.kind == "causal",
        "hidden": encode_array(r.hidden[lo:hi], "uint8"),
        "offset": lo,
        "n_positions": n,
        "sentence_b_start": -1 if sb < 0 else min(max(sb - lo, 0), hi - lo),
        "weights": [
            {**encode_array(np.ascontiguousarray(d.codes[i][(slice(None), *window)]), "uint8", deflate=True),
             "scale": d.scales[i], "offset": 0.0}
            for i in range(r.n_layers)
        ],
        "rollout": None if d.rollout is None else [
            {**encode_array(np.ascontiguousarray(d.rollout[i][window]), "uint8", deflate=True),
             "scale": 1 / 255, "offset": 0.0}
            for i in range(r.n_layers)
        ],
        "mass": float(mass),
        "pair": [min(max(q - lo, 0), hi - lo - 1), min(max(k - lo, 0), hi - lo - 1)],
    }


def _fallback(r: AttentionResult, d: _Data, lo: int, hi: int) -> dict:
    shown = [p for p in range(lo, hi) if not r.hidden[p]]
    q = shown[-1] if shown else hi - 1
    rows = []
    for i, layer in enumerate(r.layers.tolist()):
        row = d.weights[i, :, q, lo:hi].mean(axis=0)
        top = [int(j) for j in np.argsort(-row, kind="stable")[:FALLBACK_KEYS] if row[j] > 0]
        total = row.sum() or 1.0
        rows.append({
            "layer": layer,
            "keys": "  ".join(f"{visible_token(token_label(r, lo + j))} {row[j] / total * 100:.0f}%" for j in top),
        })
    return {"query": visible_token(token_label(r, q)), "position": q, "rows": rows}


def attention_view(
    result: AttentionResult,
    *,
    view: str = "heads",
    mass: float = 1.0,
    pair: Sequence[int] | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    theme: str = "auto",
) -> FigureView:
    """The attention view of ``result``, opening on ``view`` (``"heads"``, ``"model"``,
    ``"matrix"`` or ``"pair"``); ``mass`` is the share of each row's weight the drawn edges make
    up at first (1: every edge), ``pair`` the ``(query, key)`` positions the pair view starts on.
    ``view.figure()`` draws the matrix, pair or model view with matplotlib.

    Over ``max_bytes`` the view keeps the first tokens that fit (a window around the pair's query
    in the pair view) and says so.

    >>> view = attention_view(lens.attention(text).result, view="pair", pair=(7, 2))  # doctest: +SKIP
    """
    from .attention_figure import attention_figure

    r = check_result(result, AttentionResult)
    check_choice("view", view, MODES)
    mass = check_mass(mass)
    chosen = check_pair(pair, r.n_positions)
    d = _Data(r)
    chosen = chosen or default_pair(r, d.weights)

    def figure(res: AttentionResult, **kwargs):
        return attention_figure(res, view=kwargs.pop("view", view if view != "heads" else "matrix"),
                                **({"pair": chosen} if "pair" not in kwargs else {}), **kwargs)

    def build(lo: int, hi: int) -> FigureView:
        return FigureView(to_spec(r, view=view, mass=mass, pair=chosen, lo=lo, hi=hi, data=d), r,
                          figure=figure, fallback=_fallback(r, d, lo, hi), max_bytes=max_bytes, theme=theme)

    return fit_window(build, r.n_positions, chosen[0] if view == "pair" else None, max_bytes=max_bytes,
                      unit="tokens")
