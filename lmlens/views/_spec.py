"""What every view's spec starts with, and the vocabulary of token strings a spec ships.

>>> from lmlens.views._spec import check_result
>>> check_result(3, int)
3
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np

from ._encode import encode_array

T = TypeVar("T")


def check_result(result: Any, cls: type[T] | tuple[type, ...], name: str = "result") -> T:
    """``result`` if it is an instance of ``cls``; else a ``TypeError`` saying what a view takes
    (views draw results; the ``lens`` methods compute them)."""
    if not isinstance(result, cls):
        want = cls.__name__ if isinstance(cls, type) else " or ".join(c.__name__ for c in cls)
        raise TypeError(
            f"{name} must be a {want}, got {type(result).__name__} (views draw results: call the "
            "lens method, e.g. lens.rankings(text), or the analysis function first)"
        )
    return result


def spec_header(
    kind: str,
    version: int,
    result: Any,
    *,
    title: str,
    summary: str,
    lo: int = 0,
    hi: int | None = None,
    notices: bool = True,
) -> dict[str, Any]:
    """The keys every spec starts with, for positions ``lo:hi`` of ``result``: ``kind``,
    ``version``, ``title``, ``model_name``, ``summary``, ``notices`` (the result's ``notes``),
    ``lm_kind`` (``"causal"``/``"masked"``), ``tokens``, ``generated`` and, where a token holds
    part of a character, ``token_labels`` (its bytes as hex, ``"<E6 9D>(東)"``; ``""`` for whole
    tokens)."""
    labels = list(getattr(result, "token_labels", ()) or ())[lo:hi]
    extra = {"token_labels": labels} if any(labels) else {}
    return {
        "kind": kind,
        "version": version,
        "title": title,
        "model_name": result.model_name,
        "summary": summary,
        "notices": list(result.notes) if notices else [],
        "lm_kind": result.kind,
        "tokens": list(result.tokens[lo:hi]),
        "generated": encode_array(np.asarray(result.generated[lo:hi]), "uint8"),
        **extra,
    }


def vocab(strings: Mapping[int, str], *arrays: np.ndarray) -> dict:
    """``{"vocab_ids": record, "vocab_strings": [...]}`` for every id in ``arrays``."""
    ids = np.unique(np.concatenate([np.asarray(a, dtype=np.int64).ravel() for a in arrays]))
    return {
        "vocab_ids": encode_array(ids, "int32"),
        "vocab_strings": [strings[int(i)] for i in ids],
    }
