"""Attribution analysis: the plain-gradient methods equal captum called directly, once per target,
on that target's prefix (≤ 1e-4); completeness; parameters, modes and hooks restored (every
method); clear errors. DeepLift's and AttnLRP's rules: tests/test_attribution_rules.py."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from captum.attr import DeepLift, InputXGradient, IntegratedGradients, Saliency
from tiny import tiny_lens

from lmlens.analyses.attribution import (
    METHODS,
    AttributionResult,
    TargetFunctions,
    attribute,
    gradients_on_inputs_only,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TEXT = "The capital of France is Paris. The quick brown fox jumps"
TOL = 1e-4
#: Methods whose numbers equal a captum class called once per target (DeepLift's and AttnLRP's
#: rules go beyond captum's: tests/test_attribution_rules.py).
CAPTUM_METHODS = ("integrated_gradients", "saliency", "input_x_gradient")


class LastLogProbs(torch.nn.Module):
    """The reference forward, written here independently of lmlens: inputs_embeds → log-probs
    of the next token after the last position (captum's LLM convention)."""

    def __init__(self, model, prob=False):
        super().__init__()
        self.model, self.prob = model, prob

    def forward(self, emb):
        logits = self.model(inputs_embeds=emb).logits[:, -1].float()
        return torch.softmax(logits, -1) if self.prob else torch.log_softmax(logits, -1)


def captum_row(model, emb, p, target, method, *, n_steps=20, baseline=None, prob=False):
    """captum's attribution ``(p, d)`` of token ``target`` at position ``p`` (and delta)."""
    f = LastLogProbs(model, prob)
    x = emb[None, :p].detach().clone()
    b = torch.zeros_like(x) if baseline is None else baseline[None, :p]
    if method == "saliency":
        return Saliency(f).attribute(x, target=target, abs=False)[0], None
    if method == "input_x_gradient":
        return InputXGradient(f).attribute(x, target=target)[0], None
    if method == "integrated_gradients":
        a, d = IntegratedGradients(f).attribute(
            x, baselines=b, target=target, n_steps=n_steps, return_convergence_delta=True
        )
        return a[0], float(d)
    a, d = DeepLift(f).attribute(x, baselines=b, target=target, return_convergence_delta=True)
    return a[0], float(d)


def assert_matches_captum(model, r: AttributionResult, ids, *, n_steps=20, baseline=None):
    emb = model.get_input_embeddings()(torch.as_tensor(ids)).detach()
    for j, p in enumerate(r.target_positions.tolist()):
        a, d = captum_row(model, emb, p, int(ids[p]), r.method, n_steps=n_steps, baseline=baseline,
                          prob=r.attr_target == "prob")
        a = a.detach()
        scores = a.sum(-1).numpy()
        norms = a.norm(dim=-1).numpy()
        norms = norms / norms.sum()
        np.testing.assert_allclose(r.scores[j, :p], scores, atol=TOL, rtol=0)
        np.testing.assert_allclose(r.norms[j, :p], norms, atol=TOL, rtol=0)
        assert not r.scores[j, p:].any() and not r.norms[j, p:].any()
        assert r.valid[j, :p].all() and not r.valid[j, p:].any()
        if d is not None:
            assert r.delta[j] == pytest.approx(d, abs=TOL)


@pytest.fixture(params=["gpt2", "llama"])
def lens(request):
    return tiny_lens(request.param)


def _targets(lens):
    ids = lens.tokenize(TEXT)
    return ids, list(range(4, len(ids)))


@pytest.mark.parametrize("method", CAPTUM_METHODS)
@pytest.mark.parametrize("plan", ["full", "segments"])
def test_every_method_equals_captum_per_target(lens, method, plan):
    ids, positions = _targets(lens)
    r = attribute(
        lens.model, ids, positions, embed=lens.anatomy.embed_module(lens.model), method=method,
        n_steps=20, internal_batch_size=6, plan=plan, progress=False,
    )
    assert r.method == method and r.scores.shape == (len(positions), len(ids) - 1)
    assert_matches_captum(lens.model, r, ids)


@pytest.mark.parametrize("method", CAPTUM_METHODS)
def test_probability_target_equals_captum(gpt2_lens, method):
    ids, positions = _targets(gpt2_lens)
    r = attribute(gpt2_lens.model, ids, positions, embed=gpt2_lens.anatomy.embed_module(gpt2_lens.model),
                  method=method, attr_target="prob", n_steps=20, progress=False)
    assert r.attr_target == "prob"
    with torch.no_grad():
        logits = gpt2_lens.model(input_ids=ids[None]).logits[0].double()
    rows, targets = torch.as_tensor(positions) - 1, ids[positions]
    np.testing.assert_allclose(r.target_values, torch.softmax(logits, -1)[rows, targets].numpy(), atol=1e-6)
    np.testing.assert_allclose(r.target_logprobs, torch.log_softmax(logits, -1)[rows, targets].numpy(), atol=1e-5)
    assert_matches_captum(gpt2_lens.model, r, ids)


def test_segments_plan_really_segments(llama_lens):
    ids, positions = _targets(llama_lens)
    rows = torch.as_tensor(positions) - 1
    f = TargetFunctions(llama_lens.model, rows, ids[positions], plan="auto")
    x = llama_lens.anatomy.embed_module(llama_lens.model)(ids[None])
    with gradients_on_inputs_only(llama_lens.model):
        pieces = f.plan_for(x.expand(6, -1, -1))
    assert len(pieces) >= 3, pieces  # KV-cache pieces, checked against a plain forward


def test_baseline_token_id_equals_captum(gpt2_lens):
    lens = gpt2_lens
    ids, positions = _targets(lens)
    embed = lens.anatomy.embed_module(lens.model)
    unk = 3
    r = attribute(lens.model, ids, positions[-3:], embed=embed, method="integrated_gradients",
                  baseline=unk, n_steps=20, progress=False)
    b = embed(torch.full_like(ids, unk)).detach()
    assert_matches_captum(lens.model, r, ids, baseline=b)
    assert r.params["baseline"] == unk


def _hf_logprobs(model, ids, emb):
    """log p(token | prefix) at every row, for the text and for the zero baseline: plain HF forwards."""
    with torch.no_grad():
        fx = torch.log_softmax(model(input_ids=ids[None]).logits[0].float(), -1)
        fb = torch.log_softmax(model(inputs_embeds=torch.zeros_like(emb)[None]).logits[0].float(), -1)
    return fx, fb


def test_integrated_gradients_completeness(lens):
    """δ = Σattr − (f(x) − f(b)) with Σattr from captum called directly and f(x), f(b) from plain
    HF forwards; the reported delta equals it, and at 64 steps it is small."""
    ids, positions = _targets(lens)
    r = attribute(lens.model, ids, positions, embed=lens.anatomy.embed_module(lens.model),
                  method="integrated_gradients", n_steps=64, progress=False)
    emb = lens.model.get_input_embeddings()(ids).detach()
    fx, fb = _hf_logprobs(lens.model, ids, emb)
    for j, p in enumerate(positions):
        t = int(ids[p])
        gap = float(fx[p - 1, t] - fb[p - 1, t])
        assert r.target_values[j] == pytest.approx(float(fx[p - 1, t]), abs=1e-4)
        assert r.baseline_values[j] == pytest.approx(float(fb[p - 1, t]), abs=1e-4)
        a, _ = captum_row(lens.model, emb, p, t, "integrated_gradients", n_steps=64)
        delta = float(a.sum()) - gap
        assert r.delta[j] == pytest.approx(delta, abs=1e-4)
        assert abs(delta) < 0.02 * max(1.0, abs(gap))  # 64 steps: nearly complete


def _hook_count(model) -> int:
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        + len(getattr(m, "_backward_pre_hooks", {}))
        for m in model.modules()
    )


