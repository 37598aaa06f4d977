"""The attribution view: ``AttributionResult``s → spec ``{"kind": "attribution", "version": 1}``.

ecco's hover view: the text, where hovering a target token (the next token, a continuation, or
a generated token) shades the tokens before it by their attribution to it; a click pins it.
Buttons choose the method (when several were computed) and unsigned (share of L2 norm) or
signed (sum over the hidden dimension) scores. Below, a target × source heatmap of every step;
integrated gradients' convergence delta and DeepLift's note are shown
(``js/src/views/attribution.js``).

>>> import lmlens  # doctest: +SKIP
>>> view = attribution_view(result)  # doctest: +SKIP
>>> view.save_html("attribution.html")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..analyses.attribution import METHOD_LABELS, AttributionResult
from ._budget import DEFAULT_MAX_BYTES
from ._encode import encode_array
from ._format import format_prob, token_label, visible_token
from ._spec import spec_header
from .fit import fit
from .view import View

#: Spec version written here; js/src/views/attribution.js reads up to its own VERSION.
VERSION = 1
#: Rows of the no-JS fallback table, and sources listed per row.
FALLBACK_ROWS = 40
FALLBACK_TOP = 3


def _check(results: Sequence[AttributionResult]) -> list[AttributionResult]:
    if isinstance(results, AttributionResult):
        results = [results]
    results = list(results)
    if not results or not all(isinstance(r, AttributionResult) for r in results):
        raise TypeError("results must be an AttributionResult or a non-empty list of them")
    first = results[0]
    for r in results[1:]:
        if (r.tokens != first.tokens or not np.array_equal(r.target_positions, first.target_positions)
                or r.grouping != first.grouping):
            raise ValueError(
                "all results of one attribution view must share tokens, targets and grouping"
            )
    names = [r.method for r in results]
    if len(set(names)) != len(names):
        raise ValueError(f"one result per method, got {names}")
    return results


def _cut(r: AttributionResult, m: int) -> AttributionResult:
    """The first ``m`` targets (and the sources before the last of them)."""
    from dataclasses import replace

    if m >= r.n_targets:
        return r
    last = int(r.target_positions[m - 1])
    keep = int(np.searchsorted(r.source_spans[:, 0], last))  # sources starting before it
    return replace(
        r,
        scores=r.scores[:m, :keep], norms=r.norms[:m, :keep], valid=r.valid[:m, :keep],
        delta=None if r.delta is None else r.delta[:m],
        steps=None if r.steps is None else r.steps[:m],
        target_ids=r.target_ids[:m], target_tokens=r.target_tokens[:m],
        target_positions=r.target_positions[:m], target_values=r.target_values[:m],
        baseline_values=None if r.baseline_values is None else r.baseline_values[:m],
        tokens=r.tokens[: last + 1], source_tokens=r.source_tokens[:keep],
        source_spans=r.source_spans[:keep], word_starts=r.word_starts[: last + 1],
        generated=r.generated[: last + 1], input_ids=r.input_ids[: last + 1],
        token_labels=r.token_labels[: last + 1],
    )


def _source_label(r: AttributionResult, k: int) -> str:
    """Source ``k`` as a chip reads: a one-token source by its chip label (``"<E6 9D>(東)"``)."""
    a, b = (int(x) for x in r.source_spans[k])
    return token_label(r, a) if b - a == 1 else r.source_tokens[k]


def _summary(r: AttributionResult) -> str:
    j = r.n_targets - 1
    row = np.where(r.valid[j], r.norms[j], -1.0)
    top = int(np.argmax(row)) if r.n_sources else -1
    what = (
        f"{r.n_targets} target tokens, each attributed to every token before it"
        if r.n_targets > 1 else f"the prediction of “{visible_token(token_label(r, int(r.target_positions[0])))}”"
    )
    f = "log-probability" if r.attr_target == "log_prob" else "probability"
    text = f"{METHOD_LABELS[r.method]} of {what}, against the {f} of the target."
    if top >= 0:
        text += (
            f" “{visible_token(token_label(r, int(r.target_positions[j])))}” leans most on "
            f"“{visible_token(_source_label(r, top))}” ({row[top] * 100:.0f}% of the attribution)."
        )
    return text


def _method_spec(r: AttributionResult) -> dict:
    return {
        "name": r.method,
        "label": METHOD_LABELS[r.method],
        "scores": encode_array(r.scores, "float32"),
        "norms": encode_array(r.norms, "float32"),
        "delta": None if r.delta is None else encode_array(r.delta, "float32"),
        "steps": None if r.steps is None else encode_array(r.steps, "int32"),
        "attr_target": r.attr_target,
        "values": encode_array(r.target_values, "float32"),
        "baseline_values": (
            None if r.baseline_values is None else encode_array(r.baseline_values, "float32")
        ),
        "note": " ".join(r.notes),
        "params": {k: v for k, v in r.params.items() if isinstance(v, (str, int, float))},
    }


def to_spec(results: Sequence[AttributionResult], *, limit: int | None = None,
            focus: int | None = None) -> dict:
    """The spec of ``results`` (one per method, same targets) for the first ``limit`` targets;
    ``focus``: the position of a target the view shows pinned first.

    >>> spec = to_spec([result])  # doctest: +SKIP
    >>> spec["kind"], [m["name"] for m in spec["methods"]]  # doctest: +SKIP
    ('attribution', ['integrated_gradients'])
    """
    results = _check(results)
    total = results[0].n_targets
    m = total if limit is None else max(1, min(int(limit), total))
    cut = [_cut(r, m) for r in results]
    first = cut[0]
    return {
        # each method's notes show with that method (its "note"), not as page notices
        **spec_header("attribution", VERSION, first, title="Input attribution",
                      summary=_summary(first), notices=False),
        "targets": encode_array(first.target_positions, "int32"),
        "target_logprobs": encode_array(first.target_logprobs, "float32"),
        "spans": encode_array(first.source_spans, "int32"),
        "grouping": first.grouping,
        "n_targets": total,
        "methods": [_method_spec(r) for r in cut],
        **({} if focus is None else {"focus": int(focus)}),
    }


def _fallback(r: AttributionResult) -> dict:
    rows = []
    for j in range(min(r.n_targets, FALLBACK_ROWS)):
        share = np.where(r.valid[j], r.norms[j], -1.0)
        order = np.argsort(-share, kind="stable")[:FALLBACK_TOP]
        top = "  ".join(
            f"{visible_token(_source_label(r, s))} {share[s] * 100:.0f}%" for s in order if share[s] >= 0
        )
        rows.append({
            "target": visible_token(token_label(r, int(r.target_positions[j]))),
            "prob": format_prob(float(np.exp(r.target_logprobs[j]))),
            "delta": "" if r.delta is None else f"{r.delta[j]:+.2g}",
            "top": top,
        })
    return {
        "rows": rows,
        "more_rows": max(0, r.n_targets - FALLBACK_ROWS),
        "method": METHOD_LABELS[r.method],
        "note": " ".join(r.notes),
        "has_delta": r.delta is not None,
    }


def attribution_view(
    results: AttributionResult | Sequence[AttributionResult],
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    theme: str = "auto",
    focus: int | None = None,
) -> View:
    """The attribution view of one result or of several (one per method, same targets and
    grouping; the first is shown first and is ``view.result``).

    Over ``max_bytes`` the view shows the first targets that fit and says so. ``focus``: the
    position of a target to show pinned first (a live widget's newly computed one).

    >>> view = attribution_view([ig_result, saliency_result])  # doctest: +SKIP
    >>> view.result.method  # doctest: +SKIP
    'integrated_gradients'
    """
    results = _check(results)

    def build(m: int) -> View:
        spec = to_spec(results, limit=m, focus=focus)
        return View(spec, results[0], fallback=_fallback(_cut(results[0], m)),
                    max_bytes=max_bytes, theme=theme)

    return fit(build, results[0].n_targets, max_bytes=max_bytes, unit="target tokens")
