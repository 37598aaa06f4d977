"""What a model's ``forward`` calls its cache and logit options, found once by inspection.

transformers 5.24 renamed the forward argument ``past_key_values`` to ``cache`` (and the output
field likewise); 5.0–5.23 use ``past_key_values``. Every caller that passes or reads a KV cache,
``use_cache`` or ``logits_to_keep`` (capture, generate, attribution) goes through
``forward_args(model)`` so that a rename is handled here, in one place, without the deprecation
warnings the old names trigger.

>>> import transformers
>>> cfg = transformers.GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=20, n_positions=16)
>>> fa = forward_args(transformers.GPT2LMHeadModel(cfg))
>>> fa.cache in ("cache", "past_key_values"), fa.use_cache, fa.logits_to_keep
(True, True, True)
>>> sorted(fa.kwargs(use_cache=False, logits_to_keep=1))
['logits_to_keep', 'use_cache']
"""

from __future__ import annotations

import inspect
import weakref
from dataclasses import dataclass
from typing import Any

from torch import nn

#: Names of the KV-cache argument and output field, newest first.
CACHE_NAMES = ("cache", "past_key_values")

_SEEN: weakref.WeakKeyDictionary[nn.Module, ForwardArgs] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class ForwardArgs:
    """The optional arguments a model's ``forward`` accepts.

    Fields:
        cache: the name of the KV-cache argument (``"cache"`` from transformers 5.24,
            ``"past_key_values"`` before), or None when the forward takes none.
        use_cache: whether ``use_cache`` is accepted.
        logits_to_keep: whether ``logits_to_keep`` is accepted.
    """

    cache: str | None
    use_cache: bool
    logits_to_keep: bool

    @property
    def takes_cache(self) -> bool:
        """True when a KV cache can be passed in and read back."""
        return self.cache is not None and self.use_cache

    def kwargs(
        self, *, cache: Any = None, use_cache: bool | None = None, logits_to_keep: Any = None
    ) -> dict[str, Any]:
        """Keyword arguments for ``model(...)`` holding only what this forward accepts.

        ``cache`` (a ``DynamicCache``) is passed under the forward's own name; an option the
        forward does not take is dropped (``logits_to_keep``) or refused (a cache: ``ValueError``).
        """
        out: dict[str, Any] = {}
        if use_cache is not None and self.use_cache:
            out["use_cache"] = use_cache
        if cache is not None:
            if self.cache is None:
                raise ValueError("this model's forward takes no KV cache argument")
            out[self.cache] = cache
        if logits_to_keep is not None and self.logits_to_keep:
            out["logits_to_keep"] = logits_to_keep
        return out


def _parameters(model: nn.Module) -> set[str]:
    try:
        return set(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):  # a forward inspect cannot read: assume nothing optional
        return set()


def forward_args(model: nn.Module) -> ForwardArgs:
    """The ``ForwardArgs`` of ``model`` (inspected once per model object)."""
    found = _SEEN.get(model)
    if found is None:
        params = _parameters(model)
        found = ForwardArgs(
            cache=next((n for n in CACHE_NAMES if n in params), None),
            use_cache="use_cache" in params,
            logits_to_keep="logits_to_keep" in params,
        )
        _SEEN[model] = found
    return found


def output_cache(out: Any) -> Any:
    """The KV cache a forward returned (field ``cache`` or ``past_key_values``), or None.

    Reads the output's declared fields, so the old name's deprecation property is never touched.
    """
    fields = getattr(type(out), "__dataclass_fields__", {})
    for name in CACHE_NAMES:
        if name in fields:
            return getattr(out, name, None)
    return None
