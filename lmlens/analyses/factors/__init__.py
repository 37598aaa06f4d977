"""Neuron factors: which groups of FFN neurons fire together over a text (NMF), and what a
neuron writes (the tokens its output direction promotes and suppresses).

- ``neuron_factors(trace, n_factors=8, layers=None, positive="clip")``: NMF of the
  ``blocks.{i}.mlp.post`` activations (``nmf.py``; the matrix: ``matrix.py``; the solver,
  accelerated HALS: ``hals.py``);
- ``neuron_tokens(decoder, neurons, k=10)``: each neuron's down-projection column decoded through
  the final norm's scale and the unembedding (``neuron_tokens.py``).

>>> import lmlens  # doctest: +SKIP
>>> lens = lmlens.load("smollm2")  # doctest: +SKIP
>>> r = lens.neuron_factors("The capital of France is", n_factors=4).result  # doctest: +SKIP
>>> r.activations.shape, r.neuron_index[:2].tolist()  # doctest: +SKIP
((4, 5), [[0, 0], [0, 1]])
"""

from . import hals
from .matrix import POINTS, ActivationMatrix, activation_matrix, select_layers
from .neuron_tokens import (
    NeuronReadout,
    check_neurons,
    decode_directions,
    down_columns,
    neuron_tokens,
    norm_scale,
)
from .nmf import INITS, MAX_ITER, TOL, neuron_factors
from .result import POSITIVE, NeuronFactorsResult, NeuronTokensResult

__all__ = [
    "INITS", "MAX_ITER", "POINTS", "POSITIVE", "TOL", "ActivationMatrix", "NeuronFactorsResult",
    "NeuronReadout", "NeuronTokensResult", "activation_matrix", "check_neurons", "decode_directions",
    "down_columns", "hals", "neuron_factors", "neuron_tokens", "norm_scale", "select_layers",
]
