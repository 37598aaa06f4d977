"""Propagation rules for the transformer's non-linearities: DeepLift's (rescale, products,
softmax, norms with AttnLRP's constant scale; exact, so attributions add up to
``f(x) − f(baseline)``) and AttnLRP's (Achtibat et al. 2024), applied by ``RuleTracer`` during
a model's forward.

``rule_attributions`` runs them on any module and function, once:

>>> attr, fx, fb, tracer = rule_attributions(mlp, lambda t: mlp(t)[:, 3], x, b)  # doctest: +SKIP
>>> float(attr.sum() - (fx - fb).sum())  # doctest: +SKIP
0.0
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..batched import gradients_on_inputs_only
from .tracer import RULE_SETS, RuleMismatch, RuleTracer


def rule_attributions(
    model: nn.Module,
    forward: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    baselines: torch.Tensor | None = None,
    *,
    rules: str = "deeplift",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, RuleTracer]:
    """``(attributions, forward(inputs), forward(baselines), tracer)`` of ``forward(inputs).sum()``.

    DeepLift: ``(inputs − baselines) · multipliers``; AttnLRP: ``inputs · ∇̃`` (``baselines``
    unused, ``forward(baselines)`` returned as None). ``model`` runs in eval mode with its
    parameters frozen (only the inputs are activations); both are restored after.
    """
    tracer = RuleTracer(model, rules)
    fb = None
    with gradients_on_inputs_only(model), torch.enable_grad():
        if rules == "deeplift":
            if baselines is None:
                raise ValueError("deeplift needs baselines")
            with tracer.reference():
                fb = forward(baselines.detach().clone().requires_grad_(True)).detach()
        x = inputs.detach().clone().requires_grad_(True)
        with tracer.explain():
            fx = forward(x)
        (g,) = torch.autograd.grad(fx.sum(), x)
    diff = inputs - baselines if rules == "deeplift" else inputs
    return g * diff, fx.detach(), fb, tracer


__all__ = ["RULE_SETS", "RuleMismatch", "RuleTracer", "rule_attributions"]
