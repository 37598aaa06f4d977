"""Non-negative matrix factorisation ``X ≈ W H`` (Frobenius loss) by accelerated HALS.

HALS (hierarchical alternating least squares) updates one row of ``Wᵀ`` or ``H`` at a time, each
the exact minimiser of the loss with everything else fixed (clipped at 0): the same coordinate
descent as scikit-learn's ``NMF(solver="cd")``, converging to the same kind of point. What costs
is reading ``X``: ``X Hᵀ`` before the ``W`` update, ``Wᵀ X`` before the ``H`` update (two passes
per iteration; ``X`` is ``n_positions × n_neurons``, 78 MB at 422 tokens of SmolLM2). Once those
and the ``k × k`` Grams ``H Hᵀ``, ``Wᵀ W`` are known, a sweep over the ``k`` rows reads only the
small factor, so the *accelerated* variant (Gillis & Glineur, "Accelerated multiplicative updates
and hierarchical ALS algorithms for nonnegative matrix factorization", Neural Computation 2012)
runs several sweeps per pass: at most ``1 + ALPHA·ρ`` (``ρ``: a pass's cost over a sweep's), and
stops when a sweep moves the factor by less than ``DELTA`` times the first sweep's move. Between
iterations ``H`` is extrapolated along its last step (Ang & Gillis, "Accelerating nonnegative
matrix factorization algorithms using extrapolation", Neural Computation 2019): the ``W`` update
sees ``Y = max(0, H + β (H − H_prev))``, ``β`` grows while the error falls and shrinks, with a
restart from the plain iterate, when an iteration raises it. On SmolLM2's FFN activations (8
factors, 256-422 tokens) this reaches scikit-learn's error with a third or less of its passes
over ``X``, in about a fifth to a quarter of its time (``bench/factors.py``).

The loss is known without another pass: ``‖X − WH‖² = ‖X‖² − 2⟨Wᵀ X, H⟩ + ⟨WᵀW, HHᵀ⟩``. The fit
stops when an iteration lowers ``‖X − WH‖`` by less than ``tol`` of its value (``nmf`` says how
that decrease is measured without rounding error).

Starts as scikit-learn's ``init=`` options do (``nndsvd``, ``nndsvda``, ``nndsvdar``: Boutsidis &
Gallopoulos's SVD-based start; ``random``: scikit-learn's own draw, the same numbers for the same
seed). The top singular vectors come from the eigenvectors of the smaller Gram matrix ``X Xᵀ``
(one pass over ``X``, exact) when ``min(X.shape) ≤ GRAM_MAX``, else from a randomised SVD.

>>> rng = np.random.default_rng(0)
>>> X = (rng.random((20, 3)) @ rng.random((3, 50))).astype(np.float32)  # rank 3, ≥ 0: exact
>>> fit = nmf(X, 3, tol=1e-9, max_iter=2000)
>>> bool(np.linalg.norm(X - fit.W @ fit.H) / np.linalg.norm(X) < 1e-3)
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Inner sweeps per update at most ``1 + ALPHA·ρ`` (Gillis & Glineur's α).
ALPHA = 0.5
#: Inner sweeps stop when one moves the factor by less than ``DELTA`` × the first one's move
#: (Gillis & Glineur's δ = 0.1, on norms: ``‖ΔV‖ ≤ DELTA·‖ΔV₁‖``).
DELTA = 0.1
#: Extrapolation of ``H`` between iterations (Ang & Gillis 2019): first step ``BETA``, grown by
#: ``GAMMA`` while the error falls (capped by a bound that grows by ``GAMMA_BAR`` up to 1), cut by
#: ``ETA`` and restarted when an iteration raises it.
BETA, GAMMA, GAMMA_BAR, ETA = 0.5, 1.05, 1.01, 1.5
#: The SVD start reads the singular vectors off the ``min(n, m)``-square Gram matrix up to this
#: size (exact; ``eigh`` of a 2048-square matrix takes about a second); above, a randomised SVD.
GRAM_MAX = 2048
#: Values below this in the SVD start count as zero (scikit-learn's ``eps``).
EPS = 1e-6
#: ``Fit.error`` is trusted as the reported error when ``error² ≥ GRAM_ERROR_MIN·‖X‖²``.
GRAM_ERROR_MIN = 0.02


@dataclass(frozen=True)
class Fit:
    """What ``nmf`` found.

    Fields:
        W: ``(n, k)`` float32 ≥ 0.
        H: ``(k, m)`` float32 ≥ 0.
        n_iter: iterations run (each: one pass for ``W``, one for ``H``; with ``H`` fixed: sweeps).
        converged: whether an iteration lowered the error by less than ``tol`` (relative) before
            ``max_iter``.
        error: ``‖X − WH‖`` from the Gram terms of the last pass (float64 sums of float32 products:
            off by about ``1e-7·‖X‖²`` in the square; ``exact_enough`` says when that is < 1e-5).
        norm: ``‖X‖``, summed in float64.
    """

    W: np.ndarray
    H: np.ndarray
    n_iter: int
    converged: bool
    error: float
    norm: float

    @property
    def exact_enough(self) -> bool:
        """Whether ``error`` is within 1e-5 (relative) of ``‖X − WH‖`` summed in float64: when it
        is at least ``sqrt(GRAM_ERROR_MIN)`` of ``‖X‖`` (the Gram terms' rounding, measured at
        about ``1.2e-7·‖X‖²`` on SmolLM2's activations, then costs < 0.6e-5 of it)."""
        return self.error ** 2 >= GRAM_ERROR_MIN * self.norm ** 2


def top_svd(X: np.ndarray, k: int, random_state: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(U, S, Vt)``: the ``k`` leading singular triplets of ``X`` (``(n, k)``, ``(k,)``, ``(k, m)``,
    float32, largest first): from the eigenvectors of ``X Xᵀ`` or ``Xᵀ X`` (whichever is smaller)
    when ``min(n, m) ≤ GRAM_MAX``, else a randomised SVD (Halko et al.; 7 power iterations).

    >>> X = np.diag([3.0, 2.0, 1.0]).astype(np.float32)
    >>> top_svd(X, 2)[1].round(4).tolist()
    [3.0, 2.0]
    """
    n, m = X.shape
    if min(n, m) > GRAM_MAX:
        return _randomized_svd(X, k, random_state)
    tall = n > m
    G = X.T @ X if tall else X @ X.T  # numpy runs this as one symmetric rank-k update (syrk)
    ev, vec = np.linalg.eigh(G.astype(np.float64))
    top = np.argsort(ev)[::-1][:k]
    S = np.sqrt(np.maximum(ev[top], 0.0))
    small = vec[:, top].astype(np.float32)  # U (wide) or V (tall)
    inv = np.where(S > 0, 1.0 / np.where(S > 0, S, 1.0), 0.0).astype(np.float32)
    if tall:
        return (X @ small) * inv, S.astype(np.float32), np.ascontiguousarray(small.T)
    return small, S.astype(np.float32), (small.T @ X) * inv[:, None]


def _randomized_svd(X: np.ndarray, k: int, random_state: int, n_iter: int = 7,
                    oversample: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.RandomState(random_state)
    Q = X @ rng.standard_normal((X.shape[1], k + oversample)).astype(np.float32)
    for _ in range(n_iter):
        Q, _ = np.linalg.qr(Q)
        Q, _ = np.linalg.qr(X.T @ Q)
        Q = X @ Q
    Q, _ = np.linalg.qr(Q)
    u, S, Vt = np.linalg.svd(Q.T @ X, full_matrices=False)
    return (Q @ u[:, :k]).astype(np.float32), S[:k].astype(np.float32), Vt[:k].astype(np.float32)


def initialize(X: np.ndarray, k: int, init: str, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(W, H)`` to start from, as scikit-learn's ``NMF(init=init, random_state=random_state)``
    computes them (up to the SVD's rounding: the singular vectors come from ``top_svd``)."""
    n, m = X.shape
    if init == "random":
        avg = np.sqrt(X.mean() / k)
        rng = np.random.RandomState(random_state)
        H = np.abs(avg * rng.standard_normal(size=(k, m)).astype(X.dtype, copy=False))
        W = np.abs(avg * rng.standard_normal(size=(n, k)).astype(X.dtype, copy=False))
        return W, H
    U, S, Vt = top_svd(X, k, random_state)
    W = np.zeros((n, k), dtype=np.float32)
    H = np.zeros((k, m), dtype=np.float32)
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0] = np.sqrt(S[0]) * np.abs(Vt[0])
    for j in range(1, k):  # Boutsidis & Gallopoulos: the larger of each pair's ± parts
        x, y = U[:, j], Vt[j]
        xp, yp = np.maximum(x, 0), np.maximum(y, 0)
        xn, yn = np.abs(np.minimum(x, 0)), np.abs(np.minimum(y, 0))
        mp = np.linalg.norm(xp) * np.linalg.norm(yp)
        mn = np.linalg.norm(xn) * np.linalg.norm(yn)
        u, v, sigma = (xp, yp, mp) if mp > mn else (xn, yn, mn)
        nu, nv = np.linalg.norm(u), np.linalg.norm(v)
        if nu > 0 and nv > 0:
            lbd = np.sqrt(S[j] * sigma)
            W[:, j] = lbd * u / nu
            H[j] = lbd * v / nv
    W[W < EPS] = 0
    H[H < EPS] = 0
    if init == "nndsvda":
        avg = X.mean()
        W[W == 0] = avg
        H[H == 0] = avg
    elif init == "nndsvdar":
        rng = np.random.RandomState(random_state)
        avg = X.mean()
        W[W == 0] = abs(avg * rng.standard_normal(size=int((W == 0).sum())) / 100)
        H[H == 0] = abs(avg * rng.standard_normal(size=int((H == 0).sum())) / 100)
    elif init != "nndsvd":
        raise ValueError(f"init must be one of 'nndsvda', 'nndsvd', 'nndsvdar', 'random', got {init!r}")
    return W, H


def _one_blas_thread() -> contextlib.AbstractContextManager:
    """BLAS limited to one thread (threadpoolctl, when installed: scikit-learn brings it). A fit
    is hundreds of short BLAS calls (the passes over ``X`` are bound by memory, not arithmetic);
    with several BLAS threads each call wakes and syncs them all, which on a busy machine made a
    1.5 s fit take 20-40 s (2 cores at load 7, OpenBLAS)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _CONTROLLER = False
        else:
            _CONTROLLER = ThreadpoolController()
    if _CONTROLLER is False:
        return contextlib.nullcontext()
    return _CONTROLLER.limit(limits=1, user_api="blas")


_CONTROLLER = None


def sweeps(V: np.ndarray, C: np.ndarray, G: np.ndarray, max_sweeps: int, delta: float = DELTA) -> int:
    """Update ``V`` ``(k, p)`` ≥ 0 in place to lower ``‖X − Uᵀ V‖²`` for the other factor ``U``
    fixed, given ``C = U X`` ``(k, p)`` and ``G = U Uᵀ`` ``(k, k)``: row by row, each the exact
    minimiser ``V[j] = max(0, (C[j] − Σ_{i≠j} G[j, i] V[i]) / G[j, j])``, up to ``max_sweeps``
    sweeps, stopping when a sweep moves ``V`` by less than ``delta`` × the first sweep's move.
    Rows with ``G[j, j] = 0`` (a factor that is all zero on the other side) are left as they are.
    Returns the sweeps run."""
    d = np.diag(G).astype(np.float64)
    live = np.flatnonzero(d > 0)
    scale = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)
    Cn = (C * scale[:, None]).astype(np.float32)  # C[j] / G[j, j]
    Gn = (G * scale[:, None]).astype(np.float32)  # G[j] / G[j, j], diagonal left out:
    np.fill_diagonal(Gn, 0.0)
    row = np.empty(V.shape[1], dtype=np.float32)
    first = None
    for s in range(1, max_sweeps + 1):
        moved = 0.0
        for j in live:
            np.dot(Gn[j], V, out=row)
            np.subtract(Cn[j], row, out=row)
            np.maximum(row, 0, out=row)
            np.subtract(V[j], row, out=V[j])  # V[j] := old − new, to measure the move
            moved += float(np.dot(V[j], V[j]))
            V[j] = row
        if first is None:
            first = moved
        elif moved <= delta * delta * first:
            return s
    return max_sweeps


def _excess(C: np.ndarray, V: np.ndarray, G: np.ndarray) -> float:
    """``‖X − UᵀV‖² − ‖X‖² = ⟨G, V Vᵀ⟩ − 2⟨C, V⟩`` for ``C = U X``, ``G = U Uᵀ`` (float64 sums)."""
    V64 = V.astype(np.float64)
    VV = V64 @ V64.T
    return float(np.sum(G.astype(np.float64) * VV)) - 2 * float(np.einsum("ij,ij->", C, V, dtype=np.float64))


def _relative(drop: float, before: float, xx: float) -> float:
    """An iteration's relative decrease of ``‖X − WH‖`` (first order: ``Δ‖·‖² / 2‖·‖²``), from
    the drop of the squared error and the squared error ``before`` it."""
    return drop / (2 * max(before, 1e-12 * xx, np.finfo(np.float64).tiny))


def nmf(X: np.ndarray, k: int, *, H: np.ndarray | None = None, init: str = "nndsvda",
        max_iter: int = 500, tol: float = 1e-6, random_state: int = 0,
        step: Callable[[float], None] | None = None) -> Fit:
    """Factorise ``X`` ``(n, m)`` float32 ≥ 0 as ``W H`` with ``k`` factors (accelerated HALS).

    With ``H`` given, only ``W`` is solved for (what scikit-learn's ``NMF.transform`` does): ``X Hᵀ``
    is read once, then sweeps run until one lowers the error by less than ``tol``. ``step(decrease)``
    is called after each iteration with its relative decrease of the error.

    The decrease is the sum of what each update lowered ``⟨G, V Vᵀ⟩ − 2⟨C, V⟩`` (the squared
    error less ``‖X‖²``) with its own ``C`` and ``G``, before minus after (less what the
    extrapolation raised it): no cancellation against ``‖X‖²``, so it stays exact when the error
    is a small part of ``‖X‖``. An iteration that raises the error restarts the extrapolation and
    never counts as converged.
    """
    with _one_blas_thread():
        return _nmf(X, k, H=H, init=init, max_iter=max_iter, tol=tol, random_state=random_state, step=step)


def _nmf(X: np.ndarray, k: int, *, H: np.ndarray | None, init: str, max_iter: int, tol: float,
         random_state: int, step: Callable[[float], None] | None) -> Fit:
    X = np.ascontiguousarray(X, dtype=np.float32)
    n, m = X.shape
    xx = float(np.einsum("ij,ij->", X, X, dtype=np.float64))
    if H is not None:
        H = np.ascontiguousarray(H, dtype=np.float32)
        Wt = np.full((k, n), np.sqrt(X.mean() / k), dtype=np.float32)  # scikit-learn's start
        return _solve_w(X, xx, Wt, H, max_iter, tol, step)
    W, H = initialize(X, k, init, random_state)
    Wt = np.ascontiguousarray(W.T)
    H = np.ascontiguousarray(H)
    inner_w = 1 + int(ALPHA * (1 + (m * k + n * m) / (n * k + n)))  # ρ for W (Gillis & Glineur)
    inner_h = 1 + int(ALPHA * (1 + (n * k + n * m) / (m * k + m)))  # ρ for H
    Y = H  # what the W update sees: H extrapolated along its last step
    beta, beta_bar = BETA, 1.0
    jump = 0.0  # how much moving H to Y raised the squared error (with the W of that moment)
    for it in range(1, max_iter + 1):
        A, B = Y @ X.T, Y @ Y.T
        before = _excess(A, Wt, B)
        sweeps(Wt, A, B, inner_w)
        drop = before - _excess(A, Wt, B)
        C, D = Wt @ X, Wt @ Wt.T
        Hn = Y.copy()
        mid = _excess(C, Hn, D)
        sweeps(Hn, C, D, inner_h)
        after = _excess(C, Hn, D)
        drop += mid - after - jump  # ‖X − W₀H₀‖² − ‖X − WHn‖², W₀H₀ the last iterate
        decrease = _relative(drop, xx + after + drop, xx)
        if drop < 0:  # worse than the last iterate: restart from here, with shorter steps
            Y, jump = Hn, 0.0
            beta_bar, beta = beta, beta / ETA
        else:
            Y = np.maximum(Hn + beta * (Hn - H), 0)
            jump = _excess(C, Y, D) - after
            beta, beta_bar = min(beta_bar, GAMMA * beta), min(1.0, GAMMA_BAR * beta_bar)
        H = Hn
        if step is not None:
            step(decrease)
        if 0 <= decrease < tol or it == max_iter:
            break
    return _fit(Wt, H, it, 0 <= decrease < tol, xx, after)


def _fit(Wt: np.ndarray, H: np.ndarray, n_iter: int, converged: bool, xx: float, excess: float) -> Fit:
    return Fit(np.ascontiguousarray(Wt.T), H, n_iter, converged, float(np.sqrt(max(xx + excess, 0.0))),
               float(np.sqrt(xx)))


def _solve_w(X: np.ndarray, xx: float, Wt: np.ndarray, H: np.ndarray, max_iter: int, tol: float,
             step: Callable[[float], None] | None) -> Fit:
    """``W`` for ``H`` fixed: one pass for ``A = H Xᵀ``, then single sweeps until one lowers the
    error by less than ``tol`` (measured from ``A`` and ``B = H Hᵀ``: no more passes)."""
    A, B = H @ X.T, H @ H.T
    before = _excess(A, Wt, B)
    for it in range(1, max_iter + 1):
        sweeps(Wt, A, B, 1)
        after = _excess(A, Wt, B)
        decrease = _relative(before - after, xx + before, xx)
        if step is not None:
            step(decrease)
        if decrease < tol or it == max_iter:
            break
        before = after
    return _fit(Wt, H, it, decrease < tol, xx, after)
