"""Load a tokenizer and check it really tokenizes (sentencepiece folders can come back empty)."""

from __future__ import annotations


def _works(tok) -> bool:
    """True when the tokenizer round-trips a probe (an empty sentencepiece conversion maps every
    piece to ``<unk>`` and decodes to nothing)."""
    try:
        ids = tok("hello world", add_special_tokens=False)["input_ids"]
        text = tok.decode(ids, skip_special_tokens=True).lower()
        return len(ids) > 0 and "hello" in text.replace(" ", "").replace("▁", "")
    except Exception:  # noqa: BLE001 - any failure means "does not work"
        return False


def load_tokenizer(path: str, **kwargs):
    """``AutoTokenizer`` with checks: fall back to the slow sentencepiece tokenizer when the fast
    conversion returns an empty tokenizer, and say what to install when both fail."""
    from transformers import AutoTokenizer

    errors = []
    for use_fast in (True, False):
        try:
            tok = AutoTokenizer.from_pretrained(path, use_fast=use_fast, **kwargs)
        except Exception as e:  # noqa: BLE001 - report every attempt below
            errors.append(f"use_fast={use_fast}: {type(e).__name__}: {e}")
            continue
        if _works(tok):
            return tok
        errors.append(f"use_fast={use_fast}: tokenizer loaded but produced no tokens (len={len(tok)})")
    raise ValueError(
        f"could not load a working tokenizer for {path!r}. sentencepiece models need "
        "`pip install sentencepiece protobuf`. Attempts: " + "; ".join(errors)
    )
