"""Integrated gradients by accuracy (``tol``): the nested rules are exact where they claim to be
and start from captum's Gauss–Legendre; the result at ``tol`` equals captum's IG at a large fixed
step count within the tolerance; the reported δ equals Σ attributions − (f(x) − f(b)) with f from
a plain HF forward; each target pays only for its own path points (no gradient recomputed, none
for converged targets); clear errors; state restored on failure."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients
from captum.attr._utils.approximation_methods import approximation_parameters
from test_attribution import TEXT, LastLogProbs, _hook_count
from test_attribution_rules import hf_log_probs
from tiny import tiny_lens

from lmlens.analyses.attribution import TargetFunctions, attribute
from lmlens.analyses.attribution.quadrature import LEVELS, nested_rules

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

#: Polynomial degree each nested rule integrates exactly (Gauss 10: 19, then 31, 65, 131, 185).
DEGREES = (19, 31, 65, 131, 185)


def test_nested_rules_are_exact_nested_and_start_at_captums_gauss_legendre():
    rules = nested_rules()
    assert [r.n_nodes for r in rules] == list(LEVELS)
    sizes, alphas = approximation_parameters("gausslegendre")
    np.testing.assert_allclose(rules[0].alphas, alphas(10), rtol=0, atol=1e-15)
    np.testing.assert_allclose(rules[0].weights, sizes(10), rtol=0, atol=1e-15)
    for prev, rule in zip(rules, rules[1:], strict=False):
        assert rule.new.start == prev.n_nodes
        np.testing.assert_array_equal(rule.alphas[: prev.n_nodes], prev.alphas)  # nested
        np.testing.assert_array_equal(rule.pair[: prev.n_nodes], prev.pair)  # stable pair ids
    for rule, degree in zip(rules, DEGREES, strict=True):
        assert (rule.weights > 0).all() and ((rule.alphas > 0) & (rule.alphas < 1)).all()
        # ∫₀¹ P_k(2t − 1) dt = [k == 0] for shifted Legendre polynomials (exact up to the degree)
        v = np.polynomial.legendre.legvander(2 * rule.alphas - 1, degree + 1)
        got = rule.weights @ v
        np.testing.assert_allclose(got[: degree + 1], np.eye(1, degree + 1)[0], atol=1e-12)
        assert abs(got[degree + 1]) > 1e-12  # and not beyond
        for p in np.unique(rule.pair):  # a pair is {α, 1 − α} with one weight
            a, w = rule.alphas[rule.pair == p], rule.weights[rule.pair == p]
            assert a.size in (1, 2) and abs(a.sum() - a.size / 2) < 1e-12 and np.ptp(w) == 0


@pytest.mark.parametrize(("model_type", "attr_target", "tol"),
                         [("gpt2", "log_prob", 0.01), ("gpt2", "log_prob", 0.001),
                          ("gpt2", "prob", 0.01), ("llama", "prob", 0.01)])
def test_adaptive_equals_captum_at_many_steps_within_tol(model_type, attr_target, tol):
    lens = tiny_lens(model_type)
    ids = lens.tokenize(TEXT)
    positions = list(range(4, len(ids), 2))
    prob = attr_target == "prob"
    r = attribute(lens.model, ids, positions, embed=lens.anatomy.embed_module(lens.model),
                  method="integrated_gradients", tol=tol, max_steps=175, attr_target=attr_target,
                  progress=False)
    assert r.params["tol"] == tol and r.steps.shape == (len(positions),)
    assert set(r.steps.tolist()) <= set(LEVELS)
    fx, fb = hf_log_probs(lens.model, ids, prob=prob)
    emb = lens.model.get_input_embeddings()(ids).detach()
    ig = IntegratedGradients(LastLogProbs(lens.model, prob))
    gaps = np.abs(r.target_values - r.baseline_values)
    converged = (r.steps < LEVELS[-1]) | (np.abs(r.delta) <= tol * gaps)
    assert converged.mean() >= 0.5, r.steps  # (a target left at the cap is compared with nothing)
    for j, p in enumerate(positions):
        t = int(ids[p])
        gap = float(fx[p - 1, t] - fb[p - 1, t])
        # δ reported = Σ attributions − (f(x) − f(b)), f from HF
        assert r.delta[j] == pytest.approx(float(r.scores[j].sum()) - gap, abs=1e-6 + 1e-4 * abs(gap))
        if not converged[j]:
            continue
        assert abs(float(r.delta[j])) <= tol * abs(gap)
        x = emb[None, :p]
        want = ig.attribute(x, baselines=torch.zeros_like(x), target=t, n_steps=256)[0].sum(-1)
        err = np.abs(r.scores[j, :p] - want.detach().numpy()).sum()  # L1 over the sources
        assert err <= tol * abs(gap), (j, int(r.steps[j]), err, gap)


def test_every_target_pays_only_for_its_own_path_points(monkeypatch):
    """Gradients evaluated per target = the steps it reports: nested nodes are never recomputed
    and converged targets leave the batch."""
    lens = tiny_lens("gpt2")
    ids = lens.tokenize(TEXT)
    positions = list(range(4, len(ids)))
    paid = np.zeros(len(ids), np.int64)  # by target position
    real = TargetFunctions.grouped_grads_and_values

    def counting(self, points, weights, groups, n_groups):
        paid[(self.rows + 1).numpy()] += points.shape[0]
        return real(self, points, weights, groups, n_groups)

    monkeypatch.setattr(TargetFunctions, "grouped_grads_and_values", counting)
    r = attribute(lens.model, ids, positions, embed=lens.anatomy.embed_module(lens.model),
                  method="integrated_gradients", tol=1e-4, progress=False)
    assert len(set(r.steps.tolist())) > 1  # targets did stop at different levels
    np.testing.assert_array_equal(paid[positions], r.steps)


def test_fixed_n_steps_unchanged_and_capped_targets_noted():
    lens = tiny_lens("llama")
    ids = lens.tokenize(TEXT)
    kw = dict(embed=lens.anatomy.embed_module(lens.model), method="integrated_gradients",
              progress=False)
    fixed = attribute(lens.model, ids, [6, 9], n_steps=20, **kw)
    assert fixed.steps is None and "tol" not in fixed.params
    capped = attribute(lens.model, ids, [6, 9], tol=1e-9, max_steps=21, **kw)
    assert (capped.steps == 21).all() and capped.params["max_steps"] == 21
    assert "n_steps" not in capped.params and fixed.params["n_steps"] == 20
    assert "did not reach tol=1e-09 within 21 path points" in " ".join(capped.notes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tol": 0}, "tol must be a positive number"),
        ({"tol": -0.1}, "tol must be a positive number"),
        ({"tol": "0.01"}, "tol must be a positive number"),
        ({"tol": 0.01, "max_steps": 9}, "max_steps must be an int >= 10"),
        ({"tol": 0.01, "ig_method": "riemann_trapezoid"}, "tol works with ig_method='gausslegendre'"),
    ],
)
def test_bad_tol_options_raise_clearly(gpt2_lens, kwargs, match):
    with pytest.raises(ValueError, match=match):
        attribute(gpt2_lens.model, torch.arange(1, 9), [4], embed=gpt2_lens.model.get_input_embeddings(),
                  method="integrated_gradients", progress=False, **kwargs)


def test_restores_state_when_a_level_fails(fresh_gpt2, monkeypatch):
    model, _ = fresh_gpt2
    model.train()
    flags = [p.requires_grad for p in model.parameters()]
    modes = [m.training for m in model.modules()]
    hooks = _hook_count(model)
    real = TargetFunctions.grouped_grads_and_values
    calls = []

    def failing_later(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("injected failure")
        return real(self, *a, **k)

    monkeypatch.setattr(TargetFunctions, "grouped_grads_and_values", failing_later)
    with pytest.raises(RuntimeError, match="injected failure"):
        attribute(model, torch.arange(1, 12), [5, 8, 10], embed=model.get_input_embeddings(),
                  method="integrated_gradients", tol=1e-9, internal_batch_size=64, progress=False)
    assert len(calls) == 2 and _hook_count(model) == hooks
    assert [p.requires_grad for p in model.parameters()] == flags
    assert [m.training for m in model.modules()] == modes
