"""Which tokens to explain: the next token, a continuation that ends the text, or every generated
token. Targets are always positions in one tokenization of the whole text, never a string
tokenized on its own (that adds a stray ``▁`` or ``</s>`` and can split differently).

>>> continuation_start(tokenizer, ids, "The capital of France is Paris", " Paris")  # doctest: +SKIP
6
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def continuation_start(tokenizer, ids: Sequence[int], text: str, target: str) -> int:
    """Position of the first token of ``target`` in ``ids`` (the tokenization of ``text``).

    ``target`` must end ``text`` and start at a token boundary of it, leaving at least one
    token before it. Raises ``ValueError`` naming ``target`` otherwise.
    """
    if not isinstance(target, str):
        raise TypeError(f"target must be a string, a token id or None, got {type(target).__name__}")
    if not target:
        raise ValueError(
            "target must be a non-empty string: the continuation at the end of the text to "
            "explain, e.g. lens.attribution('The capital of France is Paris', target=' Paris')"
        )
    if len(target) >= len(text):
        raise ValueError(
            f"target ({len(target)} characters) must be shorter than the text ({len(text)} "
            "characters): it is the end of the text, after at least one token of prompt, e.g. "
            "lens.attribution('The capital of France is Paris', target=' Paris')"
        )
    if not text.endswith(target):
        raise ValueError(
            f"target {target!r} is not a continuation that ends the text (…{text[-40:]!r}); "
            "pass the whole text with the target at its end, e.g. "
            "lens.attribution('The capital of France is Paris', target=' Paris')"
        )
    prompt = text[: len(text) - len(target)]
    if not prompt.strip():
        raise ValueError("target must leave some text before it (the prompt is empty)")
    ids = [int(i) for i in ids]
    want = prompt.strip()

    def decoded(k: int) -> str:
        return tokenizer.decode(ids[:k], skip_special_tokens=True, clean_up_tokenization_spaces=False)

    for k in range(len(ids) - 1, 0, -1):
        d = decoded(k)
        if d == prompt or d.strip() == want:
            return k
        if len(d.strip()) < len(want):
            break
    pieces = [str(p) for p in tokenizer.convert_ids_to_tokens(ids)]
    raise ValueError(
        f"target {target!r} does not start at a token boundary of the text: its first character "
        f"falls inside a token. The text's last tokens are {pieces[-8:]}; choose a target that "
        "starts where a token starts"
    )


def generated_positions(generated: np.ndarray) -> np.ndarray:
    """Positions of generated tokens ``(n_generated,)``; ``ValueError`` when there are none."""
    pos = np.flatnonzero(np.asarray(generated, dtype=bool))
    if pos.size == 0:
        raise ValueError("the trace has no generated tokens")
    if pos[0] < 1:
        raise ValueError("a generated token needs at least one token before it")
    return pos.astype(np.int64)
