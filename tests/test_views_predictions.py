"""predictions(): agrees with HF logits + softmax; bad input errors; the spec carries it all."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from tiny import tiny_lens, token_alone
from views_helpers import independent

from lmlens.analyses.predictions import PredictionsResult, predictions
from lmlens.views import decode_array, predictions_view
from lmlens.views.predictions import to_spec

TEXT = "The capital of France is Paris. 東京は日本の首都です。"


@pytest.mark.parametrize("model_type", ["gpt2", "llama"])
def test_causal_predictions_match_hf(model_type):
    lens = tiny_lens(model_type)
    trace = lens.trace(TEXT)
    r = predictions(trace, topk=7)
    probs, top_ids, top_probs = independent(lens.model, trace.token_ids, 7)
    assert r.kind == "causal" and r.k == 7 and r.n_positions == trace.n_positions
    np.testing.assert_array_equal(r.input_ids, trace.token_ids.numpy())
    assert np.isnan(r.probs[0]) and r.ranks[0] == 0
    np.testing.assert_allclose(r.probs[1:], probs[1:], rtol=1e-4)
    np.testing.assert_array_equal(r.top_ids, top_ids)
    np.testing.assert_allclose(r.top_probs, top_probs, rtol=1e-4)
    assert list(r.top_tokens[3]) == [token_alone(lens.tokenizer, int(i)) for i in top_ids[3]]
    # rank = 1 + number of strictly larger logits
    logits = trace["logits"].float()
    for i in range(1, r.n_positions):
        tok = int(r.input_ids[i])
        assert r.ranks[i] == 1 + int((logits[i - 1] > logits[i - 1, tok]).sum())
    assert np.all(np.diff(r.top_probs, axis=1) <= 0)


def test_masked_predictions_use_the_same_position():
    lens = tiny_lens("bert")
    trace = lens.trace("The capital of France is Paris.")
    r = predictions(trace, topk=4)
    assert r.kind == "masked"
    with torch.no_grad():
        p = torch.softmax(lens.model(trace.token_ids[None]).logits[0].double(), -1)
    ids = trace.token_ids
    np.testing.assert_allclose(r.probs, p[torch.arange(len(ids)), ids].numpy(), rtol=1e-4)
    np.testing.assert_array_equal(r.top_ids, p.topk(4, -1).indices.numpy())
    assert np.all(r.ranks >= 1)


def test_generated_positions_are_carried():
    lens = tiny_lens("gpt2")
    trace = lens.generate("The capital of", max_new_tokens=3)
    r = predictions(trace, topk=2)
    assert r.generated.tolist() == trace.generated.tolist() and r.generated[-3:].all()
    spec = predictions_view(r).spec
    assert decode_array(spec["generated"]).tolist() == [int(g) for g in trace.generated]


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True, None])
def test_bad_topk_is_a_value_error(bad):
    trace = tiny_lens("gpt2").trace("The capital")
    with pytest.raises(ValueError, match="topk must be a positive int"):
        predictions(trace, topk=bad)


def test_topk_above_vocab_and_missing_logits():
    lens = tiny_lens("gpt2")
    with pytest.raises(ValueError, match="at most the vocabulary size"):
        predictions(lens.trace("The capital"), topk=10**6)
    with pytest.raises(ValueError, match="points=None or points=\\['logits'\\]"):
        predictions(lens.trace("The capital", points=["embed"]), topk=3)
    with pytest.raises(TypeError, match="Trace"):
        predictions("The capital")
    with pytest.raises(TypeError, match="must be a PredictionsResult"):
        predictions_view(42)


def test_result_checks_shapes():
    r = predictions(tiny_lens("gpt2").trace("The capital"), topk=2)
    with pytest.raises(ValueError, match="probs"):
        PredictionsResult(**{**r.__dict__, "probs": r.probs[:-1]})
    with pytest.raises(ValueError, match="kind"):
        PredictionsResult(**{**r.__dict__, "kind": "sideways"})


def test_spec_round_trips_the_result():
    r = predictions(tiny_lens("gpt2").trace(TEXT), topk=5)
    spec = to_spec(r)
    assert spec["kind"] == "predictions" and spec["version"] == 1 and spec["mode"] == "next"
    assert spec["tokens"] == list(r.tokens) and spec["k"] == 5 and spec["n_positions"] == r.n_positions
    np.testing.assert_array_equal(decode_array(spec["topk_ids"]), r.top_ids)
    np.testing.assert_allclose(decode_array(spec["topk_probs"]), r.top_probs, rtol=1e-3)
    np.testing.assert_array_equal(decode_array(spec["probs"]), r.probs)
    np.testing.assert_array_equal(decode_array(spec["ranks"]), r.ranks)
    vocab = dict(zip(decode_array(spec["vocab_ids"]).tolist(), spec["vocab_strings"], strict=True))
    assert [[vocab[i] for i in row] for row in r.top_ids.tolist()] == [list(t) for t in r.top_tokens]
    part = to_spec(r, limit=3)
    assert len(part["tokens"]) == 3 and decode_array(part["topk_ids"]).shape == (3, 5)


def test_lens_method_and_result():
    lens = tiny_lens("gpt2")
    view = lens.predictions("The capital of France", topk=3)
    assert isinstance(view.result, PredictionsResult) and view.result.k == 3
    trace = lens.trace("The capital of France")
    assert lens.predictions(trace).result.n_positions == trace.n_positions


def test_analyses_never_import_views_or_front_end_packages():
    code = (
        "import sys, lmlens.analyses, lmlens.analyses.predictions\n"
        "bad = [m for m in ('jinja2', 'IPython', 'matplotlib', 'lmlens.views', 'markupsafe') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
