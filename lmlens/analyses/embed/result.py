"""Results of feature extraction: per-token vectors (``pooling="none"``) and the similarity
matrices of a few texts under several layer/pooling choices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..result import Result


def _shape(obj, name: str, shape: tuple, kinds: str) -> None:
    a = getattr(obj, name)
    if not isinstance(a, np.ndarray) or a.shape != shape or a.dtype.kind not in kinds:
        got = a.shape if isinstance(a, np.ndarray) else type(a).__name__
        raise ValueError(f"{name} must be an array of shape {shape} (dtype kind {kinds!r}), got {got}")


@dataclass(frozen=True, eq=False, repr=False)
class TokenVectors(Result):
    """One vector per token of every text (``lens.embed(texts, pooling="none")``), stored flat:
    text ``i`` owns rows ``row_splits[i]:row_splits[i + 1]``. ``tv[i]`` gives ``(vectors, offsets)``.

    >>> tv = lens.embed(["Hello world", "Hi"], pooling="none")  # doctest: +SKIP
    >>> vectors, offsets = tv[0]  # doctest: +SKIP
    >>> "Hello world"[offsets[1][0]:offsets[1][1]]  # doctest: +SKIP
    'Hello'
    """

    vectors: np.ndarray
    """``(n_tokens, dim)`` float32: every token's vector (the ``layers`` concatenated)."""
    offsets: np.ndarray
    """``(n_tokens, 2)`` int64: each token's ``[start, end)`` characters in its text (special tokens
    ``(0, 0)``; ``(-1, -1)`` where the tokenizer gives no offsets)."""
    token_ids: np.ndarray
    """``(n_tokens,)`` int64: the token of each row."""
    row_splits: np.ndarray
    """``(n_texts + 1,)`` int64: where each text's rows start (the last entry = ``n_tokens``)."""
    layers: tuple[int, ...] = ()
    """The hidden-state indices concatenated (0 = embeddings, ``n_layers`` = the last)."""
    model_name: str = ""
    notes: tuple[str, ...] = ()

    def check(self) -> None:
        n = self.vectors.shape[0] if self.vectors.ndim == 2 else -1
        if n < 0:
            raise ValueError(f"vectors must be (n_tokens, dim), got {self.vectors.shape}")
        _shape(self, "offsets", (n, 2), "iu")
        _shape(self, "token_ids", (n,), "iu")
        s = self.row_splits
        if s.ndim != 1 or s.size < 1 or int(s[0]) != 0 or int(s[-1]) != n or np.any(np.diff(s) < 0):
            raise ValueError("row_splits must rise from 0 to n_tokens")

    def __len__(self) -> int:
        return int(self.row_splits.size - 1)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """``(vectors (n_tokens_i, dim), offsets (n_tokens_i, 2))`` of text ``i``."""
        n = len(self)
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not -n <= i < n:
            raise IndexError(f"text index {i!r} out of range for {n} texts")
        a, b = int(self.row_splits[i % n]), int(self.row_splits[i % n + 1])
        return self.vectors[a:b], self.offsets[a:b]


@dataclass(frozen=True, eq=False, repr=False)
class EmbeddingSimilarityResult(Result):
    """Cosine similarity of every pair of ``texts`` under each layer/pooling choice
    (``lens.embedding_similarity``).

    >>> r = lens.embedding_similarity(texts, layers=[-1, -2], poolings=["mean", "cls"]).result  # doctest: +SKIP
    >>> r.similarity.shape  # doctest: +SKIP
    (4, 5, 5)
    """

    similarity: np.ndarray
    """``(n_choices, n_texts, n_texts)`` float32: cosine similarity, 1 on the diagonal."""
    texts: tuple[str, ...]
    """The texts compared."""
    layers: np.ndarray
    """``(n_choices,)`` int64: each choice's hidden-state index (0 = embeddings)."""
    poolings: tuple[str, ...]
    """``n_choices`` poolings (``"mean"``, ``"cls"``, ``"pooler"``, ``"last"``)."""
    labels: tuple[str, ...]
    """``n_choices`` display labels ("layer -1 (block 5) · mean")."""
    n_layers: int = 0
    kind: str = "causal"
    model_name: str = ""
    notes: tuple[str, ...] = ()

    def check(self) -> None:
        c, n = len(self.labels), len(self.texts)
        if n < 2:
            raise ValueError(f"texts: need at least 2 texts to compare, got {n}")
        _shape(self, "similarity", (c, n, n), "f")
        _shape(self, "layers", (c,), "iu")
        if len(self.poolings) != c or c < 1:
            raise ValueError(f"poolings and labels must both name the {c} choices (at least one)")

    @property
    def n_choices(self) -> int:
        """Layer/pooling choices compared."""
        return len(self.labels)

    def off_diagonal(self) -> np.ndarray:
        """``(n_choices, n_texts * (n_texts - 1))``: each choice's similarities between different texts."""
        n = len(self.texts)
        mask = ~np.eye(n, dtype=bool)
        return self.similarity[:, mask]
