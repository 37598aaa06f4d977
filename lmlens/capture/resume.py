"""Resume a causal LM's forward part-way, from work already done: after a prefix of positions
(its KV cache) and at a later block (the residual stream there).

Activation patching runs many forwards that agree with one base run up to the patched cell:
before the patched position (a causal model's earlier positions never see later ones) and below
the patched layer. ``prefix_cache`` runs the base prefix once; ``tile_cache`` copies it for a
batch; ``resumed(model, anatomy, layer, hidden)`` makes the blocks below ``layer`` return at once
(block ``layer - 1`` returns ``hidden``, the base run's residual there), so only the blocks from
``layer`` on compute. Each block's ``forward`` is swapped on the instance and put back in
``finally``, also when the forward raises.

Whether both together reproduce a full forward is checked per model by the caller
(``analyses/tracing/engine.py``); a model for which they do not runs full forwards.

>>> import torch, transformers
>>> from lmlens.anatomy import discover
>>> cfg = transformers.GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=50, n_positions=32)
>>> model = transformers.GPT2LMHeadModel(cfg).eval()
>>> hidden = torch.zeros(1, 3, 16)
>>> with resumed(model, discover(model), 1, hidden), torch.no_grad():  # block 0 does no work
...     out = model(torch.tensor([[1, 2, 3]]))
>>> "forward" in vars(model.transformer.h[0])  # put back
False
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from ..anatomy import Anatomy
from .forward_args import forward_args, output_cache
from .modes import inference_mode

_MISSING = object()
#: Per model: how a block returns its residual (None: a tensor; k: element 0 of a k-tuple).
_FORMATS: weakref.WeakKeyDictionary[nn.Module, int | None] = weakref.WeakKeyDictionary()


def block_output_format(model: nn.Module, anatomy: Anatomy) -> int | None:
    """None when a block returns its residual as a tensor, ``k`` when as element 0 of a
    ``k``-tuple (found once per model by a 2-token forward)."""
    if model not in _FORMATS:
        seen: list[int | None] = []

        def post(mod, args, out):
            seen.append(len(out) if isinstance(out, (tuple, list)) else None)

        ids = torch.tensor([[1, 2]], device=next(model.parameters()).device)
        handle = anatomy.block_list(model)[0].register_forward_hook(post)
        try:
            with inference_mode(model), torch.no_grad():
                model(input_ids=ids, attention_mask=torch.ones_like(ids), **forward_args(model).kwargs(use_cache=False))
        finally:
            handle.remove()
        _FORMATS[model] = seen[0] if seen else None
    return _FORMATS[model]


@contextmanager
def resumed(model: nn.Module, anatomy: Anatomy, layer: int, hidden: torch.Tensor | None) -> Iterator[None]:
    """Within the block, a forward of ``model`` skips blocks ``0 .. layer - 1``: they return their
    input unchanged, and block ``layer - 1`` returns ``hidden`` (``(batch, n_positions, d_model)``,
    the residual after it), so the forward computes from block ``layer`` on. ``layer == 0``
    changes nothing. The blocks' own ``forward`` is restored on exit, also on error."""
    if layer <= 0:
        yield
        return
    if hidden is None:
        raise ValueError(f"resumed: layer={layer} needs the residual after block {layer - 1}")
    fmt = block_output_format(model, anatomy)
    blocks = anatomy.block_list(model)

    def wrap(value: torch.Tensor) -> Any:
        return value if fmt is None else (value, *([None] * (fmt - 1)))

    saved: list[tuple[nn.Module, Any]] = []
    try:
        for j in range(min(layer, len(blocks))):
            block = blocks[j]
            saved.append((block, vars(block).get("forward", _MISSING)))
            last = j == layer - 1

            def forward(*args: Any, _last: bool = last, **kwargs: Any) -> Any:
                if _last:
                    return wrap(hidden)
                h = args[0] if args else kwargs.get("hidden_states")
                return wrap(h)

            block.forward = forward
        yield
    finally:
        for block, before in saved:
            if before is _MISSING:
                vars(block).pop("forward", None)
            else:
                block.forward = before


def prefix_cache(model: nn.Module, input_ids: torch.Tensor, **model_kwargs: Any) -> Any:
    """Run ``input_ids`` ``(batch, n)`` with a KV cache and return the cache (None when the model
    returns none). ``model_kwargs`` go to the forward (the caller places any hooks)."""
    fa = forward_args(model)
    if not fa.takes_cache:
        return None
    device = next(model.parameters()).device
    ids = input_ids.to(device)
    with inference_mode(model), torch.no_grad():
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), **fa.kwargs(use_cache=True, logits_to_keep=1),
                    **model_kwargs)
    return output_cache(out)


def tile_cache(cache: Any, repeats: int) -> Any:
    """A copy of ``cache`` with each row repeated ``repeats`` times in a row (row ``r`` of the copy
    is row ``r // repeats`` of ``cache``); ``cache`` itself is left as it was."""
    out = copy.deepcopy(cache)
    if repeats != 1:
        out.batch_repeat_interleave(repeats)
    return out
