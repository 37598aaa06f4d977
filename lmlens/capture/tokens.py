"""Readable display strings for tokens (``Ġ``, ``▁`` and ``##`` handled)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .words import word_starts

_SPACE_MARKS = ("Ġ", "▁")


def _is_wordpiece(tokenizer, pieces: Sequence[str]) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    model = getattr(backend, "model", None)
    if model is not None:
        return type(model).__name__ == "WordPiece"
    return any(p.startswith("##") and len(p) > 2 for p in pieces)


def display_tokens(tokenizer, ids: Sequence[int]) -> tuple[list[str], list[str], np.ndarray]:
    """``(tokens, pieces, word_starts)`` for ``ids``.

    ``tokens`` are readable strings whose concatenation is the text (spaces kept, byte pieces
    decoded; a token holding only the first bytes of a multi-byte character is ``""`` and the
    token completing it carries the character; ``pieces`` keeps the raw pieces).
    ``word_starts`` is True where a position begins a word (a space marker, a special token, or
    a WordPiece piece without ``##``; in Japanese text, a morpheme or script run: ``words.py``).

    >>> from transformers import BertTokenizerFast  # doctest: +SKIP
    """
    ids = [int(i) for i in ids]
    pieces = [str(p) for p in tokenizer.convert_ids_to_tokens(ids)]
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    tokens: list[str] = []
    starts = np.zeros(len(ids), dtype=bool)
    if _is_wordpiece(tokenizer, pieces):
        for i, p in enumerate(pieces):
            cont = p.startswith("##") and len(p) > 2
            starts[i] = not cont
            text = p[2:] if cont else p
            tokens.append(text if (cont or i == 0) else " " + text)
        return tokens, pieces, word_starts(tokens, starts)
    seen_text = False
    for i, (tid, p) in enumerate(zip(ids, pieces, strict=True)):
        text = tokenizer.decode([tid], skip_special_tokens=False, clean_up_tokenization_spaces=False)
        if "\ufffd" in text:
            # Part of a multi-byte character: give the character to the token that completes it
            # (earlier partial tokens show ""), so the tokens still concatenate to the text.
            lo = max(0, i - 8)
            upto = tokenizer.decode(ids[lo : i + 1], clean_up_tokenization_spaces=False).rstrip("\ufffd")
            before = tokenizer.decode(ids[lo:i], clean_up_tokenization_spaces=False).rstrip("\ufffd")
            text = upto[len(before):] if upto.startswith(before) else upto.replace("\ufffd", "")
        elif not text and tid not in special:  # e.g. sentencepiece's lone "▁" decodes to ""
            text = p.replace("▁", " ").replace("Ġ", " ")
        elif p.startswith("▁") and not text[:1].isspace() and seen_text:
            # sentencepiece decodes "▁word" alone as "word": the space is the word's own
            text = " " + text
        seen_text = seen_text or tid not in special
        tokens.append(text)
        starts[i] = (
            i == 0 or tid in special or p.startswith(_SPACE_MARKS) or text[:1].isspace()
        )
    return tokens, pieces, word_starts(tokens, starts)
