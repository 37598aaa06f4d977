"""``neuron_factors``: which groups of FFN neurons fire together over a text (NMF).

The ``(n_positions, n_neurons)`` matrix of FFN activations (``matrix.py``: the chosen blocks
side by side, numeric order, made ≥ 0 as ``positive`` says) is factorised as ``X ≈ W H``
(Frobenius loss): ``activations = W.T`` says how strongly each factor fires at each token,
``loadings = H`` which neurons make it up.

The solver (``hals.py``) is accelerated HALS: the same coordinate descent as scikit-learn's
``NMF(solver="cd")``, with several cheap sweeps over the small factor per pass over ``X`` and
``H`` extrapolated between iterations: on SmolLM2's 46,080 neurons at 256-422 tokens it reads
``X`` a third as often as scikit-learn or less, to an equal or lower error (it stops when an
iteration lowers the error by less than ``tol``, relative). ``solver="sklearn"`` runs
scikit-learn's own coordinate descent instead (``sklearn_solver.py``), for a factorisation that
is exactly ``sklearn.decomposition.NMF``'s.
Deterministic by default (``init="nndsvda"``: an SVD-based start, ``random_state=0``); the
result says whether the solver converged. ``components=`` applies the loadings of an earlier
result to a new text (solving for ``W`` only, as scikit-learn's ``transform`` does), so two texts
can be compared on one set of factors.

>>> import lmlens  # doctest: +SKIP
>>> from lmlens.analyses.factors import neuron_factors  # doctest: +SKIP
>>> lens = lmlens.load("smollm2")  # doctest: +SKIP
>>> trace = lens.trace("The capital of France is Paris.", points=["blocks.*.mlp.post"])  # doctest: +SKIP
>>> r = neuron_factors(trace, n_factors=4)  # doctest: +SKIP
>>> r.activations.shape, r.loadings.shape  # doctest: +SKIP
((4, 7), (4, 46080))
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ... import names as N
from ...capture import Trace
from ..checks import check_choice, check_int
from .hals import Fit, nmf
from .matrix import activation_matrix, select_layers
from .neuron_tokens import NeuronReadout, neuron_tokens
from .progress import bar_class, solver_bar
from .result import POSITIVE, NeuronFactorsResult
from .sklearn_solver import SKLEARN_TOL, sklearn_nmf

DEFAULT_N_FACTORS = 8
DEFAULT_POSITIVE = "clip"
#: Initialisations offered (all deterministic with a fixed ``random_state``).
INITS = ("nndsvda", "nndsvd", "nndsvdar", "random")
#: Solvers: ``"hals"`` (``hals.py``, the default) and ``"sklearn"`` (``sklearn_solver.py``).
SOLVERS = ("hals", "sklearn")
#: Defaults of the solver: ``tol`` is the relative decrease of ``‖X − WH‖`` over one iteration
#: below which it stops. At 1e-6 the error on SmolLM2's 46,080 neurons (64-422 tokens, 8 factors)
#: is at or below scikit-learn's ``NMF(init="nndsvda", tol=1e-3)`` and ecco's settings (20-40
#: iterations). ``max_iter`` as ecco's (iterations here are HALS iterations: two passes over
#: ``X`` each).
MAX_ITER = 500
TOL = 1e-6
#: Rows of ``X`` per block when the reconstruction error is computed.
_ERROR_ROWS = 64


def _check_trace(trace: object) -> Trace:
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be an lmlens Trace (from lens.trace), got {type(trace).__name__}")
    return trace


def _error(X: np.ndarray, W: np.ndarray, H: np.ndarray) -> tuple[float, float]:
    """``(‖X − W H‖_F, ‖X‖_F)`` in one pass over ``X`` and without an ``X``-sized temporary:
    ``‖X − WH‖² = ‖X‖² − 2⟨W, X Hᵀ⟩ + ⟨WᵀW, HHᵀ⟩``, every term in float64 (the terms are up
    to ~20× the result: float32 sums would lose its 4th digit)."""
    W64, H64 = W.astype(np.float64), H.astype(np.float64)
    xx = cross = 0.0
    for a in range(0, X.shape[0], _ERROR_ROWS):
        block = X[a:a + _ERROR_ROWS].astype(np.float64)
        xx += float(np.einsum("ij,ij->", block, block))
        cross += float(np.einsum("ij,ij->", block @ H64.T, W64[a:a + _ERROR_ROWS]))
    sq = xx - 2 * cross + float(np.sum((W64.T @ W64) * (H64 @ H64.T)))
    return float(np.sqrt(max(sq, 0.0))), float(np.sqrt(xx))


def _order(W: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Factors by ``‖w_f‖ · ‖h_f‖`` (the Frobenius norm of their rank-1 term), largest first."""
    size = np.linalg.norm(W, axis=0) * np.linalg.norm(H, axis=1)
    return np.argsort(-size, kind="stable")


