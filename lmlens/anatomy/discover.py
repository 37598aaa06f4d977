"""Find an ``Anatomy`` for a Hugging Face model by its structure.

Rules (then ``overrides.OVERRIDES[config.model_type]`` where structure is ambiguous):

- blocks: the ``ModuleList`` whose length is ``config.num_hidden_layers`` (shortest path wins);
- embed: ``model.get_input_embeddings()``; unembed: ``model.get_output_embeddings()``;
- kind: ``causal`` for ``*ForCausalLM``/``*LMHeadModel``, ``masked`` for ``*ForMaskedLM``,
  ``base`` when there is no output embedding;
- final norm: the one norm module among the blocks' siblings whose name is not an embedding norm;
- head: ``unembed`` for causal models, its parent module (e.g. ``cls.predictions``) for masked;
- mlp_down: in block 0, the one linear layer mapping a width other than ``d_model`` to ``d_model``
  (None, with the reason in ``missing``, when the block routes tokens to experts);
- mlp_out: ``mlp_down``; for a mixture of experts, the module holding the experts;
- attn: in block 0, the shallowest module whose class name contains ``Attention``;
- attn_out: inside ``attn``, the last linear layer mapping to ``d_model``;
- attn_v: inside ``attn``, the value projection (``v_proj``, ``value``, ``v_lin``), else one fused
  query-key-value projection (values last, as GPT-2's ``c_attn``; an override says when the fused
  layout is per head).

Only ``embed``, ``blocks`` and (for LMs) the head are required; a part not found is None and an
analysis that needs it says so at use time (``Anatomy.missing_part``).
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


_V_NAMES = ("v_proj", "value", "v_lin", "v")


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _attention_parts(attn_mod: nn.Module, attn: str, d_model: int, n_heads: int, d_head: int) -> dict:
    """``attn_out`` and ``attn_v`` (paths inside a block) found inside the attention module."""
    linears = [(n, _linear_shape(m)) for n, m in attn_mod.named_modules() if n and _linear_shape(m)]
    outs = [n for n, (_, o) in linears if o == d_model]
    found: dict = {"attn_out": f"{attn}.{outs[-1]}" if len(outs) > 0 and len(linears) > 1 else None}
    values = [n for n, _ in linears if _leaf(n) in _V_NAMES]
    if len(values) == 1:
        found.update(attn_v=f"{attn}.{values[0]}", attn_v_layout="separate")
        return found
    fused = [
        n for n, (i, o) in linears
        if i == d_model and o % d_head == 0 and o // d_head > n_heads and (o // d_head - n_heads) % 2 == 0
    ]
    if len(fused) == 1 and not values:
        found.update(attn_v=f"{attn}.{fused[0]}", attn_v_layout="qkv")
    return found


def _experts(block0: nn.Module) -> str | None:
    """Path of the shallowest module in a block whose path or class names experts, or None."""
    hits = [n for n, m in block0.named_modules() if n and "expert" in (n + type(m).__name__).lower()]
    return min(hits, key=lambda n: n.count(".")) if hits else None


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
    missing: list[tuple[str, str]] = []
    downs = []
    for n, m in block0.named_modules():
        shape = _linear_shape(m)
        if shape and shape[1] == d_model and shape[0] != d_model:
            downs.append(n)
    experts = _experts(block0)
    mlp_down = downs[0] if len(downs) == 1 and experts is None else None
    mlp_out = mlp_down
    if experts is not None:
        missing.append(("mlp_down", f"block 0 routes tokens to experts ({experts!r}), so there is "
                                    "no single FFN down-projection"))
        mlp_out = experts.rsplit(".", 1)[0] if "." in experts else None
    elif mlp_down is None:
        missing.append(("mlp_down", f"no unique linear layer maps another width to d_model={d_model} "
                                    f"in {blocks_path}.0 (candidates: {downs})"))
    attns = [n for n, m in block0.named_modules() if n and "attention" in type(m).__name__.lower()]
    attn = min(attns, key=lambda n: n.count(".")) if attns else None
    n_heads = int(getattr(config, "num_attention_heads", None) or getattr(config, "n_head", None) or 0)
    parts: dict = {"attn_out": None, "attn_v": None}
    if attn is not None and n_heads:
        head_dim = getattr(config, "head_dim", None)
        d_head = head_dim if isinstance(head_dim, int) and head_dim > 0 else d_model // n_heads
        parts.update(_attention_parts(block0.get_submodule(attn), attn, d_model, n_heads, d_head))

    found = dict(
        kind=kind, embed=embed_path, blocks=blocks_path, n_layers=len(blocks),
        final_norm=final_norm, head=head, unembed=unembed_path, mlp_down=mlp_down,
        attn=attn, n_heads=n_heads, mlp_out=mlp_out, **parts,
    )
    fix = OVERRIDES.get(getattr(config, "model_type", ""), None)
    if fix is not None:
        found.update(fix(model, found))
    if kind == "masked" and found["head"] is None:
        raise AnatomyError(
            f"the MLM head of {type(model).__name__} is not a module of its own (unembed at "
            f"{unembed_path!r}); add an override for model_type={config.model_type!r}. {_HOWTO}"
        )
    found["missing"] = tuple((p, why) for p, why in missing if found.get(p) is None)
    return Anatomy(**found)
