"""The four gradient methods, batched over targets, with one signature (captum style):

``method(f, inputs, baselines, **options) -> Attributions`` where ``f`` is a ``TargetFunctions``
(every target's log-probability, or probability, as a function of the input embeddings), ``inputs`` and
``baselines`` are ``(n_inputs, d_model)`` embeddings. Each equals captum's class of the same name
called once per target on that target's prefix (``Saliency(abs=False)``, ``InputXGradient``,
``IntegratedGradients``, ``DeepLift``); the tests check it.

>>> a = integrated_gradients(f, x, torch.zeros_like(x), n_steps=50)  # doctest: +SKIP
>>> a.attr.shape, a.delta.shape  # doctest: +SKIP
(torch.Size([20, 39, 576]), torch.Size([20]))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ...capture import forward_args
from ._captum import captum_attr, deeplift_rule_modules, ig_alphas
from .batched import TargetFunctions

#: Note stored on DeepLift results when captum has no rules for the model's non-linearities.
DEEPLIFT_NOTE = (
    "captum's DeepLift has no rules for this model's non-linearities ({found}), so here it equals "
    "gradient × (input − baseline), computed at the input: its attributions do not add up to "
    "f(input) − f(baseline) (see delta). Integrated gradients do."
)
#: Note stored on DeepLift results when captum does have rules for some modules.
DEEPLIFT_RULES_NOTE = (
    "captum's DeepLift rules apply to {rules}; other non-linearities ({found}) fall back to plain "
    "gradients, so completeness holds only approximately (see delta). Computed with captum, one "
    "call per target."
)


#: Token rows (path points × tokens) per integrated-gradients forward when internal_batch_size
#: is None: large enough for efficient matrix products, small enough to bound memory.
IG_ROWS_PER_FORWARD = 512


@dataclass(frozen=True)
class Attributions:
    """What a method returns, before reduction over ``d_model``.

    Fields:
        attr: ``(n_targets, n_inputs, d_model)`` attribution of each target to each input vector
            (exactly 0 at and after each target's position).
        values: ``(n_targets,)`` ``f(inputs)``, the target log-probabilities (or probabilities).
        delta: ``(n_targets,)`` ``attr[j].sum() − (f(inputs) − f(baselines))`` or None.
        baseline_values: ``(n_targets,)`` ``f(baselines)`` or None.
        note: what to know about the numbers (empty for most methods).
    """

    attr: torch.Tensor
    values: torch.Tensor
    delta: torch.Tensor | None = None
    baseline_values: torch.Tensor | None = None
    note: str = ""


def _progress(total: int, progress: bool | None, desc: str):
    from tqdm import tqdm

    # None: show the bar only for runs that last (tqdm's delay), never for quick ones
    return tqdm(total=total, desc=desc, disable=progress is False or total <= 1,
                delay=0 if progress else 3.0, leave=False)


def saliency(f: TargetFunctions, inputs: torch.Tensor, baselines: torch.Tensor | None = None,
             *, progress: bool | None = None) -> Attributions:
    """The gradient ``∇f_j(x)`` (signed; captum's ``Saliency(abs=False)``). ``baselines`` unused."""
    grads, values = f.grads_and_values(inputs[None], torch.ones(1))
    return Attributions(attr=grads, values=values[0])


def input_x_gradient(f: TargetFunctions, inputs: torch.Tensor, baselines: torch.Tensor | None = None,
                     *, progress: bool | None = None) -> Attributions:
    """``x · ∇f_j(x)`` (captum's ``InputXGradient``). ``baselines`` unused."""
    grads, values = f.grads_and_values(inputs[None], torch.ones(1))
    x = inputs[: f.n_inputs].float()
    return Attributions(attr=grads * x[None], values=values[0])


def _endpoints(f: TargetFunctions, inputs: torch.Tensor, baselines: torch.Tensor):
    v = f.values(torch.stack([inputs, baselines]))
    return v[0], v[1]


def integrated_gradients(
    f: TargetFunctions,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    *,
    n_steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int | None = None,
    progress: bool | None = None,
) -> Attributions:
    """``(x − b) · Σ_k w_k ∇f_j(b + α_k (x − b))`` with captum's alphas and weights for
    ``method``; ``internal_batch_size`` path points per forward (None: as many as keep a forward
    near ``IG_ROWS_PER_FORWARD`` token rows, which bounds memory)."""
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive int, got {n_steps!r}")
    if internal_batch_size is not None and (
        not isinstance(internal_batch_size, int) or internal_batch_size < 1
    ):
        raise ValueError(
            f"internal_batch_size must be a positive int or None, got {internal_batch_size!r}"
        )
    step_sizes, alphas = ig_alphas(n_steps, method)
    if internal_batch_size is None:
        internal_batch_size = max(1, IG_ROWS_PER_FORWARD // f.n_inputs)
    batch = min(n_steps, internal_batch_size)
    n = f.n_inputs
    x, b = inputs[:n], baselines[:n]
    diff = (x - b).float()
    total = None
    n_chunks = math.ceil(n_steps / batch)
    with _progress(n_chunks, progress, "integrated gradients") as bar:
        for c in range(0, n_steps, batch):
            a = torch.tensor(alphas[c:c + batch], dtype=x.dtype, device=x.device)
            points = b[None] + a[:, None, None] * (x - b)[None]
            g = f.weighted_grads(points, torch.tensor(step_sizes[c:c + batch]))
            total = g if total is None else total + g
            bar.update(1)
    attr = total * diff[None]
    end, start = _endpoints(f, x, b)
    delta = attr.sum(dim=(1, 2)) - (end - start)
    return Attributions(attr=attr, values=end, delta=delta, baseline_values=start)


def _nonlinear_names(model: nn.Module) -> str:
    acts = sorted({type(m).__name__ for m in model.modules()
                   if "act" in type(m).__name__.lower() or "norm" in type(m).__name__.lower()
                   or type(m).__name__ in ("GELU", "SiLU", "Mish")})
    return ", ".join(acts + ["functional softmax in attention"]) if acts else "functional softmax in attention"


def deeplift(
    f: TargetFunctions,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    *,
    progress: bool | None = None,
) -> Attributions:
    """captum's ``DeepLift`` (``multiply_by_inputs=True``) against ``baselines``.

    captum's rules replace only ``nn.ReLU``, ``nn.Sigmoid``, ``nn.Softmax`` and similar module
    instances. Where the model has none of them (GPT-2, Llama, ...: GELU/SiLU activations,
    functional softmax, LayerNorm/RMSNorm), DeepLift equals ``(x − b) · ∇f(x)``, computed here
    batched; the result's ``note`` says so. Otherwise captum runs once per target.
    """
    n = f.n_inputs
    x, b = inputs[:n], baselines[:n]
    rules = deeplift_rule_modules()
    with_rules = sorted({type(m).__name__ for m in f.model.modules() if isinstance(m, rules)})
    end, start = _endpoints(f, x, b)
    if not with_rules:
        grads = f.weighted_grads(x[None], torch.ones(1))
        attr = grads * (x - b).float()[None]
        note = DEEPLIFT_NOTE.format(found=_nonlinear_names(f.model))
    else:
        attr = _captum_deeplift(f, x, b, progress=progress)
        note = DEEPLIFT_RULES_NOTE.format(rules=", ".join(with_rules), found=_nonlinear_names(f.model))
    delta = attr.sum(dim=(1, 2)) - (end - start)
    return Attributions(attr=attr, values=end, delta=delta, baseline_values=start, note=note)


class PrefixOutput(nn.Module):
    """``inputs_embeds (batch, p, d) → log_softmax(logits[:, -1])`` (``softmax`` with
    ``attr_target="prob"``): a causal LM as captum wants it for one target (a Module taking its
    tensor positionally and returning a Tensor)."""

    def __init__(self, model: nn.Module, attr_target: str = "log_prob") -> None:
        super().__init__()
        self.model = model
        self.attr_target = attr_target

    def forward(self, inputs_embeds: torch.Tensor) -> torch.Tensor:
        out = self.model(inputs_embeds=inputs_embeds, **forward_args(self.model).kwargs(use_cache=False))
        logits = out.logits if hasattr(out, "logits") else out[0]
        if self.attr_target == "prob":
            return torch.softmax(logits[:, -1].float(), dim=-1)
        return torch.log_softmax(logits[:, -1].float(), dim=-1)


def _captum_deeplift(f: TargetFunctions, x: torch.Tensor, b: torch.Tensor, *, progress) -> torch.Tensor:
    attr_mod = captum_attr()
    dl = attr_mod.DeepLift(PrefixOutput(f.model, f.attr_target))
    out = torch.zeros(f.n_targets, *x.shape, dtype=torch.float32, device=x.device)
    with _progress(f.n_targets, progress, "deeplift") as bar:
        for j, (row, tid) in enumerate(zip(f.rows.tolist(), f.target_ids.tolist(), strict=True)):
            p = row + 1
            a = dl.attribute(x[None, :p].detach().clone(), baselines=b[None, :p], target=int(tid))
            out[j, :p] = a[0].detach().float()
            bar.update(1)
    return out


#: method name → function, all with the signature ``(f, inputs, baselines, **options)``.
METHOD_FUNCTIONS = {
    "integrated_gradients": integrated_gradients,
    "saliency": saliency,
    "input_x_gradient": input_x_gradient,
    "deeplift": deeplift,
}
