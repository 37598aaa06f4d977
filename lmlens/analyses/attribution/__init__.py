"""Gradient attribution (saliency, input × gradient, integrated gradients — at a fixed step count
or by accuracy —, DeepLift and AttnLRP with rules for the transformer's non-linearities), batched
over target tokens; the plain-gradient methods equal captum run once per target.

``attribute(model, ids, target_positions, embed=..., method=...)`` returns an
``AttributionResult`` (``scores``, ``norms``, ``delta``, ...). The methods themselves share one
signature, ``method(f, inputs, baselines, **options)``, with ``f`` a ``TargetFunctions``.
captum is imported lazily (``pip install 'lmlens[attribution]'``).

>>> import lmlens  # doctest: +SKIP
>>> from lmlens.analyses.attribution import attribute  # doctest: +SKIP
>>> lens = lmlens.load("smollm2")  # doctest: +SKIP
>>> ids = lens.tokenize("The capital of France is Paris")  # doctest: +SKIP
>>> attribute(lens.model, ids, [6], embed=lens.anatomy.embed_module(lens.model)).delta  # doctest: +SKIP
array([0.0007], dtype=float32)
"""

from .adaptive_ig import adaptive_integrated_gradients
from .attributions import Attributions
from .batched import ATTR_TARGETS, TargetFunctions, gradients_on_inputs_only
from .core import attribute, baseline_embeddings, check_method, greedy_next_token
from .masked import MaskedTargetFunctions
from .merge import merge_targets
from .methods import (
    METHOD_FUNCTIONS,
    attnlrp,
    deeplift,
    input_x_gradient,
    integrated_gradients,
    saliency,
)
from .result import METHOD_LABELS, METHODS, AttributionResult, group_sources
from .targets import continuation_start, generated_positions

__all__ = [
    "ATTR_TARGETS",
    "METHODS",
    "METHOD_FUNCTIONS",
    "METHOD_LABELS",
    "AttributionResult",
    "Attributions",
    "MaskedTargetFunctions",
    "TargetFunctions",
    "adaptive_integrated_gradients",
    "attnlrp",
    "attribute",
    "baseline_embeddings",
    "check_method",
    "continuation_start",
    "deeplift",
    "generated_positions",
    "gradients_on_inputs_only",
    "greedy_next_token",
    "group_sources",
    "input_x_gradient",
    "integrated_gradients",
    "merge_targets",
    "saliency",
]
