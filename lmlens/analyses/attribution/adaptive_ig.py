"""Integrated gradients by accuracy: each target gets as many path points as it needs for its
completeness gap ``|δ| / |f(x) − f(b)|`` to fall under ``tol`` (``δ = Σ attributions −
(f(x) − f(b))``), up to a cap.

δ alone can be small by cancellation while single attributions are still off (seen on tiny
Llama: δ at 1 % with per-token scores 20 % away from a 256-step run), so a level is accepted only
when, in addition, its per-token scores moved by at most ``tol · |f(x) − f(b)|`` (L1 over the
sources) from the level before — the Kronrod-style check QUADPACK uses, the finer rule being
kept. Every target therefore uses at least 21 points.

The path points are the nested Gauss–Legendre/Kronrod–Patterson rules of ``quadrature``
(10 → 21 → 43 → 87 → 175 nodes, up to ``max_steps``, 87 by default; the first is captum's
Gauss–Legendre at ``n_steps=10``). After each
level every target's estimate and gap are computed; targets under ``tol`` stop there, the others
pay only for the next level's new nodes, in forward passes over just the inputs they need
(``TargetFunctions.subset``). Gradients are kept per symmetric pair of nodes, because each
level re-weighs all earlier nodes.

>>> a = adaptive_integrated_gradients(f, x, torch.zeros_like(x), tol=0.01)  # doctest: +SKIP
>>> a.steps  # doctest: +SKIP
tensor([10, 10, 21, 10, 43])
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .attributions import Attributions, endpoints, progress_bar
from .batched import TargetFunctions
from .quadrature import LEVELS, nested_rules

#: Token rows (path points × tokens) per forward when ``internal_batch_size`` is None.
ROWS_PER_FORWARD = 512
#: Default cap on path points per target (at most 1.74× a 50-step run's cost per target).
MAX_STEPS = 87


def check_tol(tol: object, max_steps: object) -> tuple[float, int]:
    """``(tol, max_steps)`` validated: ``tol`` a positive number, ``max_steps`` an int ≥ 10."""
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (0 < float(tol) < math.inf):
        raise ValueError(f"tol must be a positive number (the relative completeness gap), got {tol!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < LEVELS[0]:
        raise ValueError(
            f"max_steps must be an int >= {LEVELS[0]} (the nested rules have {list(LEVELS)} nodes), "
            f"got {max_steps!r}"
        )
    return float(tol), max_steps


def adaptive_integrated_gradients(
    f: TargetFunctions,
    inputs: torch.Tensor,
    baselines: torch.Tensor,
    *,
    tol: float,
    max_steps: int = MAX_STEPS,
    internal_batch_size: int | None = None,
    progress: bool | None = None,
) -> Attributions:
    """Integrated gradients with per-target path points until ``|δ_j| ≤ tol · |f_j(x) − f_j(b)|``
    and the scores moved by at most as much since the previous level, or the largest nested rule
    with at most ``max_steps`` nodes; ``Attributions.steps`` says how many each target used and
    ``delta`` what gap remains."""
    tol, max_steps = check_tol(tol, max_steps)
    rules = [r for r in nested_rules() if r.n_nodes <= max_steps]
    n = f.n_inputs
    x, b = inputs[:n], baselines[:n]
    diff = x.float() - b.float()
    work = torch.promote_types(x.dtype, torch.float32)  # the path's dtype (see methods.py)
    start_w, diff_w = b.to(work), x.to(work) - b.to(work)
    end, start = endpoints(f, x, b)
    gap = (end - start).float()
    m, d = f.n_targets, x.shape[-1]
    n_pairs = int(rules[-1].pair.max()) + 1
    acc = torch.zeros(m, n_pairs, n, d, dtype=torch.float32, device=x.device)
    attr = torch.zeros(m, n, d, dtype=torch.float32, device=x.device)
    steps = torch.zeros(m, dtype=torch.long)
    delta = torch.zeros(m, dtype=torch.float32, device=x.device)
    previous = torch.zeros(m, n, dtype=torch.float32, device=x.device)  # last level's scores
    met = torch.zeros(m, dtype=torch.bool)
    tiny = torch.finfo(torch.float32).tiny
    active = list(range(m))
    with progress_bar(len(rules), progress, "integrated gradients (tol)") as bar:
        for level, rule in enumerate(rules):
            sub = f if len(active) == m else f.subset(active)
            k = sub.n_inputs
            batch = internal_batch_size or max(1, ROWS_PER_FORWARD // k)
            new = np.arange(rule.n_nodes)[rule.new]
            rows = torch.as_tensor(active, device=x.device)
            for c in range(0, new.size, batch):
                idx = new[c:c + batch]
                pairs = np.unique(rule.pair[idx])
                local = torch.as_tensor(np.searchsorted(pairs, rule.pair[idx]))
                a = torch.as_tensor(rule.alphas[idx], dtype=work, device=x.device)
                points = (start_w[None, :k] + a[:, None, None] * diff_w[None, :k]).to(x.dtype)
                g, _ = sub.grouped_grads_and_values(points, torch.ones(idx.size), local, pairs.size)
                acc[rows[:, None], torch.as_tensor(pairs, device=x.device)[None, :], :k] += g
            w = torch.zeros(n_pairs, dtype=torch.float32, device=x.device)
            w[torch.as_tensor(rule.pair)] = torch.as_tensor(rule.weights, dtype=torch.float32)
            est = torch.einsum("p,jpnd->jnd", w, acc[rows, :, :k]) * diff[None, :k]
            scores = est.sum(-1)
            scale = gap[rows].abs().clamp_min(tiny)
            dj = scores.sum(-1) - gap[rows]
            moved = (scores - previous[rows, :k]).abs().sum(-1) / scale
            previous[rows, :k] = scores
            ok = (dj.abs() / scale <= tol) & (moved <= tol) & (level > 0)
            done = ok | (level == len(rules) - 1)
            for i in torch.nonzero(done).flatten().tolist():
                j = active[i]
                attr[j, :k] = est[i]
                steps[j], delta[j], met[j] = rule.n_nodes, dj[i], bool(ok[i])
                acc[j] = 0
            active = [j for i, j in enumerate(active) if not bool(done[i])]
            bar.update(1)
            if not active:
                break
    rel_all = (delta.abs() / gap.abs().clamp_min(tiny)).cpu()
    short = int((~met).sum())
    notes = ()
    if short:
        notes = (f"{short} of {m} targets did not reach tol={tol:g} within {rules[-1].n_nodes} path "
                 f"points (largest relative gap {float(rel_all[~met].max()):.2g}); see delta.",)
    return Attributions(attr=attr, values=end, delta=delta, baseline_values=start, steps=steps,
                        notes=notes)
