"""Run many activation patches as batches of forwards: the engine of ``patch`` and ``causal_trace``.

A *base* run (a text, possibly several noisy copies of it: ``rows``) is corrupted; each ``Cell``
restores a *source* run's values of one site at some layers and positions into it, and the
answer's logits are read. Every cell runs on every base row; a batch holds several cells, rows
laid out sample-major (row ``s * n_cells + c``).

Two ways to run a batch, with the same results:

- **full**: one forward over the whole text per batch, with the patches as hooks
  (``capture/patch.py``). Any model; the answer at any position.
- **resumed** (causal LMs, the answer at the last position): a patch at position ``p`` and layer
  ``l`` cannot change what the base run computed before ``p`` (earlier positions never see later
  ones) or below ``l``. So the base prefix ``[0, p)`` runs once (its KV cache is copied for each
  batch), and each forward starts at block ``l`` from the base run's residual there
  (``capture/resume.py``), computing positions ``p ..`` and blocks ``l ..`` only. Cells are grouped
  by position, sorted by layer, and a batch takes in a cell of a higher layer only while the
  blocks computed for nothing stay under ``MERGE_WASTE`` of the useful work. Whether this
  reproduces full forwards is checked once per model on a small probe; if not, full forwards run.

Batches hold at most ``batch_rows`` rows (by default what ``DEFAULT_BATCH_BYTES`` of activations
allows); a tqdm bar counts cells.

>>> cells = [Cell("mlp.out", (3,), (5,)), Cell("resid_post", (0, 1), (2,))]
>>> [c.points() for c in cells]
[['blocks.3.mlp.out'], ['blocks.0.resid_post', 'blocks.1.resid_post']]
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ... import names as N
from ...anatomy import Anatomy
from ...capture import forward_args, inference_mode
from ...capture.batch import Progress, progress_bar
from ...capture.dims import model_dims
from ...capture.hooks import hooks
from ...capture.modes import attention_for
from ...capture.patch import Edit, add, check_patchable, patching, restore
from ...capture.resume import block_output_format, prefix_cache, resumed, tile_cache

#: Activation bytes one batch may hold by default (sets ``batch_rows``).
DEFAULT_BATCH_BYTES = 256 * 2**20
#: A batch of the resumed path takes in a cell of a higher start layer while the blocks it then
#: computes for nothing stay under this share of the useful work.
MERGE_WASTE = 0.1

Reduce = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Cell:
    """One patch: restore the source run's value of site ``site`` (a key of the site table:
    ``"resid_post"``, ``"mlp.out"``, ...) at every layer of ``layers`` and every position of
    ``positions`` (``layers`` is empty for ``"embed"``)."""

    site: str
    layers: tuple[int, ...]
    positions: tuple[int, ...]

    def points(self) -> list[str]:
        """The point names this cell writes."""
        if self.site == N.EMBED:
            return [N.EMBED]
        return [N.block(layer, self.site) for layer in self.layers]

    @property
    def start(self) -> tuple[int, int]:
        """``(position, layer)`` from which this cell can change the base run."""
        return min(self.positions), (min(self.layers) if self.layers else 0)


@dataclass(frozen=True)
class Base:
    """The run patches go into: ``ids`` ``(n,)`` repeated on ``rows`` rows, with ``noise``
    ``(rows, len(noise_positions), d_model)`` added to the embeddings (the input of block 0) at
    ``noise_positions`` (None: no noise)."""

    ids: torch.Tensor
    rows: int = 1
    noise_positions: torch.Tensor | None = None
    noise: torch.Tensor | None = None

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])


def _noise_edit(base: Base, cells_per_row: int, start: int = 0, stop: int | None = None) -> dict[str, Edit]:
    """The embedding noise for a batch of ``cells_per_row`` cells over positions ``start .. stop``."""
    if base.noise is None or base.noise_positions is None:
        return {}
    keep = (base.noise_positions >= start) & (base.noise_positions < (base.n if stop is None else stop))
    if not bool(keep.any()):
        return {}
    values = base.noise[:, keep].repeat_interleave(cells_per_row, dim=0)
    return {N.EMBED: add(base.noise_positions[keep] - start, values)}


def _restore_edits(cells: Sequence[Cell], rows: int, source: Mapping[str, torch.Tensor],
                   start: int = 0) -> dict[str, Edit]:
    """One ``restore`` edit per point the batch's cells write (rows ``s * len(cells) + c``)."""
    per_point: dict[str, list[tuple[int, int]]] = {}
    for c, cell in enumerate(cells):
        for name in cell.points():
            per_point.setdefault(name, []).extend((c, p) for p in cell.positions)
    edits: dict[str, Edit] = {}
    n_cells = len(cells)
    for name, pairs in per_point.items():
        cols = torch.tensor([c for c, _ in pairs], dtype=torch.long)
        pos = torch.tensor([p for _, p in pairs], dtype=torch.long)
        all_rows = (torch.arange(rows)[:, None] * n_cells + cols[None, :]).reshape(-1)
        all_pos = pos.repeat(rows)
        values = source[name][all_pos]
        edits[name] = restore(all_rows, all_pos - start, values)
    return edits