@pytest.mark.parametrize("method", METHODS)
def test_restores_requires_grad_training_and_hooks(fresh_gpt2, method):
    model, _ = fresh_gpt2
    params = list(model.parameters())
    for i, p in enumerate(params):
        p.requires_grad_(i % 3 != 0)  # a mixed pattern, to check the exact flags come back
    flags = [p.requires_grad for p in params]
    model.train()
    model.transformer.h[0].eval()  # a mixed pattern of modes too
    modes = [m.training for m in model.modules()]
    hooks = _hook_count(model)
    ids = torch.arange(1, 12)
    attribute(model, ids, [5, 8, 10], embed=model.get_input_embeddings(), method=method,
              n_steps=4, progress=False)
    assert [p.requires_grad for p in params] == flags
    assert [m.training for m in model.modules()] == modes
    assert _hook_count(model) == hooks
    assert all(p.grad is None for p in params)


def test_restores_after_an_error(fresh_gpt2, monkeypatch):
    model, _ = fresh_gpt2
    model.train()
    flags = [p.requires_grad for p in model.parameters()]
    def failing(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(model, "forward", failing)
    with pytest.raises(RuntimeError, match="boom"):
        attribute(model, torch.arange(1, 9), [4, 7], embed=model.get_input_embeddings(),
                  method="saliency", progress=False)
    assert [p.requires_grad for p in model.parameters()] == flags and model.training


def test_word_grouping_sums_tokens(gpt2_lens):
    ids, positions = _targets(gpt2_lens)
    from lmlens.capture import display_tokens

    tokens, _, starts = display_tokens(gpt2_lens.tokenizer, ids.tolist())
    kw = dict(embed=gpt2_lens.anatomy.embed_module(gpt2_lens.model), method="saliency",
              tokens=tokens, word_starts=starts, progress=False)
    tok = attribute(gpt2_lens.model, ids, positions, **kw)
    word = attribute(gpt2_lens.model, ids, positions, group="word", **kw)
    assert word.grouping == "word" and word.n_sources < tok.n_sources
    assert list(word.source_tokens) == ["".join(tok.tokens[a:b]) for a, b in word.source_spans]
    for k, (a, b) in enumerate(word.source_spans):
        np.testing.assert_allclose(word.scores[:, k], tok.scores[:, a:b].sum(1), atol=1e-6)
        np.testing.assert_allclose(word.norms[:, k], tok.norms[:, a:b].sum(1), atol=1e-6)
    assert tok.by_word().source_tokens == word.source_tokens


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "gradcam"}, "method must be one of"),
        ({"method": "saliency", "group": "sentence"}, "group must be one of"),
        ({"method": "integrated_gradients", "n_steps": 0}, "n_steps"),
        ({"method": "integrated_gradients", "internal_batch_size": 0}, "internal_batch_size"),
        ({"method": "integrated_gradients", "baseline": "mean"}, "baseline"),
        ({"method": "integrated_gradients", "ig_method": "simpson"}, "ig_method"),
        ({"method": "saliency", "plan": "fast"}, "plan"),
        ({"method": "saliency", "attr_target": "logit"}, "attr_target"),
    ],
)
def test_bad_options_raise_clearly(gpt2_lens, kwargs, match):
    ids = torch.arange(1, 9)
    with pytest.raises(ValueError, match=match):
        attribute(gpt2_lens.model, ids, [4], embed=gpt2_lens.model.get_input_embeddings(),
                  progress=False, **kwargs)


