"""Model state for a capture, restored after: eval mode, and the attention implementation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


def attn_impl(model: nn.Module) -> str | None:
    """The model's attention implementation (``"eager"``, ``"sdpa"``, ...) or None."""
    return getattr(getattr(model, "config", None), "_attn_implementation", None)


def _can_sdpa(model: nn.Module) -> bool:
    can_set = getattr(model, "_can_set_attn_implementation", None)
    return bool(getattr(model, "_supports_sdpa", False)) and bool(can_set and can_set())


@contextmanager
def attention_for(model: nn.Module, patterns: bool) -> Iterator[None]:
    """Eager attention when patterns are wanted (only eager returns them); otherwise SDPA where
    the model supports it (1.8x faster at 1024 tokens). The previous setting is restored after."""
    before = attn_impl(model)
    if patterns:
        want = "eager"
    else:
        want = "sdpa" if before == "eager" and _can_sdpa(model) else before
    switch = want != before and hasattr(model, "set_attn_implementation")
    if switch:
        model.set_attn_implementation(want)
    try:
        yield
    finally:
        if switch:
            model.set_attn_implementation(before)


@contextmanager
def inference_mode(model: nn.Module) -> Iterator[None]:
    """``eval()`` for the duration; every submodule's training flag is restored after, also on
    error (a model may be half in training mode on purpose)."""
    modes = [(m, m.training) for m in model.modules()]
    if not any(t for _, t in modes):  # the usual case: nothing to switch or restore
        yield
        return
    model.eval()
    try:
        yield
    finally:
        for m, was_training in modes:
            m.training = was_training
