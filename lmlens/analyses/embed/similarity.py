"""Cosine similarity matrices of a few texts, one per layer/pooling choice.

>>> import numpy as np
>>> cosine_similarity(np.array([[1.0, 0.0], [1.0, 1.0]])).round(3).tolist()
[[1.0, 0.707], [0.707, 1.0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .result import EmbeddingSimilarityResult


def cosine_similarity(vectors: np.ndarray) -> np.ndarray:
    """``(n, n)`` cosine similarity of the rows of ``vectors`` ``(n, dim)`` (float64 inside)."""
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"vectors must be (n, dim), got shape {v.shape}")
    unit = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return np.clip(unit @ unit.T, -1.0, 1.0)


def embedding_similarity(
    vectors: Sequence[np.ndarray],
    texts: Sequence[str],
    *,
    layers: Sequence[int],
    poolings: Sequence[str],
    labels: Sequence[str],
    n_layers: int,
    kind: str,
    model_name: str = "",
    notes: Sequence[str] = (),
) -> EmbeddingSimilarityResult:
    """The result for ``vectors[c]`` ``(n_texts, dim_c)``: the texts' vectors under choice ``c``."""
    sims = np.stack([cosine_similarity(v) for v in vectors]).astype(np.float32)
    return EmbeddingSimilarityResult(
        similarity=sims, texts=tuple(texts), layers=np.asarray(layers, dtype=np.int64),
        poolings=tuple(poolings), labels=tuple(labels), n_layers=int(n_layers), kind=kind,
        model_name=model_name, notes=tuple(notes),
    )
