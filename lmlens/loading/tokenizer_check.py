"""Load a tokenizer and check it really tokenizes (sentencepiece folders can come back empty).

The check probes several scripts and accepts a tokenizer when any probe round-trips: a
Japanese-only vocabulary has no Latin letters, an English one no kana. An empty conversion, where
every piece maps to ``<unk>``, round-trips none of them.

>>> tok = load_tokenizer("rinna/japanese-gpt2-medium", causal=True)  # doctest: +SKIP
>>> round_trips(tok, "東京は日本の首都です")  # doctest: +SKIP
True
"""

from __future__ import annotations

import unicodedata

from .spiece import check_against_spiece, fit_tokenizer

#: Tokenizer classes whose ids must equal their sentencepiece model's (see ``spiece``).
SPIECE_CHECKED_CLASSES = ("T5Tokenizer", "T5TokenizerFast")

#: One short text per script; a working tokenizer round-trips at least one of them.
PROBES = (
    "hello world",
    "東京は日本の首都です",
    "こんにちは",
    "カタカナ",
    "你好世界",
    "안녕하세요",
    "Привет мир",
    "γειά σου κόσμε",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "12345",
)


def _squash(text: str) -> str:
    """NFKC, lower-cased, without whitespace or ``▁``: what a round trip must keep."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not ch.isspace() and ch != "▁")


def round_trips(tok, text: str) -> bool:
    """True when ``text`` becomes at least one token, none of them ``unk_token``, and decodes back
    to itself (up to case, NFKC and spaces). Any failure of the tokenizer counts as False.

    >>> round_trips(tok, "hello world")  # doctest: +SKIP
    True
    """
    try:
        ids = list(tok(text, add_special_tokens=False)["input_ids"])
        unk = getattr(tok, "unk_token_id", None)
        if not ids or (unk is not None and unk in ids):
            return False
        return _squash(tok.decode(ids, skip_special_tokens=True)) == _squash(text)
    except Exception:  # noqa: BLE001 - any failure means "does not work"
        return False


def works(tok) -> bool:
    """True when the tokenizer round-trips any of :data:`PROBES`."""
    return any(round_trips(tok, p) for p in PROBES)


def load_tokenizer(path: str, *, causal: bool = False, check: bool = True, **kwargs):
    """``AutoTokenizer`` with repairs and checks: a sentencepiece tokenizer is fitted to its model
    file and config (:func:`~lmlens.loading.spiece.fit_tokenizer`); the slow tokenizer is tried
    when the fast conversion round-trips no probe text; with ``check`` a ``T5Tokenizer`` (rinna's
    class) or a repaired tokenizer must give its sentencepiece ``.model``'s ids. Says what to
    install when all fail.

    >>> load_tokenizer("minilm-folder")  # doctest: +SKIP
    """
    from transformers import AutoTokenizer

    errors = []
    for use_fast in (True, False):
        try:
            tok = AutoTokenizer.from_pretrained(path, use_fast=use_fast, **kwargs)
            repaired = fit_tokenizer(tok, causal=causal)
        except Exception as e:  # noqa: BLE001 - report every attempt below
            errors.append(f"use_fast={use_fast}: {type(e).__name__}: {e}")
            continue
        if works(tok):
            # Compared where the sentencepiece layout is known to go wrong (T5Tokenizer bakes in
            # T5's) or was repaired here; other classes may override the .model file on purpose
            # (Gemma ignores its dummy prefix), so they are not held to it.
            if check and (repaired or type(tok).__name__ in SPIECE_CHECKED_CLASSES):
                check_against_spiece(tok)
            return tok
        errors.append(
            f"use_fast={use_fast}: tokenizer loaded but round-trips none of {len(PROBES)} probe texts in "
            f"several scripts (does every piece map to {getattr(tok, 'unk_token', None)}? len={len(tok)})"
        )
    raise ValueError(
        f"could not load a working tokenizer for {path!r}. sentencepiece models need "
        "`pip install sentencepiece protobuf`. Attempts: " + "; ".join(errors)
    )
