"""DeepLift and AttnLRP over every target at once: the rules of ``rules`` applied during the
shared forward (``TargetFunctions.forward_context``), then the batched backward that saliency
uses — so each costs about one saliency (DeepLift: plus one forward of the baseline).

>>> a = deeplift(f, x, torch.zeros_like(x))  # doctest: +SKIP
>>> float((a.attr.sum(dim=(1, 2)) - (a.values - a.baseline_values)).abs().max())  # doctest: +SKIP
3e-06
"""

from __future__ import annotations

from collections import Counter

import torch

from .attributions import Attributions, endpoints
from .batched import TargetFunctions
from .rules import RuleMismatch, RuleTracer

#: Note when every non-linear operation had a DeepLift rule.
DEEPLIFT_NOTE = (
    "DeepLift with rules for every non-linearity here ({applied}): the rescale rule for "
    "elementwise functions, products split as Shapley values (AttnLRP's uniform rule from a zero "
    "reference), exact softmax and log-softmax rules, and LayerNorm/RMSNorm with the scale held "
    "as in AttnLRP. Attributions add up to f(input) − f(baseline) (delta is rounding)."
)
#: Note when some non-linear operations had no rule.
DEEPLIFT_MISSING_NOTE = (
    "DeepLift has no rule for {missing}: there the plain gradient was used, so attributions add up "
    "to f(input) − f(baseline) only approximately (see delta). Rules used: {applied}."
)
#: Note when the rules could not run and DeepLift fell back to gradient × (input − baseline).
DEEPLIFT_FALLBACK_NOTE = (
    "DeepLift's rules could not run on this model ({reason}), so here it equals gradient × "
    "(input − baseline), computed at the input: its attributions do not add up to "
    "f(input) − f(baseline) (see delta). Integrated gradients do."
)
#: Note on every AttnLRP result.
ATTNLRP_NOTE = (
    "AttnLRP (Achtibat et al. 2024): relevance = input × gradient with the identity rule on "
    "activations, the uniform rule on products (attention's q·kᵀ and P·v, gated MLPs), the "
    "norms' scale held constant and softmax's plain gradient ({applied}). Relevances need not "
    "add up to f(input): biases and softmax absorb some."
)
ATTNLRP_MISSING_NOTE = "AttnLRP has no rule for {missing}: the plain gradient was used there."


def _summary(counts: Counter) -> str:
    return ", ".join(f"{name} ×{n}" for name, n in sorted(counts.items()))


def _explained(f: TargetFunctions, tracer: RuleTracer, x: torch.Tensor):
    """``(gradients (n_targets, n, d), f(x))`` with ``tracer.explain`` around the forward."""
    previous = f.forward_context
    f.forward_context = tracer.explain
    try:
        grads, values = f.grads_and_values(x[None], torch.ones(1))
    finally:
        f.forward_context = previous
    return grads, values[0]


def _reference(f: TargetFunctions, tracer: RuleTracer, b: torch.Tensor) -> torch.Tensor:
    """``f(b)`` ``(n_targets,)`` from the baseline's forward, recorded by ``tracer``."""
    bl = b[None].detach().clone().requires_grad_(True)
    values = torch.zeros(f.n_targets, dtype=torch.float32, device=b.device)
    pieces = f.plan_for(bl)
    with torch.enable_grad(), tracer.reference():
        for js, v in f._run(bl, pieces):
            values[js] = v.detach()[0].float()
    return values


def deeplift(
    f: TargetFunctions,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    *,
    progress: bool | None = None,
) -> Attributions:
    """DeepLift with rules for the transformer's non-linearities (see ``rules.deeplift``):
    ``(x − b) · m`` where ``m`` are the rules' multipliers, from one forward of the baseline,
    one of the input and the batched backward.

    Summation-to-delta holds where every non-linear operation has a rule (``delta`` is then
    rounding); one without keeps its plain gradient and the note names it. Where the rules
    cannot run at all (the input's forward runs other operations than the baseline's), DeepLift
    falls back to gradient × (input − baseline), with a note.
    """
    n = f.n_inputs
    x, b = inputs[:n], baselines[:n]
    tracer = RuleTracer(f.model, "deeplift")
    try:
        start = _reference(f, tracer, b)
        grads, end = _explained(f, tracer, x)
        if tracer.missing:
            note = DEEPLIFT_MISSING_NOTE.format(missing=_summary(tracer.missing),
                                                applied=_summary(tracer.applied))
        else:
            note = DEEPLIFT_NOTE.format(applied=_summary(tracer.applied))
    except RuleMismatch as e:
        end, start = endpoints(f, x, b)
        grads = f.weighted_grads(x[None], torch.ones(1))
        note = DEEPLIFT_FALLBACK_NOTE.format(reason=e)
    attr = grads * (x - b).float()[None]
    delta = attr.sum(dim=(1, 2)) - (end - start)
    return Attributions(attr=attr, values=end, delta=delta, baseline_values=start, notes=(note,))


def attnlrp(
    f: TargetFunctions,
    inputs: torch.Tensor,
    baselines: torch.Tensor | None = None,
    *,
    progress: bool | None = None,
) -> Attributions:
    """AttnLRP (see ``rules.lrp``): ``x · ∇̃f(x)``, one forward and the batched backward, as
    saliency costs. ``baselines`` unused (LRP has none); no ``delta``."""
    n = f.n_inputs
    x = inputs[:n]
    tracer = RuleTracer(f.model, "attnlrp")
    grads, values = _explained(f, tracer, x)
    notes = [ATTNLRP_NOTE.format(applied=_summary(tracer.applied))]
    if tracer.missing:
        notes.append(ATTNLRP_MISSING_NOTE.format(missing=_summary(tracer.missing)))
    return Attributions(attr=grads * x.float()[None], values=values, notes=tuple(notes))
