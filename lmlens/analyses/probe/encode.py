"""A fact's sentence as token ids, with the object's tokens located.

The sentence is tokenized whole (the tokenizer's own segmentation, special tokens included) and the
object found by character offsets (a fast tokenizer's ``offset_mapping``). Whitespace before the
object goes with it (``" Paris"``: byte-level BPE writes the space into the word's token). When a
token straddles the object's edge (byte-level BPE can merge across a Japanese word boundary), the
left context, the object and the right context are tokenized apart and joined, and the result says
``clean=False``.

For a causal LM, trailing special tokens (sentencepiece's ``</s>``) are dropped, and when no token
precedes the object the BOS token (else EOS) is put first, so that every object token is predicted
from something.

>>> from transformers import AutoTokenizer  # doctest: +SKIP
>>> enc = SlotEncoder(AutoTokenizer.from_pretrained("gpt2"), kind="causal")  # doctest: +SKIP
>>> enc.encode("The capital of France is ", "Paris", ".")  # doctest: +SKIP
Encoded(ids=[464, 3139, 286, 4881, 318, 6342, 13], span=(5, 6), clean=True)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Encoded:
    """Token ids of one sentence; ``ids[span[0]:span[1]]`` are the object's tokens."""

    ids: tuple[int, ...]
    span: tuple[int, int]
    clean: bool


class SlotEncoder:
    """Encodes ``left + object + right`` with a Hugging Face fast tokenizer (``kind``: ``"causal"``
    or ``"masked"``)."""

    def __init__(self, tokenizer, kind: str) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError(
                f"probing needs a fast tokenizer (character offsets locate the object); "
                f"{type(tokenizer).__name__} is not one. Load the model with use_fast=True (for "
                "sentencepiece models, install protobuf so transformers can convert it)."
            )
        self.tok = tokenizer
        self.kind = kind
        self.special = set(int(i) for i in getattr(tokenizer, "all_special_ids", []) or [])
        bos = getattr(tokenizer, "bos_token_id", None)
        self.start_id = bos if isinstance(bos, int) else getattr(tokenizer, "eos_token_id", None)

    def _plain(self, text: str) -> list[int]:
        return list(self.tok(text, add_special_tokens=False)["input_ids"]) if text else []

    def encode(self, left: str, obj: str, right: str) -> Encoded:
        """The ids of ``left + obj + right`` and where ``obj`` lies in them."""
        core = left.rstrip()
        middle = left[len(core):] + obj
        text = core + middle + right
        enc = self.tok(text, return_offsets_mapping=True)
        ids = [int(i) for i in enc["input_ids"]]
        offs = [tuple(o) for o in enc["offset_mapping"]]
        a0, b0 = len(core), len(core) + len(middle)
        inside = [i for i, (s, e) in enumerate(offs) if e > s and s < b0 and e > a0 and ids[i] not in self.special]
        clean = bool(inside) and inside == list(range(inside[0], inside[-1] + 1)) and all(
            not (text[s:a0] if s < a0 else "").strip() and not (text[b0:e] if e > b0 else "").strip()
            for s, e in (offs[i] for i in inside)
        )
        if clean:
            span = (inside[0], inside[-1] + 1)
        else:
            lead = 0
            while lead < len(ids) and ids[lead] in self.special and offs[lead] == (0, 0):
                lead += 1
            trail = len(ids)
            while trail > lead and ids[trail - 1] in self.special and offs[trail - 1] == (0, 0):
                trail -= 1
            pieces = self._plain(core), self._plain(middle), self._plain(right)
            if not pieces[1]:
                raise ValueError(f"the object {obj!r} gives no tokens")
            span = (lead + len(pieces[0]), lead + len(pieces[0]) + len(pieces[1]))
            ids = ids[:lead] + pieces[0] + pieces[1] + pieces[2] + ids[trail:]
        if self.kind == "causal":
            while len(ids) > span[1] and ids[-1] in self.special:
                ids.pop()
            if span[0] == 0:
                if self.start_id is None:
                    raise ValueError(f"{text!r}: a causal LM cannot score an object that starts the "
                                     "sentence, and this tokenizer has no BOS or EOS token to put first")
                ids = [int(self.start_id)] + ids
                span = (span[0] + 1, span[1] + 1)
        return Encoded(ids=tuple(ids), span=span, clean=clean)
