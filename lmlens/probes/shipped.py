"""The probe set written for lmlens: five English relations (capital, official language, continent,
currency, opposite; 54 facts) and four Japanese ones (capital, official language, continent,
opposite; 34 facts), in ``data/facts_<lang>.jsonl`` (package data, in the wheel).

>>> sorted({f.relation for f in shipped(lang="ja")})
['ja/capital', 'ja/continent', 'ja/language', 'ja/opposite']
"""

from __future__ import annotations

from pathlib import Path

from .facts import Fact, as_fact, read_jsonl

DATA = Path(__file__).resolve().parent / "data"
SHIPPED_LANGS = ("en", "ja")


def shipped(lang: str | None = None) -> list[Fact]:
    """The shipped facts, English then Japanese (``lang``: ``"en"`` or ``"ja"`` for one)."""
    if lang is not None and lang not in SHIPPED_LANGS:
        raise ValueError(f"lang must be one of {list(SHIPPED_LANGS)} or None, got {lang!r}")
    facts = []
    for code in SHIPPED_LANGS if lang is None else (lang,):
        path = DATA / f"facts_{code}.jsonl"
        facts += [as_fact(r, f"{path.name} record {i + 1}") for i, r in enumerate(read_jsonl(path))]
    return facts
