"""Nested quadrature rules on ``[0, 1]`` for integrated gradients by accuracy: Gauss–Legendre
with ``first`` nodes (captum's ``"gausslegendre"`` at ``n_steps=first``), then its
Kronrod–Patterson extensions, each keeping every node of the rule before it and adding
``n + 1`` new ones: 10 → 21 → 43 → 87 nodes (QUADPACK's ``qng`` sequence, exact for
polynomials of degree 19, 31, 65 and 131), then 175 (exact to degree 185: float64 loses the
last digits of that extension, still a positive interpolatory rule). A target whose completeness
gap is still too large after one level pays only for the new nodes of the next: no gradient is
ever recomputed.

Why these and not Gauss–Legendre at growing orders: Gauss–Legendre rules of different orders
share no nodes (bar the midpoint), so growing 10 → 20 → 40 would cost 70 nodes to reach the
accuracy of a 40-node rule; the nested sequence reaches 43 nodes for 43. Doubling schemes
(trapezoid, Clenshaw–Curtis) nest too but need more nodes for the same accuracy on smooth
integrands.

The extensions are computed here, not copied from tables: the ``m`` new nodes are the roots of
the degree-``m`` polynomial orthogonal to every polynomial of degree < ``m`` under the weight
``Π (x − existing nodes)`` (Patterson 1968), and the weights make the rule exact on Legendre
polynomials up to its node count (both in float64, in the Legendre basis).

>>> rule = nested_rules()[0]
>>> len(rule.alphas), round(float(rule.weights.sum()), 12)
(10, 1.0)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import legendre as L

#: Node counts of the default nested sequence.
LEVELS = (10, 21, 43, 87, 175)


@dataclass(frozen=True)
class NestedRule:
    """One level of a nested rule on ``[0, 1]``.

    Fields:
        alphas: ``(n,)`` every node so far, older levels' nodes first.
        weights: ``(n,)`` this level's weights for ``alphas`` (they sum to 1).
        new: ``slice`` of ``alphas`` this level adds.
        pair: ``(n,)`` int, a symmetric pair ``{α, 1 − α}`` shares an index (the midpoint is
            alone); pairs always have equal weights, so gradients are kept per pair.
    """

    alphas: np.ndarray
    weights: np.ndarray
    new: slice
    pair: np.ndarray

    @property
    def n_nodes(self) -> int:
        return int(self.alphas.size)


def _extension(nodes: np.ndarray, m: int) -> np.ndarray:
    """The ``m`` Patterson nodes (on ``[−1, 1]``) that extend the rule with ``nodes``."""
    gx, gw = L.leggauss((nodes.size + 2 * m) // 2 + 4)
    p = np.prod(gx[:, None] - nodes[None, :], axis=1)
    p /= np.abs(p).max()
    v = L.legvander(gx, m)
    a = (v[:, :m] * (gw * p)[:, None]).T @ v
    c = np.append(np.linalg.solve(a[:, :m], -a[:, m]), 1.0)
    roots = L.legroots(c)
    if np.iscomplexobj(roots) or np.abs(roots).max() >= 1:
        raise ArithmeticError(f"no real Patterson extension of {nodes.size} nodes by {m}")
    return np.sort(roots)


def _symmetric(x: np.ndarray) -> np.ndarray:
    """Nodes made exactly symmetric (``x`` sorted: average each with the mirror of its partner)."""
    return (x - x[::-1]) / 2


def _weights(x: np.ndarray) -> np.ndarray:
    """Interpolatory weights on ``[−1, 1]`` for nodes ``x``."""
    v = L.legvander(x, x.size - 1)
    moments = np.zeros(x.size)
    moments[0] = 2.0
    return np.linalg.solve(v.T, moments)


def _pair_ids(nodes: np.ndarray) -> np.ndarray:
    """Ids of symmetric pairs ``{x, −x}`` in order of first appearance (stable as nodes are
    appended)."""
    ids: dict[float, int] = {}
    return np.array([ids.setdefault(round(abs(float(v)), 12), len(ids)) for v in nodes], np.int64)


@functools.cache
def nested_rules(first: int = LEVELS[0], levels: int = len(LEVELS)) -> tuple[NestedRule, ...]:
    """The nested sequence starting from ``first``-node Gauss–Legendre, ``levels`` rules long."""
    x, w_first = L.leggauss(first)
    order = list(x)  # nodes in the order they were added
    rules = []
    for level in range(levels):
        start = len(order)
        if level:
            order += list(_symmetric(_extension(np.sort(np.asarray(order)), len(order) + 1)))
        else:
            start = 0
        nodes = np.asarray(order)
        if level:
            srt = np.argsort(nodes)
            w = np.empty_like(nodes)
            ws = _weights(_symmetric(nodes[srt]))
            w[srt] = (ws + ws[::-1]) / 2  # a pair's two weights, made exactly equal
        else:  # exactly captum's Gauss–Legendre weights
            w = np.asarray(w_first, dtype=np.float64)
        rules.append(NestedRule(alphas=(nodes + 1) / 2, weights=w / 2, new=slice(start, nodes.size),
                                pair=_pair_ids(nodes)))
    return tuple(rules)
