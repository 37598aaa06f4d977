"""Run one forward pass over a (padded) batch and record the requested points.

``record`` captures one text; ``capture/batch.py`` many. Both check the byte budget first and
run ``forward``, which places the hooks the site table asks for and reads the sites that come
from the model's output (``logits``; attention patterns of models that only return them all).

>>> import torch, transformers
>>> from lmlens.anatomy import discover
>>> cfg = transformers.GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=50, n_positions=32)
>>> model = transformers.GPT2LMHeadModel(cfg)
>>> got = record(model, discover(model), torch.tensor([1, 2, 3]), ["blocks.0.attn.pattern", "logits"])
>>> got["blocks.0.attn.pattern"].shape, got["logits"].shape
(torch.Size([2, 3, 3]), torch.Size([3, 50]))
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .. import names as N
from ..anatomy import Anatomy
from .budget import (
    DEFAULT_MAX_BYTES,
    FORWARD,
    check_budget,
    check_device_budget,
    estimate_bytes,
    forward_bytes,
)
from .devices import execution_device, free_memory, model_dtype, to_host
from .dims import model_dims
from .forward_args import forward_args
from .hooks import hooks
from .modes import attention_for, attn_impl, inference_mode
from .points import pattern_source, require


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def check_capture_budget(
    model: nn.Module, anatomy: Anatomy, points: list[str], lengths: Sequence[int],
    batches: Sequence[Sequence[int]], *, dtype: torch.dtype | None, max_bytes: int | None,
) -> None:
    """Refuse (``ValueError``) before running when the traces of texts of ``lengths`` plus what the
    largest of ``batches`` (lists of indices into ``lengths``) holds during its forward exceed
    ``max_bytes``, or when what that forward holds on a GPU (captured tensors go to the CPU as they
    arrive; the logits and attentions the model returns stay on its output device until read)
    exceeds the memory free there."""
    if max_bytes is None:
        return
    dims = model_dims(model, anatomy)
    mdtype = model_dtype(model)
    keep = _itemsize(dtype or mdtype)
    sizes: dict[str, int] = {}
    for n in lengths:
        for name, b in estimate_bytes(points, dims, n_positions=n, itemsize=keep).items():
            sizes[name] = sizes.get(name, 0) + b
    source = pattern_source(model, anatomy) if any(N.parse(p)[1] == "attn.pattern" for p in points) else None
    all_logits = anatomy.kind != "causal" or not forward_args(model).logits_to_keep
    worst = on_device = 0
    for batch in batches:
        n_max = max(lengths[i] for i in batch)
        padded = len(batch) * sum(estimate_bytes(points, dims, n_positions=n_max, itemsize=keep).values())
        common = dict(pattern_source=source, n_texts=len(batch), n_positions=n_max,
                      model_itemsize=_itemsize(mdtype))
        held = forward_bytes(points, dims, logit_rows=n_max if all_logits else 1, keep_itemsize=keep, **common)
        worst = max(worst, held + (padded if len(batch) > 1 else 0))
        # on the device: every logit row the forward computes and every attention it returns
        rows = n_max if all_logits or N.LOGITS in points else 1
        on_device = max(on_device, forward_bytes([p for p in points if p != N.LOGITS], dims,
                                                 logit_rows=rows, keep_itemsize=0, **common))
    sizes[FORWARD] = worst
    check_budget(sizes, max_bytes)
    out = anatomy.head_module(model) or anatomy.embed_module(model)
    device = execution_device(out)
    check_device_budget(on_device, device, free_memory(device))


def forward(
    model: nn.Module,
    anatomy: Anatomy,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    points: list[str],
    *,
    dtype: torch.dtype | None = None,
    **model_kwargs,
) -> dict[str, torch.Tensor]:
    """One no-grad forward over ``input_ids`` ``(batch, n_positions)``; name → tensor with the
    batch axis (padding not removed). Model state (training flags, attention implementation) is
    restored after and every hook removed, also on error."""
    keys = {p: N.parse(p)[1] for p in points}
    want_patterns = [p for p, k in keys.items() if k == "attn.pattern"]
    source = pattern_source(model, anatomy) if want_patterns else None
    from_output = want_patterns if source == "output" else []
    hooked = [p for p in points if p not in from_output and N.site(p).hook != "output"]
    causal = anatomy.kind == "causal"
    kwargs = forward_args(model).kwargs(
        use_cache=False if causal else None,
        logits_to_keep=1 if causal and N.LOGITS not in points else None,
    )
    if from_output:
        kwargs["output_attentions"] = True
    elif getattr(getattr(model, "config", None), "output_attentions", False):
        kwargs["output_attentions"] = False  # else the model keeps every layer's weights
    device = execution_device(anatomy.embed_module(model))  # where the ids are embedded
    store: dict[str, torch.Tensor] = {}
    with inference_mode(model), attention_for(model, bool(want_patterns)), torch.no_grad():
        with hooks(model, anatomy, hooked, store, dtype=dtype, batch=tuple(input_ids.shape)):
            out = model(
                input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                **kwargs, **model_kwargs,
            )
    if N.LOGITS in points:
        logits = out.logits if hasattr(out, "logits") else out[0]
        store[N.LOGITS] = to_host(logits, dtype)
    atts = getattr(out, "attentions", None) if from_output else None
    for name in from_output:
        layer = N.parse(name)[0]
        a = atts[layer] if atts is not None and len(atts) > layer else None
        if a is not None:
            store[name] = to_host(a, dtype)
    del out
    missing = [p for p in points if p not in store]
    if missing:
        if any(keys[p] == "attn.pattern" for p in missing):
            raise RuntimeError(
                f"the model returned no attention weights for {missing[:3]} "
                f"(attn_implementation={attn_impl(model)!r}); load it with attn_implementation='eager'"
            )
        raise RuntimeError(f"hooks did not fire for {missing[:3]}; the anatomy may be wrong")
    return store


def record(
    model: nn.Module,
    anatomy: Anatomy,
    input_ids: torch.Tensor,
    points: list[str],
    *,
    dtype: torch.dtype | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    token_type_ids: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """One no-grad forward over ``input_ids`` (shape ``(n_positions,)``), returning name → tensor
    (no batch axis). Refuses (``ValueError``) before running when a point cannot be captured or
    the capture would exceed ``max_bytes``. ``token_type_ids`` (``(n_positions,)``, BERT-style
    segment ids of a sentence pair) go to the forward when given."""
    require(model, anatomy, points)
    n = int(input_ids.shape[0])
    check_capture_budget(model, anatomy, points, [n], [[0]], dtype=dtype, max_bytes=max_bytes)
    ids = input_ids[None]
    extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids[None].to(next(model.parameters()).device)}
    store = forward(model, anatomy, ids, torch.ones_like(ids), points, dtype=dtype, **extra)
    return {p: store[p][0] for p in points}
