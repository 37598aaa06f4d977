"""Static matplotlib figures of the logit-lens results, for slides (``view.figure()``).

matplotlib is imported inside the functions only (``pip install lmlens[plot]``). Figures are
built with ``matplotlib.figure.Figure``, not pyplot, so nothing is registered globally and a
notebook shows the returned figure once. Labels render Japanese: text uses the family list
``["DejaVu Sans", <a CJK font>]`` (matplotlib falls back glyph by glyph), where the CJK font is
the IPAex Gothic shipped by the ``japanize-matplotlib`` package or an installed Noto Sans CJK.
The global matplotlib settings are left alone.

>>> fig = rankings_figure(result)  # doctest: +SKIP
>>> fig.savefig("rankings.png", dpi=200, bbox_inches="tight")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..analyses.logit_lens import LayerPredictionsResult, RankingsResult, RankingsWatchResult
from ._format import format_prob, token_label, visible_token
from .figure_view import layer_label

#: Cells above which the rankings figure leaves the rank numbers out.
ANNOTATE_MAX_CELLS = 900
#: Colour-blind-safe line colours (Okabe & Ito), the same as the HTML view.
LINE_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
_CJK_CANDIDATES = ("Noto Sans CJK JP", "IPAexGothic", "IPAGothic", "Hiragino Sans", "Yu Gothic",
                   "Meiryo", "Noto Sans JP", "TakaoGothic")


@lru_cache(maxsize=1)
def font_families() -> list[str]:
    """``["DejaVu Sans", <CJK family>]``: Latin from DejaVu, Japanese from the CJK font.

    The CJK font is japanize-matplotlib's IPAex Gothic when that package is installed, else the
    first installed one of ``_CJK_CANDIDATES``; without any, just ``["DejaVu Sans"]``.
    """
    from matplotlib import font_manager

    spec = importlib.util.find_spec("japanize_matplotlib")
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "fonts" / "ipaexg.ttf"
        if path.is_file():
            font_manager.fontManager.addfont(str(path))
            return ["DejaVu Sans", font_manager.FontProperties(fname=str(path)).get_name()]
    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in _CJK_CANDIDATES:
        if name in installed:
            return ["DejaVu Sans", name]
    return ["DejaVu Sans"]


@lru_cache(maxsize=1)
def _figure_class():
    """A ``Figure`` that shows itself in a notebook (``_repr_png_``) even when pyplot and its
    inline backend were never loaded, and that pyplot does not track (so it shows once)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - matplotlib is in lmlens[plot]
        raise ImportError("view.figure() needs matplotlib: pip install 'lmlens[plot]'") from None

    class LensFigure(Figure):
        def _repr_png_(self) -> bytes:
            import io

            buf = io.BytesIO()
            self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
            return buf.getvalue()

    return LensFigure


def _new_figure(figsize: tuple[float, float]):
    return _figure_class()(figsize=figsize, layout="constrained")


def _fonts(ax) -> list[str]:
    fam = font_families()
    ax.tick_params(labelfontfamily=fam)
    return fam


def token_text(s: str) -> str:
    """``visible_token``, with a token of spaces only shown as ``␣`` marks and other control
    characters escaped (``"\\x15"``), as the HTML views show them."""
    if s and not s.strip(" "):
        return "␣" * len(s)
    s = visible_token(s)
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 0x20 or c == "\x7f" else c for c in s)


def _label(s: str, width: int = 14) -> str:
    s = token_text(s)
    return s if len(s) <= width else s[: width - 1] + "…"


def _title(ax, text: str, fam: list[str]) -> None:
    ax.set_title(text, fontfamily=fam, fontsize=11, loc="left")


