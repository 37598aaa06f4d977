"""``Attributions``: what every method returns before reduction over ``d_model``, and two helpers
the methods share (the endpoint values ``f(x)``, ``f(b)`` and a progress bar)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .batched import TargetFunctions


@dataclass(frozen=True)
class Attributions:
    """What a method returns, before reduction over ``d_model``.

    Fields:
        attr: ``(n_targets, n_inputs, d_model)`` attribution of each target to each input vector
            (exactly 0 at and after each target's position for a causal LM).
        values: ``(n_targets,)`` ``f(inputs)``, the target log-probabilities (or probabilities).
        delta: ``(n_targets,)`` ``attr[j].sum() − (f(inputs) − f(baselines))`` or None.
        baseline_values: ``(n_targets,)`` ``f(baselines)`` or None.
        steps: ``(n_targets,)`` int, quadrature nodes integrated gradients used per target
            (adaptive IG; None for the other methods and a fixed ``n_steps``).
        notes: what to know about the numbers (empty for most methods).
    """

    attr: torch.Tensor
    values: torch.Tensor
    delta: torch.Tensor | None = None
    baseline_values: torch.Tensor | None = None
    steps: torch.Tensor | None = None
    notes: tuple[str, ...] = ()


def endpoints(f: TargetFunctions, inputs: torch.Tensor, baselines: torch.Tensor):
    """``(f(inputs), f(baselines))``, each ``(n_targets,)``, from one plain forward."""
    v = f.values(torch.stack([inputs, baselines]))
    return v[0], v[1]


def progress_bar(total: int, progress: bool | None, desc: str):
    """A tqdm bar; ``progress=None`` shows it only for runs that last (tqdm's delay)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=progress is False or total <= 1,
                delay=0 if progress else 3.0, leave=False)
