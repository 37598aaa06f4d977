"""Find an ``Anatomy`` for a Hugging Face model by its structure.

Rules (then ``overrides.OVERRIDES[config.model_type]`` where structure is ambiguous):

- blocks: the ``ModuleList`` whose length is ``config.num_hidden_layers`` (shortest path wins);
- embed: ``model.get_input_embeddings()``; unembed: ``model.get_output_embeddings()``;
- kind: ``causal`` for ``*ForCausalLM``/``*LMHeadModel``, ``masked`` for ``*ForMaskedLM``,
  ``base`` when there is no output embedding;
- final norm: the one norm module among the blocks' siblings whose name is not an embedding norm;
- head: ``unembed`` for causal models, its parent module (e.g. ``cls.predictions``) for masked;
- mlp_down: in block 0, the one linear layer mapping a width other than ``d_model`` to ``d_model``;
- attn: in block 0, the shallowest module whose class name contains ``Attention``.
"""

from __future__ import annotations

from torch import nn

from .anatomy import Anatomy
from .overrides import OVERRIDES

_HOWTO = (
    "Pass the anatomy by hand: lmlens.Lens(model, tokenizer, anatomy=lmlens.Anatomy(kind=..., "
    "embed=..., blocks=..., n_layers=..., final_norm=..., head=..., unembed=..., mlp_down=..., "
    "attn=..., n_heads=...)) with paths from print(model)."
)


class AnatomyError(ValueError):
    """Discovery could not find a part; the message says what it found and how to fix it."""


def _path_of(model: nn.Module, target: nn.Module | None) -> str | None:
    if target is None:
        return None
    for name, mod in model.named_modules():
        if mod is target:
            return name
    return None


def _linear_shape(mod: nn.Module) -> tuple[int, int] | None:
    """(in, out) of a Linear or GPT-2 style Conv1D (weight stored as (in, out))."""
    if isinstance(mod, nn.Linear):
        return mod.in_features, mod.out_features
    if type(mod).__name__ == "Conv1D":
        w = mod.weight
        return int(w.shape[0]), int(w.shape[1])
    return None


def _n_layers(config) -> int | None:
    for key in ("num_hidden_layers", "n_layer", "n_layers", "num_layers"):
        v = getattr(config, key, None)
        if isinstance(v, int):
            return v
    return None


def _kind(model: nn.Module, unembed: nn.Module | None) -> str:
    name = type(model).__name__
    if unembed is None:
        return "base"
    if name.endswith("ForMaskedLM"):
        return "masked"
    if name.endswith(("ForCausalLM", "LMHeadModel")) or getattr(model.config, "is_decoder", False):
        return "causal"
    raise AnatomyError(
        f"{name} has an output embedding but is neither a causal LM (*ForCausalLM / *LMHeadModel) "
        f"nor a masked LM (*ForMaskedLM). Load it with AutoModelForCausalLM or "
        f"AutoModelForMaskedLM, or pass kind= in a hand-made Anatomy. {_HOWTO}"
    )


def discover(model: nn.Module) -> Anatomy:
    """Find the anatomy of ``model``; raise ``AnatomyError`` that says what was found.

    >>> import transformers
    >>> cfg = transformers.GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=50, n_positions=32)
    >>> a = discover(transformers.GPT2LMHeadModel(cfg))
    >>> a.blocks, a.final_norm, a.mlp_down, a.kind
    ('transformer.h', 'transformer.ln_f', 'mlp.c_proj', 'causal')
    """
    config = getattr(model, "config", None)
    if config is None:
        raise AnatomyError(f"{type(model).__name__} has no .config; it is not a Hugging Face model. {_HOWTO}")
    n_layers = _n_layers(config)
    lists = [
        (name, mod)
        for name, mod in model.named_modules()
        if isinstance(mod, nn.ModuleList) and len(mod) > 0
    ]
    matching = [(n, m) for n, m in lists if n_layers is not None and len(m) == n_layers]
    if not matching:
        raise AnatomyError(
            f"no ModuleList of length num_hidden_layers={n_layers} in {type(model).__name__}; "
            f"found ModuleLists {[(n, len(m)) for n, m in lists][:8]}. {_HOWTO}"
        )
    blocks_path, blocks = min(matching, key=lambda nm: nm[0].count("."))

    get_in = getattr(model, "get_input_embeddings", None)
    embed = get_in() if get_in else None
    embed_path = _path_of(model, embed)
    if embed_path is None:
        raise AnatomyError(f"get_input_embeddings() returned nothing usable for {type(model).__name__}. {_HOWTO}")
    d_model = int(getattr(config, "hidden_size", None) or embed.weight.shape[1])

    get_out = getattr(model, "get_output_embeddings", None)
    unembed = get_out() if get_out else None
    unembed_path = _path_of(model, unembed)
    kind = _kind(model, unembed if unembed_path is not None else None)

    parent_path = blocks_path.rsplit(".", 1)[0] if "." in blocks_path else ""
    parent = model.get_submodule(parent_path) if parent_path else model
    norms = [
        f"{parent_path}.{n}" if parent_path else n
        for n, m in parent.named_children()
        if "norm" in type(m).__name__.lower() and "emb" not in n.lower()
    ]
    if len(norms) > 1:
        raise AnatomyError(f"several candidate final norms next to {blocks_path}: {norms}. {_HOWTO}")
    final_norm = norms[0] if norms else None

    head: str | None
    if kind == "causal":
        head = unembed_path
    elif kind == "masked":
        head = unembed_path.rsplit(".", 1)[0] if "." in unembed_path else None
    else:
        head = None

    block0 = blocks[0]
    downs = []
    for n, m in block0.named_modules():
        shape = _linear_shape(m)
        if shape and shape[1] == d_model and shape[0] != d_model:
            downs.append(n)
    mlp_down = downs[0] if len(downs) == 1 else None
    attns = [n for n, m in block0.named_modules() if n and "attention" in type(m).__name__.lower()]
    attn = min(attns, key=lambda n: n.count(".")) if attns else None
    n_heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_head", None) or 0

    found = dict(
        kind=kind, embed=embed_path, blocks=blocks_path, n_layers=len(blocks),
        final_norm=final_norm, head=head, unembed=unembed_path, mlp_down=mlp_down,
        attn=attn, n_heads=int(n_heads),
    )
    fix = OVERRIDES.get(getattr(config, "model_type", ""), None)
    if fix is not None:
        found.update(fix(model, found))
    if kind == "masked" and found["head"] is None:
        raise AnatomyError(
            f"the MLM head of {type(model).__name__} is not a module of its own (unembed at "
            f"{unembed_path!r}); add an override for model_type={config.model_type!r}. {_HOWTO}"
        )
    if found["mlp_down"] is None:
        raise AnatomyError(
            f"could not find the FFN down-projection in {blocks_path}.0 (candidates mapping to "
            f"d_model={d_model}: {downs}). {_HOWTO}"
        )
    return Anatomy(**found)
