"""``solver="sklearn"``: the factorisation by scikit-learn's own coordinate descent
(``sklearn.decomposition.non_negative_factorization``, ``solver="cd"``, Frobenius loss), for a
result that is exactly what ``NMF(init=..., tol=..., max_iter=..., random_state=...)`` gives.
Slower than the default (``hals.py``: 3-5× on SmolLM2's 46,080 neurons), to an error equal within
about 1e-5 relative; ``tol`` here is scikit-learn's (a relative projected-gradient violation,
default ``SKLEARN_TOL``).

>>> import numpy as np
>>> X = np.random.default_rng(0).random((6, 9)).astype(np.float32)
>>> fit = sklearn_nmf(X, 2, max_iter=200, tol=1e-4, random_state=0)  # doctest: +SKIP
>>> fit.W.shape, fit.H.shape  # doctest: +SKIP
((6, 2), (2, 9))
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .hals import Fit

#: scikit-learn's default ``tol`` for ``NMF``.
SKLEARN_TOL = 1e-4


def sklearn_nmf(X: np.ndarray, k: int, *, H: np.ndarray | None = None, init: str = "nndsvda",
                max_iter: int = 200, tol: float = SKLEARN_TOL, random_state: int = 0) -> Fit:
    """``W, H`` from ``non_negative_factorization`` (with ``H`` given: ``W`` alone, as
    ``NMF.transform``). ``Fit.error`` is NaN: the caller sums the error in float64; ``converged``
    is ``n_iter < max_iter`` (scikit-learn warns otherwise)."""
    try:
        from sklearn.decomposition import non_negative_factorization
    except ImportError as e:  # pragma: no cover - the [nmf] extra
        raise ImportError("solver='sklearn' needs scikit-learn: pip install 'lmlens[nmf]'") from e
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Maximum number of iterations")
        W, H_out, n_iter = non_negative_factorization(
            X, H=H, n_components=k, init=init if H is None else "custom", update_H=H is None,
            solver="cd", beta_loss="frobenius", tol=tol, max_iter=max_iter,
            random_state=random_state)
    return Fit(W=np.asarray(W, np.float32), H=np.asarray(H_out, np.float32), n_iter=int(n_iter),
               converged=int(n_iter) < max_iter, error=math.nan, norm=math.nan)