def _solve(X: np.ndarray, *, n_factors: int, H: np.ndarray | None, init: str, max_iter: int,
           tol: float, random_state: int, bar: Callable | None, solver: str = "hals") -> Fit:
    """A fit, or with ``H`` given ``W`` alone, by ``solver``, with a bar over the iterations when
    ``bar`` is a tqdm-like class (scikit-learn reports none: its bar counts the one fit)."""
    if solver == "sklearn":
        ctx = solver_bar(bar, max_iter=1, tol=tol, desc="NMF (scikit-learn)") if bar is not None \
            else contextlib.nullcontext()
        with ctx as step:
            fit = sklearn_nmf(X, n_factors, H=H, init=init, max_iter=max_iter, tol=tol,
                              random_state=random_state)
            if step is not None:
                step(None)
            return fit
    ctx = solver_bar(bar, max_iter=max_iter, tol=tol) if bar is not None else contextlib.nullcontext()
    with ctx as step:
        return nmf(X, n_factors, H=H, init=init, max_iter=max_iter, tol=tol, random_state=random_state,
                   step=step)


def _check_components(c: object, layers: object, positive: str, n_factors: int, n_layers: int
                      ) -> NeuronFactorsResult:
    """``c`` when it can be transferred: arguments left at their defaults take the components'
    values; an argument set to something else must agree with them."""
    if not isinstance(c, NeuronFactorsResult):
        raise TypeError(f"components must be a NeuronFactorsResult (the .result of "
                        f"lens.neuron_factors), got {type(c).__name__}")
    if int(c.layers.max()) >= n_layers:
        raise ValueError(f"components cover block {int(c.layers.max())}; this model has {n_layers} blocks")
    if layers is not None and select_layers(layers, n_layers) != c.layers.tolist():
        raise ValueError(f"components were fitted on blocks {c.layers.tolist()}; leave layers=None")
    if positive not in (DEFAULT_POSITIVE, c.positive):
        raise ValueError(f"components were fitted with positive={c.positive!r}, got positive={positive!r}")
    if n_factors not in (DEFAULT_N_FACTORS, c.n_factors):
        raise ValueError(f"components hold {c.n_factors} factors, got n_factors={n_factors}")
    return c


