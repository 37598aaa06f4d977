"""Capture: hooks in a context manager, one forward, a ``Trace``."""

from .budget import DEFAULT_MAX_BYTES, estimate_bytes
from .forward_args import ForwardArgs, forward_args, output_cache
from .hooks import hooks
from .run import attention_for, inference_mode, record
from .tokens import display_tokens
from .trace import Readout, Trace

__all__ = [
    "DEFAULT_MAX_BYTES", "ForwardArgs", "Readout", "attention_for", "Trace", "display_tokens",
    "estimate_bytes", "forward_args", "hooks", "inference_mode", "output_cache", "record",
]
