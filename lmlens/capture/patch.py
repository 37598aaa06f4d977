"""Patch activations during a forward: hooks placed from the site table that change a point's value.

An *edit* is a function of a point's value as the forward computes it (batch axis first:
``(batch, n_positions, width)``) that returns the value to use instead. ``patching(model, anatomy,
edits)`` registers one hook per edited point name, where the site table says (``resid_post``: the
block's output; ``mlp.out`` / ``attn.out``: the output of the FFN / the attention output
projection; ``mlp.post``: the input of the down-projection; ``embed``: the input of block 0), and
removes every hook in ``finally`` (also when the forward raises). Two edits cover activation
patching and causal tracing:

- ``restore(rows, positions, values)``: put ``values`` at ``(rows, positions)`` (the clean run's
  activation copied into a corrupted run);
- ``add(positions, values)``: add ``values`` at ``positions`` of every row (noise on the subject's
  embeddings).

>>> import torch, transformers
>>> from lmlens.anatomy import discover
>>> cfg = transformers.GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=50, n_positions=32)
>>> model = transformers.GPT2LMHeadModel(cfg).eval()
>>> ids = torch.tensor([[1, 2, 3]])
>>> zero = restore(torch.tensor([0]), torch.tensor([1]), torch.zeros(1, 16))
>>> with patching(model, discover(model), {"blocks.0.mlp.out": zero}), torch.no_grad():
...     out = model(ids)
>>> out.logits.shape
torch.Size([1, 3, 50])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import nn

from .. import names as N
from ..anatomy import Anatomy
from .hooks import site_hook, site_reader
from .points import require

#: Sites whose value can be patched: one ``(n_positions, width)`` tensor a module reads or writes.
PATCHABLE: tuple[str, ...] = tuple(
    s.key for s in N.SITES
    if s.hook in ("pre", "post") and s.take == "tensor" and s.index == 0 and s.shape[:1] == ("n_positions",)
)

Edit = Callable[[torch.Tensor], torch.Tensor | None]


def check_patchable(name: str) -> str:
    """``name`` if it is a point whose value can be patched; else ``ValueError`` listing the sites.

    >>> check_patchable("blocks.3.mlp.out")
    'blocks.3.mlp.out'
    """
    key = N.parse(name)[1]
    if key not in PATCHABLE:
        raise ValueError(
            f"point {name!r} cannot be patched; patchable sites are {list(PATCHABLE)} "
            "(one (n_positions, width) tensor each)"
        )
    return name


def restore(rows: torch.Tensor, positions: torch.Tensor, values: torch.Tensor) -> Edit:
    """An edit that sets ``value[rows[j], positions[j]] = values[j]`` (``values``: ``(k, width)``),
    on a copy (the forward's own tensor is never written in place)."""

    def edit(t: torch.Tensor) -> torch.Tensor:
        t = t.clone()
        t[rows.to(t.device), positions.to(t.device)] = values.to(t.device, t.dtype)
        return t

    return edit


def add(positions: torch.Tensor, values: torch.Tensor) -> Edit:
    """An edit that adds ``values`` (``(batch, len(positions), width)``) at ``positions`` of every
    row, on a copy."""

    def edit(t: torch.Tensor) -> torch.Tensor:
        t = t.clone()
        t[:, positions.to(t.device)] += values.to(t.device, t.dtype)
        return t

    return edit


def chain(*edits: Edit) -> Edit:
    """One edit applying ``edits`` in order (a point both corrupted and restored)."""

    def edit(t: torch.Tensor) -> torch.Tensor:
        for e in edits:
            new = e(t)
            t = t if new is None else new
        return t

    return edit


@contextmanager
def patching(
    model: nn.Module,
    anatomy: Anatomy,
    edits: Mapping[str, Edit],
    *,
    batch: tuple[int, int] | None = None,
) -> Iterator[None]:
    """Within the block, the forward of ``model`` uses ``edits[name](value)`` instead of the value
    of each point ``name`` (``"blocks.3.mlp.out"``, ...). ``batch = (n_texts, n_positions)`` reads
    modules that see the tokens flattened (mixture of experts) in that shape. Every hook is removed
    on exit, also when the forward raises. Raises ``ValueError`` for a point that cannot be patched
    or that this model lacks, before any hook is placed."""
    for name in edits:
        check_patchable(name)
    require(model, anatomy, list(edits))
    blocks = anatomy.block_list(model)
    handles: list[torch.utils.hooks.RemovableHandle] = []
    try:
        for name, edit in edits.items():
            site = N.site(name)
            layer = N.parse(name)[0]
            module = anatomy.part_module(model, site.part, 0 if layer is None else layer, blocks=blocks)
            handles.append(site_hook(module, site, edit, read=site_reader(site, anatomy, None, batch)))
        yield
    finally:
        for h in handles:
            h.remove()
