"""AttnLRP's rules (Achtibat et al., ICML 2024) in the gradient × input form: relevance at the
input is ``x · ∇̃f(x)`` where ``∇̃`` is the gradient with these changes (one forward, one
backward):

- elementwise activations (SiLU, GELU, ...): the *identity* rule, the gradient through
  ``y = g(a)`` is ``y / a`` (all of the output's relevance goes to the input);
- products of two activations (the gated MLP's ``act(gate) ⊙ up``, attention's ``q·kᵀ`` and
  ``P·v``): the *uniform* rule, each factor gets half of the gradient;
- LayerNorm / RMSNorm: the normalisation's scale is held constant (no gradient through it);
- softmax: the plain gradient (AttnLRP's rule for softmax, a Taylor expansion at the input
  with its bias term absorbed, is the gradient × input); linear layers: the plain gradient.

These are the DeepLift rules of ``deeplift`` with every reference value 0 (``rescale`` becomes
``y / a``, the Shapley split of a product becomes the uniform split), except softmax.

>>> y = identity(torch.nn.functional.silu, a, y)  # doctest: +SKIP
"""

from __future__ import annotations

import torch

from .deeplift import EPS, derivative, zero_with_grad


def identity(fn, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The identity rule for an elementwise activation ``y = fn(a)``: gradient ``y / a``
    (``fn′(a)`` where ``a`` is 0)."""
    ax = a.detach()
    small = ax.abs() < EPS
    m = y.detach() / torch.where(small, torch.ones_like(ax), ax)
    if bool(small.any()):
        m = torch.where(small, derivative(fn, ax).to(m.dtype), m)
    return y.detach() + m * zero_with_grad(a)


def uniform_product(call, pa: int, pc: int, y: torch.Tensor) -> torch.Tensor:
    """The uniform rule for a product ``call`` of activations ``flat[pa]``, ``flat[pc]``."""
    a, c = call.flat[pa], call.flat[pc]
    return y.detach() + 0.5 * (call.replaced({pa: zero_with_grad(a), pc: c.detach()})
                               + call.replaced({pa: a.detach(), pc: zero_with_grad(c)}))


def scaled_gradient(t: torch.Tensor, factor: float) -> torch.Tensor:
    """``t`` with its gradient divided by ``factor``."""
    return t.detach() + zero_with_grad(t) / factor


def attention(call, y: torch.Tensor) -> torch.Tensor:
    """Fused attention: the uniform rule on ``q·kᵀ`` and ``P·v`` with softmax's plain gradient,
    i.e. the gradient reaching ``q`` and ``k`` divided by 4 and ``v``'s by 2."""
    q, k, v = (call.flat[i] for i in call.positions[:3])
    pq, pk, pv = call.positions[:3]
    out = call.replaced({pq: scaled_gradient(q, 4), pk: scaled_gradient(k, 4),
                         pv: scaled_gradient(v, 2)})
    return y.detach() + (out - out.detach())
