"""``merge_targets``: several attributions of one sequence (same method and options, computed
for different targets, e.g. one per click in a live widget) as one result.

>>> import lmlens  # doctest: +SKIP
>>> a = attribute(model, ids, [3], embed=embed, method="saliency")  # doctest: +SKIP
>>> b = attribute(model, ids, [6], embed=embed, method="saliency")  # doctest: +SKIP
>>> merge_targets([b, a]).target_positions  # doctest: +SKIP
array([3, 6])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .result import AttributionResult


def merge_targets(results: Sequence[AttributionResult]) -> AttributionResult:
    """One result holding every target of ``results``, rows ordered by target position.

    Every result must attribute the same sequence (``input_ids``) with the same method,
    ``attr_target`` and parameters, at token level; a target found twice keeps its first row.
    Sources run up to the last target; a row is zero (and not ``valid``) after its own target,
    exactly as ``attribute`` computes several targets at once.
    """
    results = list(results)
    if not results or not all(isinstance(r, AttributionResult) for r in results):
        raise TypeError("results must be a non-empty list of AttributionResult")
    first = results[0]
    for r in results[1:]:
        if r.method != first.method or r.attr_target != first.attr_target:
            raise ValueError(f"merge_targets: one method and attr_target, got {first.method}/{first.attr_target} "
                             f"and {r.method}/{r.attr_target}")
        if not np.array_equal(r.input_ids, first.input_ids):
            raise ValueError("merge_targets: every result must attribute the same sequence")
        if {k: v for k, v in r.params.items() if k != "plan"} != {k: v for k, v in first.params.items() if k != "plan"}:
            raise ValueError(f"merge_targets: results computed with different options: {first.params} vs {r.params}")
    if any(r.grouping != "token" for r in results):
        raise ValueError("merge_targets needs token-level results (group by word after merging)")
    rows: dict[int, tuple[AttributionResult, int]] = {}
    for r in results:
        for j, p in enumerate(r.target_positions.tolist()):
            rows.setdefault(int(p), (r, j))
    positions = np.array(sorted(rows), dtype=np.int64)
    m, s = len(positions), int(positions.max())
    scores = np.zeros((m, s), np.float32)
    norms = np.zeros((m, s), np.float32)
    with_delta = all(r.delta is not None for r in results)
    delta = np.zeros(m, np.float32) if with_delta else None
    base = np.zeros(m, np.float32) if with_delta and all(r.baseline_values is not None for r in results) else None
    steps = np.zeros(m, np.int64) if all(r.steps is not None for r in results) else None
    values = np.zeros(m, np.float32)
    target_ids = np.zeros(m, np.int64)
    target_tokens: list[str] = []
    for i, p in enumerate(positions.tolist()):
        r, j = rows[p]
        scores[i, :p] = r.scores[j, :p]
        norms[i, :p] = r.norms[j, :p]
        values[i] = r.target_values[j]
        target_ids[i] = r.target_ids[j]
        target_tokens.append(r.target_tokens[j])
        if delta is not None:
            delta[i] = r.delta[j]
        if base is not None:
            base[i] = r.baseline_values[j]
        if steps is not None:
            steps[i] = r.steps[j]
    notes = tuple(dict.fromkeys(n for r in results for n in r.notes))
    plans = sorted({p for r in results for p in str(r.params.get("plan", "")).split("+") if p})
    params = {**first.params, **({"plan": "+".join(plans)} if plans else {})}
    return replace(
        first,
        scores=scores, norms=norms, delta=delta, baseline_values=base, steps=steps,
        valid=np.arange(s)[None, :] < positions[:, None],
        target_ids=target_ids, target_tokens=target_tokens, target_positions=positions,
        target_values=values, source_tokens=list(first.tokens[:s]),
        source_spans=np.stack([np.arange(s), np.arange(1, s + 1)], 1).astype(np.int64),
        notes=notes, params=params,
    )
