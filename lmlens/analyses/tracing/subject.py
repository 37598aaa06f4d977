"""Which token positions hold a subject, and what a fact record asks.

``subject_positions(tokens, "Eiffel Tower")`` finds the tokens whose text overlaps the first
occurrence of the subject in the text the display tokens spell (they concatenate to it).
``fact_prompt(fact)`` reads a LAMA-style record (``sub_label``, ``obj_label``, a ``template`` with
``[X]`` and ``[Y]`` or ``masked_sentences`` with ``[MASK]``; the probe's own ``subject``,
``object`` and ``template`` too) as the text before the object, the subject and the object.

>>> subject_positions(["The", " E", "iff", "el", " Tower", " is"], "Eiffel Tower")
[1, 2, 3, 4]
>>> fact_prompt({"sub_label": "Dante", "obj_label": "Florence", "template": "[X] was born in [Y] ."})
Fact(text='Dante was born in', subject='Dante', target=' Florence')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

_SUBJECT = ("sub_label", "subject", "sub")
_OBJECT = ("obj_label", "object", "obj", "answer")
_TEMPLATE = ("template", "masked_sentences", "masked_sentence", "sentence")
_SLOTS = ("[Y]", "[MASK]")


class Fact(NamedTuple):
    """A fact as causal tracing reads it: the text before the object, the subject in it, and the
    object as the continuation (with its leading space when the text has one before it)."""

    text: str
    subject: str
    target: str


def subject_positions(tokens: Sequence[str], subject: str) -> list[int]:
    """Positions of the tokens overlapping the first occurrence of ``subject`` in
    ``"".join(tokens)``; ``ValueError`` when it does not occur."""
    if not isinstance(subject, str) or not subject.strip():
        raise ValueError(f"subject must be a non-empty string found in the text, got {subject!r}")
    text = "".join(tokens)
    want = subject.strip()
    at = text.find(want)
    if at < 0:
        raise ValueError(f"subject {subject!r} does not occur in the text {text[:80]!r}")
    end = at + len(want)
    out, pos = [], 0
    for i, t in enumerate(tokens):
        lo, hi = pos, pos + len(t)
        pos = hi
        if hi > at and lo < end and t.strip():
            out.append(i)
    return out


def _field(fact: Any, names: tuple[str, ...]) -> Any:
    for n in names:
        v = fact.get(n) if isinstance(fact, Mapping) else getattr(fact, n, None)
        if v is not None:
            return v
    return None


def is_fact(x: Any) -> bool:
    """Whether ``x`` looks like a fact record (a mapping or object with a subject field)."""
    return not isinstance(x, (str, bytes)) and _field(x, _SUBJECT) is not None


def fact_prompt(fact: Any) -> Fact:
    """The ``Fact`` a LAMA-style record asks about (see the module docstring)."""
    subject = _field(fact, _SUBJECT)
    obj = _field(fact, _OBJECT)
    template = _field(fact, _TEMPLATE)
    if isinstance(template, (list, tuple)):
        template = template[0] if template else None
    if not isinstance(subject, str) or not subject.strip():
        raise ValueError(f"fact: no subject (one of {list(_SUBJECT)}) in {fact!r}")
    if not isinstance(template, str):
        raise ValueError(f"fact: no template (one of {list(_TEMPLATE)}) in {fact!r}")
    slot = next((s for s in _SLOTS if s in template), None)
    if slot is None:
        raise ValueError(f"fact: the template {template!r} has no [Y] or [MASK] slot for the object")
    before = template[: template.index(slot)].replace("[X]", subject)
    if subject not in before:
        raise ValueError(
            f"fact: the subject {subject!r} must come before the object in {template!r} "
            "(causal tracing reads the prediction after the text before the slot)"
        )
    text = before.rstrip()
    if not text:
        raise ValueError(f"fact: nothing before the object slot in {template!r}")
    target = None
    if isinstance(obj, str) and obj.strip():
        target = (" " if before[len(text):] else "") + obj.strip()
    return Fact(text, subject, target)
