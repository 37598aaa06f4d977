"""``lens.attribution`` and ``lens.generate(..., attribution=[...])``: targets sliced from one
tokenization, the batched generation path equal to a per-step captum loop, reuse of what
``generate`` computed, clear errors naming the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_attribution import CAPTUM_METHODS, assert_matches_captum, captum_row
from test_attribution_rules import assert_matches_rules_per_target
from tiny import tiny_lens

import lmlens.analyses.attribution as A
from lmlens.analyses.attribution import METHODS, AttributionResult

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

PROMPT = "The capital of France is"


@pytest.fixture(params=["gpt2", "llama"])
def lens(request):
    return tiny_lens(request.param)


def test_generate_batched_equals_per_step_captum_loop(lens):
    options = {m: ({"n_steps": 20} if m == "integrated_gradients" else {}) for m in METHODS}
    trace = lens.generate(PROMPT, max_new_tokens=6, points=["logits"], attribution=options)
    store = lens.stored_attributions(trace)
    assert sorted(store) == sorted(METHODS)
    gen = np.flatnonzero(trace.generated)
    for method in METHODS:
        r = store[method]
        assert isinstance(r, AttributionResult) and r.method == method
        np.testing.assert_array_equal(r.target_positions, gen)
        np.testing.assert_array_equal(r.target_ids, trace.token_ids[gen].numpy())
        assert list(r.tokens) == trace.tokens and list(r.target_tokens) == [trace.tokens[p] for p in gen]
        assert r.n_sources == trace.n_positions - 1
        if method in CAPTUM_METHODS:
            # captum, once per generated token, on the prefix before it (ecco's algorithm)
            assert_matches_captum(lens.model, r, trace.token_ids, n_steps=20)
        else:  # DeepLift's / AttnLRP's rules, once per generated token, on its prefix
            assert_matches_rules_per_target(lens.model, r, trace.token_ids)


def test_attribution_of_a_generated_trace_reuses_results(gpt2_lens, monkeypatch):
    trace = gpt2_lens.generate(PROMPT, max_new_tokens=4, points=["logits"],
                               attribution=["integrated_gradients", "saliency"])
    stored = gpt2_lens.stored_attributions(trace)["integrated_gradients"]

    def nope(*a, **k):
        raise AssertionError("recomputed what generate already computed")

    monkeypatch.setattr(A, "attribute", nope)
    view = gpt2_lens.attribution(trace, method="integrated_gradients")
    assert view.result is stored
    assert [m["name"] for m in view.spec["methods"]] == ["integrated_gradients", "saliency"]
    view = gpt2_lens.attribution(trace, method="saliency", n_steps=50)  # n_steps: IG only
    assert view.result is gpt2_lens.stored_attributions(trace)["saliency"]


def test_other_options_recompute_and_store(gpt2_lens):
    trace = gpt2_lens.generate(PROMPT, max_new_tokens=3, points=["logits"],
                               attribution={"integrated_gradients": {"n_steps": 8}})
    old = gpt2_lens.stored_attributions(trace)["integrated_gradients"]
    assert old.params["n_steps"] == 8
    view = gpt2_lens.attribution(trace, n_steps=16)
    assert view.result is not old and view.result.params["n_steps"] == 16
    assert gpt2_lens.stored_attributions(trace)["integrated_gradients"] is view.result
    view = gpt2_lens.attribution(trace, method="deeplift")  # a new method joins the store
    assert set(gpt2_lens.stored_attributions(trace)) == {"integrated_gradients", "deeplift"}
    assert [m["name"] for m in view.spec["methods"]] == ["deeplift", "integrated_gradients"]


def test_next_token_is_the_greedy_prediction(lens):
    ids = lens.tokenize(PROMPT)
    with torch.no_grad():
        want = int(lens.model(input_ids=ids[None]).logits[0, -1].argmax())
    r = lens.attribution(PROMPT, method="saliency").result
    assert r.target_ids.tolist() == [want] and r.target_positions.tolist() == [len(ids)]
    assert r.n_sources == len(ids) and list(r.tokens[: len(ids)]) == lens.trace(PROMPT, points=["logits"]).tokens
    full = torch.cat([ids, torch.tensor([want])])
    assert_matches_captum(lens.model, r, full)


def test_target_token_id(gpt2_lens):
    r = gpt2_lens.attribution(PROMPT, method="input_x_gradient", target=7).result
    assert r.target_ids.tolist() == [7]
    ids = gpt2_lens.tokenize(PROMPT)
    assert_matches_captum(gpt2_lens.model, r, torch.cat([ids, torch.tensor([7])]))


def test_continuation_is_sliced_from_the_full_tokenization(lens):
    text = "The capital of France is Paris. The quick brown fox"
    ids = lens.tokenize(text)
    r = lens.attribution(text, target=" brown fox", method="integrated_gradients", n_steps=20).result
    tail = lens.tokenizer.decode(ids[r.target_positions[0]:].tolist())
    assert tail.strip() == "brown fox"
    np.testing.assert_array_equal(r.target_ids, ids[r.target_positions].numpy())
    assert r.target_positions.tolist() == list(range(r.target_positions[0], len(ids)))
    assert_matches_captum(lens.model, r, ids, n_steps=20)
    # the same on a trace of that text
    r2 = lens.attribution(lens.trace(text, points=["logits"]), target=" brown fox",
                          method="integrated_gradients", n_steps=20).result
    np.testing.assert_allclose(r2.scores, r.scores, atol=1e-6)


def test_group_word(gpt2_lens):
    view = gpt2_lens.attribution("The capital of France is Paris", target=" Paris",
                                 method="saliency", group="word")
    r = view.result
    assert r.grouping == "word" and view.spec["grouping"] == "word"
    # each word's score and share: captum's, per token, summed over the word's tokens
    ids = gpt2_lens.tokenize("The capital of France is Paris")
    emb = gpt2_lens.model.get_input_embeddings()(ids).detach()
    n_tokens = int(r.source_spans[-1, 1])  # every token before the last target
    assert n_tokens == r.target_positions[-1] and r.n_sources == len(r.source_spans) < n_tokens
    for j, p in enumerate(r.target_positions.tolist()):
        a, _ = captum_row(gpt2_lens.model, emb, p, int(ids[p]), "saliency")
        scores, norms = torch.zeros(n_tokens), torch.zeros(n_tokens)
        scores[:p], norms[:p] = a.detach().sum(-1), a.detach().norm(dim=-1)
        norms = norms / norms.sum()
        for k, (lo, hi) in enumerate(r.source_spans.tolist()):
            assert r.scores[j, k] == pytest.approx(float(scores[lo:hi].sum()), abs=1e-4)
            assert r.norms[j, k] == pytest.approx(float(norms[lo:hi].sum()), abs=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "lrp"}, "method: each method must be one of"),
        ({"method": []}, "method must be"),
        ({"target": ""}, "target must be a non-empty string"),
        ({"target": "The capital of France is Paris and more"}, "target .* must be shorter than the text"),
        ({"target": " London"}, "not a continuation"),
        ({"target": "aris"}, "token boundary"),
        ({"target": 10**9}, "target token id"),
        ({"target": 1.5}, "target must be None"),
        ({"group": "sentence"}, "group must be one of"),
        ({"baseline": "mean"}, "baseline must be one of"),
        ({"n_steps": -1}, "n_steps"),
    ],
)
def test_bad_input_names_the_argument(gpt2_lens, kwargs, match):
    exc = TypeError if isinstance(kwargs.get("target"), float) else ValueError
    with pytest.raises(exc, match=match):
        gpt2_lens.attribution("The capital of France is Paris", **kwargs)


def test_generate_checks_methods_before_generating(gpt2_lens, monkeypatch):
    def nope(*a, **k):
        raise AssertionError("generated before checking attribution=")

    monkeypatch.setattr(gpt2_lens.model, "generate", nope)
    with pytest.raises(ValueError, match="attribution"):
        gpt2_lens.generate(PROMPT, attribution=["saliency", "occlusion"])
    with pytest.raises(ValueError, match="unknown options"):
        gpt2_lens.generate(PROMPT, attribution={"saliency": {"steps": 3}})


def test_masked_models_are_refused():
    bert = tiny_lens("bert")
    with pytest.raises(ValueError, match="causal"):
        bert.attribution("The capital of France is [MASK].")


def test_generate_without_attribution_is_unchanged(gpt2_lens):
    trace = gpt2_lens.generate(PROMPT, max_new_tokens=3, points=["logits"])
    assert gpt2_lens.stored_attributions(trace) == {}


def test_accuracy_ig_and_rule_methods_through_the_lens(gpt2_lens):
    """tol= reaches the lens and generate; steps and δ per target reach the view; AttnLRP and
    DeepLift join the method switch. δ is checked against f from a plain HF forward."""
    from lmlens.views import decode_array

    gen = gpt2_lens.generate(PROMPT, max_new_tokens=3, points=["logits"],
                             attribution={"integrated_gradients": {"tol": 0.01, "attr_target": "prob"}})
    ig = gpt2_lens.stored_attributions(gen)["integrated_gradients"]
    from lmlens.analyses.attribution.adaptive_ig import MIN_STEPS
    from lmlens.analyses.attribution.quadrature import ORDER

    assert ig.steps is not None and ig.steps.shape == (3,) and (ig.steps >= MIN_STEPS).all()
    assert ig.params["tol"] == 0.01 and "n_steps" not in ig.params
    ids = gen.token_ids
    with torch.no_grad():
        for j, p in enumerate(ig.target_positions):
            x = gpt2_lens.model.transformer.wte(ids[None, :p])
            fx = torch.softmax(gpt2_lens.model(inputs_embeds=x).logits[0, -1], -1)[ids[p]]
            fb = torch.softmax(gpt2_lens.model(inputs_embeds=torch.zeros_like(x)).logits[0, -1], -1)[ids[p]]
            assert abs(ig.scores[j].sum() - (fx - fb).item() - ig.delta[j]) < 1e-4
            at_cap = ig.steps[j] > ig.params["max_steps"] - 2 * ORDER  # no room for another split
            assert abs(ig.delta[j]) <= 0.01 * abs((fx - fb).item()) + 1e-6 or at_cap
    view = gpt2_lens.attribution(gen, method=["integrated_gradients", "attnlrp", "deeplift"],
                                 attr_target="prob")
    assert view.result is ig  # reused: same options
    spec = {m["name"]: m for m in view.spec["methods"]}
    assert set(spec) == {"integrated_gradients", "attnlrp", "deeplift"}
    np.testing.assert_array_equal(decode_array(spec["integrated_gradients"]["steps"]), ig.steps)
    assert spec["attnlrp"]["delta"] is None and spec["deeplift"]["delta"] is not None
    again = gpt2_lens.attribution(gen, tol=0.05, attr_target="prob")
    assert again.result is not ig and again.result.params["tol"] == 0.05
