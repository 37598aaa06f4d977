"""Hooks in a context manager, placed as the site table says: every handle removed in ``finally``.

``site_hook`` is the one place that knows how a site's value is read from (and written back into)
the module the table names; capture (here) and patching (``patch.py``) both go through it.

Each point's row in ``lmlens.names.SITES`` names the anatomy part to hook, ``pre`` (read the
module's first input) or ``post`` (read its output, element ``index`` of a tuple) and how the value
is taken (``"tensor"`` as is; ``"heads"``: per-head values, see ``heads``). Tensors are stored with
their batch axis, detached, converted to ``dtype`` and moved to the CPU as they arrive (a GPU copy
is queued without waiting; the context waits for all of them on exit), so a model spread over
devices by accelerate's ``device_map`` leaves nothing of the capture in device memory.

Our hooks are torch's own (``register_forward_hook`` / ``register_forward_pre_hook``). accelerate's
hooks (``module._hf_hook``) wrap ``module.forward`` instead, so ours run outside theirs: a pre-hook
sees the input before accelerate moves it to the module's execution device, a forward hook sees the
output after accelerate's ``post_forward`` (offloaded weights already put back). Nothing of
accelerate's is touched, and every handle of ours is removed on exit.

>>> import torch, transformers
>>> from lmlens.anatomy import discover
>>> cfg = transformers.GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=50, n_positions=32)
>>> model = transformers.GPT2LMHeadModel(cfg).eval()
>>> store = {}
>>> with hooks(model, discover(model), ["blocks.1.resid_post"], store):
...     _ = model(torch.tensor([[1, 2, 3]]))
>>> store["blocks.1.resid_post"].shape
torch.Size([1, 3, 16])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from .. import names as N
from ..anatomy import Anatomy
from .devices import synchronize, to_host
from .dims import model_dims


def heads(t: torch.Tensor, layout: str, n_heads: int, d_head: int) -> torch.Tensor:
    """Per-head values ``(batch, n_heads, n_positions, d_head)`` from the output of the module
    holding them (``(batch, n_positions, width)``), expanding grouped-query heads so that query
    head ``h`` gets key-value head ``h // (n_heads // n_kv_heads)`` (as ``repeat_kv`` does).

    ``layout`` is ``Anatomy.attn_v_layout``: ``"separate"`` (width ``n_kv_heads * d_head``),
    ``"qkv"`` (queries, keys, values concatenated; values are the last ``n_kv_heads * d_head``) or
    ``"qkv_per_head"`` (width ``n_heads * 3 * d_head``, per head ``[q, k, v]``).

    >>> heads(torch.arange(8.).view(1, 1, 8), "separate", 4, 4).shape  # 2 kv heads -> 4 heads
    torch.Size([1, 4, 1, 4])
    """
    b, n, width = t.shape
    if layout == "qkv_per_head":
        v = t.view(b, n, width // (3 * d_head), 3, d_head)[:, :, :, 2]
    else:
        if layout == "qkv":
            n_kv = (width // d_head - n_heads) // 2
            t = t[..., width - n_kv * d_head:]
        v = t.reshape(b, n, -1, d_head)
    n_kv = v.shape[2]
    if n_kv != n_heads:
        if n_kv == 0 or n_heads % n_kv:
            raise ValueError(f"attn.v: {n_kv} value heads do not divide {n_heads} query heads")
        v = v.repeat_interleave(n_heads // n_kv, dim=2)
    return v.transpose(1, 2)


def _unflatten(t: torch.Tensor, batch: tuple[int, int] | None) -> torch.Tensor:
    """``(batch * n_positions, ...)`` → ``(batch, n_positions, ...)``: modules inside a
    mixture-of-experts block see the tokens flattened."""
    if batch is not None and t.dim() >= 1 and tuple(t.shape[:2]) != batch and t.shape[0] == batch[0] * batch[1]:
        return t.view(*batch, *t.shape[1:])
    return t


def site_reader(site: N.Site, anatomy: Anatomy, dims: dict[str, int] | None,
                batch: tuple[int, int] | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """How the tensor a hooked module sees becomes the site's value (batch axis first): per-head
    values split out (``take="heads"``, needs ``dims``), flattened tokens (mixture of experts) put
    back as ``batch = (n_texts, n_positions)``, else as is."""
    if site.take == "heads":
        layout, n_heads, d_head = anatomy.attn_v_layout, dims["n_heads"], dims["d_head"]
        return lambda t: heads(_unflatten(t, batch), layout, n_heads, d_head)
    if site.shape[0] == "n_positions":
        return lambda t: _unflatten(t, batch)
    return lambda t: t


def site_hook(
    module: nn.Module,
    site: N.Site,
    fn: Callable[[torch.Tensor], torch.Tensor | None],
    *,
    read: Callable[[torch.Tensor], torch.Tensor] = lambda t: t,
) -> torch.utils.hooks.RemovableHandle:
    """Register on ``module`` the hook that site row ``site`` asks for (``pre``: its first input;
    ``post``: its output, element ``site.index`` of a tuple) calling ``fn(read(value))``. When ``fn``
    returns a tensor, it replaces the value in the forward (reshaped back to the module's own
    shape): the one place that knows how a site's value is read and written. Returns the handle.
    """
    if site.hook == "pre":

        def pre(mod, args, kwargs):
            if args:
                h = args[0]
            else:
                key = "hidden_states" if "hidden_states" in kwargs else next(iter(kwargs), None)
                h = kwargs.get(key) if key is not None else None
            if not isinstance(h, torch.Tensor):
                return None
            new = fn(read(h))
            if new is None:
                return None
            new = new.reshape(h.shape) if new.shape != h.shape else new
            if args:
                return (new, *args[1:]), kwargs
            return args, {**kwargs, key: new}

        return module.register_forward_pre_hook(pre, with_kwargs=True)
    if site.hook != "post":
        raise ValueError(f"site {site.key!r} is read from the model's output, not hooked")

    def post(mod, args, out, _i=site.index):
        seq = isinstance(out, (tuple, list))
        value = (out[_i] if len(out) > _i else None) if seq else (out if _i == 0 else None)
        if not isinstance(value, torch.Tensor):
            return None
        new = fn(read(value))
        if new is None:
            return None
        new = new.reshape(value.shape) if new.shape != value.shape else new
        if not seq:
            return new
        return [*out[:_i], new, *out[_i + 1:]] if isinstance(out, list) else (*out[:_i], new, *out[_i + 1:])

    return module.register_forward_hook(post)


@contextmanager
def hooks(
    model: nn.Module,
    anatomy: Anatomy,
    points: list[str],
    store: dict[str, torch.Tensor],
    *,
    dtype: torch.dtype | None = None,
    batch: tuple[int, int] | None = None,
) -> Iterator[dict[str, torch.Tensor]]:
    """Register hooks that write the named points into ``store`` (batch axis kept) during a
    forward over ``batch = (n_texts, n_positions)`` inputs (given, a module that sees the tokens
    flattened is read back in that shape). Sites read from the model's output (``logits``) are
    skipped: the run reads them. Stored tensors are on the CPU once the block exits. All hooks are
    removed on exit, also when the forward raises."""
    handles: list[torch.utils.hooks.RemovableHandle] = []
    pending: set[torch.device] = set()  # devices with copies to the CPU still under way
    dims = model_dims(model, anatomy) if any(N.site(p).take != "tensor" for p in points) else None
    blocks = anatomy.block_list(model)
    try:
        for name in points:
            site = N.site(name)
            if site.hook == "output":
                continue
            layer = N.parse(name)[0]
            module = anatomy.part_module(model, site.part, 0 if layer is None else layer, blocks=blocks)

            def keep(value, _n=name):
                store[_n] = to_host(value, dtype, pending)

            handles.append(site_hook(module, site, keep, read=site_reader(site, anatomy, dims, batch)))
        yield store
    finally:
        for h in handles:
            h.remove()
        synchronize(pending)
