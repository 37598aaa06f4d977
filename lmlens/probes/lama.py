"""``load_lama``: facts from LAMA's files (or ours).

LAMA's layout: ``data/relations.jsonl`` (``{"relation": "P19", "template": "[X] was born in [Y] ."}``)
and one ``.jsonl`` per relation (``data/TREx/P19.jsonl``: ``sub_label``, ``obj_label``,
``predicate_id``), or files whose records carry ``masked_sentences`` (Google-RE, SQuAD,
ConceptNet). Templates come from the record, else from ``templates``, else from a
``relations.jsonl`` found beside the file or one folder up.

>>> facts = load_lama("LAMA/data/TREx/P19.jsonl")  # doctest: +SKIP
>>> facts[0].template, facts[0].relation  # doctest: +SKIP
('[X] was born in [Y] .', 'P19')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .facts import Fact, as_fact, read_jsonl

RELATIONS = "relations.jsonl"


def _templates(source: str | os.PathLike | Mapping[str, str] | None, near: Path) -> dict[str, str]:
    if isinstance(source, Mapping):
        return {str(k): str(v) for k, v in source.items()}
    if source is None:
        found = [d / RELATIONS for d in (near, near.parent) if (d / RELATIONS).is_file()]
        if not found:
            return {}
        source = found[0]
    return {str(r["relation"]): str(r["template"]) for r in read_jsonl(source)
            if "relation" in r and "template" in r}


def load_lama(path: str | os.PathLike, *, templates: str | os.PathLike | Mapping[str, str] | None = None) -> list[Fact]:
    """Facts from a LAMA ``.jsonl`` file or a folder of them (``relations.jsonl`` itself excluded).

    ``templates``: relation id → template, or the path of LAMA's ``relations.jsonl`` (default:
    the one beside ``path`` or a folder up). ``ValueError`` naming the file and line of a record
    that is not a fact, or when nothing is found.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise ValueError(f"facts: no file or folder at {str(p)!r}")
    if p.is_dir():
        files = sorted(f for f in p.glob("*.jsonl") if f.name != RELATIONS)
        near = p
    else:
        files, near = [p], p.parent
    if not files:
        raise ValueError(f"facts: no .jsonl files in {str(p)!r}")
    table = _templates(templates, near)
    facts: list[Fact] = []
    for f in files:
        for n, rec in enumerate(read_jsonl(f), 1):
            facts.append(as_fact(rec, f"{f.name} record {n}", table))
    if not facts:
        raise ValueError(f"facts: {str(p)!r} holds no facts")
    return facts
