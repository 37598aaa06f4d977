"""The ``Anatomy``: where the parts lmlens needs live inside a model."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

KINDS = ("causal", "masked", "base")
V_LAYOUTS = ("separate", "qkv", "qkv_per_head")

#: What each optional in-block part is, for error messages.
PART_DOCS = {
    "attn": "the attention module",
    "attn_out": "the attention output projection",
    "attn_v": "the value projection",
    "mlp_down": "the FFN down-projection",
    "mlp_out": "the FFN module (or its down-projection) whose output is added to the residual",
    "head": "an LM head (final norm + unembedding)",
}


class MissingPart(ValueError):
    """An analysis needs a part the anatomy does not have; the message says how to pass it."""


@dataclass(frozen=True)
class Anatomy:
    """Module paths (dotted, as in ``model.named_modules()``) of the parts lmlens reads.

    Fields:
        kind: ``"causal"`` (next-token LM), ``"masked"`` (MLM head) or ``"base"`` (no LM head).
        embed: the input-embedding module (token ids → vectors); gradients are taken on its output.
        blocks: the ``ModuleList`` of transformer blocks.
        n_layers: its length.
        final_norm: the norm applied after the last block (None for post-norm models).
        head: the module mapping a normed residual to logits (None for ``"base"``).
        unembed: the output-embedding ``Linear`` inside ``head`` (``W_U``), or None.
        mlp_down: path *inside a block* of the FFN down-projection; its input is ``mlp.post``
            (None for a mixture of experts, which has one per expert).
        attn: path *inside a block* of the attention module (element 1 of its output: the pattern).
        n_heads: attention heads per block.
        attn_out: path inside a block of the attention output projection (its output: ``attn.out``).
        attn_v: path inside a block of the module whose output holds the values (``attn.v``).
        attn_v_layout: how values sit in ``attn_v``'s output: ``"separate"`` (a value projection,
            ``(..., n_kv_heads * d_head)``), ``"qkv"`` (fused, values last: GPT-2's ``c_attn``) or
            ``"qkv_per_head"`` (fused, ``(..., n_heads, 3, d_head)``: GPT-NeoX, BLOOM).
        mlp_out: path inside a block of the module whose output is ``mlp.out`` (the
            down-projection, or a mixture-of-experts block).
        missing: ``(part, reason)`` pairs saying why discovery left a part None.

    Parts other than ``kind``, ``embed``, ``blocks`` and ``n_layers`` are optional: an analysis that
    needs a missing one raises ``MissingPart`` at use time, naming it.

    Pass one by hand for models discovery can't read:

    >>> Anatomy(kind="causal", embed="transformer.wte", blocks="transformer.h", n_layers=2,
    ...         final_norm="transformer.ln_f", head="lm_head", unembed="lm_head",
    ...         mlp_down="mlp.c_proj", attn="attn", n_heads=4)  # doctest: +ELLIPSIS
    Anatomy(kind='causal', ...)
    """

    kind: str
    embed: str
    blocks: str
    n_layers: int
    final_norm: str | tuple[str, ...] | None
    head: str | tuple[str, ...] | None
    unembed: str | None
    mlp_down: str | None
    attn: str | None
    n_heads: int
    attn_out: str | None = None
    attn_v: str | None = None
    attn_v_layout: str = "separate"
    mlp_out: str | None = None
    missing: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.attn_v_layout not in V_LAYOUTS:
            raise ValueError(f"attn_v_layout must be one of {V_LAYOUTS}, got {self.attn_v_layout!r}")
        if self.n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {self.n_layers}")

    # ---- resolving paths to modules -------------------------------------------------------
    def module(self, model: nn.Module, path: str) -> nn.Module:
        """The submodule of ``model`` at ``path`` (``""`` is the model itself)."""
        try:
            return model.get_submodule(path) if path else model
        except AttributeError as e:
            raise ValueError(
                f"anatomy path {path!r} does not exist in {type(model).__name__}: {e}"
            ) from None

    def _chain(self, model: nn.Module, spec: str | tuple[str, ...] | None) -> nn.Module | None:
        if spec is None:
            return None
        if isinstance(spec, str):
            return self.module(model, spec)
        return nn.Sequential(*[self.module(model, p) for p in spec])

    def block_list(self, model: nn.Module) -> nn.ModuleList:
        """The blocks."""
        return self.module(model, self.blocks)  # type: ignore[return-value]

    def embed_module(self, model: nn.Module) -> nn.Module:
        """The input-embedding module."""
        return self.module(model, self.embed)

    def final_norm_module(self, model: nn.Module) -> nn.Module | None:
        """The final norm (a ``Sequential`` when it is several modules), or None."""
        return self._chain(model, self.final_norm)

    def head_module(self, model: nn.Module) -> nn.Module | None:
        """Normed residual → logits, or None for a model without an LM head."""
        return self._chain(model, self.head)

    def unembed_module(self, model: nn.Module) -> nn.Module | None:
        """The output-embedding ``Linear``, or None."""
        return None if self.unembed is None else self.module(model, self.unembed)

    def missing_part(self, part: str, needed_by: str = "this analysis") -> MissingPart:
        """The error for a part this anatomy lacks: what needs it, why it is missing, how to pass it.

        >>> a = Anatomy(kind="base", embed="e", blocks="b", n_layers=1, final_norm=None, head=None,
        ...             unembed=None, mlp_down=None, attn=None, n_heads=1)
        >>> "anatomy.mlp_down" in str(a.missing_part("mlp_down", "'blocks.0.mlp.post'"))
        True
        """
        why = dict(self.missing).get(part)
        if part == "head":
            return MissingPart(
                f"{needed_by} needs {PART_DOCS['head']}; this model has none (kind={self.kind!r}). "
                f"{why + '. ' if why else ''}Load it with AutoModelForCausalLM or AutoModelForMaskedLM."
            )
        return MissingPart(
            f"{needed_by} needs anatomy.{part} ({PART_DOCS.get(part, part)}), which this model's "
            f"anatomy does not have{': ' + why if why else ''}. Pass it by hand: lmlens.Lens(model, "
            f"tokenizer, anatomy=dataclasses.replace(lens.anatomy, {part}='<path inside a block, "
            "from print(model)>'))."
        )

    def has(self, part: str) -> bool:
        """True when the anatomy names ``part`` (``"blocks"`` always; ``"head"`` when not base)."""
        return part == "blocks" or getattr(self, part) is not None

    def part_module(self, model: nn.Module, part: str, layer: int, *, blocks: nn.ModuleList | None = None) -> nn.Module:
        """The module of an in-block ``part`` (``"attn"``, ``"mlp_down"``, ...) of block ``layer``
        (``blocks``: the block list, when the caller has it); ``"blocks"`` is the block itself.
        Raises ``MissingPart`` when the anatomy lacks the part."""
        block = (self.block_list(model) if blocks is None else blocks)[layer]
        if part == "blocks":
            return block
        path = getattr(self, part)
        if path is None:
            raise self.missing_part(part)
        return self.module(block, path)

    def mlp_down_module(self, model: nn.Module, layer: int) -> nn.Module:
        """The FFN down-projection of block ``layer``."""
        return self.part_module(model, "mlp_down", layer)

    def attn_module(self, model: nn.Module, layer: int) -> nn.Module:
        """The attention module of block ``layer``."""
        return self.part_module(model, "attn", layer)
