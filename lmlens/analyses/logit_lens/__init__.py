"""The logit lens: what each layer would predict if it were the last.

Every layer's residual (the embeddings, then each block's output) goes through the model's own
final norm and head (``lm_head``, or the MLM head of a masked LM), each layer normed with its own
statistics. The last layer is the model's own logits (Hugging Face's last hidden state is already
normed: it is never normed twice). Work is chunked (``decode.py``) so memory stays
bounded whatever the length, and ranks are counted, never sorted:
rank = ``1 + (logits > logits[token]).sum()``.

- ``rankings(trace)``: rank and probability of one token per position at every layer;
- ``rankings_watch(trace, watch=[...], position=-1)``: chosen tokens across layers at one position;
- ``layer_predictions(trace, position=-1, topk=10)``: the top tokens of every layer;
- ``layer_logits(trace, layer)``: one layer's full logits, for checks by hand.

>>> import lmlens  # doctest: +SKIP
>>> from lmlens.analyses.logit_lens import rankings  # doctest: +SKIP
>>> trace = lmlens.load("smollm2").trace("The capital of France is")  # doctest: +SKIP
>>> r = rankings(trace)  # doctest: +SKIP
>>> r.ranks.shape, r.layer_names[:2]  # doctest: +SKIP
((31, 5), ('embed', 'blocks.0.resid_post'))
"""

from .common import POINTS, check_lm_head, check_position, layer_logits, layer_names
from .decode import DEFAULT_CHUNK_BYTES, decode_layers
from .layer_predictions import layer_predictions
from .rankings import rankings
from .result import LayerPredictionsResult, RankingsResult, RankingsWatchResult, WatchResult
from .watch import rankings_watch, resolve_watch

__all__ = [
    "DEFAULT_CHUNK_BYTES", "POINTS", "LayerPredictionsResult", "RankingsResult", "RankingsWatchResult",
    "WatchResult", "check_lm_head", "check_position", "decode_layers", "layer_logits", "layer_names",
    "layer_predictions", "rankings", "rankings_watch", "resolve_watch",
]