@pytest.mark.parametrize("positions", [[], [0], [9], [3, 3]])
def test_bad_positions_raise(gpt2_lens, positions):
    with pytest.raises(ValueError, match="target_positions"):
        attribute(gpt2_lens.model, torch.arange(1, 9), positions,
                  embed=gpt2_lens.model.get_input_embeddings(), method="saliency")


def test_result_validates_shapes(gpt2_lens):
    r = attribute(gpt2_lens.model, torch.arange(1, 9), [4, 6],
                  embed=gpt2_lens.model.get_input_embeddings(), method="saliency")
    from dataclasses import replace

    with pytest.raises(ValueError, match="norms"):
        replace(r, norms=r.norms[:, :2])
    with pytest.raises(ValueError, match="method"):
        replace(r, method="lrp")
    with pytest.raises(AttributeError):
        r.method = "x"  # frozen


def test_missing_captum_names_the_install(monkeypatch):
    import lmlens.analyses.attribution._captum as c

    monkeypatch.setitem(sys.modules, "captum.attr", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install captum.*lmlens\[attribution\]"):
        c.captum_attr()


def test_analysis_imports_no_views_or_notebook_packages():
    code = (
        "import sys, lmlens.analyses.attribution as a; a.attribute; "
        "bad = [m for m in ('lmlens.views', 'jinja2', 'IPython', 'matplotlib') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.slow
def test_smollm2_next_token_equals_captum(smollm2):
    ids = smollm2.tokenize("The capital of France is")
    t = int(torch.argmax(smollm2.model(input_ids=ids[None]).logits[0, -1]))
    full = torch.cat([ids, torch.tensor([t])])
    r = attribute(smollm2.model, full, [len(ids)], embed=smollm2.anatomy.embed_module(smollm2.model),
                  method="integrated_gradients", n_steps=16, progress=False)
    emb = smollm2.model.get_input_embeddings()(full).detach()
    a, d = captum_row(smollm2.model, emb, len(ids), t, "integrated_gradients", n_steps=16)
    np.testing.assert_allclose(r.scores[0], a.detach().sum(-1).numpy(), atol=TOL, rtol=1e-4)
    assert r.delta[0] == pytest.approx(d, abs=TOL)
