"""Gradient attribution (saliency, input × gradient, integrated gradients, DeepLift), batched
over target tokens, equal to captum run once per target.

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

from .batched import ATTR_TARGETS, TargetFunctions, gradients_on_inputs_only
from .core import attribute, baseline_embeddings, check_method, greedy_next_token
from .methods import (
    METHOD_FUNCTIONS,
    Attributions,
    PrefixOutput,
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
    "PrefixOutput",
    "TargetFunctions",
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
    "saliency",
]
