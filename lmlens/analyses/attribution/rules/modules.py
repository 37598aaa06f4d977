"""Modules a rule pass treats as one operation: elementwise activation modules (GELU written out
as ``0.5·x·(1 + tanh(…))`` is one non-linearity, not a product and a tanh) and normalisation
modules written with primitives (``LlamaRMSNorm``: ``w · x · rsqrt(mean(x²) + ε)``), whose scale
AttnLRP holds constant. Each candidate is probed on random numbers before it is trusted: an
activation must commute with a permutation of its elements, a norm must equal one of the known
formulas. ``nn.LayerNorm`` / ``nn.RMSNorm`` need no entry: their ``F.layer_norm`` /
``F.rms_norm`` call is ruled as an operation.

>>> specs = norm_modules(model)  # doctest: +SKIP
>>> next(iter(specs.values())).centered  # doctest: +SKIP
False
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from ....capture.devices import execution_device, materialized, model_dtype

_ACTIVATION_NAME = re.compile(r"gelu|silu|swish|relu|mish|tanh|sigmoid|softplus|activation", re.I)
_NOT_ACTIVATIONS = (nn.Softmax, nn.LogSoftmax, nn.Softmin, nn.GLU, nn.MultiheadAttention,
                    nn.Identity, nn.Dropout)
_TORCH_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase,
                getattr(nn, "RMSNorm", nn.LayerNorm))
_EPS_NAMES = ("variance_epsilon", "eps", "epsilon", "layer_norm_eps", "norm_eps")


@dataclass(frozen=True)
class NormSpec:
    """How a norm module computes ``y = weight · (x − mean) · s + bias``, ``s = (mean((x −
    mean)²) + eps)^−½`` (``centered=False``: no mean is subtracted, RMSNorm)."""

    module: nn.Module
    centered: bool
    plus_one: bool
    eps: float

    @property
    def weight(self) -> torch.Tensor | None:
        """The effective weight (``1 + weight`` for Gemma-style norms), float32, a copy (read
        while accelerate has an offloaded module's weights loaded)."""
        with materialized(self.module):
            w = getattr(self.module, "weight", None)
            if w is None:
                return None
            return (1 + w.detach().float()) if self.plus_one else w.detach().float().clone()

    @property
    def bias(self) -> torch.Tensor | None:
        with materialized(self.module):
            b = getattr(self.module, "bias", None)
            return None if b is None else b.detach().float().clone()


def _probe(module: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    try:
        with torch.no_grad():
            y = module.forward(x)
    except Exception:  # noqa: BLE001 - a module that cannot run on a plain tensor is no candidate
        return None
    return y if isinstance(y, torch.Tensor) else None


def _param_device_dtype(module: nn.Module, model: nn.Module) -> tuple[torch.device, torch.dtype]:
    # where it computes (accelerate may keep offloaded weights on ``meta``); a parameter-free
    # module: where the model computes
    has_own = any(True for _ in module.parameters()) or getattr(module, "_hf_hook", None) is not None
    return execution_device(module if has_own else model), model_dtype(model)


def is_elementwise_activation(module: nn.Module, model: nn.Module | None = None) -> bool:
    """A parameter-free leaf module named like an activation that maps a tensor elementwise
    (probed: it commutes with a random permutation of its input's elements)."""
    if isinstance(module, _NOT_ACTIVATIONS) or any(True for _ in module.children()):
        return False
    if any(True for _ in module.parameters()):
        return False
    mod = type(module).__module__
    if not (mod.startswith("torch.nn.modules.activation") or mod.startswith("transformers.activations")
            or _ACTIVATION_NAME.search(type(module).__name__)):
        return False
    device, dtype = _param_device_dtype(module, model or module)
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(4, 6, generator=g) * 2).to(device, dtype)
    perm = torch.randperm(24, generator=g).to(device)
    y = _probe(module, x)
    yp = _probe(module, x.flatten()[perm].view(4, 6))
    if y is None or yp is None or y.shape != x.shape:
        return False
    return bool(torch.allclose(y.flatten()[perm].view(4, 6), yp, rtol=1e-4, atol=1e-5))


def _norm_formula(x: torch.Tensor, spec: NormSpec) -> torch.Tensor:
    x = x.float()
    u = x - x.mean(-1, keepdim=True) if spec.centered else x
    y = u * torch.rsqrt(u.pow(2).mean(-1, keepdim=True) + spec.eps)
    if spec.weight is not None:
        y = y * spec.weight
    if spec.bias is not None:
        y = y + spec.bias
    return y


def norm_spec(module: nn.Module, model: nn.Module | None = None) -> NormSpec | None:
    """The ``NormSpec`` of a normalisation module written with primitives, or None (not a norm,
    a torch norm that is ruled as an operation, or a formula that matches none we know)."""
    if isinstance(module, _TORCH_NORMS) or "norm" not in type(module).__name__.lower():
        return None
    w = getattr(module, "weight", None)
    if not isinstance(w, torch.Tensor) or w.dim() != 1 or any(True for _ in module.children()):
        return None
    eps = next((getattr(module, n) for n in _EPS_NAMES if isinstance(getattr(module, n, None), float)),
               None)
    if eps is None:
        return None
    d = int(w.shape[0])
    device, dtype = _param_device_dtype(module, model or module)
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(3, d, generator=g) * 1.5 + 0.3).to(device, dtype)
    y = _probe(module, x)
    if y is None or y.shape != x.shape:
        return None
    for centered in (False, True):
        for plus_one in (False, True):
            spec = NormSpec(module, centered, plus_one, float(eps))
            want = _norm_formula(x, spec)
            if torch.allclose(y.float(), want, rtol=1e-4, atol=1e-5):
                return spec
    return None


def activation_modules(model: nn.Module) -> list[nn.Module]:
    """Every elementwise activation module of ``model`` (see ``is_elementwise_activation``)."""
    return [m for m in model.modules() if is_elementwise_activation(m, model)]


def norm_modules(model: nn.Module) -> dict[nn.Module, NormSpec]:
    """Every primitive-written norm module of ``model`` with its ``NormSpec``."""
    out = {}
    for m in model.modules():
        spec = norm_spec(m, model)
        if spec is not None:
            out[m] = spec
    return out
