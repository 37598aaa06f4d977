"""Attention: where each head attends, value-weighted norms and attention rollout.

- ``attention(trace, layers=None, heads=None, hide=(), weighting="attention")``: the
  ``blocks.{i}.attn.pattern`` points of the chosen blocks and heads (``patterns.py``);
- ``weighting="norm"``: ``‖α_ij f(x_j)‖`` from the ``blocks.{i}.attn.v`` points and the model's
  output projections (``norms.py``, Kobayashi et al. 2020);
- ``attention_rollout``: the residual-aware product of head-mean attention across blocks
  (``rollout.py``, Abnar & Zuidema 2020).

>>> import lmlens  # doctest: +SKIP
>>> r = lmlens.load("minilm").attention("The capital of France is Paris.").result  # doctest: +SKIP
>>> r.patterns.shape  # doctest: +SKIP
(6, 12, 10, 10)
"""

from .norms import head_output_norms
from .patterns import attention, points
from .result import WEIGHTINGS, AttentionResult, renormalise
from .rollout import attention_rollout

__all__ = [
    "WEIGHTINGS", "AttentionResult", "attention", "attention_rollout", "head_output_norms", "points",
    "renormalise",
]
