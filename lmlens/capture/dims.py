"""The sizes the site table's shapes are written in (``d_model``, ``d_head``, ...), read from a model."""

from __future__ import annotations

from torch import nn

from ..anatomy import Anatomy


def _width_in(mod: nn.Module) -> int:
    """Input width of a Linear or GPT-2 style Conv1D (weight stored as (in, out))."""
    if isinstance(mod, nn.Linear):
        return mod.in_features
    return int(mod.weight.shape[0])


def model_dims(model: nn.Module, anatomy: Anatomy) -> dict[str, int]:
    """``d_model``, ``d_mlp`` (0 without ``mlp_down``), ``n_heads``, ``d_head``, ``d_vocab`` (0 without
    an LM head) and ``n_layers`` of ``model``.

    >>> import transformers
    >>> from lmlens.anatomy import discover
    >>> cfg = transformers.GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=50, n_positions=32)
    >>> m = transformers.GPT2LMHeadModel(cfg)
    >>> model_dims(m, discover(m))
    {'d_model': 16, 'd_mlp': 64, 'n_heads': 2, 'd_head': 8, 'd_vocab': 50, 'n_layers': 2}
    """
    config = getattr(model, "config", None)
    embed = anatomy.embed_module(model)
    d_model = int(getattr(config, "hidden_size", None) or embed.weight.shape[1])
    n_heads = int(anatomy.n_heads)
    head_dim = getattr(config, "head_dim", None)
    d_head = head_dim if isinstance(head_dim, int) and head_dim > 0 else (d_model // n_heads if n_heads else 0)
    unembed = anatomy.unembed_module(model)
    return {
        "d_model": d_model,
        "d_mlp": _width_in(anatomy.mlp_down_module(model, 0)) if anatomy.mlp_down else 0,
        "n_heads": n_heads,
        "d_head": int(d_head),
        "d_vocab": int(unembed.weight.shape[0]) if unembed is not None else 0,
        "n_layers": anatomy.n_layers,
    }