def rankings_figure(result: RankingsResult, *, values: str = "rank", annotate: bool | None = None,
                    figsize: tuple[float, float] | None = None):
    """Layer × position heatmap of ``result.ranks`` (log colour scale, rank 1 brightest) or
    of ``result.probs`` (``values="prob"``); last layer on top, inputs below, targets above.
    Generated positions get red labels and a dashed line before them.

    >>> rankings_figure(result, values="prob")  # doctest: +SKIP
    """
    from matplotlib.colors import LogNorm

    if not isinstance(result, RankingsResult):
        raise TypeError(f"result must be a RankingsResult, got {type(result).__name__}")
    if values not in ("rank", "prob"):
        raise ValueError(f"values must be 'rank' or 'prob', got {values!r}")
    r = result
    L, n = r.ranks.shape
    fig = _new_figure(figsize or (min(40.0, max(6.0, 0.55 * n + 2.5)), min(30.0, max(3.5, 0.3 * L + 2.0))))
    ax = fig.add_subplot()
    fam = _fonts(ax)
    if values == "rank":
        data = r.ranks[::-1].astype(float)
        norm = LogNorm(vmin=1, vmax=max(10.0, min(1e4, float(data.max()))))
        cmap, cbar_label = "viridis_r", "rank (1 = top), log scale"
    else:
        data = np.clip(r.probs[::-1].astype(float), 1e-6, 1.0)
        norm, cmap, cbar_label = LogNorm(vmin=1e-4, vmax=1.0), "viridis", "probability, log scale"
    im = ax.imshow(data, aspect="auto", cmap=cmap, norm=norm, interpolation="nearest")
    cb = fig.colorbar(im, ax=ax, pad=0.01, fraction=0.04)
    cb.set_label(cbar_label, fontfamily=fam)
    if annotate or (annotate is None and L * n <= ANNOTATE_MAX_CELLS):
        rgba = im.cmap(im.norm(data))
        for i in range(L):
            for p in range(n):
                light = (0.299 * rgba[i, p, 0] + 0.587 * rgba[i, p, 1] + 0.114 * rgba[i, p, 2]) > 0.55
                v = r.ranks[L - 1 - i, p] if values == "rank" else r.probs[L - 1 - i, p]
                text = rank_text(int(v)) if values == "rank" else format_prob(float(v)).rstrip("%")
                ax.text(p, i, text, ha="center", va="center", fontsize=7,
                        color="#111111" if light else "#ffffff", fontfamily=fam)
    ax.set_yticks(range(L), [layer_label(x) for x in r.layer_names[::-1]])
    ax.set_ylabel("layer (block output)", fontfamily=fam)
    ax.set_xticks(range(n), [_label(token_label(r, i)) for i in range(n)], rotation=60, ha="right", rotation_mode="anchor")
    top = ax.secondary_xaxis("top")
    top.set_xticks(range(n), [_label(t) for t in r.target_tokens], rotation=60, ha="left", rotation_mode="anchor")
    top.tick_params(labelfontfamily=fam)
    gen = _generated_outputs(r)
    for p in range(n):
        if r.generated[p]:
            ax.get_xticklabels()[p].set_color("#c0392b")
        if gen[p]:
            top.get_xticklabels()[p].set_color("#c0392b")
    if gen.any() and not gen.all():
        ax.axvline(int(np.argmax(gen)) - 0.5, color="#c0392b", lw=1.2, ls="--")
    what = {"output": "model's output", "next": "next token", "input": "input token", "given": "chosen token"}[r.target]
    _title(ax, f"Logit lens: rank of the {what} at every layer" + (f" · {r.model_name}" if r.model_name else ""), fam)
    return fig


def _generated_outputs(r: RankingsResult) -> np.ndarray:
    """``(n_positions,)``: columns whose target is a generated token."""
    g = np.asarray(r.generated, dtype=bool)
    if r.kind != "causal":
        return g.copy()
    out = np.zeros_like(g)
    out[:-1] = g[1:]
    if g.size and g[-1]:
        out[-1] = True
    return out


def rank_text(v: int) -> str:
    """A rank as the views print it: ``"7"``, ``"4.2k"``, ``"13k"`` (same rule as ``rankText``
    in ``js/src/views/_lens.js``)."""
    if v < 1000:
        return str(v)
    if v < 9950:
        return f"{v / 1000:.1f}k"
    return f"{round(v / 1000)}k"


