"""One activation patch: the clean run's value of one site, at some layers and positions, copied
into a corrupted run (another text of the same length, or the clean text with noise on the
subject), and what the model then predicts. Causal tracing runs the same patches, many at once
(``engine.run_patches``).

>>> r = patch(lens.model, lens.anatomy, clean, corrupted, site="resid_post", layers=[5], positions=[3])  # doctest: +SKIP
>>> r.patched_prob  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ... import names as N
from ...anatomy import Anatomy
from ...capture import attention_for, inference_mode, record
from ...capture.patch import PATCHABLE
from ..checks import answer_position_for, check_int, check_position, check_topk
from .engine import Base, Cell, base_run, forward_answer, run_patches
from .noise import noise_std, noise_values
from .result import SITE_KEYS, PatchResult


def site_key(site: str) -> str:
    """The site-table key of ``site`` (``"resid"`` → ``"resid_post"``, or a patchable key)."""
    key = SITE_KEYS.get(site, site) if isinstance(site, str) else None
    if key not in PATCHABLE:
        raise ValueError(f"site must be one of {[*SITE_KEYS, *PATCHABLE]}, got {site!r}")
    return key


def _as_ids(x: torch.Tensor | Sequence[int], name: str) -> torch.Tensor:
    t = torch.as_tensor(x).long().reshape(-1).cpu()
    if t.numel() == 0:
        raise ValueError(f"{name}: no tokens")
    return t


def patch(
    model: nn.Module,
    anatomy: Anatomy,
    clean_ids: torch.Tensor | Sequence[int],
    corrupted_ids: torch.Tensor | Sequence[int] | None = None,
    *,
    site: str,
    layers: Sequence[int],
    positions: Sequence[int] | None,
    target_id: int | None = None,
    answer_position: int | None = None,
    subject: Sequence[int] | None = None,
    noise: float | None = None,
    n_samples: int = 10,
    seed: int = 0,
    topk: int = 10,
    tokens: Sequence[str] | None = None,
    id_to_str: Callable[[Sequence[int]], list[str]] | None = None,
    model_name: str = "",
) -> PatchResult:
    """Copy the clean run's ``site`` at ``layers`` × ``positions`` (None: every position) into the
    corrupted run and read the prediction at ``answer_position`` (default: the last position of a
    causal LM). The corrupted run is ``corrupted_ids`` (as long as ``clean_ids``), or, when None,
    the clean text with noise on the ``subject`` positions (``noise``, ``n_samples``, ``seed`` as in
    ``causal_trace``). ``target_id`` defaults to the clean run's top-1."""
    if anatomy.head is None:
        raise ValueError("patching reads the probability of a token: the model needs an LM head")
    key = site_key(site)
    clean = _as_ids(clean_ids, "clean")
    n, L = int(clean.shape[0]), anatomy.n_layers
    if key == N.EMBED:
        layers = ()
    else:
        layers = tuple(sorted({check_position(int(v), L, "layer") for v in
                               ([layers] if isinstance(layers, (int, np.integer)) else layers)}))
        if not layers:
            raise ValueError("layer must name at least one layer")
    pos = list(range(n)) if positions is None else positions
    pos = tuple(sorted({check_position(int(p), n, "position") for p in
                        ([pos] if isinstance(pos, (int, np.integer)) else pos)}))
    if not pos:
        raise ValueError("position must name at least one position (or be None for all)")
    causal = anatomy.kind == "causal"
    answer = answer_position_for(answer_position, n, anatomy.kind)
    topk = check_topk(topk)
    if corrupted_ids is not None:
        corrupt = _as_ids(corrupted_ids, "corrupted")
        if corrupt.shape != clean.shape:
            raise ValueError(f"corrupted must have as many tokens as clean ({n}), got {int(corrupt.shape[0])}; "
                             "patching copies activations position by position")
        base = Base(corrupt)
        params: dict = {"corruption": "text"}
    else:
        if subject is None:
            raise ValueError("give a corrupted text, or subject= positions to corrupt with noise")
        sub = sorted({check_position(int(p), n, "subject") for p in subject})
        std, rule = noise_std(model, anatomy, noise)
        n_samples = check_int("n_samples", n_samples, 1)
        d_model = int(anatomy.embed_module(model).weight.shape[1])
        base = Base(clean, rows=n_samples, noise_positions=torch.tensor(sub),
                    noise=noise_values(n_samples=n_samples, n_positions=len(sub), d_model=d_model, std=std, seed=seed))
        params = {"corruption": "noise", "noise": std, "noise_rule": rule, "n_samples": n_samples,
                  "seed": int(seed), "subject_positions": sub}
    last_only = causal and answer == n - 1
    cell = Cell(key, layers, pos)
    source = record(model, anatomy, clean, cell.points(), max_bytes=None)
    with inference_mode(model), attention_for(model, False), torch.no_grad():
        clean_p = torch.softmax(forward_answer(model, clean[None], answer, last_only=last_only).float(), -1)[0]
    if target_id is None:
        target_id = int(clean_p.argmax())
    elif isinstance(target_id, bool) or not isinstance(target_id, (int, np.integer)) or not 0 <= target_id < clean_p.shape[0]:
        raise ValueError(f"target_id must be a token id in [0, {clean_p.shape[0]}), got {target_id!r}")
    target_id = int(target_id)
    corrupted_p = torch.softmax(base_run(model, anatomy, base, answer, keep_resid=False, causal=causal)[0].float(), -1)
    patched = run_patches(model, anatomy, base, [cell], source, answer=answer, resume=False, progress=False,
                          reduce=lambda z: torch.softmax(z, -1))[0].mean(0)
    top = torch.topk(patched, topk)
    to_str = id_to_str or (lambda seq: [str(int(i)) for i in seq])
    vocab = sorted({target_id, *top.indices.tolist()})
    return PatchResult(
        clean_prob=float(clean_p[target_id]),
        corrupted_prob=float(corrupted_p[:, target_id].mean()),
        patched_prob=float(patched[target_id]),
        target_id=target_id,
        answer_position=answer,
        site=key,
        layers=layers,
        positions=pos,
        top_ids=top.indices.numpy().astype(np.int64),
        top_probs=top.values.numpy().astype(np.float32),
        input_ids=base.ids.numpy().astype(np.int64),
        clean_ids=clean.numpy().astype(np.int64),
        tokens=tuple(tokens) if tokens is not None else tuple(to_str(base.ids.tolist())),
        generated=np.zeros(n, bool),
        strings=dict(zip(vocab, to_str(vocab), strict=True)),
        params=params,
        kind=anatomy.kind,
        model_name=model_name,
    )
