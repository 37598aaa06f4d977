"""The logit-lens kernel: decode many residual rows through the model's readout, in chunks.

Every layer's residual goes through the model's own final norm and head; for each decoded row
(one layer at one position) the kernel keeps only

- the rank (``1 + #logits strictly greater``) and probability of chosen target tokens, and
- the top-``k`` token ids and probabilities,

so memory stays bounded whatever the text length: one ``(chunk_rows, d_vocab)`` buffer of logits
(``chunk_bytes``, 64 MiB by default) is reused for every chunk. The matmul fills it; then small
slabs of rows that stay in the CPU cache go through top-k, the rank count and the
log-sum-exp, so the logits are read from memory once.

The last layer is not decoded: its rows are the model's own logits (already normed in HF), when
the trace holds them.

The rows are decoded where the unembedding lives (its execution device under accelerate's
``device_map``; an offloaded unembedding is loaded there once for the whole decode), one chunk at a
time, so device memory stays bounded by ``chunk_bytes``. Softmax and log-sum-exp run in float32
whatever the model's dtype; on a GPU a float16/bfloat16 unembedding multiplies in its own dtype
(no float32 copy of ``W_U``) and the logits are upcast before they are reduced.

>>> import torch
>>> from torch import nn
>>> head = nn.Linear(4, 10, bias=False)
>>> rows = [torch.randn(3, 4), torch.randn(3, 4)]
>>> out = decode_layers(rows, norm=None, head=head, targets="output", topk=2)
>>> out.ranks.shape, out.top_ids.shape, int(out.ranks[-1].max())
((2, 3, 1), (2, 3, 2), 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...capture.devices import execution_device, materialized, model_dtype

#: Default size of the reusable logits buffer.
DEFAULT_CHUNK_BYTES = 64 * 2**20
#: Rows reduced together after the matmul (their logits stay in cache between the reductions).
SLAB_ROWS = 8
#: Top-k through block maxima (exact) when the vocabulary has at least this many blocks per k.
_BLOCK = 128
#: exp() without a shift is safe when every row maximum lies in this range (float32).
_SAFE_EXP = (-60.0, 70.0)
#: Above this many multiply-adds a progress bar is shown when ``progress`` is None.
PROGRESS_MACS = 1e11


@dataclass(frozen=True)
class Decoded:
    """What the kernel keeps for ``n_layers`` layers × ``n_positions`` positions.

    Fields:
        ranks: ``(n_layers, n_positions, n_targets)`` int64, 1 = the most likely token.
        logprobs: ``(n_layers, n_positions, n_targets)`` float32, log-probabilities of the targets.
        target_ids: ``(n_positions, n_targets)`` int64, the targets whose rank is given.
        top_ids: ``(n_layers, n_positions, k)`` int64, most likely first.
        top_logprobs: ``(n_layers, n_positions, k)`` float32.
    """

    ranks: np.ndarray
    logprobs: np.ndarray
    target_ids: np.ndarray
    top_ids: np.ndarray
    top_logprobs: np.ndarray


def _fast_linear(head: nn.Module, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """``(W, b)`` in ``dtype`` when the head is exactly a ``Linear`` (logits = h @ W.T + b), else
    None. An offloaded head's weights are loaded onto its execution device; they stay valid after."""
    if type(head) is not nn.Linear:
        return None
    with materialized(head):
        w, b = head.weight.detach(), None if head.bias is None else head.bias.detach()
        return w.to(dtype), None if b is None else b.to(dtype)