def _merge(edits: dict[str, Edit], more: dict[str, Edit]) -> dict[str, Edit]:
    from ...capture.patch import chain

    out = dict(edits)
    for k, e in more.items():
        out[k] = chain(out[k], e) if k in out else e
    return out


def forward_answer(
    model: nn.Module, input_ids: torch.Tensor, answer: int, *, cache=None, last_only: bool = True,
) -> torch.Tensor:
    """Logits ``(batch, d_vocab)`` at position ``answer`` of a no-grad forward over ``input_ids``
    ``(batch, n)`` (after ``cache``'s positions, when given). ``last_only``: ``answer`` is the last
    position and only its logits are computed."""
    device = next(model.parameters()).device
    fa = forward_args(model)
    kwargs = fa.kwargs(cache=cache, use_cache=cache is not None, logits_to_keep=1 if last_only else None)
    past = 0 if cache is None else int(cache.get_seq_length())
    ids = input_ids.to(device)
    mask = torch.ones(ids.shape[0], past + ids.shape[1], dtype=torch.long, device=device)
    out = model(input_ids=ids, attention_mask=mask, **kwargs)
    logits = out.logits if hasattr(out, "logits") else out[0]
    return logits[:, -1] if last_only and logits.shape[1] == 1 else logits[:, answer - past]


