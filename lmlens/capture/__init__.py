"""Capture: hooks placed from the site table, one forward (or padded batches), a ``Trace``."""

from .batch import iter_batches, record_batch
from .budget import DEFAULT_MAX_BYTES, estimate_bytes
from .byte_pieces import labels_for_text, token_label
from .check import self_check
from .dims import model_dims
from .forward_args import ForwardArgs, forward_args, output_cache
from .hooks import hooks
from .modes import attention_for, inference_mode
from .points import available, pattern_source
from .run import record
from .tokens import display_tokens
from .trace import Readout, Trace

__all__ = [
    "DEFAULT_MAX_BYTES", "ForwardArgs", "Readout", "Trace", "attention_for", "available",
    "display_tokens", "estimate_bytes", "forward_args", "hooks", "inference_mode", "iter_batches",
    "labels_for_text", "model_dims", "output_cache", "pattern_source", "record", "record_batch", "self_check",
    "token_label",
]
