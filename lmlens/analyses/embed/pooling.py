"""Pooling one text's hidden states into a vector (or keeping one per token).

- ``"mean"``: the mean over the text's tokens (special tokens included, padding never: the batched
  capture cuts it off), as sentence-transformers' mean pooling;
- ``"cls"``: the first token, which must be the tokenizer's ``[CLS]`` (BERT's sentence token);
- ``"pooler"``: the model's own pooler (BERT's ``tanh(W h_[CLS] + b)``, ``pooler_output``) on the
  last hidden state;
- ``"last"``: the last token (the one a causal LM has read the whole text at);
- ``"none"``: every token's vector.

Several ``layers`` are concatenated in the order given (BERT's "concatenate the last four").
``normalize`` scales each pooled vector (the concatenation) to unit length.

>>> import torch
>>> opts = EmbedOptions.make(layers=[-1], pooling="mean", n_layers=2)
>>> h = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
>>> pool_text({"blocks.1.resid_post": h}, opts).tolist()
[2.0, 3.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..checks import check_choice, check_int
from .layers import hidden_state_points

POOLINGS = ("mean", "cls", "pooler", "last", "none")


@dataclass(frozen=True)
class EmbedOptions:
    """What ``lens.embed`` computes, checked (``make``); picklable, so Ray actors get it whole.

    ``layers`` are hidden-state indices ``0 .. n_layers`` (see ``layers.py``); ``points`` the
    capture points they read."""

    layers: tuple[int, ...]
    points: tuple[str, ...]
    pooling: str
    normalize: bool
    batch_size: int
    n_layers: int

    @classmethod
    def make(
        cls,
        *,
        layers: int | Sequence[int] = -1,
        pooling: str = "mean",
        normalize: bool = False,
        batch_size: int = 32,
        n_layers: int,
        cls_token_id: int | None = 0,
        has_pooler: bool = True,
    ) -> EmbedOptions:
        """Check every option against the model (``cls_token_id``: the tokenizer's ``[CLS]`` id,
        None when it has none; ``has_pooler``: whether the model has a pooler)."""
        check_choice("pooling", pooling, POOLINGS)
        if not isinstance(normalize, bool):
            raise TypeError(f"normalize must be a bool, got {type(normalize).__name__}")
        batch_size = check_int("batch_size", batch_size)
        idx, points = hidden_state_points(layers, n_layers)
        if pooling == "cls" and cls_token_id is None:
            raise ValueError("pooling='cls' takes the [CLS] token, and this tokenizer adds none (a causal "
                             "LM?): use pooling='mean' or 'last'")
        if pooling == "pooler":
            if not has_pooler:
                raise ValueError("pooling='pooler' applies the model's pooler (BERT's pooler_output), and "
                                 "this model has none: use pooling='cls' or 'mean'")
            if idx != [n_layers]:
                raise ValueError(f"pooling='pooler' reads the last hidden state only (the pooler was trained "
                                 f"on it): use layers=-1, got layers={layers!r}")
        return cls(layers=tuple(idx), points=tuple(points), pooling=pooling, normalize=normalize,
                   batch_size=batch_size, n_layers=n_layers)

    @property
    def per_token(self) -> bool:
        """True for ``pooling="none"`` (a vector per token)."""
        return self.pooling == "none"


def _hidden(tensors: Mapping[str, torch.Tensor], opts: EmbedOptions, final_norm: nn.Module | None) -> list[torch.Tensor]:
    """The chosen hidden states of one text, ``(n_positions, d_model)`` each, as HF gives them."""
    out = []
    for i, p in zip(opts.layers, opts.points, strict=True):
        h = tensors[p]
        if i == opts.n_layers and final_norm is not None:  # HF's last hidden state is normed
            w = next(final_norm.parameters(), None)
            with torch.no_grad():
                h = final_norm(h.to(w.dtype) if w is not None else h)
        out.append(h.float())
    return out


def pool_text(
    tensors: Mapping[str, torch.Tensor],
    opts: EmbedOptions,
    *,
    final_norm: nn.Module | None = None,
    pooler: nn.Module | None = None,
) -> np.ndarray:
    """One text's vector ``(len(layers) * d_model,)`` float32 (pooler: ``(d_pooler,)``), or
    ``(n_tokens, len(layers) * d_model)`` for ``pooling="none"``. ``tensors``: the text's captured
    points (no padding); ``final_norm``: the model's final norm (None: none); ``pooler``: the
    model's pooler, for ``pooling="pooler"``."""
    hs = _hidden(tensors, opts, final_norm)
    if opts.pooling == "pooler":
        if pooler is None:
            raise ValueError("pooling='pooler' needs the model's pooler module")
        w = next(pooler.parameters())
        with torch.no_grad():
            parts = [pooler(hs[0][None].to(w.dtype))[0].float()]
    elif opts.pooling == "mean":
        parts = [h.mean(0) for h in hs]
    elif opts.pooling == "cls":
        parts = [h[0] for h in hs]
    elif opts.pooling == "last":
        parts = [h[-1] for h in hs]
    else:
        parts = hs
    v = torch.cat(parts, dim=-1)
    if opts.normalize:
        v = v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return v.detach().cpu().numpy().astype(np.float32, copy=False)
