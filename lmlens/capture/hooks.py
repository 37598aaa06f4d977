"""Hooks in a context manager: every handle is removed in ``finally``.

>>> import torch, transformers
>>> from lmlens.anatomy import discover
>>> cfg = transformers.GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=50, n_positions=32)
>>> model = transformers.GPT2LMHeadModel(cfg).eval()
>>> store = {}
>>> with hooks(model, discover(model), ["blocks.1.resid_post"], store):
...     _ = model(torch.tensor([[1, 2, 3]]))
>>> store["blocks.1.resid_post"].shape
torch.Size([3, 16])
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .. import names as N
from ..anatomy import Anatomy


def _first(x):
    return x[0] if isinstance(x, (tuple, list)) else x


def _keep(t: torch.Tensor, dtype: torch.dtype | None) -> torch.Tensor:
    t = t.detach()[0]  # drop the batch axis (batch 1)
    return t.to(dtype) if dtype is not None and t.is_floating_point() else t


@contextmanager
def hooks(
    model: nn.Module,
    anatomy: Anatomy,
    points: list[str],
    store: dict[str, torch.Tensor],
    *,
    dtype: torch.dtype | None = None,
) -> Iterator[dict[str, torch.Tensor]]:
    """Register hooks that write the named block points into ``store`` during a forward.

    Handles ``embed``, ``blocks.{i}.resid_post`` and ``blocks.{i}.mlp.post``. Patterns and logits
    come from the model output (see ``run.capture``). All hooks are removed on exit, also when the
    forward raises.
    """
    handles: list[torch.utils.hooks.RemovableHandle] = []
    blocks = anatomy.block_list(model)
    try:
        for name in points:
            layer, site = N.parse(name)
            if site == N.EMBED:

                def pre(mod, args, kwargs, _n=name):
                    h = args[0] if args else kwargs.get("hidden_states")
                    store[_n] = _keep(h, dtype)

                handles.append(blocks[0].register_forward_pre_hook(pre, with_kwargs=True))
            elif site == "resid_post":

                def post(mod, args, out, _n=name):
                    store[_n] = _keep(_first(out), dtype)

                handles.append(blocks[layer].register_forward_hook(post))
            elif site == "mlp.post":

                def mlp_pre(mod, args, _n=name):
                    store[_n] = _keep(args[0], dtype)

                handles.append(anatomy.mlp_down_module(model, layer).register_forward_pre_hook(mlp_pre))
        yield store
    finally:
        for h in handles:
            h.remove()
