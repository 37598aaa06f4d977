"""DeepLift's and AttnLRP's rules for the transformer's non-linearities.

- DeepLift: summation-to-delta (Σ attributions = f(x) − f(baseline) within 1e-3 relative, with
  f(x) and f(baseline) from a plain Hugging Face forward) on tiny GPT-2, Llama, BERT (masked) and
  the embedded SmolLM2; equal to captum's DeepLift on a ReLU MLP (where captum has the rules);
  the batched result equals the rules run once per target on its prefix.
- AttnLRP: equal to a hand-written AttnLRP (lxt's rules, written out here as patched forwards:
  identity on activations, uniform products, the norms' scale held, q/k/v gradients divided).
- A non-linearity without a rule is named in the note; the rules cannot run → the documented
  fallback; hooks, torch-function modes, requires_grad and training flags restored, also when
  the forward fails mid-pass.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import DeepLift
from test_attribution import TEXT, LastLogProbs, _hook_count
from tiny import tiny_lens, tiny_model

from lmlens.analyses.attribution import (
    MaskedTargetFunctions,
    attribute,
    deeplift,
    gradients_on_inputs_only,
)
from lmlens.analyses.attribution.rules import RuleTracer, rule_attributions

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

REL = 1e-3  # summation-to-delta, relative to |f(x) − f(baseline)|


def hf_log_probs(model, ids, *, prob=False):
    """``(f(x), f(0))`` per position ``(n, vocab)`` from plain HF forwards (no lmlens code)."""
    with torch.no_grad():
        lx = model(input_ids=ids[None]).logits[0].float()
        emb = model.get_input_embeddings()(ids)
        lb = model(inputs_embeds=torch.zeros_like(emb)[None]).logits[0].float()
    fn = torch.softmax if prob else torch.log_softmax
    return fn(lx, -1), fn(lb, -1)


def attributed(model_type, method, first=4, **options):
    """``(lens, ids, positions, result)``: ``method`` on ``TEXT``, every target from ``first``."""
    lens = tiny_lens(model_type)
    ids = lens.tokenize(TEXT)
    positions = list(range(first, len(ids)))
    r = attribute(lens.model, ids, positions, embed=lens.anatomy.embed_module(lens.model),
                  method=method, progress=False, **options)
    return lens, ids, positions, r


def assert_sums_to_delta(r, ids, fx, fb):
    for j, p in enumerate(r.target_positions.tolist()):
        t = int(ids[p])
        gap = float(fx[p - 1, t] - fb[p - 1, t])
        assert r.target_values[j] == pytest.approx(float(fx[p - 1, t]), abs=1e-5)
        assert r.baseline_values[j] == pytest.approx(float(fb[p - 1, t]), abs=1e-5)
        total = float(r.scores[j].sum())
        assert abs(total - gap) <= REL * abs(gap), (j, total, gap)


@pytest.mark.parametrize("model_type", ["gpt2", "llama"])
@pytest.mark.parametrize("plan", ["full", "segments"])
@pytest.mark.parametrize("attr_target", ["log_prob", "prob"])
def test_deeplift_sums_to_delta(model_type, plan, attr_target):
    lens, ids, _, r = attributed(model_type, "deeplift", first=3, plan=plan, attr_target=attr_target)
    fx, fb = hf_log_probs(lens.model, ids, prob=attr_target == "prob")
    assert_sums_to_delta(r, ids, fx, fb)
    assert "no rule" not in " ".join(r.notes) and "rules for every non-linearity" in " ".join(r.notes)
    assert ("SiLUActivation" if model_type == "llama" else "NewGELUActivation") in " ".join(r.notes)


@pytest.mark.parametrize("model_type", ["gpt2", "llama"])
def test_deeplift_sums_to_delta_through_fused_attention(model_type):
    """With ``sdpa`` attention the rules go through ``scaled_dot_product_attention`` as one op."""
    model, tok = tiny_model(model_type)
    model.config._attn_implementation = "sdpa"
    ids = torch.tensor(tok(TEXT)["input_ids"])
    r = attribute(model, ids, list(range(3, len(ids))), embed=model.get_input_embeddings(),
                  method="deeplift", progress=False)
    model.config._attn_implementation = "eager"
    fx, fb = hf_log_probs(model, ids)
    assert_sums_to_delta(r, ids, fx, fb)
    assert "scaled_dot_product_attention" in " ".join(r.notes) and "no rule" not in " ".join(r.notes)


def test_deeplift_masked_lm_sums_to_delta():
    """Tiny BERT: the log-probability of the token at a [MASK] position."""
    model, tok = tiny_model("bert")
    enc = tok("The capital of France is Paris . The quick brown fox", return_tensors="pt")
    ids = enc.input_ids[0].clone()
    masked = [3, 8]
    ids[masked] = tok.mask_token_id
    with torch.no_grad():
        lx = torch.log_softmax(model(input_ids=ids[None]).logits[0].float(), -1)
        emb = model.get_input_embeddings()(ids)
        lb = torch.log_softmax(model(inputs_embeds=torch.zeros_like(emb)[None]).logits[0].float(), -1)
    targets = [int(lx[p].argmax()) for p in masked]
    with gradients_on_inputs_only(model):
        f = MaskedTargetFunctions(model, masked, targets, n_inputs=len(ids))
        a = deeplift(f, emb.detach(), torch.zeros_like(emb))
    for j, (p, t) in enumerate(zip(masked, targets, strict=True)):
        gap = float(lx[p, t] - lb[p, t])
        assert float(a.values[j]) == pytest.approx(float(lx[p, t]), abs=1e-5)
        assert abs(float(a.attr[j].sum()) - gap) <= REL * abs(gap)
    assert "rules for every non-linearity" in a.notes[0] and "GELUActivation" in a.notes[0]


@pytest.mark.slow
def test_deeplift_smollm2_sums_to_delta(smollm2):
    ids = smollm2.tokenize("The capital of France is Paris. The capital of Japan is Tokyo")
    positions = list(range(len(ids) - 4, len(ids)))
    for attr_target in ("log_prob", "prob"):
        r = attribute(smollm2.model, ids, positions, embed=smollm2.anatomy.embed_module(smollm2.model),
                      method="deeplift", attr_target=attr_target, progress=False)
        fx, fb = hf_log_probs(smollm2.model, ids, prob=attr_target == "prob")
        assert_sums_to_delta(r, ids, fx, fb)
        assert "no rule" not in " ".join(r.notes)


def test_deeplift_equals_captum_on_a_relu_mlp():
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8),
                              torch.nn.ReLU(), torch.nn.Linear(8, 3)).eval()
    for p in mlp.parameters():
        p.requires_grad_(False)
    x, b = torch.randn(5, 6), torch.randn(5, 6) * 0.3
    for t in range(3):
        want = DeepLift(mlp).attribute(x.clone().requires_grad_(True), baselines=b, target=t)
        got, fx, fb, tracer = rule_attributions(mlp, lambda z, t=t: mlp(z)[:, t], x, b)
        torch.testing.assert_close(got, want.detach(), atol=1e-6, rtol=1e-5)
        assert tracer.applied == {"rescale: ReLU": 2} and not tracer.missing


def assert_matches_rules_per_target(model, r, ids):
    """``r`` (DeepLift or AttnLRP, zero baseline) equals the rules run once per target, on its
    prefix, through an independently written forward (inputs_embeds → log-probs)."""
    emb = model.get_input_embeddings()(torch.as_tensor(ids)).detach()
    ref = LastLogProbs(model, r.attr_target == "prob")
    with gradients_on_inputs_only(model):
        for j, p in enumerate(r.target_positions.tolist()):
            t = int(ids[p])
            x = emb[None, :p]
            a, *_ = rule_attributions(model, lambda e, t=t: ref(e)[:, t], x, torch.zeros_like(x),
                                      rules=r.method)
            np.testing.assert_allclose(r.scores[j, :p], a[0].sum(-1).numpy(), atol=1e-5, rtol=1e-4)
            assert not r.scores[j, p:].any()


@pytest.mark.parametrize("method", ["deeplift", "attnlrp"])
@pytest.mark.parametrize("model_type", ["gpt2", "llama"])
def test_batched_equals_rules_run_per_target_on_its_prefix(model_type, method):
    lens, ids, _, r = attributed(model_type, method, plan="segments")
    assert_matches_rules_per_target(lens.model, r, ids)


# ---- AttnLRP against lxt's rules written out as patched forwards ------------------------------
def _half_grad(t, k):
    return t.detach() + (t - t.detach()) / k


def _identity_rule(fn, a):
    y = fn(a)
    return y.detach() + (y / a).detach() * (a - a.detach())


def _lxt_style_patches(monkeypatch, model_type):
    """AttnLRP as lxt implements it (rules from the paper / lxt's docs), written here for tiny
    Llama and GPT-2 by patching forwards."""
    import transformers.models.gpt2.modeling_gpt2 as g2
    import transformers.models.llama.modeling_llama as ll

    def rms_forward(self, h):
        h32 = h.to(torch.float32)
        scale = torch.rsqrt(h32.pow(2).mean(-1, keepdim=True) + self.variance_epsilon).detach()
        return self.weight * (h32 * scale).to(h.dtype)

    def gated_mlp(self, x):
        prod = _identity_rule(self.act_fn, self.gate_proj(x)) * self.up_proj(x)
        return self.down_proj(prod.detach() + (prod - prod.detach()) / 2)

    def gpt2_mlp(self, h):
        return self.c_proj(_identity_rule(self.act, self.c_fc(h)))

    def layer_norm(self, x):
        mean = x.mean(-1, keepdim=True)
        std = ((x - mean) ** 2).mean(-1, keepdim=True).add(self.eps).sqrt().detach()
        return (x - mean) / std * self.weight + self.bias

    def wrap(attn):
        def patched(module, q, k, v, *args, **kwargs):
            return attn(module, _half_grad(q, 4), _half_grad(k, 4), _half_grad(v, 2), *args, **kwargs)
        return patched

    if model_type == "llama":
        monkeypatch.setattr(ll.LlamaRMSNorm, "forward", rms_forward)
        monkeypatch.setattr(ll.LlamaMLP, "forward", gated_mlp)
        monkeypatch.setattr(ll, "eager_attention_forward", wrap(ll.eager_attention_forward))
    else:
        monkeypatch.setattr(torch.nn.LayerNorm, "forward", layer_norm)
        monkeypatch.setattr(g2.GPT2MLP, "forward", gpt2_mlp)
        monkeypatch.setattr(g2, "eager_attention_forward", wrap(g2.eager_attention_forward))


@pytest.mark.parametrize("model_type", ["gpt2", "llama"])
def test_attnlrp_equals_lxt_rules_written_out(model_type, monkeypatch):
    lens, ids, positions, r = attributed(model_type, "attnlrp")
    assert r.delta is None and "AttnLRP" in " ".join(r.notes) and "no rule" not in " ".join(r.notes)
    emb = lens.model.get_input_embeddings()(ids).detach()
    with monkeypatch.context() as mp, gradients_on_inputs_only(lens.model):
        _lxt_style_patches(mp, model_type)
        for j, p in enumerate(positions):
            x = emb[None, :p].clone().requires_grad_(True)
            lp = torch.log_softmax(lens.model(inputs_embeds=x).logits[0, -1].float(), -1)[int(ids[p])]
            (g,) = torch.autograd.grad(lp, x)
            np.testing.assert_allclose(r.scores[j, :p], (g * x)[0].sum(-1).detach().numpy(),
                                       atol=1e-5, rtol=1e-4)


# ---- notes, fallback, restoring state ---------------------------------------------------------
class LogCumSumExp(torch.nn.Module):
    """An activation-like module whose operation has no rule."""

    def forward(self, x):
        return torch.logcumsumexp(x, -1)


def test_a_nonlinearity_without_a_rule_is_named(fresh_gpt2):
    model, tok = fresh_gpt2
    for block in model.transformer.h:
        block.mlp.act = LogCumSumExp()
    ids = torch.tensor(tok("The capital of France is Paris")["input_ids"])
    r = attribute(model, ids, [len(ids) - 2, len(ids) - 1], embed=model.get_input_embeddings(),
                  method="deeplift", progress=False)
    assert "no rule for logcumsumexp ×2" in " ".join(r.notes) and "only approximately" in " ".join(r.notes)
    rel = np.abs(r.delta) / np.abs(r.target_values - r.baseline_values)
    assert rel.max() > REL  # the gap shows where a rule is missing


class DataDependent(torch.nn.Module):
    """A branch on the data: the baseline (zeros) and the input run different operations."""

    def forward(self, x):
        return torch.nn.functional.silu(x) if bool(x.abs().max() > 0) else x * 1.0


def test_rules_that_cannot_pair_fall_back_to_gradient_times_input(fresh_gpt2):
    model, tok = fresh_gpt2
    model.transformer.h[0].mlp.act = DataDependent()
    ids = torch.tensor(tok("The capital of France is Paris")["input_ids"])
    kw = dict(embed=model.get_input_embeddings(), progress=False)
    model.transformer.wpe.weight.data.zero_()  # (biases start at 0) the baseline's pass sees zeros
    dl = attribute(model, ids, [4, 5], method="deeplift", **kw)
    ixg = attribute(model, ids, [4, 5], method="input_x_gradient", **kw)  # gradient × (x − 0)
    assert "could not run" in " ".join(dl.notes) and "gradient × (input − baseline)" in " ".join(dl.notes)
    np.testing.assert_allclose(dl.scores, ixg.scores, atol=1e-6)


def _modes() -> int:
    return len(torch.overrides._get_current_function_mode_stack())


@pytest.mark.parametrize("method", ["deeplift", "attnlrp"])
def test_rules_restore_hooks_modes_and_flags(fresh_gpt2, method):
    model, _ = fresh_gpt2
    for i, p in enumerate(model.parameters()):
        p.requires_grad_(i % 2 == 0)
    flags = [p.requires_grad for p in model.parameters()]
    model.train()
    modes = [m.training for m in model.modules()]
    hooks, stack = _hook_count(model), _modes()
    attribute(model, torch.arange(1, 12), [5, 8, 10], embed=model.get_input_embeddings(),
              method=method, progress=False)
    assert _hook_count(model) == hooks and _modes() == stack
    assert [p.requires_grad for p in model.parameters()] == flags
    assert [m.training for m in model.modules()] == modes


class FailOnCall:
    """Wraps a module's forward; raises on call number ``n`` (counting from 1)."""

    def __init__(self, module, n):
        self.module, self.n, self.calls = module, n, 0
        self.forward = module.forward

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.n:
            raise RuntimeError("injected failure")
        return self.forward(*args, **kwargs)


@pytest.mark.parametrize(("method", "n"), [("deeplift", 1), ("deeplift", 2), ("attnlrp", 1)])
def test_rules_restore_everything_when_the_forward_fails(fresh_gpt2, monkeypatch, method, n):
    """A failure in the baseline's pass (deeplift, call 1) or in the input's (call 2): every hook
    and the torch-function mode are gone, flags and modes are back."""
    model, _ = fresh_gpt2
    model.train()
    flags = [p.requires_grad for p in model.parameters()]
    modes = [m.training for m in model.modules()]
    hooks, stack = _hook_count(model), _modes()
    attn = model.transformer.h[1].attn
    monkeypatch.setattr(attn, "forward", FailOnCall(attn, n))
    with pytest.raises(RuntimeError, match="injected failure"):
        attribute(model, torch.arange(1, 12), [5, 8, 10], embed=model.get_input_embeddings(),
                  method=method, plan="full", progress=False)
    assert _hook_count(model) == hooks and _modes() == stack
    assert [p.requires_grad for p in model.parameters()] == flags
    assert [m.training for m in model.modules()] == modes


def test_tracer_refuses_bad_rules_and_order(gpt2_lens):
    with pytest.raises(ValueError, match="rules must be one of"):
        RuleTracer(gpt2_lens.model, "lrp")
    tracer = RuleTracer(gpt2_lens.model, "deeplift")
    with pytest.raises(RuntimeError, match="reference"), tracer.explain():
        pass
    with pytest.raises(ValueError, match="no reference"), RuleTracer(gpt2_lens.model, "attnlrp").reference():
        pass
