"""The gradient methods, batched over targets, with one signature (captum style):

``method(f, inputs, baselines, **options) -> Attributions`` where ``f`` is a ``TargetFunctions``
(every target's log-probability, or probability, as a function of the input embeddings), ``inputs`` and
``baselines`` are ``(n_inputs, d_model)`` embeddings. Saliency, input × gradient and integrated
gradients at a fixed ``n_steps`` equal captum's class of the same name called once per target on
that target's prefix (``Saliency(abs=False)``, ``InputXGradient``, ``IntegratedGradients``); the
tests check it. Integrated gradients with ``tol`` pick their path points per target
(``adaptive_ig``); DeepLift and AttnLRP apply rules to the non-linearities (``rule_methods``).

>>> a = integrated_gradients(f, x, torch.zeros_like(x), n_steps=50)  # doctest: +SKIP
>>> a.attr.shape, a.delta.shape  # doctest: +SKIP
(torch.Size([20, 39, 576]), torch.Size([20]))
"""

from __future__ import annotations

import math

import torch

from ._captum import ig_alphas
from .adaptive_ig import MAX_STEPS, adaptive_integrated_gradients, check_tol
from .attributions import Attributions, endpoints, progress_bar
from .batched import ROWS_PER_FORWARD, TargetFunctions
from .rule_methods import attnlrp, deeplift


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


def integrated_gradients(
    f: TargetFunctions,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    *,
    n_steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int | None = None,
    progress: bool | None = None,
    tol: float | None = None,
    max_steps: int = MAX_STEPS,
) -> Attributions:
    """``(x − b) · Σ_k w_k ∇f_j(b + α_k (x − b))`` with captum's alphas and weights for
    ``method``; ``internal_batch_size`` path points per forward (None: as many as keep a forward
    near ``ROWS_PER_FORWARD`` token rows, which bounds memory).

    With ``tol`` (e.g. 0.01), ``n_steps`` is not used: each target's path is cut into panels of
    a few Gauss–Legendre nodes, split where the panel's own completeness check fails, until
    its relative completeness gap ``|δ| / |f(x) − f(b)|`` is at most ``tol`` or it has
    ``max_steps`` gradient points; ``steps`` says how many (see ``adaptive_ig``).
    """
    if internal_batch_size is not None and (
        not isinstance(internal_batch_size, int) or internal_batch_size < 1
    ):
        raise ValueError(
            f"internal_batch_size must be a positive int or None, got {internal_batch_size!r}"
        )
    if tol is not None:
        check_tol(tol, max_steps)
        if method != "gausslegendre":
            raise ValueError(
                f"tol works with ig_method='gausslegendre' (on panels), got {method!r}"
            )
        return adaptive_integrated_gradients(f, inputs, baselines, tol=tol, max_steps=max_steps,
                                             internal_batch_size=internal_batch_size,
                                             progress=progress)
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive int, got {n_steps!r}")
    step_sizes, alphas = ig_alphas(n_steps, method)
    if internal_batch_size is None:
        internal_batch_size = max(1, ROWS_PER_FORWARD // f.n_inputs)
    batch = min(n_steps, internal_batch_size)
    n = f.n_inputs
    x, b = inputs[:n], baselines[:n]
    diff = x.float() - b.float()
    # the path in float32 (float64 for a float64 model), then the model's dtype: a bfloat16
    # alpha or difference would carry 3 digits
    work = torch.promote_types(x.dtype, torch.float32)
    start_w, diff_w = b.to(work), x.to(work) - b.to(work)
    total = None
    n_chunks = math.ceil(n_steps / batch)
    with progress_bar(n_chunks, progress, "integrated gradients") as bar:
        for c in range(0, n_steps, batch):
            a = torch.tensor(alphas[c:c + batch], dtype=work, device=x.device)
            points = (start_w[None] + a[:, None, None] * diff_w[None]).to(x.dtype)
            g = f.weighted_grads(points, torch.tensor(step_sizes[c:c + batch]))
            total = g if total is None else total + g
            bar.update(1)
    attr = total * diff[None]
    end, start = endpoints(f, x, b)
    delta = attr.sum(dim=(1, 2)) - (end - start)
    return Attributions(attr=attr, values=end, delta=delta, baseline_values=start)


#: method name → function, all with the signature ``(f, inputs, baselines, **options)``.
METHOD_FUNCTIONS = {
    "integrated_gradients": integrated_gradients,
    "saliency": saliency,
    "input_x_gradient": input_x_gradient,
    "deeplift": deeplift,
    "attnlrp": attnlrp,
}
