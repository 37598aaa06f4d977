"""Batched capture: many texts padded into batches, cut back into one tensor dict per text.

Texts are sorted by length (longest first) so that a batch holds texts of similar length, padded
on ``padding_side`` and masked; every captured tensor is cut back to the text's own positions
(no padding in it), so a text's tensors equal those of a single-text ``record`` (up to float
rounding, ~1e-6). Whether a model needs explicit ``position_ids`` for a padding side (left padding
on most causal LMs: HF counts positions from the first column, padding included) is found once per
model by a 3-token probe that compares a padded forward with an unpadded one; a model for which
neither way reproduces the unpadded result is refused with a clear error.

``iter_batches`` streams (for corpora: reduce each batch, keep nothing); ``record_batch`` collects
all results, in input order, after checking the byte budget for all of them.

>>> import torch, transformers
>>> from lmlens.anatomy import discover
>>> cfg = transformers.GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=50, n_positions=32)
>>> model = transformers.GPT2LMHeadModel(cfg)
>>> got = record_batch(model, discover(model), [torch.tensor([1, 2, 3]), torch.tensor([4, 5])],
...                    ["blocks.1.resid_post"], pad_id=0)
>>> [g["blocks.1.resid_post"].shape for g in got]
[torch.Size([3, 16]), torch.Size([2, 16])]
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import nn

from .. import names as N
from ..anatomy import Anatomy
from .budget import DEFAULT_MAX_BYTES
from .devices import model_dtype, rtol
from .points import require
from .run import check_capture_budget, forward

SIDES = ("right", "left")
Progress = bool | None | Callable

_PLANS: weakref.WeakKeyDictionary[nn.Module, dict] = weakref.WeakKeyDictionary()


def position_ids(mask: torch.Tensor) -> torch.Tensor:
    """Positions counted over real tokens only: ``[[0, 0, 0, 1, 2]]`` for mask ``[[0, 0, 1, 1, 1]]``."""
    return (mask.long().cumsum(-1) - 1).clamp(min=0)


def pad(seqs: Sequence[torch.Tensor], pad_id: int, side: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask)``, both ``(len(seqs), longest)``, padded on ``side``."""
    n = max(int(s.shape[0]) for s in seqs)
    ids = torch.full((len(seqs), n), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(seqs), n), dtype=torch.long)
    for row, s in enumerate(seqs):
        cols = slice(0, len(s)) if side == "right" else slice(n - len(s), n)
        ids[row, cols] = s
        mask[row, cols] = 1
    return ids, mask


def _cut(t: torch.Tensor, axes: tuple[int, ...], keep: slice, copy: bool) -> torch.Tensor:
    for a in axes:
        t = t.narrow(a, keep.start, keep.stop - keep.start)
    return t.clone() if copy else t


def _probe_ids(vocab: int, pad_id: int) -> torch.Tensor:
    return torch.tensor([i for i in range(1, 10) if i != pad_id][:4]) % vocab


def needs_position_ids(model: nn.Module, anatomy: Anatomy, side: str, pad_id: int) -> bool:
    """Whether a batch padded on ``side`` needs explicit ``position_ids`` to give the results of an
    unpadded forward (probed once per model, side and pad id). ``ValueError`` when neither works."""
    if side not in SIDES:
        raise ValueError(f"padding_side must be one of {SIDES}, got {side!r}")
    per_model = _PLANS.setdefault(model, {})
    key = (side, int(pad_id))
    if key not in per_model:
        point = [N.resid(anatomy.n_layers - 1)]
        long = _probe_ids(anatomy.embed_module(model).weight.shape[0], pad_id)
        short = long[:2]  # padded by 2 in the batch
        ref = forward(model, anatomy, short[None], torch.ones(1, 2, dtype=torch.long), point)[point[0]][0]
        padded, mask = pad([long, short], pad_id, side)
        keep = slice(0, 2) if side == "right" else slice(padded.shape[1] - 2, padded.shape[1])
        found = None
        for with_positions in (False, True):
            extra = {"position_ids": position_ids(mask)} if with_positions else {}
            try:
                got = forward(model, anatomy, padded, mask, point, **extra)[point[0]][1, keep]
            except TypeError:  # the forward takes no position_ids
                continue
            # relative to the largest activation (real models carry some in the thousands)
            tol = rtol(model_dtype(model), 1e-4)  # half precision: about its epsilon
            if float((got.float() - ref.float()).abs().max()) <= tol * max(1.0, float(ref.abs().max())):
                found = with_positions
                break
        if found is None:
            raise ValueError(
                f"padding_side={side!r}: padded batches of {type(model).__name__} do not reproduce "
                f"unpadded results (with or without position_ids); use padding_side="
                f"{'right' if side == 'left' else 'left'!r} or batch_size=1"
            )
        per_model[key] = found
    return per_model[key]


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of up to ``batch_size``, longest texts first.

    >>> length_batches([3, 9, 1, 5], 2)
    [[1, 3], [0, 2]]
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[k:k + batch_size] for k in range(0, len(order), batch_size)]


