"""Which points a model can give, and where its attention patterns come from.

A point is available when the anatomy has the part its site row names; ``attn.pattern`` also
needs a model that returns attention weights. Most models' attention modules return the weights
as element 1 of their output without being asked (``"hook"``: only the layers asked for are kept);
older ones return them only with ``output_attentions=True``, and then the model returns every
layer's (``"output"``: the byte budget counts them all). Found once per model by a 2-token probe.

>>> import transformers
>>> from lmlens.anatomy import discover
>>> cfg = transformers.GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=50, n_positions=32,
...                               attn_implementation="eager")
>>> m = transformers.GPT2LMHeadModel(cfg)
>>> pattern_source(m, discover(m))
'hook'
"""

from __future__ import annotations

import weakref

import torch
from torch import nn

from .. import names as N
from ..anatomy import Anatomy
from .devices import execution_device
from .modes import attention_for, attn_impl, inference_mode

_SOURCES: weakref.WeakKeyDictionary[nn.Module, dict] = weakref.WeakKeyDictionary()
_AVAILABLE: weakref.WeakKeyDictionary[nn.Module, dict] = weakref.WeakKeyDictionary()


def _is_pattern(x, n: int) -> bool:
    return isinstance(x, torch.Tensor) and x.dim() == 4 and tuple(x.shape[-2:]) == (n, n)


def _probe(model: nn.Module, anatomy: Anatomy) -> str | None:
    seen: list = []

    def post(mod, args, out):
        seen.append(out[1] if isinstance(out, (tuple, list)) and len(out) > 1 else None)

    vocab = anatomy.embed_module(model).weight.shape[0]
    ids = (torch.arange(1, 3) % vocab)[None].to(execution_device(anatomy.embed_module(model)))
    handle = anatomy.attn_module(model, 0).register_forward_hook(post)
    try:
        with inference_mode(model), attention_for(model, True), torch.no_grad():
            model(input_ids=ids, attention_mask=torch.ones_like(ids), output_attentions=False)
            if seen and _is_pattern(seen[0], 2):
                return "hook"
            out = model(input_ids=ids, attention_mask=torch.ones_like(ids), output_attentions=True)
    except Exception:  # noqa: BLE001 - a model that cannot run eager attention gives no patterns
        return None
    finally:
        handle.remove()
    atts = getattr(out, "attentions", None)
    return "output" if atts is not None and len(atts) > 0 and _is_pattern(atts[0], 2) else None


def pattern_source(model: nn.Module, anatomy: Anatomy) -> str | None:
    """``"hook"`` (the attention module returns its weights: hook only the layers asked for),
    ``"output"`` (only ``output_attentions=True`` gives them, for every layer) or None (this
    model gives no attention weights). Probed once per model and attention path."""
    if anatomy.attn is None:
        return None
    per_model = _SOURCES.setdefault(model, {})
    if anatomy.attn not in per_model:
        per_model[anatomy.attn] = _probe(model, anatomy)
    return per_model[anatomy.attn]


def available(model: nn.Module, anatomy: Anatomy) -> tuple[list[str], dict[str, str]]:
    """``(names, unavailable)``: every point ``model`` can give, in forward order, and for each
    point it cannot, why (the message names the missing part and how to pass it). Found once per
    model and anatomy."""
    cache = _AVAILABLE.setdefault(model, {})
    if anatomy not in cache:
        cache[anatomy] = _available(model, anatomy)
    names, why = cache[anatomy]
    return list(names), dict(why)


def _available(model: nn.Module, anatomy: Anatomy) -> tuple[list[str], dict[str, str]]:
    names: list[str] = []
    why: dict[str, str] = {}
    for name in N.all_names(anatomy.n_layers, optional=True):
        site = N.site(name)
        if not anatomy.has(site.part):
            why[name] = str(anatomy.missing_part(site.part, repr(name)))
        elif site.key == "attn.pattern" and pattern_source(model, anatomy) is None:
            why[name] = (
                f"the model returns no attention weights (attn_implementation={attn_impl(model)!r}); "
                "load it with attn_implementation='eager'"
            )
        else:
            names.append(name)
    return names, why


def require(model: nn.Module, anatomy: Anatomy, points: list[str]) -> None:
    """Raise ``ValueError`` (``MissingPart`` for a missing anatomy part) for the first point in
    ``points`` this model cannot give."""
    names, why = available(model, anatomy)
    ok = set(names)
    for p in points:
        if p in ok:
            continue
        site = N.site(p)  # raises for a malformed name
        if not anatomy.has(site.part):
            raise anatomy.missing_part(site.part, f"points: {p!r}")
        if p in why:
            raise ValueError(f"points: {p!r} cannot be captured: {why[p]}")
        raise ValueError(f"points: {p!r} is not a point of this model; available: {N.summary(names)}")
