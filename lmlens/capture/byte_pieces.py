"""Tokens that hold part of a UTF-8 character, shown as hex (``<E6 9D>``).

Byte-level BPE (GPT-2, Llama 3, SmolLM2) splits one Japanese character into 2–3 byte tokens, and
sentencepiece's byte fallback writes ``<0xE6>`` pieces; decoding such a token alone gives U+FFFD.
Here a token's bytes are read from its vocabulary piece, the incomplete bytes are written as hex,
and, in a text (where the following bytes are known), the character they belong to follows in
parentheses:

>>> label_bytes(b"\\xe6\\x9d")
'<E6 9D>'
>>> text_labels([b"\\xe6\\x9d", b"\\xb1\\xe4\\xba", b"\\xac"])
['<E6 9D>(東)', '<B1>(東)<E4 BA>(京)', '<AC>(京)']
>>> text_labels([b"Tokyo", b" is"])
['', '']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

_FALLBACK = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


@functools.cache
def byte_decoder() -> dict[str, int]:
    """Byte-level BPE's printable stand-in character → byte (GPT-2's ``bytes_to_unicode``)."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs = bs[:]
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + len(cs) - 188)
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def _is_byte_level(tokenizer) -> bool:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    decoder = getattr(backend, "decoder", None)
    return decoder is not None and "ByteLevel" in repr(decoder)


def piece_bytes(tokenizer, piece: str) -> bytes | None:
    """The bytes a vocabulary piece stands for: a byte-level BPE piece (``"æĿ"`` → ``E6 9D``) or
    a sentencepiece byte-fallback piece (``"<0xE6>"``); None for any other piece."""
    m = _FALLBACK.match(piece)
    if m:
        return bytes([int(m.group(1), 16)])
    if piece and _is_byte_level(tokenizer):
        table = byte_decoder()
        if all(ch in table for ch in piece):
            return bytes(table[ch] for ch in piece)
    return None


def utf8_chars(b: bytes) -> list[tuple[int, int, str | None]]:
    """``(start, end, char)`` for every character of ``b``; an invalid or cut byte is one entry
    with ``char`` None."""
    out: list[tuple[int, int, str | None]] = []
    i = 0
    while i < len(b):
        c = b[i]
        n = 1 if c < 0x80 else 2 if 0xC0 <= c < 0xE0 else 3 if 0xE0 <= c < 0xF0 else 4 if 0xF0 <= c < 0xF8 else 0
        if n and i + n <= len(b):
            try:
                out.append((i, i + n, b[i : i + n].decode("utf-8")))
                i += n
                continue
            except UnicodeDecodeError:
                pass
        out.append((i, i + 1, None))
        i += 1
    return out


def hex_bytes(b: bytes) -> str:
    """``<E6 9D>``."""
    return "<" + " ".join(f"{x:02X}" for x in b) + ">"


def label_bytes(b: bytes) -> str:
    """A token's bytes on their own: whole characters as text, the rest as hex runs."""
    out, run = [], bytearray()
    for s, e, ch in utf8_chars(b):
        if ch is None:
            run += b[s:e]
            continue
        if run:
            out.append(hex_bytes(bytes(run)))
            run.clear()
        out.append(ch)
    if run:
        out.append(hex_bytes(bytes(run)))
    return "".join(out)


def text_labels(token_bytes: Sequence[bytes]) -> list[str]:
    """One label per token of a text given each token's bytes: ``""`` for a token made of
    whole characters, else its whole characters as text and each cut character as the token's
    share of its bytes in hex followed by the character, ``<E6 9D>(東)``."""
    full = b"".join(token_bytes)
    chars = utf8_chars(full)
    labels: list[str] = []
    start, ci = 0, 0
    for tb in token_bytes:
        end = start + len(tb)
        while ci < len(chars) and chars[ci][1] <= start:
            ci += 1
        parts: list[str] = []
        run = bytearray()  # cut bytes of no known character, shown as one hex run
        cut = False
        j = ci
        while j < len(chars) and chars[j][0] < end:
            s, e, ch = chars[j]
            whole = ch is not None and s >= start and e <= end
            if not whole:
                cut = True
            share = full[max(s, start) : min(e, end)]
            if ch is None:
                run += share
            else:
                if run:
                    parts.append(hex_bytes(bytes(run)))
                    run.clear()
                parts.append(ch if whole else f"{hex_bytes(share)}({ch})")
            j += 1
        if run:
            parts.append(hex_bytes(bytes(run)))
        labels.append("".join(parts) if cut else "")
        start = end
    return labels


def token_label(tokenizer, token_id: int) -> str:
    """One token id as a string on its own: decoded, or, when decoding alone gives U+FFFD (part
    of a UTF-8 character), its whole characters as text and the partial bytes as hex
    (``"<E6 9D>"``, ``" <E6>"``).

    >>> token_label(AutoTokenizer.from_pretrained("gpt2"), 162)  # doctest: +SKIP
    '<E6>'
    """
    text = tokenizer.decode([int(token_id)], clean_up_tokenization_spaces=False)
    if "\ufffd" not in text:
        return text
    piece = str(tokenizer.convert_ids_to_tokens(int(token_id)))
    b = piece_bytes(tokenizer, piece)
    return label_bytes(b) if b is not None else piece


def labels_for_text(tokenizer, pieces: Sequence[str], tokens: Sequence[str]) -> list[str]:
    """``text_labels`` for a tokenized text: each token's bytes from its piece when it is a byte
    piece, else from its display string."""
    raw = []
    for p, t in zip(pieces, tokens, strict=True):
        b = piece_bytes(tokenizer, p)
        raw.append(b if b is not None else t.encode("utf-8"))
    return text_labels(raw)