def base_run(
    model: nn.Module, anatomy: Anatomy, base: Base, answer: int, *, keep_resid: bool, causal: bool,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``(logits (rows, d_vocab) at the answer, resid)``: the base run, and with ``keep_resid`` every
    block's output ``(rows, n, d_model)`` (what the resumed path starts from)."""
    ids = base.ids[None].expand(base.rows, -1)
    store: dict[str, torch.Tensor] = {}
    points = [N.resid(i) for i in range(anatomy.n_layers)] if keep_resid else []
    with inference_mode(model), attention_for(model, False), torch.no_grad():
        with patching(model, anatomy, _noise_edit(base, 1)), hooks(model, anatomy, points, store):
            logits = forward_answer(model, ids, answer, last_only=causal and answer == base.n - 1)
    return logits, [store[p] for p in points]


def batch_rows_for(model: nn.Module, anatomy: Anatomy, n_positions: int, max_bytes: int) -> int:
    """Rows a forward over ``n_positions`` tokens may hold within ``max_bytes`` of activations."""
    d = model_dims(model, anatomy)
    item = next(model.parameters()).element_size()
    per_row = n_positions * (8 * d["d_model"] + 3 * max(d["d_mlp"], d["d_model"]) + 2 * d["n_heads"] * n_positions)
    per_row = per_row * item + 2 * d["d_vocab"] * 4
    return max(1, int(max_bytes // max(per_row, 1)))


def _plain_batches(cells: Sequence[Cell], per_batch: int) -> list[list[int]]:
    return [list(range(i, min(i + per_batch, len(cells)))) for i in range(0, len(cells), per_batch)]


def _resumed_batches(cells: Sequence[Cell], per_batch: int, n_layers: int) -> list[list[int]]:
    """Cells grouped by start position, then by start layer; a batch takes in the next cell while
    it fits and the wasted blocks stay under ``MERGE_WASTE`` of the useful ones."""
    order = sorted(range(len(cells)), key=lambda i: cells[i].start)
    batches: list[list[int]] = []
    cur: list[int] = []
    waste = useful = 0
    for i in order:
        p, layer = cells[i].start
        if cur:
            p0, l0 = cells[cur[0]].start
            w = layer - l0
            fits = len(cur) < per_batch and p == p0
            if fits and (waste + w) <= MERGE_WASTE * (useful + n_layers - layer):
                cur.append(i)
                waste += w
                useful += n_layers - layer
                continue
            batches.append(cur)
        cur, waste, useful = [i], 0, n_layers - layer
    if cur:
        batches.append(cur)
    return batches


_RESUMABLE: weakref.WeakKeyDictionary[nn.Module, bool] = weakref.WeakKeyDictionary()


def resumable(model: nn.Module, anatomy: Anatomy) -> bool:
    """Whether resumed forwards (a copied prefix cache, blocks skipped below the patch) give what
    full forwards give on this model: checked once on a 7-token probe with noise and patches."""
    if model in _RESUMABLE:
        return _RESUMABLE[model]
    ok = False
    if anatomy.kind == "causal" and forward_args(model).takes_cache:
        try:
            ok = _probe(model, anatomy)
        except Exception:  # noqa: BLE001 - any failure means: use full forwards
            ok = False
    _RESUMABLE[model] = ok
    return ok


def _probe(model: nn.Module, anatomy: Anatomy) -> bool:
    vocab = anatomy.embed_module(model).weight.shape[0]
    ids = (torch.arange(3, 10) % vocab).long()
    d = model_dims(model, anatomy)["d_model"]
    g = torch.Generator().manual_seed(0)
    scale = float(anatomy.embed_module(model).weight.detach().float().std()) * 3
    base = Base(ids, rows=2, noise_positions=torch.tensor([1, 2]),
                noise=torch.randn(2, 2, d, generator=g) * scale)
    top = anatomy.n_layers - 1
    source = {}
    points = [N.resid(top), N.resid(0)]
    from ...capture import record

    source = record(model, anatomy, ids, points, max_bytes=None)
    cells = [Cell("resid_post", (top,), (4,)), Cell("resid_post", (0,), (2,)), Cell("resid_post", (0,), (5,))]

    def logits(t: torch.Tensor) -> torch.Tensor:
        return t.float()

    full = run_patches(model, anatomy, base, cells, source, answer=6, reduce=logits, resume=False, progress=False)
    fast = run_patches(model, anatomy, base, cells, source, answer=6, reduce=logits, resume=True,
                       batch_rows=4, progress=False)
    scale = 1.0 + float(full.abs().max())
    return bool((full - fast).abs().max() <= 1e-4 * scale)


def run_patches(
    model: nn.Module,
    anatomy: Anatomy,
    base: Base,
    cells: Sequence[Cell],
    source: Mapping[str, torch.Tensor],
    *,
    answer: int,
    reduce: Reduce,
    resume: bool | None = None,
    batch_rows: int | None = None,
    max_bytes: int = DEFAULT_BATCH_BYTES,
    base_resid: Sequence[torch.Tensor] | None = None,
    progress: Progress = None,
    stats: dict | None = None,
    patch: bool = True,
) -> torch.Tensor:
    """Run every cell on every base row; ``(n_cells, rows, ...)``: ``reduce`` of the answer's logits
    ``(batch, d_vocab)`` per row.

    Args:
        base: the run patched into (``Base``).
        cells: the patches; ``source`` holds the values they restore (point name → ``(n, width)``).
        answer: the position whose logits are read.
        resume: resumed forwards (True), full forwards (False), or whichever applies (None:
            resumed for a causal LM with the answer last, when the model passes the check).
        batch_rows: rows per forward (default: what ``max_bytes`` of activations allows).
        base_resid: the base run's block outputs ``(rows, n, d_model)`` per layer, when the caller
            has them (the resumed path needs them; else it runs the base once more).
        progress: a tqdm bar over cells (None: after 3 s; False: none; or a tqdm-like class).
        stats: a dict to fill with what ran: ``"resumed"`` and ``"batches"``, one ``(rows,
            start_position, start_layer)`` per forward.
        patch: False runs the very same forwards without the noise and the patches (the floor a
            benchmark compares with; the results are then the base text's, unpatched).
    """
    n = base.n
    causal_last = anatomy.kind == "causal" and answer == n - 1
    for cell in cells:
        for name in cell.points():
            check_patchable(name)
            if name not in source:
                raise ValueError(f"source lacks {name!r}, which a cell restores")
        if not cell.positions or min(cell.positions) < 0 or max(cell.positions) >= n:
            raise ValueError(f"cell positions must lie in [0, {n}), got {cell.positions}")
    if resume is None:
        resume = causal_last and len(cells) > 1 and resumable(model, anatomy)
    elif resume and not causal_last:
        raise ValueError("resume=True needs a causal LM and the answer at the last position")
    rows = base.rows
    if batch_rows is None:
        batch_rows = batch_rows_for(model, anatomy, n, max_bytes)
    per_batch = max(1, batch_rows // rows)
    if not cells:
        return torch.empty(0, rows)
    out: list[torch.Tensor | None] = [None] * len(cells)
    bar = progress_bar(progress, len(cells), desc="patching", unit="cell")
    try:
        with inference_mode(model), attention_for(model, False), torch.no_grad():
            if resume:
                if base_resid is None:
                    base_resid = base_run(model, anatomy, base, answer, keep_resid=True, causal=True)[1]
                batches = _resumed_batches(cells, per_batch, anatomy.n_layers)
                run = _Resumed(model, anatomy, base, source, base_resid)
            else:
                batches = _plain_batches(cells, per_batch)
                run = _Full(model, anatomy, base, source, answer, causal_last)
            run.patch = patch
            if stats is not None:
                stats["resumed"] = bool(resume)
                stats["batches"] = [
                    (rows * len(idx), *((min(cells[i].start[0] for i in idx), min(cells[i].start[1] for i in idx))
                                        if resume else (0, 0)))
                    for idx in batches]
            for idx in batches:
                chunk = [cells[i] for i in idx]
                logits = run(chunk)  # (rows * len(chunk), d_vocab), sample-major
                red = reduce(logits.float())
                red = red.reshape(rows, len(chunk), *red.shape[1:]).transpose(0, 1)
                for j, i in enumerate(idx):
                    out[i] = red[j].cpu()
                if bar is not None:
                    bar.update(len(idx))
    finally:
        if bar is not None:
            bar.close()
    return torch.stack(out)  # type: ignore[arg-type]


class _Full:
    """A batch as one forward over the whole text, patches as hooks."""

    patch = True

    def __init__(self, model, anatomy, base: Base, source, answer: int, last_only: bool) -> None:
        self.model, self.anatomy, self.base, self.source = model, anatomy, base, source
        self.answer, self.last_only = answer, last_only

    def __call__(self, cells: Sequence[Cell]) -> torch.Tensor:
        b, k = self.base, len(cells)
        ids = b.ids[None].expand(b.rows * k, -1)
        edits = _merge(_noise_edit(b, k), _restore_edits(cells, b.rows, self.source)) if self.patch else {}
        with patching(self.model, self.anatomy, edits, batch=tuple(ids.shape)):
            return forward_answer(self.model, ids, self.answer, last_only=self.last_only)


class _Resumed:
    """A batch as a forward from its start position (the base prefix's cache copied in) and its
    start layer (the base run's residual there)."""

    patch = True

    def __init__(self, model, anatomy, base: Base, source, base_resid: Sequence[torch.Tensor]) -> None:
        self.model, self.anatomy, self.base, self.source = model, anatomy, base, source
        self.resid = base_resid
        self.prefixes: dict[int, object] = {}
        block_output_format(model, anatomy)  # probed now, before any patch hook is placed

    def _prefix(self, p: int):
        if p not in self.prefixes:
            self.prefixes.clear()  # cells come sorted by position: one prefix alive at a time
            b = self.base
            ids = b.ids[None, :p].expand(b.rows, -1)
            with patching(self.model, self.anatomy, _noise_edit(b, 1, stop=p)):
                self.prefixes[p] = prefix_cache(self.model, ids)
        return self.prefixes[p]

    def __call__(self, cells: Sequence[Cell]) -> torch.Tensor:
        b, k = self.base, len(cells)
        p = min(c.start[0] for c in cells)
        layer = min(c.start[1] for c in cells)
        ids = b.ids[None, p:].expand(b.rows * k, -1)
        cache = tile_cache(self._prefix(p), k) if p > 0 else None
        hidden = self.resid[layer - 1][:, p:].repeat_interleave(k, dim=0) if layer > 0 else None
        edits = _restore_edits(cells, b.rows, self.source, start=p) if self.patch else {}
        if layer == 0 and self.patch:
            edits = _merge(_noise_edit(b, k, start=p), edits)
        with patching(self.model, self.anatomy, edits, batch=tuple(ids.shape)):
            with resumed(self.model, self.anatomy, layer, hidden):
                return forward_answer(self.model, ids, b.n - 1, cache=cache)