def watch_figure(result: RankingsWatchResult, *, values: str = "rank", figsize: tuple[float, float] | None = None):
    """One line per watched token across layers (rank on a log axis with 1 on top, or
    probability with ``values="prob"``); the model's final output is the dashed grey line.

    >>> watch_figure(result).savefig("watch.png")  # doctest: +SKIP
    """
    if not isinstance(result, RankingsWatchResult):
        raise TypeError(f"result must be a RankingsWatchResult, got {type(result).__name__}")
    if values not in ("rank", "prob"):
        raise ValueError(f"values must be 'rank' or 'prob', got {values!r}")
    r = result
    L = r.n_layers
    fig = _new_figure(figsize or (min(16.0, max(6.0, 0.22 * L + 3.0)), 4.0))
    ax = fig.add_subplot()
    fam = _fonts(ax)
    x = np.arange(L)
    data = r.ranks if values == "rank" else r.probs
    out = r.output_ranks if values == "rank" else r.output_probs
    out_label = token_text(r.strings[r.output_id])
    ax.plot(x, out, color="#888888", ls="--", lw=1.2, label=f"output “{out_label}”")
    for j, label in enumerate(r.watch_labels):
        ax.plot(x, data[:, j], color=LINE_COLORS[j % len(LINE_COLORS)], lw=2, marker="o", ms=3,
                label=token_text(label))
    ax.set_yscale("log")
    if values == "rank":
        ax.invert_yaxis()
        ax.set_ylabel("rank (1 = top)", fontfamily=fam)
    else:
        ax.set_ylabel("probability", fontfamily=fam)
    step = max(1, L // 16)
    ax.set_xticks(x[::step], [layer_label(n) for n in r.layer_names][::step],
                  rotation=45 if L > 12 else 0)
    ax.set_xlabel("layer (block output)", fontfamily=fam)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(prop={"family": fam, "size": 9}, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ctx = "".join(r.tokens[max(0, r.position - 6):r.position + 1])
    where = "after" if r.kind == "causal" else "at"
    _title(ax, f"Logit lens: watched tokens {where} “…{visible_token(ctx)}”"
           + (f" · {r.model_name}" if r.model_name else ""), fam)
    return fig


def layer_predictions_figure(result: LayerPredictionsResult, *, position: int | None = None,
                             figsize: tuple[float, float] | None = None):
    """Top-k table per layer at ``position`` (default: the result's): one row per layer (last
    on top), cells coloured by probability and labelled with the token and its probability.

    >>> layer_predictions_figure(result, position=3)  # doctest: +SKIP
    """
    from matplotlib.colors import LogNorm

    if not isinstance(result, LayerPredictionsResult):
        raise TypeError(f"result must be a LayerPredictionsResult, got {type(result).__name__}")
    r = result
    pos = r.position if position is None else int(position)
    if not 0 <= pos < r.n_positions:
        raise ValueError(f"position must lie in [0, {r.n_positions}), got {position}")
    ids, probs = r.top_ids[:, pos][::-1], r.top_probs[:, pos][::-1].astype(float)
    L, k = ids.shape
    fig = _new_figure(figsize or (min(24.0, 1.35 * k + 1.5), min(30.0, max(3.0, 0.3 * L + 1.4))))
    ax = fig.add_subplot()
    fam = _fonts(ax)
    norm = LogNorm(vmin=1e-3, vmax=1.0)
    im = ax.imshow(np.clip(probs, 1e-3, 1.0), aspect="auto", cmap="Blues", norm=norm)
    for i in range(L):
        for j in range(k):
            dark = norm(max(probs[i, j], 1e-3)) > 0.6
            ax.text(j, i, f"{_label(r.strings[int(ids[i, j])], 10)}\n{format_prob(probs[i, j])}",
                    ha="center", va="center", fontsize=7, fontfamily=fam,
                    color="#ffffff" if dark else "#111111")
    ax.set_yticks(range(L), [layer_label(x) for x in r.layer_names[::-1]])
    ax.set_xticks(range(k), [str(j + 1) for j in range(k)])
    ax.set_xlabel("rank", fontfamily=fam)
    ax.set_ylabel("layer (block output)", fontfamily=fam)
    fig.colorbar(im, ax=ax, pad=0.01, fraction=0.04).set_label("probability", fontfamily=fam)
    ctx = "".join(r.tokens[max(0, pos - 6):pos + 1])
    where = "after" if r.kind == "causal" else "at"
    _title(ax, f"Logit lens: top {k} {where} “…{visible_token(ctx)}”"
           + (f" · {r.model_name}" if r.model_name else ""), fam)
    return fig
