"""What to run for each fact: its sentence, where the object is, and how it is scored.

- ``"vocab"``: the object is one token that the model predicts from what it sees (a masked LM: the
  ``[MASK]`` anywhere; a causal LM: the slot ends the sentence, so the left context is all there is).
  Rank over the whole vocabulary (LAMA's precision@1).
- ``"candidates"``: the object has several tokens, or a causal LM's slot has words after it
  (Japanese word order: 「[X]の首都は[Y]です。」). The relation's candidate objects are ranked by the
  log-likelihood the model gives them in the sentence: a causal LM, of every token from the object on
  (the object and what follows); a masked LM, of the object's tokens at ``[MASK]`` positions, one per
  token.

>>> from lmlens.probes import Fact
>>> candidate_sets([Fact("[X] is in [Y].", "a", "x", "r"), Fact("[X] is in [Y].", "b", "y", "r")])
[('x', 'y'), ('x', 'y')]
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ...probes import Fact
from .encode import Encoded, SlotEncoder

MODES = ("vocab", "candidates")


def ends_sentence(right: str) -> bool:
    """Whether ``right`` (the text after the slot) is only punctuation and spaces.

    >>> ends_sentence(" ."), ends_sentence("です。")
    (True, False)
    """
    return all(c.isspace() or unicodedata.category(c).startswith("P") for c in right)


@dataclass(frozen=True)
class Query:
    """One fact, planned. ``ids``: the sentence the logit lens reads (a causal LM: with the object;
    a masked LM: its tokens replaced by ``[MASK]``); ``span``: the object's tokens in it;
    ``object_ids``: the object's tokens; ``slot``: the position whose output is the object's first
    token (causal: ``span[0] - 1``; masked: ``span[0]``). In ``"candidates"`` mode,
    ``candidates[true_index]`` is the object and ``candidate_encodings`` their sentences."""

    ids: tuple[int, ...]
    span: tuple[int, int]
    object_ids: tuple[int, ...]
    slot: int
    mode: str
    clean: bool
    candidates: tuple[str, ...] = ()
    candidate_encodings: tuple[Encoded, ...] = ()
    true_index: int = 0


def candidate_sets(facts: Sequence[Fact]) -> list[tuple[str, ...]]:
    """Each fact's candidates: its own ``candidates`` (with its object), else the distinct objects
    of its relation's facts, in order of appearance."""
    by_rel: dict[str, list[str]] = {}
    for f in facts:
        objs = by_rel.setdefault(f.relation, [])
        if f.object not in objs:
            objs.append(f.object)
    out = []
    for f in facts:
        cands = list(f.candidates) if f.candidates is not None else list(by_rel[f.relation])
        if f.object not in cands:
            cands.append(f.object)
        out.append(tuple(cands))
    return out


def masked_ids(enc: Encoded, mask_id: int) -> tuple[int, ...]:
    """``enc.ids`` with the object's tokens replaced by ``mask_id``."""
    a, b = enc.span
    return enc.ids[:a] + (mask_id,) * (b - a) + enc.ids[b:]


def plan_queries(facts: Sequence[Fact], encoder: SlotEncoder, *, kind: str, mask_id: int | None) -> list[Query]:
    """One ``Query`` per fact (``kind``: ``"causal"`` or ``"masked"``; ``mask_id``: the masked
    LM's ``[MASK]`` id)."""
    if kind not in ("causal", "masked"):
        raise ValueError(f"probing needs an LM head (kind 'causal' or 'masked'), got kind={kind!r}")
    if kind == "masked" and mask_id is None:
        raise ValueError("this masked LM's tokenizer has no mask token")
    sets = candidate_sets(facts)
    queries = []
    for f, cands in zip(facts, sets, strict=True):
        left, right = f.parts()
        enc = encoder.encode(left, f.object, right)
        a, b = enc.span
        single = b - a == 1
        vocab = single and (kind == "masked" or ends_sentence(right))
        ids = masked_ids(enc, mask_id) if kind == "masked" else enc.ids
        slot = a if kind == "masked" else a - 1
        if vocab:
            queries.append(Query(ids=ids, span=enc.span, object_ids=enc.ids[a:b], slot=slot,
                                 mode="vocab", clean=enc.clean))
            continue
        encs = tuple(enc if c == f.object else encoder.encode(left, c, right) for c in cands)
        queries.append(Query(ids=ids, span=enc.span, object_ids=enc.ids[a:b], slot=slot, mode="candidates",
                             clean=enc.clean, candidates=cands, candidate_encodings=encs,
                             true_index=cands.index(f.object)))
    return queries
