"""Neuron factors: the matrix (layers by number, the down-projection's input, what ``positive``
does), the factorisation against scikit-learn's NMF called directly on a matrix built here (our
HALS solver must reach scikit-learn's error or lower), its start against scikit-learn's and numpy's
SVD, determinism, transfer against scipy's NNLS, a generate trace, and bad input."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch
from scipy.optimize import nnls
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from tiny import tiny_lens, tiny_model

import lmlens
from lmlens.analyses.factors import (
    INITS,
    NeuronFactorsResult,
    activation_matrix,
    hals,
    neuron_factors,
    select_layers,
)
from lmlens.analyses.factors.hals import initialize
from lmlens.analyses.factors.progress import Bar

TEXT = "The capital of France is Paris. The quick brown fox jumps over the lazy dog."


@pytest.fixture(scope="module")
def deep():
    """A tiny Llama with 12 blocks (more than 10: string order would put 10, 11 before 2)."""
    return tiny_lens("llama", n_layers=12)


@pytest.fixture(scope="module")
def deep_trace(deep):
    return deep.trace(TEXT, points=["blocks.*.mlp.post"])


def _down_inputs(lens, layers, text=TEXT) -> list[np.ndarray]:
    """The input of each block's down_proj, seen by a hook of this test's own."""
    seen: dict[int, np.ndarray] = {}
    handles = [lens.model.model.layers[i].mlp.down_proj.register_forward_pre_hook(
        lambda m, a, _i=i: seen.__setitem__(_i, a[0][0].detach().float().numpy().copy()))
        for i in layers]
    try:
        with torch.no_grad():
            lens.model(lens.tokenize(text)[None])
    finally:
        for h in handles:
            h.remove()
    return [seen[i] for i in layers]


def test_layers_are_picked_by_number(deep, deep_trace):
    assert select_layers([11, 2, 10, -12], 12) == [0, 2, 10, 11]
    assert select_layers(None, 12) == list(range(12))
    assert select_layers("blocks.10.mlp.post", 12) == [10]
    r = neuron_factors(deep_trace, n_factors=3, layers=[11, 2, 10])
    assert r.layers.tolist() == [2, 10, 11]
    assert r.layer_names == ("blocks.2.mlp.post", "blocks.10.mlp.post", "blocks.11.mlp.post")
    # columns: block 2's 64 neurons, then 10's, then 11's
    np.testing.assert_array_equal(r.neuron_index[:, 0], np.repeat([2, 10, 11], 64))
    np.testing.assert_array_equal(r.neuron_index[:, 1], np.tile(np.arange(64), 3))


def test_matrix_is_the_down_projection_input_in_numeric_order(deep, deep_trace):
    want = _down_inputs(deep, [2, 10, 11])
    mat = activation_matrix(deep_trace, [2, 10, 11], "abs")
    np.testing.assert_allclose(mat.X, np.abs(np.concatenate(want, axis=1)), rtol=1e-6, atol=1e-7)
    # every layer, numeric order, through the lens
    want_all = np.concatenate(_down_inputs(deep, range(12)), axis=1)
    mat = activation_matrix(deep_trace, list(range(12)), "clip")
    np.testing.assert_allclose(mat.X, np.maximum(want_all, 0), rtol=1e-6, atol=1e-7)
    neg = want_all < 0
    assert mat.negative_entries == pytest.approx(neg.mean())
    assert mat.negative_share == pytest.approx(-want_all[neg].sum() / np.abs(want_all).sum(), rel=1e-5)


def test_split_doubles_the_neuron_axis(deep, deep_trace):
    a = np.concatenate(_down_inputs(deep, [3, 4]), axis=1)
    mat = activation_matrix(deep_trace, [3, 4], "split")
    np.testing.assert_allclose(mat.X, np.concatenate([np.maximum(a, 0), np.maximum(-a, 0)], axis=1),
                               rtol=1e-6, atol=1e-7)
    assert mat.X.shape == (a.shape[0], 256)
    np.testing.assert_array_equal(mat.neuron_index[:128], mat.neuron_index[128:])
    assert mat.neuron_sign[:128].tolist() == [1] * 128 and mat.neuron_sign[128:].tolist() == [-1] * 128
    r = neuron_factors(deep_trace, n_factors=4, layers=[3, 4], positive="split")
    assert r.n_neurons == 256 and r.positive == "split"
    assert any("positive='split'" in n for n in r.notes)


#: How much higher than scikit-learn's our error may be, relative: both stop on a tolerance, at
#: slightly different points of the same slow descent (measured here: at most 2e-5).
ERROR_SLACK = 1e-4


def _sklearn(X, k, **kw):
    """scikit-learn's own NMF with its defaults (``tol=1e-4``; ``nndsvda`` start), seed 0."""
    model = NMF(n_components=k, init="nndsvda", solver="cd", beta_loss="frobenius", max_iter=2000,
                random_state=0, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 2000 iterations: as low as it gets
        W = model.fit_transform(X)
    return W, model.components_, model


def _frob(X, W, H) -> float:
    return float(np.linalg.norm(X.astype(np.float64) - W.astype(np.float64) @ H.astype(np.float64)))


@pytest.mark.parametrize("init", ["nndsvda", "random"])
def test_sklearn_solver_is_sklearns_nmf(deep, deep_trace, init):
    """``solver="sklearn"``: the factorisation ``sklearn.decomposition.NMF`` gives with the same
    settings, run here independently on the matrix built from the model's own down-projection
    inputs (factors reordered by size, so compared as sets of rank-1 terms)."""
    a = np.concatenate(_down_inputs(deep, range(12)), axis=1).astype(np.float32)
    X = np.maximum(a, 0)
    model = NMF(n_components=4, init=init, solver="cd", beta_loss="frobenius", tol=1e-4,
                max_iter=400, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W = model.fit_transform(X)
    r = neuron_factors(deep_trace, n_factors=4, solver="sklearn", init=init, max_iter=400)
    assert r.params["solver"] == "sklearn" and r.params["tol"] == 1e-4
    assert r.n_iter == model.n_iter_
    assert r.error == pytest.approx(_frob(X, W, model.components_), rel=1e-6)
    ours = sorted(np.outer(r.activations[f], r.loadings[f]).sum() for f in range(4))
    theirs = sorted(np.outer(W[:, f], model.components_[f]).sum() for f in range(4))
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    # transfer by scikit-learn's transform: our H, its W
    t = neuron_factors(deep_trace, components=r, solver="sklearn")
    model.components_ = np.asarray(r.loadings, dtype=np.float32).copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        W2 = model.transform(X)
    np.testing.assert_allclose(t.activations, W2.T, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("positive", ["clip", "abs", "split"])
def test_factors_reach_sklearn_error_on_the_same_matrix(deep, deep_trace, positive):
    a = np.concatenate(_down_inputs(deep, range(12)), axis=1).astype(np.float32)
    X = {"clip": np.maximum(a, 0), "abs": np.abs(a),
         "split": np.concatenate([np.maximum(a, 0), np.maximum(-a, 0)], axis=1)}[positive]
    W, H, model = _sklearn(X, 5)
    r = neuron_factors(deep_trace, n_factors=5, positive=positive)
    assert isinstance(r, NeuronFactorsResult)
    # the factors reconstruct the matrix built here within the reported error (the solver's own,
    # from Gram terms: within 1e-5 of the float64 sum, hals.Fit.exact_enough)
    assert r.error == pytest.approx(_frob(X, r.activations.T, r.loadings), rel=1e-5)
    assert r.relative_error == pytest.approx(r.error / np.linalg.norm(X.astype(np.float64)), rel=1e-6)
    # and that error is scikit-learn's, or lower
    assert r.error <= _frob(X, W, H) * (1 + ERROR_SLACK)
    assert r.converged and r.n_iter < 500 and r.params["solver"] == "hals"
    # factors ordered by the size of their rank-1 term
    size = np.linalg.norm(r.activations, axis=1) * np.linalg.norm(r.loadings, axis=1)
    assert np.all(np.diff(size) <= 1e-6)
    # top neurons: the largest loadings of each factor
    for f in range(r.n_factors):
        assert set(r.top_neurons[f].tolist()) == set(np.argsort(-r.loadings[f])[:10].tolist())


@pytest.mark.parametrize("init", ["nndsvda", "random"])
def test_error_is_sklearn_or_lower_from_each_start(deep_trace, init):
    X = activation_matrix(deep_trace, list(range(12)), "clip").X
    for k in (1, 3, 8):
        W, H, _ = _sklearn(X, k) if init == "nndsvda" else _sklearn_random(X, k)
        r = neuron_factors(deep_trace, n_factors=k, init=init)
        assert r.error <= _frob(X, W, H) * (1 + ERROR_SLACK), k


def _sklearn_random(X, k):
    model = NMF(n_components=k, init="random", solver="cd", max_iter=2000, random_state=0)
    W = model.fit_transform(X)
    return W, model.components_, model


@pytest.mark.parametrize("init", INITS)
def test_start_is_sklearns(deep_trace, init, monkeypatch):
    """The start is scikit-learn's (its private ``_initialize_nmf``) given the exact SVD: scikit-
    learn's own randomised SVD is off by 1e-2 on these close singular values, ours is exact."""
    from sklearn.decomposition import _nmf

    def exact_svd(X, k, random_state=None):
        u, s, vt = np.linalg.svd(X.astype(np.float64), full_matrices=False)
        return u[:, :k].astype(np.float32), s[:k].astype(np.float32), vt[:k].astype(np.float32)

    monkeypatch.setattr(_nmf, "_randomized_svd", exact_svd)
    X = activation_matrix(deep_trace, list(range(12)), "clip").X
    W0, H0 = _nmf._initialize_nmf(X, 5, init=init, random_state=0)
    W, H = initialize(X, 5, init, random_state=0)
    np.testing.assert_allclose(W, W0, rtol=1e-4, atol=1e-5 * float(W0.max()))
    np.testing.assert_allclose(H, H0, rtol=1e-4, atol=1e-5 * float(H0.max()))


@pytest.mark.parametrize("gram_max", [2048, 0])  # 0: the randomised SVD
def test_top_singular_triplets_equal_numpy_svd(gram_max, monkeypatch):
    rng = np.random.default_rng(1)
    for shape in ((30, 200), (200, 30)):
        X = (rng.random((shape[0], 6)) @ rng.random((6, shape[1])) * (1 + rng.random(shape) / 10)).astype(np.float32)
        monkeypatch.setattr(hals, "GRAM_MAX", gram_max)
        U, S, Vt = hals.top_svd(X, 4)
        u, s, vt = np.linalg.svd(X.astype(np.float64), full_matrices=False)
        np.testing.assert_allclose(S, s[:4], rtol=1e-4)
        # the vectors up to sign
        signs = np.sign(np.sum(U * u[:, :4], axis=0))
        np.testing.assert_allclose(U * signs, u[:, :4], atol=2e-3)
        np.testing.assert_allclose(Vt * signs[:, None], vt[:4], atol=2e-3)


def test_exact_low_rank_is_recovered():
    """A matrix that is exactly ``W H`` (rank 3, ≥ 0) is factorised to its rounding."""
    rng = np.random.default_rng(2)
    X = (rng.random((25, 3)) @ rng.random((3, 80))).astype(np.float32)
    fit = hals.nmf(X, 3, tol=1e-9, max_iter=5000)
    assert _frob(X, fit.W, fit.H) / np.linalg.norm(X) < 1e-4


def test_same_input_same_factors(deep, deep_trace):
    a = neuron_factors(deep_trace, n_factors=4)
    b = deep.neuron_factors(TEXT, n_factors=4).result
    np.testing.assert_array_equal(a.activations, b.activations)
    np.testing.assert_array_equal(a.loadings, b.loadings)
    assert a.error == b.error


def test_transfer_reproduces_the_activations_on_the_same_text(deep, deep_trace):
    fit = neuron_factors(deep_trace, n_factors=4, layers=range(3, 9), tol=1e-6, max_iter=2000)
    again = neuron_factors(deep_trace, components=fit, tol=1e-8, max_iter=2000)
    np.testing.assert_array_equal(again.loadings, fit.loadings)
    np.testing.assert_allclose(again.activations, fit.activations, rtol=1e-3,
                               atol=1e-3 * float(fit.activations.max()))
    assert again.error == pytest.approx(fit.error, rel=1e-4)
    assert again.params["transferred"] and any("Transferred" in n for n in again.notes)
    # another text: W solved with H fixed, as scikit-learn's transform does; each row of W is a
    # non-negative least-squares problem, solved exactly here by scipy
    other = deep.trace("Tokyo is the capital of Japan.", points=["blocks.*.mlp.post"])
    moved = deep.neuron_factors(other, components=fit).result
    X = activation_matrix(other, list(range(3, 9)), "clip").X.astype(np.float64)
    L = fit.loadings.astype(np.float64)
    want = np.stack([nnls(L.T, row)[0] for row in X], axis=1)
    assert moved.error <= _frob(X, want.T, L) * (1 + ERROR_SLACK)
    assert moved.error == pytest.approx(_frob(X, moved.activations.T, L), rel=1e-5)
    np.testing.assert_allclose(moved.activations, want, rtol=1e-2, atol=1e-2 * float(want.max()))
    model = NMF(n_components=4, init="random", solver="cd", tol=1e-4, max_iter=500, random_state=0)
    model.fit(np.random.default_rng(0).random((6, X.shape[1]), dtype=np.float32))
    model.components_ = np.asarray(fit.loadings, dtype=np.float32).copy()  # sklearn's transform, our H
    assert moved.error <= _frob(X, model.transform(X.astype(np.float32)), L) * (1 + ERROR_SLACK)
    assert moved.layers.tolist() == list(range(3, 9)) and moved.tokens == tuple(other.tokens)
    with pytest.raises(ValueError, match="positive"):
        neuron_factors(other, components=fit, positive="abs")
    with pytest.raises(ValueError, match="4 factors"):
        neuron_factors(other, components=fit, n_factors=3)
    with pytest.raises(ValueError, match="blocks"):
        neuron_factors(other, components=fit, layers=[1])


def test_generated_positions_are_marked():
    lens = tiny_lens("gpt2")
    gen = lens.generate("The capital of France is", max_new_tokens=5, points=["blocks.*.mlp.post"])
    r = lens.neuron_factors(gen, n_factors=3).result
    assert r.generated.tolist() == gen.generated.tolist() and r.generated.sum() == 5
    assert r.tokens == tuple(gen.tokens)
    assert r.activations.shape == (3, gen.n_positions)


def test_not_converged_is_said(deep_trace):
    r = neuron_factors(deep_trace, n_factors=6, max_iter=2, tol=0)
    assert not r.converged and r.n_iter == 2
    assert any("did not converge" in n for n in r.notes)


def test_progress_bar_counts_solver_iterations(deep_trace):
    bars: list[Bar] = []

    def make(**kw):
        bars.append(Bar())
        return bars[-1]

    r = neuron_factors(deep_trace, n_factors=3, progress=make)
    assert len(bars) == 1 and bars[0].n == r.n_iter and "error decrease" in bars[0].postfix


def test_results_round_trip_and_are_read_only(deep, tmp_path):
    import json

    r = deep.neuron_factors(TEXT, n_factors=3, layers=[1, 11]).result
    for res in (r, deep.neuron_tokens([0, 11], [3, 60], k=4)):
        arrays = [v for v in vars(res).values() if isinstance(v, np.ndarray)]
        assert arrays and all(not a.flags.writeable for a in arrays)
        back = lmlens.load_result(res.save(tmp_path / f"{type(res).__name__}.npz"))
        assert type(back) is type(res)
        for f in dataclasses.fields(res):
            x, y = getattr(res, f.name), getattr(back, f.name)
            if isinstance(x, np.ndarray):
                np.testing.assert_array_equal(x, y)
                assert x.dtype == y.dtype, f.name
            else:
                assert x == y, f.name
        json.dumps(res.to_dict())
        assert repr(res).startswith(type(res).__name__ + "(")
    assert type(back).__name__ == "NeuronTokensResult" and back.top_tokens == back.top_tokens
    assert lmlens.load_result(r.save(tmp_path / "f.npz")).writes.top_tokens == r.writes.top_tokens


@pytest.mark.parametrize("bad, match", [
    (dict(n_factors=0), "n_factors must be >= 1"),
    (dict(n_factors=10_000), "n_factors must be <="),
    (dict(n_factors=2.5), "n_factors must be an int"),
    (dict(layers=[12]), "block 12 does not exist; this model has 12 blocks"),
    (dict(layers=[3, 3]), "given twice"),
    (dict(layers=[]), "at least one block"),
    (dict(layers="blocks.3.resid_post"), "not an FFN activation point"),
    (dict(positive="relu"), r"positive must be one of \['clip', 'abs', 'split'\]"),
    (dict(init="pca"), "init must be one of"),
    (dict(solver="mu"), r"solver must be one of \['hals', 'sklearn'\]"),
    (dict(tol=-1), "tol must be a number >= 0"),
    (dict(max_iter=0), "max_iter must be >= 1"),
])
def test_bad_arguments(deep, bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        deep.neuron_factors(TEXT, **bad)


def test_n_factors_limit_is_positions(deep):
    n = deep.tokenize("Paris is big.").shape[0]
    r = deep.neuron_factors("Paris is big.", n_factors=n).result
    # as many factors as tokens: a near-exact fit, whose error is summed again in float64
    X = activation_matrix(deep.trace("Paris is big.", points=["blocks.*.mlp.post"]), list(range(12)), "clip").X
    assert r.error == pytest.approx(_frob(X, r.activations.T, r.loadings), rel=1e-5, abs=1e-6 * float(np.linalg.norm(X)))
    assert r.relative_error < 0.1
    with pytest.raises(ValueError, match=f"n_factors must be <= {n}"):
        deep.neuron_factors("Paris is big.", n_factors=n + 1)


def test_trace_without_the_ffn_points(deep):
    t = deep.trace(TEXT, points=["blocks.*.resid_post", "blocks.3.mlp.post"])
    with pytest.raises(ValueError, match=r"lacks \['blocks.0.mlp.post'"):
        neuron_factors(t)
    assert neuron_factors(t, layers=[3], n_factors=2).layers.tolist() == [3]
    with pytest.raises(TypeError, match="trace must be an lmlens Trace"):
        neuron_factors("text")


def test_model_without_an_ffn_site_gets_a_clear_error():
    model, tok = tiny_model("llama")
    probe = lmlens.Lens(model, tok)
    lens = lmlens.Lens(model, tok, anatomy=dataclasses.replace(probe.anatomy, mlp_down=None))
    for call in (lambda: lens.neuron_factors(TEXT), lambda: lens.neuron_tokens(0, 1)):
        with pytest.raises(ValueError, match=r"anatomy.mlp_down is None \(a mixture-of-experts"):
            call()


def test_all_zero_after_clipping():
    lens = tiny_lens("llama")
    t = lens.trace("Hi", points=["blocks.*.mlp.post"])
    t.tensors.update({k: -v.abs() - 1 for k, v in t.tensors.items()})
    with pytest.raises(ValueError, match="nothing to factorise"):
        neuron_factors(t, n_factors=1)
