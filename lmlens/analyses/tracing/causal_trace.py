"""Causal tracing (ROME, Meng et al. 2022): where in the model is a fact computed?

1. A clean run of the text: every traced site's activation at every layer and position, and the
   probability of the target at the answer position.
2. A corrupted run: Gaussian noise on the subject's embeddings (``noise.py``), ``n_samples`` draws.
3. For each site (``resid``: the block's output; ``mlp`` / ``attn``: the FFN / attention output
   before the residual add), layer and position, the corrupted run with that one clean activation
   restored (``window`` > 1: the layers around it too, for ``mlp`` and ``attn`` as in ROME); the
   target's probability, averaged over the draws, is the cell's score.

All cells run as batches of patched forwards (``engine.py``). In a causal LM the positions before
the subject never see the noise: restoring them changes nothing, so their cells hold the
corrupted probability without a forward (exact).

>>> r = causal_trace(lens.model, lens.anatomy, ids, subject=[1, 2, 3])  # doctest: +SKIP
>>> r.scores.shape  # doctest: +SKIP
(3, 30, 10)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ... import names as N
from ...anatomy import Anatomy
from ...capture import attention_for, inference_mode, record
from ...capture.batch import Progress
from ...capture.patch import PATCHABLE
from ...capture.points import require
from ..checks import answer_position_for, check_int, check_position, check_topk
from ..logit_lens import decode_layers
from .engine import (
    DEFAULT_BATCH_BYTES,
    Base,
    Cell,
    base_run,
    forward_answer,
    resumable,
    run_patches,
)
from .noise import noise_std, noise_values
from .result import SITE_KEYS, CausalTraceResult

#: Sites traced by default: the residual stream, the FFN output, the attention output.
DEFAULT_SITES = ("resid", "mlp", "attn")


def check_sites(sites: str | Sequence[str], anatomy: Anatomy) -> list[tuple[str, str]]:
    """``[(name, key), ...]`` for ``sites`` (short names ``"resid"``, ``"mlp"``, ``"attn"`` or
    per-block site keys such as ``"mlp.post"``); ``ValueError`` naming what is valid."""
    names = [sites] if isinstance(sites, str) else list(sites) if isinstance(sites, Sequence) else None
    valid = [*SITE_KEYS, *(k for k in PATCHABLE if k != N.EMBED)]
    if not names:
        raise ValueError(f"sites must name at least one of {valid}, got {sites!r}")
    out: list[tuple[str, str]] = []
    for s in names:
        key = SITE_KEYS.get(s, s) if isinstance(s, str) else None
        if key not in PATCHABLE or key == N.EMBED:
            raise ValueError(f"sites: each must be one of {valid}, got {s!r}")
        if any(k == key for _, k in out):
            raise ValueError(f"sites: {s!r} is given twice")
        out.append((s, key))
    return out


def window_layers(layer: int, window: int, n_layers: int) -> tuple[int, ...]:
    """The ``window`` layers around ``layer`` that a cell restores (ROME's rule: from
    ``layer - window // 2``, clipped to the model).

    >>> window_layers(5, 10, 30), window_layers(1, 10, 30), window_layers(4, 1, 30)
    ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (0, 1, 2, 3, 4, 5), (4,))
    """
    lo = max(0, layer - window // 2)
    hi = min(n_layers, layer - (-window // 2))
    return tuple(range(lo, hi))


def _softmax_at(target: int) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda logits: torch.softmax(logits, dim=-1)[:, target]


def causal_trace(
    model: nn.Module,
    anatomy: Anatomy,
    input_ids: torch.Tensor,
    *,
    subject: Sequence[int],
    target_id: int | None = None,
    answer_position: int | None = None,
    sites: str | Sequence[str] = DEFAULT_SITES,
    noise: float | None = None,
    n_samples: int = 10,
    window: int = 1,
    seed: int = 0,
    topk: int = 5,
    tokens: Sequence[str] | None = None,
    id_to_str: Callable[[Sequence[int]], list[str]] | None = None,
    generated: np.ndarray | None = None,
    model_name: str = "",
    resume: bool | None = None,
    batch_rows: int | None = None,
    max_bytes: int = DEFAULT_BATCH_BYTES,
    progress: Progress = None,
) -> CausalTraceResult:
    """Trace where the prediction at ``answer_position`` (default: the last position of a causal
    LM) is computed, by corrupting the ``subject`` positions and restoring one cell at a time.

    Args:
        input_ids: ``(n_positions,)`` the text.
        subject: the positions to corrupt (the subject's tokens).
        target_id: the token whose probability is traced (default: the clean run's top-1).
        sites: which sites to trace (``"resid"``, ``"mlp"``, ``"attn"``, or site keys).
        noise: the noise's standard deviation (default: 3× that of the token embeddings).
        n_samples: noise draws (scores are means over them).
        window: layers restored per ``mlp``/``attn`` cell (ROME: 10); ``resid`` cells restore one.
        seed: seeds the noise (same seed, same scores).
        topk: tokens kept per cell of the clean run's logit lens (what a click on a cell shows).
        tokens, id_to_str, generated, model_name: display data for the result.
        resume, batch_rows, max_bytes, progress: how the patched forwards run (``engine.run_patches``).
    """
    if anatomy.head is None:
        raise ValueError("causal tracing reads the probability of a token: the model needs an LM head")
    ids = torch.as_tensor(input_ids).long().reshape(-1).cpu()
    n, L = int(ids.shape[0]), anatomy.n_layers
    chosen = check_sites(sites, anatomy)
    require(model, anatomy, [N.block(0, key) for _, key in chosen])
    n_samples = check_int("n_samples", n_samples, 1)
    window = check_int("window", window, 1)
    topk = check_topk(topk)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    causal = anatomy.kind == "causal"
    answer = answer_position_for(answer_position, n, anatomy.kind)
    sub = sorted({check_position(int(p), n, "subject") for p in subject})
    if not sub:
        raise ValueError("subject must name at least one position to corrupt")
    std, rule = noise_std(model, anatomy, noise)
    last_only = causal and answer == n - 1

    # 1. the clean run
    source_points = sorted({N.block(layer, key) for _, key in chosen for layer in range(L)}
                           | {N.resid(layer) for layer in range(L)}, key=N.sort_key)
    source = record(model, anatomy, ids, source_points, max_bytes=None)
    with inference_mode(model), attention_for(model, False), torch.no_grad():
        clean = torch.softmax(forward_answer(model, ids[None], answer, last_only=last_only).float(), -1)[0]
    d_vocab = int(clean.shape[0])
    if target_id is None:
        target_id = int(clean.argmax())
    elif isinstance(target_id, bool) or not isinstance(target_id, (int, np.integer)) or not 0 <= target_id < d_vocab:
        raise ValueError(f"target_id must be a token id in [0, {d_vocab}), got {target_id!r}")
    target_id = int(target_id)

    # 2. the corrupted run
    d_model = int(source[N.resid(0)].shape[-1])
    base = Base(ids, rows=n_samples, noise_positions=torch.tensor(sub),
                noise=noise_values(n_samples=n_samples, n_positions=len(sub), d_model=d_model, std=std, seed=seed))
    if resume is None:
        resume = last_only and resumable(model, anatomy)
    logits, base_resid = base_run(model, anatomy, base, answer, keep_resid=bool(resume), causal=causal)
    corrupted = torch.softmax(logits.float(), -1)[:, target_id]

    # 3. one cell per site, layer and position
    unaffected = sub[0] if causal else 0  # positions before the subject never see the noise
    cells, where = [], []
    for s, (_, key) in enumerate(chosen):
        for layer in range(L):
            layers = (layer,) if key == "resid_post" else window_layers(layer, window, L)
            for p in range(unaffected, n):
                cells.append(Cell(key, layers, (p,)))
                where.append((s, layer, p))
    probs = run_patches(model, anatomy, base, cells, source, answer=answer, reduce=_softmax_at(target_id),
                        resume=bool(resume), batch_rows=batch_rows, max_bytes=max_bytes,
                        base_resid=base_resid if resume else None, progress=progress)
    scores = np.full((len(chosen), L, n), float(corrupted.mean()), dtype=np.float32)
    if where:
        s_idx, l_idx, p_idx = (np.array(x) for x in zip(*where, strict=True))
        scores[s_idx, l_idx, p_idx] = probs.mean(dim=1).numpy()

    # the clean run's logit lens, for what a click on a cell shows
    dec = decode_layers([source[N.resid(layer)] for layer in range(L)], norm=anatomy.final_norm_module(model),
                        head=anatomy.head_module(model), targets=torch.full((n, 1), target_id), topk=topk,
                        progress=False)
    to_str = id_to_str or (lambda seq: [str(int(i)) for i in seq])
    vocab = sorted({target_id, *np.unique(dec.top_ids).tolist()})
    clean_prob = float(clean[target_id])
    notes = [f"Noise: {std:.4g} standard deviation on the subject's embeddings ({rule}), "
             f"{n_samples} draws, seed {seed}."]
    if unaffected:
        notes.append(f"Positions before the subject never see the noise: their cells equal the "
                     f"corrupted probability ({unaffected} position{'s' if unaffected != 1 else ''}, not run).")
    if window > 1:
        notes.append(f"mlp and attn cells restore {window} layers around the cell (ROME's window); "
                     "resid cells restore one.")
    top = int(clean.argmax())
    if top != target_id:
        notes.append(f"The target is not the model's own top prediction (that is {to_str([top])[0]!r}, "
                     f"{float(clean[top]) * 100:.1f}%).")
    if clean_prob - float(corrupted.mean()) < 0.1 * clean_prob:
        notes.append("The corruption barely lowers the target's probability: the subject may not be "
                     "what the prediction rests on; try more noise or another subject.")
    return CausalTraceResult(
        scores=scores,
        sites=tuple(name for name, _ in chosen),
        points=tuple(key for _, key in chosen),
        clean_prob=clean_prob,
        corrupted_prob=float(corrupted.mean()),
        corrupted_probs=corrupted.numpy().astype(np.float32),
        target_id=target_id,
        answer_position=answer,
        subject_positions=np.array(sub, dtype=np.int64),
        lens_top_ids=dec.top_ids.astype(np.int64),
        lens_top_probs=np.exp(dec.top_logprobs).astype(np.float32),
        lens_target_ranks=dec.ranks[..., 0].astype(np.int64),
        lens_target_probs=np.exp(dec.logprobs[..., 0]).astype(np.float32),
        input_ids=ids.numpy().astype(np.int64),
        tokens=tuple(tokens) if tokens is not None else tuple(to_str(ids.tolist())),
        generated=np.zeros(n, bool) if generated is None else np.asarray(generated, bool),
        strings=dict(zip(vocab, to_str(vocab), strict=True)),
        params={"noise": std, "noise_rule": rule, "n_samples": n_samples, "window": window, "seed": int(seed),
                "resumed": bool(resume)},
        kind=anatomy.kind,
        notes=tuple(notes),
        model_name=model_name,
    )
