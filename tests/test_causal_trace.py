"""lens.causal_trace: inputs (texts, facts, subjects, targets), the result, bad input. The scores
themselves are checked against hand-written hooks in tests/test_patch.py."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
import torch
from tiny import tiny_lens

import lmlens
from lmlens.analyses.tracing import CausalTraceResult, fact_prompt, subject_positions, window_layers
from lmlens.views import View

TEXT = "The capital of France is Paris"


@pytest.fixture(scope="module")
def gpt2():
    return tiny_lens("gpt2")


@pytest.fixture(scope="module")
def traced(gpt2):
    return gpt2.causal_trace(TEXT, subject="capital of", n_samples=2, progress=False)


def test_view_result_and_shapes(gpt2, traced):
    assert isinstance(traced, View) and traced.kind == "causal_trace"
    r = traced.result
    assert isinstance(r, CausalTraceResult)
    n = len(gpt2.tokenize(TEXT))
    assert r.scores.shape == (3, gpt2.n_layers, n) and r.sites == ("resid", "mlp", "attn")
    assert r.points == ("resid_post", "mlp.out", "attn.out")
    assert r.subject_positions.tolist() == subject_positions(list(r.tokens), "capital of") == [1, 2]
    assert r.answer_position == n - 1
    # the target defaults to the model's own top prediction, read from HF directly
    with torch.no_grad():
        probs = torch.softmax(gpt2.model(input_ids=gpt2.tokenize(TEXT)[None]).logits[0, -1], -1)
    assert r.target_id == int(probs.argmax()) and r.clean_prob == pytest.approx(float(probs.max()), abs=1e-6)
    # positions before the subject hold the corrupted probability
    assert np.allclose(r.scores[:, :, 0], r.corrupted_prob)
    # the clean logit lens at the last layer is the model's own prediction
    assert r.lens_top_ids[-1, -1, 0] == r.target_id
    assert r.lens_target_ranks[-1, -1] == 1
    assert r.lens_target_probs[-1, -1] == pytest.approx(r.clean_prob, abs=1e-5)
    assert r.params["n_samples"] == 2 and r.params["window"] == 1 and r.params["seed"] == 0
    assert any("Noise" in n for n in r.notes)


def test_result_saves_and_loads(tmp_path, traced):
    r = traced.result
    back = lmlens.load_result(r.save(tmp_path / "t.npz"))
    assert isinstance(back, CausalTraceResult)
    np.testing.assert_array_equal(back.scores, r.scores)
    assert back.sites == r.sites and back.params == dict(r.params) and back.strings == dict(r.strings)


def test_target_string_and_id(gpt2):
    ids = gpt2.tokenizer(" Paris", add_special_tokens=False)["input_ids"]
    text = "The capital of France is"
    a = gpt2.causal_trace(text, subject="France", target=" Paris", n_samples=1, sites="resid", progress=False).result
    b = gpt2.causal_trace(text, subject="France", target=ids[0], n_samples=1, sites="resid", progress=False).result
    assert a.target_id == b.target_id == ids[0]
    np.testing.assert_array_equal(a.scores, b.scores)
    if len(ids) > 1:
        assert any("first" in n for n in a.notes)


def test_a_fact_record_is_traced_as_its_text_subject_and_object(gpt2):
    fact = {"sub_label": "France", "obj_label": "Paris", "template": "The capital of [X] is [Y] .",
            "predicate_id": "P36"}
    fp = fact_prompt(fact)
    assert fp == ("The capital of France is", "France", " Paris")
    kw = dict(n_samples=2, sites=["mlp"], progress=False)
    a = gpt2.causal_trace(fact, **kw).result
    b = gpt2.causal_trace(fp.text, subject="France", target=" Paris", **kw).result
    np.testing.assert_array_equal(a.scores, b.scores)
    # the probe's own records (attributes subject / object / template) and LAMA's masked sentences
    Fact = namedtuple("Fact", "template subject object relation")
    c = gpt2.causal_trace(Fact("The capital of [X] is [Y].", "France", "Paris", "capital"), **kw).result
    np.testing.assert_array_equal(c.scores, a.scores)
    lama = {"sub_label": "France", "obj_label": "Paris", "masked_sentences": ["The capital of France is [MASK] ."]}
    np.testing.assert_array_equal(gpt2.causal_trace(lama, **kw).result.scores, a.scores)
    # subject= and target= override the record's
    d = gpt2.causal_trace(fact, subject="capital", **kw).result
    assert d.subject_positions.tolist() == [1]


def test_window_layers_follow_rome():
    assert window_layers(0, 10, 30) == tuple(range(0, 5))
    assert window_layers(15, 10, 30) == tuple(range(10, 20))
    assert window_layers(29, 10, 30) == tuple(range(24, 30))
    assert window_layers(3, 4, 8) == (1, 2, 3, 4)


def test_masked_lm_reads_the_mask():
    lens = tiny_lens("bert")
    text = "The capital of France is [MASK] ."
    r = lens.causal_trace(text, subject="France", sites=["resid"], n_samples=2, progress=False).result
    ids = lens.tokenize(text)
    mask = int((ids == lens.tokenizer.mask_token_id).nonzero()[0, 0])
    assert r.answer_position == mask and r.kind == "masked"
    with torch.no_grad():
        probs = torch.softmax(lens.model(input_ids=ids[None]).logits[0, mask], -1)
    assert r.clean_prob == pytest.approx(float(probs[r.target_id]), abs=1e-6)
    # restoring the last block's output everywhere gives the clean run back
    p = lens.patch(text, subject="France", site="resid", layer=lens.n_layers - 1, position=None, n_samples=2)
    assert p.patched_prob == pytest.approx(p.clean_prob, abs=1e-6)
    with pytest.raises(ValueError, match="exactly one"):
        lens.causal_trace("The capital of France is Paris", subject="France", progress=False)


def test_bad_input(gpt2):
    ct = gpt2.causal_trace
    with pytest.raises(ValueError, match="subject is required"):
        ct(TEXT)
    with pytest.raises(ValueError, match="subject 'Rome' does not occur"):
        ct(TEXT, subject="Rome")
    with pytest.raises(ValueError, match="sites: each must be one of"):
        ct(TEXT, subject="France", sites=["mlp", "attn.pattern"])
    with pytest.raises(ValueError, match="given twice"):
        ct(TEXT, subject="France", sites=["mlp", "mlp.out"])
    with pytest.raises(ValueError, match="window must be >= 1"):
        ct(TEXT, subject="France", window=0)
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        ct(TEXT, subject="France", n_samples=0)
    with pytest.raises(ValueError, match="noise must be a positive number"):
        ct(TEXT, subject="France", noise=-1.0)
    with pytest.raises(ValueError, match="target_id must be a token id"):
        ct(TEXT, subject="France", target=10**9)
    with pytest.raises(ValueError, match="subject=50 is out of range"):
        ct(TEXT, subject=[50])
    with pytest.raises(ValueError, match="no subject"):
        ct({"sub_label": "", "template": "[X] is [Y]"})
    with pytest.raises(ValueError, match="must come before the object"):
        ct({"sub_label": "Paris", "obj_label": "France", "template": "[Y] has the capital [X] ."})


@pytest.mark.slow
def test_no_lm_head_is_refused(minilm):
    with pytest.raises(ValueError, match="unembedding"):
        minilm.causal_trace("The capital of France is Paris", subject="France")
