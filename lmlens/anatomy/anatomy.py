"""The ``Anatomy``: where the parts lmlens needs live inside a model."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

KINDS = ("causal", "masked", "base")


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
        mlp_down: path *inside a block* of the FFN down-projection; its input is ``mlp.post``.
        attn: path *inside a block* of the attention module.
        n_heads: attention heads per block.

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

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
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

    def mlp_down_module(self, model: nn.Module, layer: int) -> nn.Module:
        """The FFN down-projection of block ``layer``."""
        if self.mlp_down is None:
            raise ValueError("this anatomy names no FFN down-projection (mlp_down=None)")
        return self.module(self.block_list(model)[layer], self.mlp_down)

    def attn_module(self, model: nn.Module, layer: int) -> nn.Module:
        """The attention module of block ``layer``."""
        if self.attn is None:
            raise ValueError("this anatomy names no attention module (attn=None)")
        return self.module(self.block_list(model)[layer], self.attn)