def neuron_factors(
    trace: Trace,
    *,
    n_factors: int = DEFAULT_N_FACTORS,
    layers: int | str | Sequence[int | str] | range | None = None,
    positive: str = DEFAULT_POSITIVE,
    components: NeuronFactorsResult | None = None,
    init: str = "nndsvda",
    max_iter: int = MAX_ITER,
    tol: float | None = None,
    random_state: int = 0,
    solver: str = "hals",
    top_neurons: int = 10,
    decoder: NeuronReadout | None = None,
    k: int = 10,
    progress: bool | None | Callable[..., Any] = None,
) -> NeuronFactorsResult:
    """Factorise the FFN activations of ``trace`` into ``n_factors`` groups of neurons that fire
    together.

    Args:
        trace: holds ``blocks.{i}.mlp.post`` of every chosen block (``lens.trace(text,
            points=["blocks.*.mlp.post"])``; a ``lens.generate`` trace marks generated tokens).
        n_factors: number of factors, 1 .. min(n_positions, n_neurons).
        layers: blocks to include (None: all; an int, a list, a range; negatives from the end),
            always factorised in numeric order.
        positive: ``"clip"`` (negatives → 0), ``"abs"`` or ``"split"`` (a column per sign).
        components: an earlier result whose loadings are applied to this text; ``layers``,
            ``positive`` and ``n_factors`` then come from it (left at their defaults, or equal).
        init: the start, as scikit-learn's ``NMF(init=...)``: ``"nndsvda"`` (SVD-based, zeros
            filled with the mean), ``"nndsvd"``, ``"nndsvdar"`` or ``"random"``.
        max_iter: iterations at most (each reads the matrix twice).
        tol: stop when an iteration lowers ``‖X − WH‖`` by less than this share of it (None:
            ``TOL``); with ``solver="sklearn"`` scikit-learn's ``tol`` (None: ``SKLEARN_TOL``).
        random_state: seed of the start (``"random"``, ``"nndsvdar"``, the randomised SVD used
            for matrices with more than ``hals.GRAM_MAX`` rows and columns).
        solver: ``"hals"`` (accelerated HALS, ``hals.py``) or ``"sklearn"`` (scikit-learn's
            coordinate descent: exactly ``sklearn.decomposition.NMF``'s factorisation, slower).
        top_neurons: neurons kept per factor in ``top_neurons`` (largest loadings).
        decoder: the model's down-projections and readout (``NeuronReadout``); when given, what
            the top neurons write is decoded (``k`` tokens each way).
        progress: a tqdm bar over solver iterations: True/False, None (when the matrix is
            large), or a tqdm-like class.
    """
    trace = _check_trace(trace)
    if components is not None:
        c = _check_components(components, layers, positive, n_factors, trace.n_layers)
        chosen, positive, n_factors = c.layers.tolist(), c.positive, c.n_factors
    else:
        positive = check_choice("positive", positive, POSITIVE)
        chosen = select_layers(layers, trace.n_layers)
    init = check_choice("init", init, INITS)
    solver = check_choice("solver", solver, SOLVERS)
    if tol is None:
        tol = TOL if solver == "hals" else SKLEARN_TOL
    max_iter = check_int("max_iter", max_iter, 1)
    top_neurons = check_int("top_neurons", top_neurons, 1)
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise TypeError(f"random_state must be an int, got {type(random_state).__name__}")

    mat = activation_matrix(trace, chosen, positive)
    n_pos, m = mat.X.shape
    n_factors = check_int("n_factors", n_factors, 1, min(n_pos, m))
    if components is not None and not (
        np.array_equal(mat.neuron_index, c.neuron_index) and np.array_equal(mat.neuron_sign, c.neuron_sign)
    ):
        raise ValueError(f"components cover {c.n_neurons} neuron columns of other widths than this "
                         f"trace's {m}: were they fitted on another model?")
    if not mat.X.any():
        raise ValueError("every activation is 0 after positive=" + repr(positive) + ": nothing to factorise")

    bar = bar_class(progress, n_pos * m)
    H0 = None if components is None else np.ascontiguousarray(c.loadings, dtype=np.float32)
    fit = _solve(mat.X, n_factors=n_factors, H=H0, init=init, max_iter=max_iter, tol=float(tol),
                 random_state=int(random_state), bar=bar, solver=solver)
    W, H, n_iter, converged = fit.W, fit.H, fit.n_iter, fit.converged
    # the solver's own error, from the last pass's Gram terms, unless it is so small a part of
    # ‖X‖ that their rounding shows: then one more pass, in float64
    error, norm_x = (fit.error, fit.norm) if fit.exact_enough else _error(mat.X, W, H)
    if components is None:
        order = _order(W, H)
        W, H = W[:, order], H[order]
    t = min(top_neurons, m)
    top = np.argsort(-H, axis=1, kind="stable")[:, :t].astype(np.int64)

    notes = [_negatives_note(positive, mat.negative_entries, mat.negative_share)]
    if not converged:
        notes.append(f"NMF did not converge in {max_iter} iterations (tol={tol:g}); raise max_iter= "
                     "or tol= for a settled factorisation.")
    if components is not None:
        notes.append(f"Transferred: the {n_factors} factors (loadings) of another text, fitted on "
                     f"{c.n_positions} tokens; only the activations were solved for this text.")
    extra: dict[str, Any] = {}
    if components is not None and c.write_neurons is not None:
        extra = {f: getattr(c, f) for f in ("write_neurons", "write_top_ids", "write_top_logits",
                                             "write_bottom_ids", "write_bottom_logits", "strings")}
        notes.extend(n for n in c.notes if n.startswith("Writes:"))
    elif decoder is not None:
        extra, wnotes = _writes(decoder, mat.neuron_index, top, k)
        notes.extend(wnotes)

    return NeuronFactorsResult(
        activations=np.ascontiguousarray(W.T, dtype=np.float32),
        loadings=np.ascontiguousarray(H, dtype=np.float32),
        neuron_index=mat.neuron_index, neuron_sign=mat.neuron_sign,
        error=error, relative_error=error / norm_x if norm_x > 0 else 0.0,
        positive=positive, negative_share=mat.negative_share, negative_entries=mat.negative_entries,
        n_iter=n_iter, converged=converged,
        layers=np.asarray(chosen, dtype=np.int64), layer_names=tuple(N.mlp_post(i) for i in chosen),
        input_ids=trace.token_ids.detach().cpu().numpy().astype(np.int64),
        tokens=tuple(trace.tokens), token_labels=tuple(trace.labels), generated=np.asarray(trace.generated, dtype=bool).copy(),
        top_neurons=top,
        params={"n_factors": n_factors, "init": init if components is None else "custom",
                "solver": solver, "beta_loss": "frobenius", "max_iter": max_iter, "tol": float(tol),
                "random_state": int(random_state), "transferred": components is not None},
        kind=trace.kind, notes=tuple(notes), model_name=trace.model_name,
        model_dtype=trace.model_dtype, **extra,
    )


def _negatives_note(positive: str, entries: float, share: float) -> str:
    what = {
        "clip": "were set to 0 (positive='clip'); that removed",
        "abs": "were replaced by their absolute value (positive='abs'), folding",
        "split": "got a column of their own (positive='split': every neuron has a positive and a "
                 "negative part), keeping",
    }[positive]
    return (f"{entries * 100:.0f}% of the FFN activations were negative and {what} "
            f"{share * 100:.0f}% of the activations' absolute mass.")


def _writes(parts: NeuronReadout, index: np.ndarray, top: np.ndarray, k: int
            ) -> tuple[dict[str, Any], list[str]]:
    """What the distinct top neurons write (``write_*`` fields of the result)."""
    pairs = np.unique(index[top.ravel()], axis=0)
    r = neuron_tokens(parts, pairs, k=k)
    return ({"write_neurons": r.neurons, "write_top_ids": r.top_ids, "write_top_logits": r.top_logits,
             "write_bottom_ids": r.bottom_ids, "write_bottom_logits": r.bottom_logits,
             "strings": dict(r.strings)}, list(r.notes))
