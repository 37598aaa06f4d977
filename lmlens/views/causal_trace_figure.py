"""A static matplotlib figure of a ``CausalTraceResult`` (``view.figure()``), for slides: one
layer × position heatmap per traced site, stacked, the same colour scale for all (from the
corrupted probability to the clean one), subject tokens marked with ``*`` as in ROME's figures.

>>> causal_trace_figure(result).savefig("trace.png", dpi=200, bbox_inches="tight")  # doctest: +SKIP
"""

from __future__ import annotations

from ..analyses.tracing import CausalTraceResult
from ._format import format_prob, token_label
from .causal_trace_text import site_title
from .logit_lens_figures import _fonts, _label, _new_figure, _title, token_text


def causal_trace_figure(result: CausalTraceResult, *, figsize: tuple[float, float] | None = None):
    """Heatmaps of ``result.scores``: layers (last on top) × positions, one panel per site.

    >>> causal_trace_figure(result, figsize=(10, 8))  # doctest: +SKIP
    """
    if not isinstance(result, CausalTraceResult):
        raise TypeError(f"result must be a CausalTraceResult, got {type(result).__name__}")
    r = result
    S, L, n = r.scores.shape
    fig = _new_figure(figsize or (min(40.0, max(6.0, 0.5 * n + 3.0)), min(40.0, S * max(2.5, 0.12 * L + 1.2) + 1.0)))
    axes = fig.subplots(S, 1, sharex=True, squeeze=False)[:, 0]
    lo = min(r.corrupted_prob, float(r.scores.min()))
    hi = max(r.clean_prob, float(r.scores.max()), lo + 1e-6)
    subject = set(r.subject_positions.tolist())
    labels = [_label(token_label(r, p)) + ("*" if p in subject else "") for p in range(n)]
    im = None
    for s, ax in enumerate(axes):
        fam = _fonts(ax)
        im = ax.imshow(r.scores[s, ::-1], aspect="auto", cmap="viridis", vmin=lo, vmax=hi, interpolation="nearest")
        step = max(1, L // 8)
        ticks = list(range(0, L, step))
        ax.set_yticks([L - 1 - t for t in ticks], [str(t) for t in ticks])
        ax.set_ylabel("layer", fontfamily=fam)
        _title(ax, site_title(r.sites[s], r.points[s]), fam)
    axes[-1].set_xticks(range(n), labels, rotation=60, ha="right", rotation_mode="anchor")
    for p in subject:
        axes[-1].get_xticklabels()[p].set_fontweight("bold")
    cb = fig.colorbar(im, ax=list(axes), pad=0.01, fraction=0.03)
    cb.set_label(f"P({token_text(r.target)}) with the cell restored", fontfamily=_fonts(axes[0]))
    head = (f"Causal tracing: “{token_text(r.target)}” {format_prob(r.clean_prob)} clean, "
            f"{format_prob(r.corrupted_prob)} corrupted (* subject)")
    fig.suptitle(head + (f" · {r.model_name}" if r.model_name else ""), fontsize=11, x=0.01, ha="left")
    return fig

