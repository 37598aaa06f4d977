"""``lens.causal_trace`` (a view) and ``lens.patch`` (a result): where in the model a fact is
computed, and one activation patch for experiments of your own.

Both read the prediction after the text (a causal LM) or at its mask token (a masked LM). A fact
record from ``lens.probe`` (or any LAMA-style mapping: ``sub_label``, ``obj_label``, a
``template`` with ``[X]`` and ``[Y]`` or ``masked_sentences``) is traced directly:
``lens.causal_trace(fact)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..capture import Trace, display_tokens, labels_for_text
from .defaults import VIEW_MAX_BYTES

if TYPE_CHECKING:
    from ..analyses.tracing import PatchResult
    from ..views.figure_view import FigureView
    from .core import LensCore

TextOrTrace = str | Sequence[int] | torch.Tensor | Trace


def _text_ids(lens: LensCore, x: Any) -> tuple[torch.Tensor, list[str], np.ndarray]:
    """``(ids, display tokens, generated)`` of a text, ids or a ``Trace``."""
    if isinstance(x, Trace):
        return x.token_ids.detach().cpu().long(), list(x.tokens), np.asarray(x.generated, bool)
    ids = lens.tokenize(x)
    return ids, display_tokens(lens.tokenizer, ids.tolist())[0], np.zeros(int(ids.shape[0]), bool)


def _token_labels(lens: LensCore, x: Any, ids: torch.Tensor) -> tuple[str, ...]:
    """The chip labels of ``x``'s tokens (``Trace.labels``: a byte piece's hex and the character it
    is part of, ``"<E6 9D>(東)"``; ``""`` for whole tokens)."""
    if isinstance(x, Trace) and len(x.labels) == int(ids.shape[0]):
        return tuple(x.labels)
    tokens, pieces, _ = display_tokens(lens.tokenizer, ids.tolist())
    return tuple(labels_for_text(lens.tokenizer, pieces, tokens))


def _answer_position(lens: LensCore, ids: torch.Tensor, name: str) -> int:
    """The position whose prediction is read: the last (causal), or the one mask token (masked)."""
    if lens.kind == "causal":
        return int(ids.shape[0]) - 1
    mask = getattr(lens.tokenizer, "mask_token_id", None)
    at = [] if mask is None else (ids == int(mask)).nonzero().flatten().tolist()
    if len(at) != 1:
        tok = getattr(lens.tokenizer, "mask_token", None) or "[MASK]"
        raise ValueError(f"{name}: a masked LM reads its prediction at the mask: put exactly one {tok} "
                         f"in the text (found {len(at)})")
    return int(at[0])


def _target_id(lens: LensCore, target: Any, notes: list[str]) -> int | None:
    """A token id for ``target`` (a string: its first token; an id; None: the model's top-1)."""
    if target is None:
        return None
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        return int(target)
    if not isinstance(target, str) or not target:
        raise TypeError(f"target must be a non-empty string, a token id or None, got {target!r}")
    ids = list(lens.tokenizer(target, add_special_tokens=False)["input_ids"])
    if not ids:
        raise ValueError(f"target {target!r} has no tokens")
    if len(ids) > 1:
        first = lens.token_strings(ids[:1])[0]
        notes.append(f"The target {target!r} is {len(ids)} tokens; its first, {first!r}, is traced.")
    return int(ids[0])


def _subject(tokens: list[str], subject: Any) -> list[int]:
    from ..analyses.tracing import subject_positions

    if isinstance(subject, str):
        return subject_positions(tokens, subject)
    if isinstance(subject, (list, tuple, range, np.ndarray)) and len(subject):
        return [int(p) for p in subject]
    raise ValueError(
        "subject must be the subject's text as it appears in the text (e.g. subject='Eiffel Tower') "
        f"or a list of token positions; got {subject!r}"
    )


def causal_trace(
    lens: LensCore,
    x: TextOrTrace | Any,
    *,
    subject: str | Sequence[int] | None = None,
    target: str | int | None = None,
    sites: str | Sequence[str] = ("resid", "mlp", "attn"),
    noise: float | None = None,
    n_samples: int = 10,
    window: int = 1,
    seed: int = 0,
    topk: int = 5,
    progress=None,
    max_bytes: int | None = VIEW_MAX_BYTES,
    theme: str = "auto",
) -> FigureView:
    """Causal tracing (ROME): corrupt the ``subject``'s embeddings with noise, restore one clean
    activation at a time (every site × layer × position) and show how much of the ``target``'s
    probability comes back: one layer × position heatmap per site. Hover a cell for the numbers;
    click it for that layer's logit-lens predictions at that position (clean run).

    ``x`` is a text, ids, a ``Trace``, or a fact record (``lens.causal_trace(fact)``: its text
    before the object, subject and object are used; ``subject=``/``target=`` override them).
    ``target``: a string (its first token), a token id, or None for the model's own top-1.
    ``noise``: the noise's standard deviation (default ROME's: 3× that of the token embeddings);
    ``n_samples`` draws, seeded with ``seed``. ``window``: layers restored around each ``mlp`` and
    ``attn`` cell (ROME uses 10). ``view.result`` is a ``CausalTraceResult``; ``view.figure()`` a
    matplotlib figure.

    >>> lens.causal_trace("The Eiffel Tower is located in the city of", subject="Eiffel Tower")  # doctest: +SKIP
    """
    from ..analyses.tracing import causal_trace as compute
    from ..analyses.tracing import fact_prompt, is_fact
    from ..views.causal_trace import causal_trace_view

    lens.require_unembedding("causal tracing")
    if is_fact(x):
        fact = fact_prompt(x)
        x, subject = fact.text, fact.subject if subject is None else subject
        target = fact.target if target is None else target
    if subject is None:
        raise ValueError("subject is required: the text of the subject to corrupt (e.g. subject='Eiffel Tower')")
    ids, tokens, generated = _text_ids(lens, x)
    answer = _answer_position(lens, ids, "x")
    notes: list[str] = []
    result = compute(
        lens.model, lens.anatomy, ids, subject=_subject(tokens, subject),
        target_id=_target_id(lens, target, notes), answer_position=answer, sites=sites, noise=noise,
        n_samples=n_samples, window=window, seed=seed, topk=topk, tokens=tokens, generated=generated,
        id_to_str=lens.token_strings, model_name=lens.name, progress=progress,
    )
    import dataclasses

    result = dataclasses.replace(result, notes=(*notes, *result.notes), token_labels=_token_labels(lens, x, ids))
    return causal_trace_view(result, max_bytes=max_bytes, theme=theme)


def patch(
    lens: LensCore,
    clean: TextOrTrace,
    corrupted: TextOrTrace | None = None,
    *,
    site: str,
    layer: int | Sequence[int],
    position: int | Sequence[int] | None,
    target: str | int | None = None,
    subject: str | Sequence[int] | None = None,
    noise: float | None = None,
    n_samples: int = 10,
    seed: int = 0,
    topk: int = 10,
) -> PatchResult:
    """One activation patch: run ``corrupted``, with ``site``'s activation (``"resid"``, ``"mlp"``,
    ``"attn"``, or a site key such as ``"mlp.post"``) at ``layer`` and ``position`` (ints, lists,
    or ``position=None`` for every position) copied from the clean run, and read the prediction
    after the text. ``corrupted`` is a text of as many tokens as ``clean``, or None with
    ``subject=`` to corrupt the clean text's subject with noise (as ``causal_trace``; probabilities
    are then means over the ``n_samples`` draws). Returns a ``PatchResult`` (``clean_prob``,
    ``corrupted_prob``, ``patched_prob``, the patched top-``topk``).

    >>> lens.patch("The Eiffel Tower is in", "The Colosseum is in", site="resid", layer=8, position=3)  # doctest: +SKIP
    """
    from ..analyses.tracing import patch as compute

    lens.require_unembedding("activation patching")
    ids, clean_tokens, _ = _text_ids(lens, clean)
    tokens = clean_tokens
    notes: list[str] = []
    other = None
    if corrupted is not None:
        other, tokens, _ = _text_ids(lens, corrupted)
        if other.shape != ids.shape:
            raise ValueError(
                f"corrupted must have as many tokens as clean: {int(other.shape[0])} vs {int(ids.shape[0])} "
                "(patching copies activations position by position)"
            )
    elif subject is None:
        raise ValueError("give a corrupted text, or corrupted=None with subject= to corrupt with noise")
    sub = None if subject is None else _subject(clean_tokens, subject)
    result = compute(
        lens.model, lens.anatomy, ids, other, site=site, layers=layer, positions=position,
        target_id=_target_id(lens, target, notes), answer_position=_answer_position(lens, ids, "clean"),
        subject=sub, noise=noise, n_samples=n_samples, seed=seed, topk=topk, tokens=tokens,
        id_to_str=lens.token_strings, model_name=lens.name,
    )
    if notes:
        import dataclasses

        result = dataclasses.replace(result, notes=tuple(notes))
    return result
