"""The first mesh of integrated gradients by accuracy, placed from forward passes only.

The path integrand of a real LM is not smooth in ``α``: on SmolLM2 (zero baseline, probability
target) ``f`` can jump from 23 % to 70 % of its whole gap between ``α = 0.48`` and ``0.50`` and
wander over ``[0.03, 0.1]``, and these features sit at the same ``α`` for most targets of one
sequence (they come from the shared prefix). A forward pass gives ``f`` of every target at once
(``TargetFunctions.values``), for about the cost of one target's gradient point; so a coarse
*scout* of ``f`` along the path, shared by all targets, shows where the path's features are
before any gradient is taken. ``scouted_mesh`` places the panel edges on the scout grid so that
each panel holds an equal share of a monitor: the targets' mean variation of ``f`` (each target's
variation normalised to sum to 1) plus a uniform share of ``α``. The panels are then narrow where
the targets move and wide where they are flat (equidistribution, as in moving-mesh methods).

One mesh for all targets keeps every gradient forward shared between them; each target's own
panels are then checked exactly and split further where it needs (``quadrature.adaptive_panels``).
Measured on SmolLM2 (20 generated tokens, probability target, zero baseline, at most 24 gradient
points per target, ``bench/attribution.py``): the largest relative gap fell from 0.71 (two equal
halves first, split where the error is) to 0.42, the median from 0.053 to 0.024, for 31 more
forward passes shared by the 20 targets.

>>> a = np.linspace(0, 1, 9)
>>> f = np.where(a < 0.5, 0.0, 1.0)[:, None]  # f jumps between α = 0.375 and 0.5
>>> [(float(lo), float(hi)) for lo, hi in scouted_mesh(a, f, panels=4, uniform=0.5)]
[(0.0, 0.375), (0.375, 0.5), (0.5, 0.625), (0.625, 1.0)]
"""

from __future__ import annotations

import math

import numpy as np

from .quadrature import Panel

#: Panels of the shared first mesh (``FIRST_PANELS · ORDER`` = 16 gradient points per target).
FIRST_PANELS = 4
#: Weight of the uniform share of ``α`` in the monitor, against the targets' mean variation
#: (which sums to 1): 0.5 puts a third of the mesh evenly. Measured on SmolLM2 (6 panels of 2
#: nodes): 0.2 → largest relative gap 0.60, 0.5 → 0.31, 1.5 → 0.35.
UNIFORM_SHARE = 0.5
#: Most scout intervals on ``[0, 1]`` (33 forward-only points), for many targets.
MAX_SCOUT_INTERVALS = 32


def scout_alphas(n_targets: int) -> np.ndarray:
    """The scout grid for ``n_targets`` targets: ``2^k + 1`` equal points from 0 to 1 with
    ``2^k`` between 8 and ``MAX_SCOUT_INTERVALS``, about ``2 · n_targets`` (so a target pays
    for at most a few forward passes of the scout).

    >>> scout_alphas(1).size, scout_alphas(6).size, scout_alphas(20).size
    (9, 17, 33)
    """
    want = max(8, 2 * int(n_targets))
    intervals = min(MAX_SCOUT_INTERVALS, 2 ** math.ceil(math.log2(want)))
    return np.linspace(0.0, 1.0, intervals + 1)


def scouted_mesh(
    alphas: np.ndarray, values: np.ndarray, *, panels: int = FIRST_PANELS,
    uniform: float = UNIFORM_SHARE,
) -> list[Panel]:
    """Panels of ``[0, 1]`` with edges on ``alphas`` at equal shares of the monitor.

    Args:
        alphas: ``(s,)`` increasing, from 0 to 1 (the scout grid).
        values: ``(s, n_targets)`` ``f`` of each target there.
        panels: how many panels (all of them when the grid has as many intervals; two
            quantiles nearest the same grid point take neighbouring points).
        uniform: the weight of the uniform share of ``α`` (see ``UNIFORM_SHARE``).

    Returns:
        ``[(a, b), ...]`` sorted, covering ``[0, 1]``.
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64).reshape(alphas.size, -1)
    if alphas.size < 2 or alphas[0] != 0 or alphas[-1] != 1 or (np.diff(alphas) <= 0).any():
        raise ValueError("alphas must increase from 0 to 1")
    if not isinstance(panels, int) or panels < 1:
        raise ValueError(f"panels must be a positive int, got {panels!r}")
    moves = np.abs(np.diff(values, axis=0))  # (s - 1, n_targets)
    total = moves.sum(axis=0)
    moves /= np.where(total > 0, total, 1.0)  # each target's variation sums to 1 (a flat one: 0)
    monitor = moves.mean(axis=1) + uniform * np.diff(alphas)
    cum = np.concatenate([[0.0], np.cumsum(monitor)])
    cum /= cum[-1]
    last = alphas.size - 1
    k = min(panels, last)
    index = [0]
    for i, q in enumerate(np.linspace(0.0, 1.0, k + 1)[1:-1], start=1):
        near = int(np.argmin(np.abs(cum - q)))
        index.append(min(max(near, index[-1] + 1), last - (k - i)))  # distinct, room for the rest
    index.append(last)
    edges = [float(alphas[i]) for i in index]
    return list(zip(edges[:-1], edges[1:], strict=True))
