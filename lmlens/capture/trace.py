"""The Trace: what one captured forward pass holds.

Shape glossary (one text, never a batch axis):

- ``n_positions``: tokens in the text (prompt + generated for ``lens.generate``)
- ``d_model``: residual width; ``d_mlp``: FFN width; ``d_vocab``: vocabulary size
- ``n_layers``: blocks; ``n_heads``: attention heads

``trace["blocks.3.resid_post"]`` is a ``(n_positions, d_model)`` tensor. ``trace.readout`` maps
any ``(..., d_model)`` residual to ``(..., d_vocab)`` logits through the model's own final norm and
unembedding (held by reference, the Trace holds no reference to the model itself).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .. import names as _names
from .devices import execution_device
from .devices import model_dtype as _model_dtype


@dataclass(frozen=True)
class Readout:
    """Residual → logits, through the model's own modules (by reference, not copies).

    ``norm`` is the final norm (None for post-norm models like BERT, whose blocks end normed);
    ``head`` maps a normed residual to logits (``lm_head`` for causal LMs, the MLM head for
    masked LMs). ``unembed`` is the output-embedding ``Linear`` (``W_U`` = ``unembed.weight``,
    shaped ``(d_vocab, d_model)``).
    """

    norm: nn.Module | None
    head: nn.Module
    unembed: nn.Module

    @property
    def d_vocab(self) -> int:
        """Vocabulary size."""
        return int(self.unembed.weight.shape[0])

    @property
    def device(self) -> torch.device:
        """Where the head computes (accelerate's execution device for a dispatched model)."""
        return execution_device(self.head)

    def normed(self, hidden: torch.Tensor) -> torch.Tensor:
        """Apply the final norm (identity where the model has none), on the norm's device, in
        the model's dtype."""
        if self.norm is None:
            return hidden
        return self.norm(hidden.to(execution_device(self.norm), _model_dtype(self.norm)))

    def __call__(self, hidden: torch.Tensor) -> torch.Tensor:
        """``(..., d_model) → (..., d_vocab)`` logits, on the head's device (``device``), in the
        model's dtype; ``hidden`` may live anywhere (a trace keeps it on the CPU)."""
        return self.head(self.normed(hidden).to(self.device, _model_dtype(self.head)))


@dataclass(eq=False)
class Trace:
    """One captured forward pass over one text (compared and hashed by identity).

    Fields:
        token_ids: ``(n_positions,)`` int64 token ids.
        tokens: display strings (``Ġ``/``▁`` turned into spaces, ``##`` removed), one per position.
        pieces: the tokenizer's raw pieces, one per position.
        tensors: point name → tensor (see ``lmlens.names``), no batch axis, on the CPU.
        readout: final norm + unembedding (see ``Readout``), or None for a model without an LM head.
        generated: ``(n_positions,)`` bool, True where ``lens.generate`` produced the token.
        word_starts: ``(n_positions,)`` bool, True where a position starts a new word.
        n_layers: number of blocks of the model.
        kind: ``"causal"``, ``"masked"`` or ``"base"`` (no LM head).
        id_to_str: turns token ids into display strings (top-k lists in views).
        model_name: the model's display name.
        model_dtype: the dtype the model ran in (``"float32"``, ``"bfloat16"``, ...); captured
            tensors are in it unless ``lens.trace(..., dtype=)`` asked for another.
        labels: one chip label per position, ``""`` where the token is whole characters, else
            its partial bytes as hex with the character they belong to (``"<E6 9D>(東)"``;
            ``lmlens.capture.byte_pieces``).

    >>> import lmlens, torch  # doctest: +SKIP
    >>> trace = lmlens.load("smollm2").trace("The capital of France is")  # doctest: +SKIP
    >>> trace["blocks.0.resid_post"].shape  # doctest: +SKIP
    torch.Size([5, 576])
    """

    token_ids: torch.Tensor
    tokens: list[str]
    pieces: list[str]
    tensors: dict[str, torch.Tensor]
    readout: Readout | None
    generated: np.ndarray
    word_starts: np.ndarray
    n_layers: int
    kind: str
    id_to_str: Callable[[Sequence[int]], list[str]]
    model_name: str = ""
    model_dtype: str = ""
    labels: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> torch.Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            _names.parse(name)  # raises for a malformed name
            raise KeyError(
                f"{name!r} was not captured; captured: {self.names}. "
                f"Pass points=[{name!r}, ...] to lens.trace to capture it."
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.tensors

    @property
    def names(self) -> list[str]:
        """Captured point names, in forward order (layers by number)."""
        return sorted(self.tensors, key=_names.sort_key)

    @property
    def n_positions(self) -> int:
        """Number of tokens."""
        return int(self.token_ids.shape[0])

    @property
    def n_prompt(self) -> int:
        """Number of tokens before the first generated one."""
        gen = np.flatnonzero(self.generated)
        return int(gen[0]) if gen.size else self.n_positions

    def layer_stack(self) -> tuple[list[str], torch.Tensor]:
        """``(layer_names, (n_layers + 1, n_positions, d_model))``: ``embed`` then each block output.

        Raises ``ValueError`` naming the missing points if the trace lacks them.
        """
        wanted = [_names.EMBED] + [_names.resid(i) for i in range(self.n_layers)]
        missing = [n for n in wanted if n not in self.tensors]
        if missing:
            raise ValueError(
                f"this analysis needs the residual stream; the trace lacks {missing[:3]}"
                f"{'...' if len(missing) > 3 else ''}. Trace with points=None or "
                "points=['embed', 'blocks.*.resid_post', 'logits']."
            )
        return wanted, torch.stack([self.tensors[n] for n in wanted])

    def nbytes(self) -> int:
        """Bytes held by the captured tensors."""
        return sum(t.numel() * t.element_size() for t in self.tensors.values())

    def __repr__(self) -> str:
        text = "".join(self.tokens)
        if len(text) > 40:
            text = text[:37] + "..."
        return (
            f"Trace({text!r}, n_positions={self.n_positions}, points={len(self.tensors)}, "
            f"{self.nbytes() / 2**20:.1f} MiB)"
        )
