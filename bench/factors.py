"""Neuron factors on SmolLM2-135M: all 30 blocks (46,080 FFN neurons), 8 factors.

For 64, 256 and 422 tokens, in one run (ratios come from the same run):

- ``capture``: ``lens.trace(ids, points=["blocks.*.mlp.post"])`` (one forward pass, hooked);
- ``call``: ``lens.neuron_factors(ids)``: capture, the clipped matrix, scikit-learn NMF, the top
  neurons' writes and the view's spec — everything but writing HTML;
- ``sklearn``: ``sklearn.decomposition.NMF`` alone, with lmlens's settings (``nndsvda``,
  ``tol=1e-3``, ``max_iter=500``, seed 0), on the same matrix (the bare fit);
- ``defaults``: ``NMF(n_components=8)`` with scikit-learn's defaults on the same matrix;
- ``ecco``: ``NMF(n_components=8, init="random", random_state=0, max_iter=500)``, ecco's
  ``run_nmf`` settings, on the same (clipped) matrix: ecco's NMF step without ecco (not
  installed here). The issue measured ecco's whole ``run_nmf`` at 11.9 s for 422 tokens.

Errors are Frobenius ``‖X − WH‖ / ‖X‖`` of each fit, summed here in float64. Times: min of ``--rounds`` interleaved
rounds (wall clock) with one torch thread and one BLAS thread (threadpoolctl). Peak extra memory:
process RSS sampled every 0.5 ms in a thread while the call runs, minus the RSS before it.

Run: ``.venv/bin/python bench/factors.py [--rounds R] [--lengths 64 256 422]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))
from _common import ids_of_length, interleaved, peak_extra_rss  # noqa: E402

import lmlens  # noqa: E402
from lmlens.analyses.factors import MAX_ITER, TOL, activation_matrix  # noqa: E402

K = 8


def frob64(X: np.ndarray, W: np.ndarray, H: np.ndarray) -> float:
    """``‖X − WH‖_F`` summed in float64, row block by row block (scikit-learn's own
    ``reconstruction_err_`` sums in float32: 3e-4 off at this size)."""
    H64 = H.astype(np.float64)
    total = 0.0
    for a in range(0, X.shape[0], 32):
        r = X[a:a + 32].astype(np.float64) - W[a:a + 32].astype(np.float64) @ H64
        total += float(np.einsum("ij,ij->", r, r))
    return float(np.sqrt(total))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--lengths", type=int, nargs="+", default=[64, 256, 422])
    args = ap.parse_args()
    from sklearn.decomposition import NMF

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", message="Maximum number of iterations")
    lens = lmlens.load("smollm2")
    points = ["blocks.*.mlp.post"]
    print(f"neuron factors bench · SmolLM2-135M · {lens.n_layers} blocks · {K} factors · one torch "
          f"and one BLAS thread · load avg {os.getloadavg()[0]:.1f} · min of {args.rounds} rounds")
    print(f"{'tokens':>6} {'capture':>8} {'call':>8} {'sklearn':>8} {'defaults':>8} {'ecco':>8} "
          f"{'call÷skl':>8} {'call÷def':>8} {'ecco+cap÷call':>13} {'call MiB':>8} {'skl MiB':>7} "
          f"{'HTML KB':>7}")
    errors = []
    for n in args.lengths:
        ids = torch.tensor(ids_of_length(lens.tokenizer, n))
        trace = lens.trace(ids, points=points)
        X = activation_matrix(trace, list(range(lens.n_layers)), "clip").X
        fits: dict[str, tuple] = {}

        def fit(name: str, X=X, fits=fits, **kw) -> None:
            m = NMF(n_components=K, **kw)
            W = m.fit_transform(X)
            fits[name] = (W, m.components_, m.n_iter_)

        fns = {
            "capture": lambda ids=ids: lens.trace(ids, points=points),
            "call": lambda ids=ids: lens.neuron_factors(ids, n_factors=K, progress=False),
            "sklearn": lambda: fit("sklearn", init="nndsvda", tol=TOL, max_iter=MAX_ITER, random_state=0),
            "defaults": lambda: fit("defaults"),
            "ecco": lambda: fit("ecco", init="random", random_state=0, max_iter=500),
        }
        with threadpool_limits(1):
            t = interleaved(fns, args.rounds, warmup=0)
            view, call_mib = peak_extra_rss(fns["call"])
            _, skl_mib = peak_extra_rss(fns["sklearn"])
        r = view.result
        html = len(view.to_html().encode("utf-8"))
        print(f"{n:>6} {t['capture']:>7.2f}s {t['call']:>7.2f}s {t['sklearn']:>7.2f}s {t['defaults']:>7.2f}s "
              f"{t['ecco']:>7.2f}s {t['call'] / t['sklearn']:>7.2f}× {t['call'] / t['defaults']:>7.2f}× "
              f"{(t['ecco'] + t['capture']) / t['call']:>12.2f}× {call_mib / 2**20:>8.0f} "
              f"{skl_mib / 2**20:>7.0f} {html / 1000:>7.0f}", flush=True)
        nx = float(np.sqrt(np.einsum("ij,ij->", X, X, dtype=np.float64)))
        mine = frob64(X, r.activations.T, r.loadings) / nx
        errors.append((n, mine, r.relative_error, r.n_iter,
                       {k: (frob64(X, W, H) / nx, it) for k, (W, H, it) in fits.items()}))
    print("\nrelative error ‖X − WH‖/‖X‖ in float64 (iterations); 'reported' is the result's own:")
    for n, err, reported, it, others in errors:
        bits = "  ".join(f"{k} {e:.6f} ({i})" for k, (e, i) in others.items())
        print(f"{n:>6}  lmlens {err:.6f} ({it}, reported {reported:.6f})  {bits}")
    print("call÷skl: the whole call over the bare scikit-learn fit with the same settings; call÷def: "
          "over NMF(n_components=8) with scikit-learn's defaults; ecco+cap÷call: ecco's NMF settings plus "
          "the capture, over the call. Targets (issue 9): call ≤ 1.3× the bare fit at 256 tokens; at 422 "
          "tokens ≥ 4× faster than ecco's 11.9 s with equal or lower error; HTML ≤ 1 MB at 422 tokens.")


if __name__ == "__main__":
    main()
