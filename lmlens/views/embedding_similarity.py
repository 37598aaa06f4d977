"""The embedding-similarity view: ``EmbeddingSimilarityResult`` → spec
``{"kind": "embedding_similarity", "version": 1}``.

One small heatmap per layer/pooling choice: the cosine similarity of every pair of the texts,
side by side, each coloured over its own range of values between different texts (a switch puts
all on one scale, 0 to 1). Hovering a cell marks that pair in every matrix and lists its
similarity under each choice, with how far the pair sits above or below that choice's mean; a
click pins it (``js/src/views/embedding_similarity.js``).

>>> view = embedding_similarity_view(result)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from ..analyses.embed import EmbeddingSimilarityResult
from ._budget import DEFAULT_MAX_BYTES
from ._encode import encode_array
from ._spec import check_result
from .view import View

VERSION = 1


def choice_stats(r: EmbeddingSimilarityResult) -> np.ndarray:
    """``(n_choices, 4)``: mean, standard deviation, min and max of each choice's similarities
    between different texts."""
    off = r.off_diagonal().astype(np.float64)
    return np.stack([off.mean(1), off.std(1), off.min(1), off.max(1)], axis=1)


def _summary(r: EmbeddingSimilarityResult) -> str:
    stats = choice_stats(r)
    spread = stats[:, 1]
    best = int(np.argmax(spread))
    flat = int(np.argmax(stats[:, 0]))
    return (f"Cosine similarity of {len(r.texts)} texts under {r.n_choices} layer/pooling choices. The widest "
            f"spread between pairs is at {r.labels[best]} (sd {spread[best]:.2f}); the highest mean, where "
            f"every pair looks alike, at {r.labels[flat]} (mean {stats[flat, 0]:.2f}).")


def to_spec(result: EmbeddingSimilarityResult) -> dict:
    """The spec of ``result``.

    >>> to_spec(result)["kind"]  # doctest: +SKIP
    'embedding_similarity'
    """
    r = check_result(result, EmbeddingSimilarityResult)
    return {
        "kind": "embedding_similarity", "version": VERSION, "title": "Sentence similarity by layer and pooling",
        "model_name": r.model_name, "summary": _summary(r), "notices": list(r.notes), "lm_kind": r.kind,
        "tokens": [], "texts": list(r.texts), "labels": list(r.labels), "poolings": list(r.poolings),
        "layers": [int(x) for x in r.layers], "n_layers": r.n_layers,
        "similarity": encode_array(r.similarity, "float32"),
        "stats": encode_array(choice_stats(r), "float32"),
    }


def _fallback(r: EmbeddingSimilarityResult) -> dict:
    stats = choice_stats(r)
    return {
        "texts": list(r.texts),
        "choices": [{"label": lab, "stats": f"mean {s[0]:.2f} · sd {s[1]:.2f} · {s[2]:.2f}–{s[3]:.2f}",
                     "rows": [[f"{v:.2f}" for v in row] for row in r.similarity[c]]}
                    for c, (lab, s) in enumerate(zip(r.labels, stats, strict=True))],
    }


def embedding_similarity_view(result: EmbeddingSimilarityResult, *, max_bytes: int | None = DEFAULT_MAX_BYTES,
                              theme: str = "auto") -> View:
    """The view of an ``EmbeddingSimilarityResult`` (``lens.embedding_similarity`` builds both).

    >>> embedding_similarity_view(result).save_html("similarity.html")  # doctest: +SKIP
    """
    r = check_result(result, EmbeddingSimilarityResult)
    return View(to_spec(r), r, fallback=_fallback(r), max_bytes=max_bytes, theme=theme)
