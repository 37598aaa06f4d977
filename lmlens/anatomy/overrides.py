"""Per-architecture fixes where structural discovery can't read a model, keyed by ``model_type``.

Each entry gets the model and the fields discovery found, and returns the fields to replace.
Never keyed by checkpoint name; add an entry only when structure really is ambiguous.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


def _distilbert(model: nn.Module, found: dict) -> dict:
    # The MLM head is four sibling modules of the model root, applied in this order in forward().
    if found.get("kind") != "masked":
        return {}
    return {"head": ("vocab_transform", "activation", "vocab_layer_norm", "vocab_projector")}


def _opt(model: nn.Module, found: dict) -> dict:
    # OPT-350m projects the residual down after the final norm (project_out) before lm_head.
    dec = found["blocks"].rsplit(".", 1)[0]
    out: dict = {}
    decoder = model.get_submodule(dec)
    norm = f"{dec}.final_layer_norm" if getattr(decoder, "final_layer_norm", None) else None
    chain = tuple(p for p in (norm,) if p)
    if getattr(decoder, "project_out", None) is not None:
        chain = chain + (f"{dec}.project_out",)
    out["final_norm"] = chain if len(chain) > 1 else (chain[0] if chain else None)
    return out


def _qkv_per_head(model: nn.Module, found: dict) -> dict:
    # GPT-NeoX and BLOOM fuse q, k, v per head: the fused output is (..., n_heads, 3, d_head).
    return {"attn_v_layout": "qkv_per_head"} if found.get("attn_v") else {}


OVERRIDES: dict[str, Callable[[nn.Module, dict], dict]] = {
    "bloom": _qkv_per_head,
    "distilbert": _distilbert,
    "gpt_neox": _qkv_per_head,
    "opt": _opt,
}
