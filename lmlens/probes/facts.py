"""``Fact``: one cloze question. A template holds ``[Y]`` (where the object goes) once and ``[X]``
(the subject) at most once; LAMA's masked sentences, whose subject is already written out, have
no ``[X]``.

Records are read from LAMA's field names too: ``sub_label`` → subject, ``obj_label`` → object,
``predicate_id`` (or ``pred``) → relation, and ``masked_sentences`` (the first, ``[MASK]`` → ``[Y]``)
when there is no ``template``.

>>> as_fact({"sub_label": "Dante", "obj_label": "Florence", "predicate_id": "P19",
...          "template": "[X] was born in [Y] ."}).sentence()
'Dante was born in Florence .'
>>> as_fact({"subject": "a", "object": "b", "template": "no slot"})
Traceback (most recent call last):
...
ValueError: facts[0]: template must contain [Y] (where the object goes) once, got 'no slot'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

X, Y, MASK = "[X]", "[Y]", "[MASK]"


@dataclass(frozen=True)
class Fact:
    """A cloze question: ``template`` with ``[X]`` → ``subject`` and ``[Y]`` → ``object``.

    ``relation`` groups facts (precision per relation); ``candidates`` (optional) are the objects
    to rank when the object cannot be read off the vocabulary (several tokens, or a causal LM with
    words after the slot); by default those are the objects of the relation's facts.
    """

    template: str
    subject: str
    object: str
    relation: str = ""
    lang: str | None = None
    candidates: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("template", "subject", "object", "relation"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a str, got {type(getattr(self, name)).__name__}")
        if self.template.count(Y) != 1:
            raise ValueError(f"template must contain {Y} (where the object goes) once, got {self.template!r}")
        if self.template.count(X) > 1:
            raise ValueError(f"template must contain {X} (the subject) at most once, got {self.template!r}")
        if X in self.template and not self.subject.strip():
            raise ValueError(f"subject must be a non-empty string (the template has {X}): {self.template!r}")
        if not self.object.strip():
            raise ValueError(f"object must be a non-empty string (template {self.template!r})")
        if self.candidates is not None:
            cands = tuple(self.candidates)
            if not cands or not all(isinstance(c, str) and c.strip() for c in cands):
                raise ValueError("candidates must be a non-empty list of non-empty strings")
            object.__setattr__(self, "candidates", cands)

    def parts(self) -> tuple[str, str]:
        """``(left, right)``: the text before and after the object, subject filled in."""
        left, right = self.template.split(Y)
        return left.replace(X, self.subject), right.replace(X, self.subject)

    def sentence(self, obj: str | None = None) -> str:
        """The template with the subject and ``obj`` (default: the object) filled in."""
        left, right = self.parts()
        return left + (self.object if obj is None else obj) + right


def _first(rec: Mapping[str, Any], *keys: str) -> Any:
    for k in keys:
        if rec.get(k) is not None:
            return rec[k]
    return None


def as_fact(record: Fact | Mapping[str, Any], where: str = "facts[0]",
            templates: Mapping[str, str] | None = None) -> Fact:
    """A ``Fact`` from a ``Fact`` or a record (our fields or LAMA's); ``ValueError`` naming
    ``where`` for a record that is not a fact. ``templates``: relation → template, for LAMA records
    that carry none (T-REx)."""
    if isinstance(record, Fact):
        return record
    if not isinstance(record, Mapping):
        raise TypeError(f"{where}: a fact must be a lmlens.probes.Fact or a dict, got {type(record).__name__}")
    relation = _first(record, "relation", "predicate_id", "pred")
    template = _first(record, "template")
    if template is None and templates and relation in templates:
        template = templates[relation]
    if template is None:
        sentences = record.get("masked_sentences")
        if isinstance(sentences, Sequence) and not isinstance(sentences, str) and sentences:
            first = str(sentences[0])
            if first.count(MASK) != 1:
                raise ValueError(f"{where}: masked_sentences[0] must contain {MASK} once, got {first!r}")
            template = first.replace(MASK, Y)
    if template is None:
        raise ValueError(f"{where}: no template (a 'template' with {X} and {Y}, LAMA's "
                         "'masked_sentences', or a relation whose template is known)")
    try:
        return Fact(
            template=str(template), subject=str(_first(record, "subject", "sub_label", "sub_surface") or ""),
            object=str(_first(record, "object", "obj_label", "obj_surface") or ""),
            relation=str(relation or ""), lang=record.get("lang"),
            candidates=None if record.get("candidates") is None else tuple(record["candidates"]),
        )
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: {e}") from None


def as_facts(records: Iterable[Fact | Mapping[str, Any]], templates: Mapping[str, str] | None = None) -> list[Fact]:
    """Facts from records (``ValueError`` naming the first bad one); at least one."""
    if isinstance(records, (str, bytes, Mapping, Fact)):
        raise TypeError("facts must be a list of facts (Fact objects or dicts), or a path given to "
                        "lmlens.probes.load_lama")
    facts = [as_fact(r, f"facts[{i}]", templates) for i, r in enumerate(records)]
    if not facts:
        raise ValueError("facts: no facts to probe (empty list)")
    return facts


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """The JSON objects of a ``.jsonl`` file, one per non-blank line (``ValueError`` naming the
    line of one that is not)."""
    p = Path(path)
    out = []
    with open(p, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                raise ValueError(f"{p.name} line {n}: not a JSON object ({e})") from None
            if not isinstance(rec, dict):
                raise ValueError(f"{p.name} line {n}: not a JSON object")
            out.append(rec)
    return out
