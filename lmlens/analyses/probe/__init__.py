"""Knowledge probes (LAMA): plan each fact's sentence, score the object (over the vocabulary or
among candidates), and gather ranks, precision per relation and the logit lens into a
``ProbeResult``. The forward passes are the lens's (``lens/probe.py``); everything here is a pure
function of token ids, logits and traces.
"""

from .assemble import first_top_layer, precision, probe_result
from .encode import Encoded, SlotEncoder
from .plan import MODES, Query, candidate_sets, ends_sentence, masked_ids, plan_queries
from .result import ProbeResult
from .score import Choice, candidate_choice, causal_loglik, masked_loglik, vocab_choice

__all__ = [
    "MODES", "Choice", "Encoded", "ProbeResult", "Query", "SlotEncoder", "candidate_choice",
    "candidate_sets", "causal_loglik", "ends_sentence", "first_top_layer", "masked_ids",
    "masked_loglik", "plan_queries", "precision", "probe_result", "vocab_choice",
]
