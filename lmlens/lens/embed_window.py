"""Embedding one window of texts: the unit of ``lens.embed``, ``lens.embed_file`` and of every Ray
actor (``embed_ray.py``), so that all three compute the same rows the same way.

Texts are tokenized (a text that cannot be, is skipped with its reason), captured in sorted, padded
batches (``capture.iter_batches``) and pooled as each batch comes; only the vectors are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from torch import nn

from ..analyses.embed import EmbedOptions, pool_text
from ..capture import iter_batches, model_dims
from ..corpus import Window, read_window

if TYPE_CHECKING:
    from .core import LensCore


def model_pooler(model: nn.Module) -> nn.Module | None:
    """The model's pooler (BERT's ``pooler``: dense + tanh on ``[CLS]``), or None."""
    for owner in (model, getattr(model, getattr(model, "base_model_prefix", ""), None)):
        pooler = getattr(owner, "pooler", None) if owner is not None else None
        if isinstance(pooler, nn.Module):
            return pooler
    return None


def embed_options(lens: LensCore, *, layers, pooling, normalize, batch_size) -> EmbedOptions:
    """The options of ``lens.embed`` checked against this model."""
    return EmbedOptions.make(
        layers=layers, pooling=pooling, normalize=normalize, batch_size=batch_size,
        n_layers=lens.n_layers, cls_token_id=getattr(lens.tokenizer, "cls_token_id", None),
        has_pooler=model_pooler(lens.model) is not None,
    )


def output_dim(lens: LensCore, opts: EmbedOptions) -> int:
    """Columns of one vector: ``len(layers) * d_model`` (the pooler: its output width)."""
    d_model = model_dims(lens.model, lens.anatomy)["d_model"]
    if opts.pooling == "pooler":
        dense = getattr(model_pooler(lens.model), "dense", None)
        return int(getattr(dense, "out_features", d_model))
    return len(opts.layers) * d_model


@dataclass
class WindowOut:
    """What embedding one window of texts gives: ``rows`` (pooled: ``(n, dim)`` float32, NaN rows for
    skipped texts; per token: a list of ``(n_tokens, dim)`` arrays, None for skipped), ``offsets`` and
    ``token_ids`` per token (``pooling="none"``), and ``errors``: ``(index in the window, why)``."""

    rows: np.ndarray | list
    errors: list[tuple[int, str]] = field(default_factory=list)
    offsets: list | None = None
    token_ids: list | None = None


def _offsets(lens: LensCore, text: str, n: int) -> np.ndarray:
    """``(n, 2)`` character spans of the first ``n`` tokens of ``text`` (-1 when unknown)."""
    tok = lens.tokenizer
    if getattr(tok, "is_fast", False):
        enc = tok(text, return_offsets_mapping=True)
        spans = enc.get("offset_mapping") or []
        if len(spans) >= n:
            return np.asarray(spans[:n], dtype=np.int64).reshape(n, 2)
    return np.full((n, 2), -1, dtype=np.int64)


def embed_window(
    lens: LensCore,
    texts: Sequence[str | None],
    opts: EmbedOptions,
    *,
    errors: Sequence[tuple[int, str]] = (),
    advance: Callable[[int], object] | None = None,
) -> WindowOut:
    """Embed one window of ``texts`` (None: a line already known to be bad, with its reason in
    ``errors``). A text that cannot be tokenized (too long, empty, no ``[CLS]`` for ``"cls"``) is
    skipped with its reason; the others are captured in sorted, padded batches and pooled."""
    bad = dict(errors)
    ids, keep = [], []
    cls_id = getattr(lens.tokenizer, "cls_token_id", None)
    for i, text in enumerate(texts):
        if text is None:
            bad.setdefault(i, "no text")
            continue
        try:
            t = lens.tokenize(text)
        except (ValueError, TypeError) as e:
            bad[i] = str(e)
            continue
        if opts.pooling in ("cls", "pooler") and int(t[0]) != cls_id:
            bad[i] = f"pooling={opts.pooling!r}: the text's first token is not [CLS]"
            continue
        ids.append(t)
        keep.append(i)
    n = len(texts)
    per_token = opts.per_token
    rows: np.ndarray | list
    if per_token:
        rows, offsets, token_ids = [None] * n, [None] * n, [None] * n
    else:
        rows = np.full((n, output_dim(lens, opts)), np.nan, dtype=np.float32)
        offsets = token_ids = None
    if advance is not None and bad:
        advance(len(bad))
    if ids:
        final_norm = lens.anatomy.final_norm_module(lens.model)
        pooler = model_pooler(lens.model) if opts.pooling == "pooler" else None
        batches = iter_batches(lens.model, lens.anatomy, ids, list(opts.points), pad_id=lens.pad_id,
                               batch_size=opts.batch_size, progress=False)
        for batch in batches:
            for j, tensors in batch:
                i = keep[j]
                v = pool_text(tensors, opts, final_norm=final_norm, pooler=pooler)
                rows[i] = v
                if per_token:
                    offsets[i] = _offsets(lens, texts[i], v.shape[0])
                    token_ids[i] = ids[j].numpy().astype(np.int64)
            if advance is not None:
                advance(len(batch))
    return WindowOut(rows=rows, errors=sorted(bad.items()), offsets=offsets, token_ids=token_ids)


def window_of_lines(lens: LensCore, path: str, window: Window, opts: EmbedOptions, *,
                    advance: Callable[[int], object] | None = None) -> WindowOut:
    """Read ``window`` of the file at ``path`` and embed its lines (bad lines skipped with why)."""
    lines = read_window(path, window)
    errors = [(j, why) for j, (_, why) in enumerate(lines) if why is not None]
    return embed_window(lens, [t for t, _ in lines], opts, errors=errors, advance=advance)
