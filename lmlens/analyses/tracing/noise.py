"""The corruption of causal tracing: Gaussian noise on the subject's embeddings (ROME's rule).

ROME adds noise of 3× the standard deviation of the token embeddings to the subject's token
embeddings; here the noise is added to the input of block 0 (the ``embed`` site: for GPT-2 the
token embedding plus the position embedding, which receives the same sum) and its scale is 3× the
standard deviation of the model's whole token-embedding matrix. Draws are seeded: the same seed
gives the same noise, hence the same scores.

>>> import torch
>>> g = noise_values(n_samples=2, n_positions=3, d_model=4, std=0.5, seed=0)
>>> g.shape, bool(torch.equal(g, noise_values(n_samples=2, n_positions=3, d_model=4, std=0.5, seed=0)))
(torch.Size([2, 3, 4]), True)
"""

from __future__ import annotations

import torch
from torch import nn

from ...anatomy import Anatomy

#: ROME: noise of this many standard deviations of the token embeddings.
NOISE_SDS = 3.0


def embedding_std(model: nn.Module, anatomy: Anatomy) -> float:
    """Standard deviation of every entry of the token-embedding matrix."""
    w = anatomy.embed_module(model).weight.detach()
    return float(w.float().std())


def noise_std(model: nn.Module, anatomy: Anatomy, noise: float | None) -> tuple[float, str]:
    """``(std, rule)``: ``noise`` itself when given (a positive number), else ROME's
    ``3 × embedding_std``; ``rule`` says which, for the result's notes."""
    if noise is None:
        sd = embedding_std(model, anatomy)
        return NOISE_SDS * sd, f"{NOISE_SDS:g} × the standard deviation of the token embeddings ({sd:.4g})"
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise > 0:
        raise ValueError(f"noise must be a positive number (the noise's standard deviation) or None, got {noise!r}")
    return float(noise), "given"


def noise_values(*, n_samples: int, n_positions: int, d_model: int, std: float, seed: int) -> torch.Tensor:
    """``(n_samples, n_positions, d_model)`` float32 Gaussian draws of standard deviation ``std``
    from a generator seeded with ``seed`` (the global RNG is left alone)."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(n_samples, n_positions, d_model, generator=g) * float(std)