def _topk(z: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact top-``k`` of each row of ``z`` (rows contiguous), sorted, through block maxima.

    The ``k`` largest values lie in the ``k`` blocks with the largest maxima (a block holding the
    j-th largest value has a maximum ≥ it, and at most j - 1 other blocks can beat that), so one
    cheap max per block of 128 and a small top-k over the candidates replace a full top-k.
    """
    n, v = z.shape
    nb = v // _BLOCK
    if nb < 8 * k or z.stride(1) != 1:
        return torch.topk(z, k, dim=1)
    blocks = z.as_strided((n, nb, _BLOCK), (z.stride(0), _BLOCK, 1))
    best = torch.topk(blocks.amax(2), k, dim=1).indices  # (n, k)
    idx = (best[:, :, None] * _BLOCK + torch.arange(_BLOCK, device=z.device)).reshape(n, k * _BLOCK)
    if nb * _BLOCK < v:
        tail = torch.arange(nb * _BLOCK, v, device=z.device).expand(n, -1)
        idx = torch.cat([idx, tail], dim=1)
    vals, j = torch.topk(z.gather(1, idx), k, dim=1)
    return vals, idx.gather(1, j)


class _Reducer:
    """Reduces slabs of logits rows into ranks, target log-probs and top-k."""

    def __init__(self, rows: int, d_vocab: int, k: int, dtype: torch.dtype, device: torch.device) -> None:
        self.k, self.rows = k, rows
        self.tmp = torch.empty(rows, d_vocab, dtype=dtype, device=device)
        self.cpu = device.type == "cpu"

    def __call__(
        self, z: torch.Tensor, targets: torch.Tensor | None, self_target: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``z``: ``(n, V)`` rows; ``targets``: ``(n, T)`` ids or None. ``self_target``: the target
        of each row is its own top-1 (then ``targets`` is ignored)."""
        n = z.shape[0]
        tmp = self.tmp[:n]
        top_v, top_i = _topk(z, self.k)
        m = top_v[:, :1]
        if self_target:
            targets = top_i[:, :1]
        if targets is not None and targets.shape[1]:
            zt = z.gather(1, targets)
            ranks = torch.stack(
                [torch.gt(z, zt[:, j:j + 1], out=tmp).sum(1) for j in range(zt.shape[1])], 1
            ).to(torch.long) + 1
        else:
            zt = z.new_zeros(n, 0)
            targets = torch.zeros(n, 0, dtype=torch.long, device=z.device)
            ranks = torch.zeros(n, 0, dtype=torch.long, device=z.device)
        safe = False
        if self.cpu:  # on a GPU the check would cost a sync; always shift there
            lo, hi = torch.aminmax(m)
            safe = _SAFE_EXP[0] <= float(lo) and float(hi) <= _SAFE_EXP[1]
        if safe:  # exp without the shift saves one pass over the slab
            lse = torch.exp(z, out=tmp).sum(1, keepdim=True).log_()
        else:
            lse = torch.sub(z, m, out=tmp).exp_().sum(1, keepdim=True).log_().add_(m)
        return ranks, zt - lse, targets, top_i, top_v - lse


def _normed(norm: nn.Module | None, h: torch.Tensor, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``norm(h)`` on ``device`` (the head's; the norm may compute elsewhere)."""
    if norm is None:
        return h.to(device, dtype)
    return norm(h.to(execution_device(norm), dtype)).to(device)


def show_progress(n_rows: int, d_vocab: int, d_model: int) -> bool:
    """Whether decoding ``n_rows`` rows is big enough (seconds) for a progress bar."""
    return float(n_rows) * d_vocab * d_model >= PROGRESS_MACS


def _progress(progress: bool | None | Callable, macs: float, total: int):
    if progress is None:
        progress = macs >= PROGRESS_MACS
    if progress is False:
        return None
    if progress is True:
        from tqdm import tqdm as progress  # plain tqdm: tqdm.auto would import IPython here
    return progress(total=total, desc="logit lens", unit="cell", leave=False)


def decode_layers(
    layers: Sequence[torch.Tensor],
    *,
    norm: nn.Module | None,
    head: nn.Module,
    targets: torch.Tensor | str | None,
    topk: int,
    final_logits: torch.Tensor | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    progress: bool | None | Callable = None,
) -> Decoded:
    """Decode ``layers`` (each ``(n_positions, d_model)``; the last one is the model's last block)
    through ``head(norm(h))`` and reduce every row to target ranks/log-probs and top-``k``.

    Args:
        layers: residual rows per layer, embeddings first, all the same shape.
        norm: the final norm (None when the model has none).
        head: normed residual → logits (``lm_head``, or an MLM head).
        targets: ``(n_positions, n_targets)`` token ids; ``"output"`` for the last layer's top-1
            at each position (the token the model finally outputs); None for no targets.
        topk: how many top tokens to keep per row.
        final_logits: ``(n_positions, d_vocab)``, the model's logits, used as the last layer's
            rows instead of decoding it.
        chunk_bytes: size of the reusable logits buffer (memory stays bounded by it).
        progress: show a tqdm bar (True/False), decide by size (None), or a tqdm-like class.
    """
    n_layers = len(layers)
    if n_layers == 0:
        raise ValueError("layers: nothing to decode")
    n_pos, d_model = layers[0].shape
    if any(tuple(t.shape) != (n_pos, d_model) for t in layers):
        raise ValueError(f"layers must all be ({n_pos}, {d_model}); got {[tuple(t.shape) for t in layers]}")
    device = execution_device(head)
    mod_dtype = model_dtype(head)
    dtype = torch.float64 if mod_dtype == torch.float64 else torch.float32
    half_gpu = device.type == "cuda" and mod_dtype in (torch.float16, torch.bfloat16)
    mm_dtype = mod_dtype if half_gpu else dtype  # the matmul's dtype; reductions run in `dtype`
    fast = _fast_linear(head, mm_dtype)
    if fast:
        w, b = fast
        d_vocab = int(w.shape[0])
    elif final_logits is not None:
        d_vocab = int(final_logits.shape[1])
    else:  # a composite head: probe its width on one row
        with torch.no_grad():
            d_vocab = int(head(_normed(norm, layers[0][:1], device, mod_dtype)).shape[-1])
    if final_logits is not None and tuple(final_logits.shape) != (n_pos, d_vocab):
        raise ValueError(f"final_logits must be ({n_pos}, {d_vocab}), got {tuple(final_logits.shape)}")
    if topk > d_vocab:
        raise ValueError(f"topk must be at most the vocabulary size {d_vocab}, got {topk}")

    self_target = isinstance(targets, str)
    if self_target and targets != "output":
        raise ValueError(f"targets must be a tensor, 'output' or None, got {targets!r}")
    n_t = 1 if self_target else (0 if targets is None else int(targets.shape[1]))
    if isinstance(targets, torch.Tensor):
        if targets.dim() != 2 or targets.shape[0] != n_pos:
            raise ValueError(f"targets must be ({n_pos}, n_targets), got {tuple(targets.shape)}")
        targets = targets.to(device, torch.long)

    n_rows, last = n_layers * n_pos, n_layers - 1
    ranks = torch.zeros(n_rows, n_t, dtype=torch.long)
    logprobs = torch.zeros(n_rows, n_t, dtype=torch.float32)
    top_ids = torch.zeros(n_rows, topk, dtype=torch.long)
    top_lp = torch.zeros(n_rows, topk, dtype=torch.float32)
    target_ids = torch.zeros(n_pos, n_t, dtype=torch.long)
    if isinstance(targets, torch.Tensor):
        target_ids.copy_(targets.cpu())
    chunk_rows = int(chunk_bytes) // (d_vocab * torch.empty((), dtype=dtype).element_size())
    chunk_rows = max(SLAB_ROWS, chunk_rows - chunk_rows % SLAB_ROWS)
    # On the CPU, slabs of a few rows stay in cache between reductions; on a GPU, one slab per
    # chunk keeps kernel launches few (a slab buffer is then as large as the chunk).
    slab = SLAB_ROWS if device.type == "cpu" else min(chunk_rows, n_rows)
    reduce = _Reducer(slab, d_vocab, topk, dtype, device)
    buf = torch.empty(min(chunk_rows, n_rows), d_vocab, dtype=mm_dtype, device=device) if fast else None

    def reduce_rows(z: torch.Tensor, r0: int, self_t: bool) -> None:
        """Reduce logits ``z`` of flat rows ``r0 ..`` (row = layer * n_pos + position)."""
        n = z.shape[0]
        pos = torch.arange(r0, r0 + n, device=device) % n_pos
        tg = targets[pos] if isinstance(targets, torch.Tensor) else None
        for s in range(0, n, slab):
            e = min(n, s + slab)
            r, lp, t, ti, tv = (x.cpu() for x in reduce(z[s:e], None if tg is None else tg[s:e], self_t))
            ranks[r0 + s:r0 + e] = r
            logprobs[r0 + s:r0 + e] = lp.float()
            top_ids[r0 + s:r0 + e] = ti
            top_lp[r0 + s:r0 + e] = tv.float()
            if self_t:
                p = r0 + s - last * n_pos
                target_ids[p:p + e - s] = t

    def decode_rows(r0: int, r1: int, self_t: bool) -> None:
        parts = []
        for layer in range(r0 // n_pos, (r1 - 1) // n_pos + 1):
            a, z = max(r0, layer * n_pos) - layer * n_pos, min(r1, (layer + 1) * n_pos) - layer * n_pos
            parts.append(layers[layer][a:z])
        h = _normed(norm, parts[0] if len(parts) == 1 else torch.cat(parts), device, mod_dtype)
        if fast:
            z = buf[:r1 - r0]
            h = h.to(mm_dtype)
            if b is None:
                torch.matmul(h, w.T, out=z)
            else:
                torch.addmm(b, h, w.T, out=z)
            z = z.to(dtype)  # half-precision logits of a GPU matmul, upcast
        else:
            z = head(h).to(dtype).contiguous()
        reduce_rows(z, r0, self_t)

    bar = _progress(progress, float(n_rows) * d_vocab * d_model, n_rows)
    try:
        with torch.no_grad():
            # The last layer first: with targets="output" its top-1 is everyone's target.
            if final_logits is not None:
                src = final_logits.to(device)
                for p0 in range(0, n_pos, chunk_rows):
                    z = src[p0:p0 + chunk_rows].to(dtype).contiguous()
                    reduce_rows(z, last * n_pos + p0, self_target)
            else:
                for r0 in range(last * n_pos, n_rows, chunk_rows):
                    decode_rows(r0, min(n_rows, r0 + chunk_rows), self_target)
            if bar is not None:
                bar.update(n_pos)
            if self_target:
                targets = target_ids.to(device)
            for r0 in range(0, last * n_pos, chunk_rows):
                r1 = min(last * n_pos, r0 + chunk_rows)
                decode_rows(r0, r1, False)
                if bar is not None:
                    bar.update(r1 - r0)
    finally:
        if bar is not None:
            bar.close()
    shape = (n_layers, n_pos)
    return Decoded(
        ranks=ranks.view(*shape, n_t).numpy(), logprobs=logprobs.view(*shape, n_t).numpy(),
        target_ids=target_ids.numpy(), top_ids=top_ids.view(*shape, topk).numpy(),
        top_logprobs=top_lp.view(*shape, topk).numpy(),
    )
