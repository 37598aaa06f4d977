"""Activation patching and causal tracing: where in the model is a fact computed?

- ``patch(model, anatomy, clean, corrupted, site=..., layers=..., positions=...)``: one activation
  patch (the clean run's value copied into the corrupted run) → ``PatchResult``;
- ``causal_trace(model, anatomy, ids, subject=[...])``: ROME's causal tracing, every site × layer
  × position restored in turn into a run with the subject's embeddings corrupted →
  ``CausalTraceResult`` (``scores``: ``(n_sites, n_layers, n_positions)``);
- ``engine.run_patches``: many patches as batches of forwards (what both run);
- ``subject_positions``, ``fact_prompt``: the subject's tokens, and a LAMA-style fact as a prompt.

>>> import lmlens  # doctest: +SKIP
>>> lens = lmlens.load("smollm2")  # doctest: +SKIP
>>> lens.causal_trace("The Eiffel Tower is located in the city of", subject="Eiffel Tower")  # doctest: +SKIP
"""

from .causal_trace import DEFAULT_SITES, causal_trace, check_sites, window_layers
from .engine import Base, Cell, run_patches
from .noise import NOISE_SDS, noise_std
from .patch import patch, site_key
from .result import SITE_KEYS, CausalTraceResult, PatchResult
from .subject import Fact, fact_prompt, is_fact, subject_positions

__all__ = [
    "DEFAULT_SITES", "NOISE_SDS", "SITE_KEYS", "Base", "CausalTraceResult", "Cell", "Fact", "PatchResult",
    "causal_trace", "check_sites", "fact_prompt", "is_fact", "noise_std", "patch", "run_patches", "site_key",
    "subject_positions", "window_layers",
]
