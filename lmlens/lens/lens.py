"""``Lens``: a model + tokenizer with every lmlens analysis as a method returning a View.

The Lens is composed, not inherited: ``LensCore`` holds the model, tokenizer and anatomy
(tokenize, trace, generate, self-check), and each analysis family contributes plain functions
``f(lens, x, ...)`` from its own file, listed here as methods. No method overrides another.
"""

from __future__ import annotations

from . import attention, attribution, factors, logit_lens, predictions, probe, tracing
from . import embed as features
from .core import LensCore


class Lens(LensCore):
    """A model + tokenizer with every lmlens analysis as a method returning a View.

    >>> import lmlens  # doctest: +SKIP
    >>> lens = lmlens.Lens(model, tokenizer)  # doctest: +SKIP
    >>> lens.rankings("The capital of France is")  # doctest: +SKIP
    """

    # next-token predictions (lens/predictions.py)
    predictions = predictions.predictions
    # the logit lens (lens/logit_lens.py)
    rankings = logit_lens.rankings
    rankings_watch = logit_lens.rankings_watch
    layer_predictions = logit_lens.layer_predictions
    # gradient attribution (lens/attribution.py)
    attribution = attribution.attribution
    # neuron factors (lens/factors.py)
    neuron_factors = factors.neuron_factors
    neuron_tokens = factors.neuron_tokens
    # attention: heads, model, matrix and pair views (lens/attention.py)
    attention = attention.attention
    # activation patching and causal tracing (lens/tracing.py)
    causal_trace = tracing.causal_trace
    patch = tracing.patch
    # knowledge probes (lens/probe.py)
    probe = probe.probe
    # feature extraction (lens/embed.py)
    embed = features.embed
    embed_file = features.embed_file
    embedding_similarity = features.embedding_similarity
