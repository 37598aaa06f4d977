"""Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers").

Each block adds its attention output to the residual stream, so a token's representation after a
block is half "itself" and half "what it attended to": the block's attention graph is
``Â = 0.5·Ā + 0.5·I``, ``Ā`` the mean of the block's heads. Rolled out, the attention of the output
of block ``l`` to the input tokens is ``Â_l Â_{l-1} ··· Â_0``; each row still sums to 1.

>>> import numpy as np
>>> a = np.array([[[[1.0, 0.0], [0.5, 0.5]]]])       # one block, one head, 2 tokens
>>> attention_rollout(a)[0].tolist()
[[1.0, 0.0], [0.25, 0.75]]
"""

from __future__ import annotations

import numpy as np


def attention_rollout(patterns: np.ndarray) -> np.ndarray:
    """``(n_blocks, n, n)`` float32: the rollout through each of blocks ``0..n_blocks-1`` from
    their ``(n_blocks, n_heads, n, n)`` attention patterns (every block from the first one on,
    every head; computed in float64).

    >>> attention_rollout(np.full((2, 3, 4, 4), 0.25)).sum(-1).round(6).tolist()[1]
    [1.0, 1.0, 1.0, 1.0]
    """
    p = np.asarray(patterns)
    if p.ndim != 4 or p.shape[2] != p.shape[3]:
        raise ValueError(f"patterns must be (n_blocks, n_heads, n, n), got {p.shape}")
    n = p.shape[-1]
    eye = np.eye(n)
    out = np.empty((p.shape[0], n, n), dtype=np.float32)
    rolled = eye
    for layer in range(p.shape[0]):
        step = 0.5 * p[layer].mean(axis=0, dtype=np.float64) + 0.5 * eye
        rolled = step @ rolled
        out[layer] = rolled
    return out
