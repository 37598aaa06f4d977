"""Integrated gradients by accuracy (``tol``): the panel rule is exact where it claims to be;
the panel loop resolves a sharp feature with every panel's own completeness check (a hand
function with a known primitive); the result at ``tol`` equals captum's IG at a large fixed step
count within the tolerance; the reported δ equals Σ attributions − (f(x) − f(b)) with f from a
plain HF forward; each target pays only for its own path points (none for converged targets);
clear errors; state restored on failure."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients
from test_attribution import TEXT, LastLogProbs, _hook_count
from test_attribution_rules import hf_log_probs
from tiny import tiny_lens

from lmlens.analyses.attribution import TargetFunctions, attribute
from lmlens.analyses.attribution.adaptive_ig import MIN_STEPS
from lmlens.analyses.attribution.quadrature import ORDER, adaptive_panels, gauss_legendre
from lmlens.analyses.attribution.scout_mesh import scout_alphas, scouted_mesh

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_panel_rule_is_gauss_legendre_exact_to_degree_2n_minus_1():
    rng = np.random.default_rng(0)
    a, b = 0.25, 2.25  # wide enough for the degree-2n error to show
    alphas, weights = gauss_legendre(a, b, ORDER)
    assert ((alphas > a) & (alphas < b)).all()
    for degree in (2 * ORDER - 1, 2 * ORDER):
        p = np.polynomial.Polynomial(rng.normal(size=degree + 1))
        exact = p.integ()(b) - p.integ()(a)  # numpy's antiderivative, not our rule
        err = abs(weights @ p(alphas) - exact)
        assert err < 1e-12 if degree < 2 * ORDER else err > 1e-9


def test_panels_resolve_a_sharp_feature_near_zero_with_per_panel_checks():
    """f(α) = tanh((α − c) / w) + α: a step of width 1e-3 near α = 0 that a global rule of
    ~60 nodes cannot integrate; each panel is checked against the primitive f itself."""
    c, w = np.array([0.01, 0.3]), 1e-3
    f = lambda a: np.tanh((np.asarray(a)[..., None] - c) / w) + np.asarray(a)[..., None]  # noqa: E731
    g = lambda a: (1 - np.tanh((a[..., None] - c) / w) ** 2) / w + 1  # noqa: E731
    calls = []

    def evaluate(requests):
        calls.append(requests)
        out = {}
        for p, js in requests.items():
            al, wt = gauss_legendre(*p)
            for j in js:
                out[(p, j)] = float(wt @ g(al)[:, j])
        return out

    tol = 1e-3
    r = adaptive_panels(evaluate, lambda al: f(al), (f(0.0), f(1.0)), tol=tol, max_steps=400)
    gap = f(1.0) - f(0.0)
    assert r.met.all()
    for j in range(2):
        panels = r.panels[j]
        assert panels[0][0] == 0 and panels[-1][1] == 1
        assert all(p[1] == q[0] for p, q in zip(panels, panels[1:], strict=False))  # a cover
        # every panel's own gap, against the closed-form primitive (not the loop's values)
        errs = [f(b)[j] - f(a)[j] - gauss_legendre(a, b)[1] @ g(gauss_legendre(a, b)[0])[:, j]
                for a, b in panels]
        assert np.abs(errs).sum() <= tol * abs(gap[j])
        widths = {p: p[1] - p[0] for p in panels}
        at_step = min(widths[p] for p in panels if p[0] <= c[j] <= p[1])
        assert at_step <= 1 / 64 and max(widths.values()) >= 1 / 8  # refined at the step only
        # steps = the gradient points paid for: the final panels and every bisected parent
        paid = sum(ORDER for req in calls for js in req.values() if j in js)
        assert r.steps[j] == paid and paid >= ORDER * len(panels)
    # the same 60-node budget as one Gauss–Legendre rule misses by far more than tol
    al, wt = np.polynomial.legendre.leggauss(60)
    glob = (wt / 2) @ g((al + 1) / 2)
    assert (np.abs(glob - gap) > 10 * tol * np.abs(gap)).all()


def test_scouted_mesh_puts_equal_shares_of_the_monitor_in_each_panel():
    """Target 0 moves evenly, target 1 jumps by 2 between grid points 15 and 16 (α 0.469 → 0.5).
    By hand: each target's |Δf| normalised to sum 1 → per interval 1/64 (mean of 1/32 and 0)
    plus 1/2 on interval 15; the uniform share 0.5 · 1/32 = 1/64 → monitor 1/32 + [i = 15]/2,
    total 1.5. Cumulative share at grid point i: i/48 up to 15, (i/32 + 1/2)/1.5 from 16. The
    quantiles k/8 land nearest i = 6, 12, 15, 16, 16 (→ 17, the next free), 20, 26."""
    a = np.linspace(0, 1, 33)
    f = np.stack([a, np.where(a < 0.49, 0.0, 2.0)], axis=1)
    mesh = scouted_mesh(a, f, panels=8, uniform=0.5)
    edges = [0] + [i / 32 for i in (6, 12, 15, 16, 17, 20, 26)] + [1]
    assert mesh == list(zip(edges[:-1], edges[1:], strict=True))
    assert (15 / 32, 16 / 32) in mesh  # the jump has a panel of its own
    # flat targets leave the uniform share alone: equal panels on the grid
    assert scouted_mesh(a, np.ones((33, 2)), panels=4) == [(0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1)]
    assert [scout_alphas(m).size for m in (1, 4, 5, 16, 17, 500)] == [9, 9, 17, 33, 33, 33]
    with pytest.raises(ValueError, match="alphas must increase from 0 to 1"):
        scouted_mesh(a[::-1], f)


def test_capped_panel_loop_splits_the_worst_panels_within_the_budget():
    f = lambda a: np.arctan((np.asarray(a)[..., None] - 0.5) / 1e-3)  # noqa: E731
    g = lambda a: 1e-3 / (1e-6 + (a[..., None] - 0.5) ** 2)  # noqa: E731
    ev = lambda req: {(p, j): float(gauss_legendre(*p)[1] @ g(gauss_legendre(*p)[0])[:, j])  # noqa: E731
                      for p, js in req.items() for j in js}
    r = adaptive_panels(ev, lambda al: f(al), (f(0.0), f(1.0)), tol=1e-6, max_steps=40)
    assert not r.met[0] and r.steps[0] <= 40
    assert r.steps[0] > 40 - 2 * ORDER  # used the budget up to the last affordable split


@pytest.mark.parametrize(("model_type", "attr_target", "tol"),
                         [("gpt2", "log_prob", 0.01), ("gpt2", "log_prob", 0.001),
                          ("gpt2", "prob", 0.01), ("llama", "prob", 0.01)])
def test_adaptive_equals_captum_at_many_steps_within_tol(model_type, attr_target, tol):
    lens = tiny_lens(model_type)
    ids = lens.tokenize(TEXT)
    positions = list(range(4, len(ids), 2))
    prob = attr_target == "prob"
    r = attribute(lens.model, ids, positions, embed=lens.anatomy.embed_module(lens.model),
                  method="integrated_gradients", tol=tol, max_steps=256, attr_target=attr_target,
                  progress=False)
    assert r.params["tol"] == tol and r.steps.shape == (len(positions),)
    assert (r.steps >= MIN_STEPS).all() and (r.steps % ORDER == 0).all()
    fx, fb = hf_log_probs(lens.model, ids, prob=prob)
    emb = lens.model.get_input_embeddings()(ids).detach()
    ig = IntegratedGradients(LastLogProbs(lens.model, prob))
    converged = r.steps <= 256 - 2 * ORDER  # stopped before the cap: met Σ|panel gaps| ≤ tol
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
    """Gradients evaluated per target = the steps it reports: a panel is evaluated once for the
    targets that need it, and converged targets leave the batch."""
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
    assert len(set(r.steps.tolist())) > 1 and r.steps.min() == MIN_STEPS  # panels were bisected
    np.testing.assert_array_equal(paid[positions], r.steps)


def test_fixed_n_steps_unchanged_and_capped_targets_noted():
    lens = tiny_lens("llama")
    ids = lens.tokenize(TEXT)
    kw = dict(embed=lens.anatomy.embed_module(lens.model), method="integrated_gradients",
              progress=False)
    fixed = attribute(lens.model, ids, [6, 9], n_steps=20, **kw)
    assert fixed.steps is None and "tol" not in fixed.params
    capped = attribute(lens.model, ids, [6, 9], tol=1e-9, max_steps=MIN_STEPS + 1, **kw)
    assert (capped.steps == MIN_STEPS).all() and capped.params["max_steps"] == MIN_STEPS + 1
    assert "n_steps" not in capped.params and fixed.params["n_steps"] == 20
    assert f"did not reach tol=1e-09 within {MIN_STEPS + 1} gradient points" in " ".join(capped.notes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tol": 0}, "tol must be a positive number"),
        ({"tol": -0.1}, "tol must be a positive number"),
        ({"tol": "0.01"}, "tol must be a positive number"),
        ({"tol": 0.01, "max_steps": MIN_STEPS - 1}, f"max_steps must be an int >= {MIN_STEPS}"),
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
