"""``layers`` of ``lens.embed``: indices into Hugging Face's ``hidden_states``.

Index 0 is the embeddings (the input of block 0, point ``embed``), index ``i`` the output of block
``i - 1`` (``blocks.{i-1}.resid_post``), negative indices count from the end. As in Hugging Face,
the last one (``-1``) has the model's final norm applied when the model has one (GPT-2, Llama,
SmolLM2: ``hidden_states[-1]`` is normed, the others are not); encoders such as BERT have none.

>>> check_layers([-1, -2], n_layers=6), layer_label(6, 6), layer_label(0, 6)
([6, 5], '-1 (block 5)', '0 (embeddings)')
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ... import names as N


def check_layers(layers: int | Sequence[int], n_layers: int) -> list[int]:
    """``layers`` (an int or a non-empty sequence of ints in ``-(n_layers+1) .. n_layers``) as
    indices ``0 .. n_layers``; ``TypeError``/``ValueError`` naming ``layers`` otherwise."""
    seq = [layers] if isinstance(layers, (int, np.integer)) and not isinstance(layers, bool) else layers
    if isinstance(seq, (str, bytes)) or not isinstance(seq, Sequence) and not isinstance(seq, range):
        raise TypeError(f"layers must be an int or a list of ints, got {type(layers).__name__}")
    seq = list(seq)
    if not seq:
        raise ValueError("layers must name at least one hidden state")
    out = []
    n = n_layers + 1
    for x in seq:
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
            raise TypeError(f"layers must hold ints, got {x!r}")
        if not -n <= x < n:
            raise ValueError(
                f"layers: {int(x)} is out of range; this model has {n} hidden states (0 = embeddings, "
                f"i = block i - 1's output, {n_layers} or -1 = the last): valid {-n}..{n - 1}"
            )
        out.append(int(x) % n)
    return out


def hidden_state_points(layers: int | Sequence[int], n_layers: int) -> tuple[list[int], list[str]]:
    """``(indices, capture points)`` for ``layers``: ``embed`` for 0, ``blocks.{i-1}.resid_post``."""
    idx = check_layers(layers, n_layers)
    return idx, [N.EMBED if i == 0 else N.resid(i - 1) for i in idx]


def layer_label(index: int, n_layers: int) -> str:
    """``"-2 (block 4)"``: how a hidden-state index reads in a view."""
    if index == 0:
        return "0 (embeddings)"
    return f"{index - n_layers - 1} (block {index - 1})"