def progress_bar(progress: Progress, total: int, *, desc: str = "capture", unit: str = "batch"):
    """A tqdm bar over ``total`` steps, or None: ``progress=False`` (or one step) shows none,
    None shows one after 3 s, True at once, a tqdm-like class is used as given."""
    if progress is False or total <= 1:
        return None
    if progress is None or progress is True:
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, leave=False, delay=0 if progress else 3.0)
    return progress(total=total, desc=desc, unit=unit, leave=False)


def _check_inputs(input_ids: Sequence[torch.Tensor], padding_side: str) -> list[torch.Tensor]:
    if padding_side not in SIDES:
        raise ValueError(f"padding_side must be one of {SIDES}, got {padding_side!r}")
    seqs = list(input_ids)
    if not seqs:
        raise ValueError("input_ids: no texts to capture (empty list)")
    for i, s in enumerate(seqs):
        if not isinstance(s, torch.Tensor) or s.dim() != 1 or s.numel() == 0 or s.is_floating_point():
            raise ValueError(f"input_ids[{i}] must be a non-empty 1-D tensor of token ids")
    return seqs


def _plan(model, anatomy, input_ids, points, batch_size, padding_side):
    """Inputs and points checked, texts grouped: ``(seqs, lengths, batches)``."""
    seqs = _check_inputs(input_ids, padding_side)
    require(model, anatomy, points)
    lengths = [int(s.shape[0]) for s in seqs]
    return seqs, lengths, length_batches(lengths, batch_size)


def _positions(model, anatomy, lengths, batches, side, pad_id) -> bool:
    """Whether these batches need position_ids (the padding probe; after the budget check)."""
    padded = any(len({lengths[i] for i in b}) > 1 for b in batches)
    return padded and needs_position_ids(model, anatomy, side, pad_id)


def iter_batches(
    model: nn.Module,
    anatomy: Anatomy,
    input_ids: Sequence[torch.Tensor],
    points: list[str],
    *,
    pad_id: int,
    batch_size: int = 32,
    padding_side: str = "right",
    dtype: torch.dtype | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    progress: Progress = None,
) -> Iterator[list[tuple[int, dict[str, torch.Tensor]]]]:
    """An iterator over batches (longest texts first), each ``[(index, name → tensor), ...]``:
    each text's tensors with no batch axis and no padding positions. For corpora: reduce each
    batch as it comes and keep nothing. ``max_bytes`` bounds one batch; every check runs here,
    before the first forward."""
    seqs, lengths, batches = _plan(model, anatomy, input_ids, points, batch_size, padding_side)
    for b in batches:
        check_capture_budget(model, anatomy, points, [lengths[i] for i in b], [list(range(len(b)))],
                             dtype=dtype, max_bytes=max_bytes)
    positions = _positions(model, anatomy, lengths, batches, padding_side, pad_id)
    return _run(model, anatomy, seqs, batches, points, pad_id=pad_id, side=padding_side,
                positions=positions, dtype=dtype, progress=progress)


def _run(model, anatomy, seqs, batches, points, *, pad_id, side, positions, dtype, progress):
    axes = {p: N.site(p).position_axes for p in points}
    bar = progress_bar(progress, len(batches))
    try:
        for b in batches:
            ids, mask = pad([seqs[i] for i in b], pad_id, side)
            extra = {"position_ids": position_ids(mask)} if positions and not bool(mask.all()) else {}
            store = forward(model, anatomy, ids, mask, points, dtype=dtype, **extra)
            n = ids.shape[1]
            out = []
            for row, i in enumerate(b):
                length = len(seqs[i])
                keep = slice(0, length) if side == "right" else slice(n - length, n)
                copy = len(b) > 1 or length != n
                out.append((i, {p: _cut(store[p][row], axes[p], keep, copy) for p in points}))
            del store
            yield out
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()


def record_batch(
    model: nn.Module,
    anatomy: Anatomy,
    input_ids: Sequence[torch.Tensor],
    points: list[str],
    *,
    pad_id: int,
    batch_size: int = 32,
    padding_side: str = "right",
    dtype: torch.dtype | None = None,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    progress: Progress = None,
) -> list[dict[str, torch.Tensor]]:
    """Capture ``points`` for every text in ``input_ids`` (1-D id tensors), ``batch_size`` texts
    per forward; returns one name → tensor dict per text, in input order, without padding.

    ``max_bytes`` bounds everything returned plus what the largest batch holds during its forward;
    the check runs before any forward.
    """
    seqs, lengths, batches = _plan(model, anatomy, input_ids, points, batch_size, padding_side)
    check_capture_budget(model, anatomy, points, lengths, batches, dtype=dtype, max_bytes=max_bytes)
    positions = _positions(model, anatomy, lengths, batches, padding_side, pad_id)
    results: list[dict[str, torch.Tensor] | None] = [None] * len(seqs)
    for done in _run(model, anatomy, seqs, batches, points, pad_id=pad_id, side=padding_side,
                     positions=positions, dtype=dtype, progress=progress):
        for i, tensors in done:
            results[i] = tensors
    return results  # type: ignore[return-value]
