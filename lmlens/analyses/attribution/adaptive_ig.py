"""Integrated gradients by accuracy: each target gets as many path points as it needs for its
completeness gap ``|δ| / |f(x) − f(b)|`` to fall under ``tol`` (``δ = Σ attributions −
(f(x) − f(b))``), up to a cap.

First a *scout*: ``f`` of every target at a few equally spaced ``α`` (forward passes only, each
serving all targets) places one first mesh for all targets, with narrow panels where the targets
move (``scout_mesh.scouted_mesh``). Each panel has a few Gauss–Legendre nodes and is checked
exactly: ``f`` at its two ends (forward passes only, shared by every target) minus the sum of its
attributions is that panel's share of δ. The panels with the largest errors are split, per
target, where the error is (halved, or cut geometrically toward ``α = 0``; see
``quadrature.adaptive_panels``). A target is done when its panel errors sum, in absolute value,
to at most ``HEADROOM · tol · |f(x) − f(b)|`` — a bound on |δ| that panels cannot meet by
cancelling each other — or at ``max_steps`` gradient points, with the best cover of the panels
it paid for.

Each round, the panels asked for are grouped by the targets that need them, and every group runs
its gradient forwards over just those targets' inputs (``TargetFunctions.subset``), so a target
pays only for its own panels; the gradients are kept per panel (a split panel's share is replaced
by its halves', or kept where it checks better). ``Attributions.steps`` counts the gradient
points each target paid for; the forward-only evaluations (scout and panel ends) are in the notes.

>>> a = adaptive_integrated_gradients(f, x, torch.zeros_like(x), tol=0.01)  # doctest: +SKIP
>>> a.steps  # doctest: +SKIP
tensor([16, 16, 24, 20, 16])
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .attributions import Attributions, endpoints, progress_bar
from .batched import ROWS_PER_FORWARD, TargetFunctions
from .quadrature import ORDER, Panel, adaptive_panels, panel_nodes
from .scout_mesh import FIRST_PANELS, scout_alphas, scouted_mesh

#: Default cap on gradient points per target (a 50-step run pays 50): the first mesh (16) and one
#: panel split. Measured on SmolLM2 (20 generated tokens, probability target, zero baseline):
#: largest relative gap 0.42 (median 0.024) against 1.25 (median 0.047) at 50 fixed steps and in
#: ecco 0.1.2's own run; most of the 20 targets miss ``tol=0.01`` at any affordable cap (5 of 6
#: that we ran to 200 points still did), so the cap is what bounds the time.
MAX_STEPS = 24
#: A target stops when its panel errors sum to ``HEADROOM · tol · |f(x) − f(b)|``: the rest of
#: ``tol`` is headroom for the per-token attributions, which completeness does not see (tiny Llama,
#: probability, ``tol=0.01``: with the whole budget a target's L1 error against captum at 256
#: steps reached 1.07 % of the gap).
HEADROOM = 0.5
#: Fewest gradient points a target can use: the first mesh.
MIN_STEPS = ORDER * FIRST_PANELS


def check_tol(tol: object, max_steps: object) -> tuple[float, int]:
    """``(tol, max_steps)`` validated: ``tol`` a positive number, ``max_steps`` an int ≥
    ``MIN_STEPS``."""
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (0 < float(tol) < math.inf):
        raise ValueError(f"tol must be a positive number (the relative completeness gap), got {tol!r}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < MIN_STEPS:
        raise ValueError(
            f"max_steps must be an int >= {MIN_STEPS} (the first mesh: {FIRST_PANELS} panels of "
            f"{ORDER} Gauss–Legendre nodes), got {max_steps!r}"
        )
    return float(tol), max_steps


def stored_panels(max_steps: int) -> int:
    """Most panel gradients adaptive IG holds per target at once (sizes memory in ``core``)."""
    return max_steps // ORDER + 2


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
    """Integrated gradients with per-target panels until ``Σ_p |e_p| ≤ HEADROOM · tol ·
    |f_j(x) − f_j(b)|`` (hence ``|δ_j|`` too) or ``max_steps`` gradient points;
    ``Attributions.steps`` says how many each target used and ``delta`` what gap remains."""
    tol, max_steps = check_tol(tol, max_steps)
    n = f.n_inputs
    x, b = inputs[:n], baselines[:n]
    diff = x.float() - b.float()
    work = torch.promote_types(x.dtype, torch.float32)  # the path's dtype (see methods.py)
    start_w, diff_w = b.to(work), x.to(work) - b.to(work)
    end, start = endpoints(f, x, b)
    m = f.n_targets
    per_panel: dict[tuple[Panel, int], torch.Tensor] = {}  # (panel, target) → (n_j, d) attribution
    forward_only = [0]

    def path(alphas: np.ndarray, k: int) -> torch.Tensor:
        a = torch.as_tensor(alphas, dtype=work, device=x.device)
        return (start_w[None, :k] + a[:, None, None] * diff_w[None, :k]).to(x.dtype)

    def values(alphas: list[float]) -> np.ndarray:
        batch = max(1, ROWS_PER_FORWARD // n)
        out = [f.values(path(np.asarray(alphas[c:c + batch]), n)) for c in range(0, len(alphas), batch)]
        forward_only[0] += len(alphas)
        return torch.cat(out).double().cpu().numpy()

    def evaluate(requests: dict[Panel, list[int]]) -> dict[tuple[Panel, int], float]:
        by_targets: dict[tuple[int, ...], list[Panel]] = {}
        for p, js in requests.items():
            by_targets.setdefault(tuple(sorted(js)), []).append(p)
        sums = {}
        for js, panels in by_targets.items():
            sub = f if len(js) == m else f.subset(js)
            k = sub.n_inputs
            alphas, weights, index = panel_nodes(panels, ORDER)
            batch = internal_batch_size
            if batch is None:  # even chunks: 16 points run as 8 + 8, not 12 + 4
                most = max(ORDER, ROWS_PER_FORWARD // k)
                batch = math.ceil(alphas.size / math.ceil(alphas.size / most))
            total = torch.zeros(len(js), len(panels), k, x.shape[-1], dtype=torch.float32,
                                device=x.device)
            for c in range(0, alphas.size, batch):
                sl = slice(c, c + batch)
                ids = np.unique(index[sl])
                local = torch.as_tensor(np.searchsorted(ids, index[sl]))
                g, _ = sub.grouped_grads_and_values(path(alphas[sl], k), torch.as_tensor(weights[sl]),
                                                    local, ids.size)
                total[:, torch.as_tensor(ids, device=x.device)] += g
            total *= diff[None, None, :k]
            for i, j in enumerate(js):
                nj = int(f.rows[j]) + 1  # target j's prefix (the rest is exactly 0)
                for q, p in enumerate(panels):
                    per_panel[(p, j)] = total[i, q, :nj].clone()
                    sums[(p, j)] = float(total[i, q].sum())
        return sums

    ends = (start.double().cpu().numpy(), end.double().cpu().numpy())
    with progress_bar(m, progress, "integrated gradients (tol)") as bar:
        scout = scout_alphas(m)
        inner = values(scout[1:-1].tolist())
        mesh = scouted_mesh(scout, np.concatenate([ends[0][None], inner, ends[1][None]]),
                            panels=FIRST_PANELS)
        known = {float(a): v for a, v in zip(scout[1:-1], inner, strict=True)}
        res = adaptive_panels(evaluate, values, ends, tol=tol * HEADROOM, max_steps=max_steps, order=ORDER,
                              first=mesh, known=known, on_done=bar.update)
    attr = torch.zeros(m, n, x.shape[-1], dtype=torch.float32, device=x.device)
    for j, panels in enumerate(res.panels):
        for p in panels:
            a = per_panel[(p, j)]
            attr[j, : a.shape[0]] += a
    per_panel.clear()
    delta = attr.sum(dim=(1, 2)) - (end - start).float()
    steps = torch.as_tensor(res.steps, dtype=torch.long)
    rel = (delta.abs() / (end - start).float().abs().clamp_min(torch.finfo(torch.float32).tiny)).cpu()
    met = torch.as_tensor(res.met) | (rel <= tol)  # the panels' bound met, or δ itself within tol
    notes = []
    short = int((~met).sum())
    if short:
        notes.append(f"{short} of {m} targets did not reach tol={tol:g} within {max_steps} gradient "
                     f"points (largest relative gap {float(rel[~met].max()):.2g}); see delta.")
    notes.append(f"Integrated gradients by accuracy: panels of {ORDER} Gauss–Legendre nodes on "
                 f"a first mesh of {len(mesh)} panels shared by all targets, placed from "
                 f"{scout.size - 2} forward-only scout points; {forward_only[0]} forward-only path "
                 f"points in all (shared by all targets) besides the gradient points in steps.")
    return Attributions(attr=attr, values=end, delta=delta, baseline_values=start, steps=steps,
                        notes=tuple(notes))
