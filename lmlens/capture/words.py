"""Where words start: the one place that groups tokens into words (attribution's
``group="word"``, neuron factors' ``group="word"``, ``Trace.word_starts``).

Text with spaces is grouped by the tokenizer's own marks (``Ġ``, ``▁``, ``##``). Japanese has no
spaces, so grouping on ``▁`` merges a whole sentence (rinna) and byte-level BPE marks nothing: when
the text is Japanese, words are morphemes from ``fugashi`` with ``unidic-lite``
(``pip install 'lmlens[ja]'``), or, without them, runs of one script (kanji, hiragana, katakana,
Latin letters, digits, punctuation), whatever the tokenizer marks.

>>> word_spans("私はコーヒーを飲みました。", engine="script")
['私', 'は', 'コーヒー', 'を', '飲', 'みました', '。']
>>> is_japanese("東京は日本の首都です"), is_japanese("The capital of France")
(True, False)
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence

import numpy as np

ENGINES = ("auto", "fugashi", "script")


def script_of(ch: str) -> str:
    """``"kanji"``, ``"hiragana"``, ``"katakana"``, ``"latin"``, ``"digit"``, ``"space"``,
    ``"punct"`` or ``"other"``."""
    o = ord(ch)
    if ch.isspace():
        return "space"
    if 0x3040 <= o <= 0x309F:
        return "hiragana"
    if 0x30A0 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0xFF66 <= o <= 0xFF9F:
        return "katakana"  # includes ー (U+30FC), the long-vowel mark inside katakana words
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or ch in "々〆ヶ":
        return "kanji"
    if ch.isdigit():
        return "digit"
    if ch.isalpha() and unicodedata.name(ch, "").startswith(("LATIN", "FULLWIDTH LATIN")):
        return "latin"
    if unicodedata.category(ch).startswith(("P", "S")):
        return "punct"
    return "other"


def is_japanese(text: str) -> bool:
    """Whether ``text`` is Japanese: it holds kana, or its letters are mostly kanji."""
    scripts = [script_of(c) for c in text]
    if any(s in ("hiragana", "katakana") for s in scripts):
        return True
    kanji = scripts.count("kanji")
    letters = kanji + scripts.count("latin") + scripts.count("other")
    return kanji > 0 and kanji * 2 > letters


@functools.cache
def _tagger():
    try:
        import fugashi
    except ImportError:
        return None
    try:
        return fugashi.Tagger()
    except Exception:  # fugashi without a dictionary (unidic-lite missing)
        return None


def has_morphemes() -> bool:
    """Whether fugashi and a dictionary (unidic-lite) are installed."""
    return _tagger() is not None


def _script_starts(text: str) -> list[int]:
    starts, prev = [], None
    for i, ch in enumerate(text):
        s = script_of(ch)
        if s == "space":  # a space starts the word it precedes
            if prev != "space":
                starts.append(i)
        elif s != prev and prev != "space":
            starts.append(i)
        prev = s
    return starts


def _morpheme_starts(text: str) -> list[int]:
    starts, at = [], 0
    for w in _tagger()(text):
        surface = str(w.surface)
        found = text.find(surface, at)
        if found < 0:
            continue
        # the space before a word belongs to it
        lead = found
        while lead > at and text[lead - 1].isspace():
            lead -= 1
        starts.append(lead)
        at = found + len(surface)
    return starts


def char_starts(text: str, *, engine: str = "auto") -> list[int]:
    """Character offsets where the words of ``text`` start (``0`` first).

    ``engine``: ``"fugashi"`` (morphemes; ImportError naming ``lmlens[ja]`` without it),
    ``"script"`` (runs of one script), ``"auto"`` (fugashi when installed).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {list(ENGINES)}, got {engine!r}")
    if engine == "fugashi" and not has_morphemes():
        raise ImportError("Japanese morphemes need fugashi and unidic-lite: pip install 'lmlens[ja]'")
    use = has_morphemes() if engine == "auto" else engine == "fugashi"
    starts = _morpheme_starts(text) if use else _script_starts(text)
    return sorted({0, *starts}) if text else []


def word_spans(text: str, *, engine: str = "auto") -> list[str]:
    """``text`` cut into words (``char_starts``)."""
    b = char_starts(text, engine=engine)
    return [text[a:c] for a, c in zip(b, [*b[1:], len(text)], strict=True)]


def word_starts(tokens: Sequence[str], marked: np.ndarray | Sequence[bool], *,
                engine: str = "auto") -> np.ndarray:
    """``(n_tokens,)`` bool: True where a token starts a word.

    ``tokens`` are display strings that join to the text (a token holding only the first bytes
    of a character reads ``""``; the token completing it carries the character); ``marked`` is
    what the tokenizer marks (``Ġ``, ``▁``, ``##``). Japanese text is cut by ``char_starts``
    instead, whatever the tokenizer marks: a token starts a word when the first character it
    begins starts one.

    >>> word_starts(["東京", "は", "日本", "の"], [True, False, False, False]).tolist()
    [True, True, True, True]
    """
    marked = np.asarray(marked, dtype=bool).copy()
    text = "".join(tokens)
    if not is_japanese(text):
        return marked
    bounds = set(char_starts(text, engine=engine))
    out = np.zeros(len(tokens), dtype=bool)
    at, prev = 0, -1  # char offset where each token begins; "" tokens begin the next character
    for i, t in enumerate(tokens):
        out[i] = at in bounds and at != prev
        prev = at
        at += len(t)
    if len(tokens):
        out[0] = True
    return out
