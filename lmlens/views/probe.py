"""The probe view: ``ProbeResult`` → spec ``{"kind": "probe", "version": 1}``.

A table per relation (P@1, P@k, MRR): each fact's sentence with the object marked, its rank, the
top predictions, the layer at which the object first becomes the top prediction under the logit
lens and a strip of its rank at every layer. A click (or Enter) on a fact opens its top-k and its
rankings view: each fact carries a compact rankings spec (top-1 per cell) that
``js/src/views/probe.js`` draws with ``js/src/views/rankings.js``.

>>> view = probe_view(lens.probe(facts).result)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..analyses.probe import ProbeResult
from ._budget import DEFAULT_MAX_BYTES
from ._encode import encode_array
from ._format import visible_token
from ._spec import check_result
from .figure_view import layer_label
from .fit import fit
from .rankings import to_spec as rankings_spec
from .view import View

#: Spec version written here; js/src/views/probe.js reads up to its own VERSION.
VERSION = 1
#: Predictions listed per fact in the no-JS fallback.
FALLBACK_TOP = 3


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _summary(r: ProbeResult) -> str:
    o = r.overall
    text = (f"{r.n_facts:,} facts in {r.n_relations} relation{'s' if r.n_relations != 1 else ''}: the object "
            f"is the model's top choice for {_pct(o['precision_at_1_facts'])} of them (mean over relations: "
            f"P@1 {_pct(o['precision_at_1'])}, P@{r.k} {_pct(o['precision_at_k'])}, MRR {o['mrr']:.2f}).")
    if r.has_logit_lens:
        hit = r.first_layer[r.first_layer >= 0]
        if hit.size:
            med = int(np.median(hit))
            text += (f" Under the logit lens, {hit.size:,} objects become the top prediction at some layer "
                     f"(median: layer {layer_label(r.layer_names[med])}).")
    return text


def object_starts(r: ProbeResult) -> list[int]:
    """Where the object starts in each of ``r.sentences`` (characters)."""
    return [len(t.split("[Y]")[0].replace("[X]", s)) for t, s in zip(r.templates, r.subjects, strict=True)]


def to_spec(result: ProbeResult, *, limit: int | None = None) -> dict:
    """The spec of the first ``limit`` facts (all by default); relation figures count every fact.

    >>> to_spec(result)["kind"]  # doctest: +SKIP
    'probe'
    """
    r = check_result(result, ProbeResult)
    m = r.n_facts if limit is None else max(1, min(int(limit), r.n_facts))
    table = r.relation_table()
    # each fact's rankings open at its slot (the position whose column ranks the object)
    rankings = [{**rankings_spec(r.rankings(i), compact=True), "focus": int(r.slots[i])} if r.has_logit_lens
                else None for i in range(m)]
    return {
        "kind": "probe", "version": VERSION, "title": "Knowledge probe", "model_name": r.model_name,
        "summary": _summary(r), "notices": list(r.notes), "lm_kind": r.kind, "tokens": [],
        "k": r.k, "n_facts": r.n_facts, "overall": r.overall,
        "relations": list(r.relations),
        "relation_stats": encode_array(np.array([[t["precision_at_1"], t["precision_at_k"], t["mrr"]]
                                                 for t in table]), "float32"),
        "relation_counts": encode_array(np.array([[t["facts"], t["vocab"], t["candidates"]] for t in table]), "int32"),
        "relation_index": encode_array(r.relation_index[:m], "int32"),
        "sentences": list(r.sentences[:m]),
        "objects": list(r.objects[:m]),
        "object_starts": object_starts(r)[:m],
        "modes": encode_array(np.array([x == "candidates" for x in r.modes[:m]], dtype=np.uint8), "uint8"),
        "ranks": encode_array(np.minimum(r.ranks[:m], 2**31 - 1), "int32"),
        "n_choices": encode_array(r.n_choices[:m], "int32"),
        "n_object_tokens": encode_array(r.n_object_tokens[:m], "int32"),
        "object_probs": encode_array(r.object_probs[:m], "float32"),
        "top_strings": [list(s) for s in r.top_strings[:m]],
        "top_probs": encode_array(r.top_probs[:m], "float32"),
        "layer_labels": [layer_label(x) for x in r.layer_names],
        "first_layer": encode_array(r.first_layer[:m], "int32"),
        "layer_ranks": encode_array(np.minimum(r.layer_ranks[:m], 2**31 - 1) if r.has_logit_lens
                                    else np.zeros((m, 0), np.int64), "int32"),
        "rankings": rankings,
    }


def _fallback(r: ProbeResult, m: int) -> dict:
    """Data for templates/fallback/probe.html.j2: a table per relation."""
    groups = []
    for j, (name, t) in enumerate(zip(r.relations, r.relation_table(), strict=True)):
        rows = []
        for i in np.flatnonzero(r.relation_index[:m] == j):
            first = int(r.first_layer[i])
            rows.append({
                "sentence": r.sentences[i], "rank": f"{int(r.ranks[i]):,}",
                "top": "  ".join(visible_token(s) for s in r.top_strings[i][:FALLBACK_TOP]),
                "layer": layer_label(r.layer_names[first]) if first >= 0 else "—",
            })
        if rows:
            groups.append({"name": name, "stats": f"P@1 {_pct(t['precision_at_1'])} · P@{r.k} "
                                                   f"{_pct(t['precision_at_k'])} · MRR {t['mrr']:.2f}", "rows": rows})
    return {"groups": groups}


def probe_view(result: ProbeResult, *, max_bytes: int | None = DEFAULT_MAX_BYTES, theme: str = "auto") -> View:
    """The probe view of a ``ProbeResult`` (``lens.probe`` builds both). Over ``max_bytes`` it shows
    the first facts that fit and says so.

    >>> probe_view(result).save_html("probe.html")  # doctest: +SKIP
    """
    r = check_result(result, ProbeResult)

    def build(m: int) -> View:
        return View(to_spec(r, limit=m), r, fallback=_fallback(r, m), max_bytes=max_bytes, theme=theme)

    return fit(build, r.n_facts, max_bytes=max_bytes, unit="facts")
