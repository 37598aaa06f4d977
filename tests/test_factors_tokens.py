"""What a neuron writes, against a hand computation from the weights: GPT-2 (``Conv1D`` stores the
down-projection as ``(d_mlp, d_model)``; the final LayerNorm centres, scales by ``weight`` and adds
a ``bias`` that is left out) and Llama (``nn.Linear`` stores it as ``(d_model, d_mlp)``; RMSNorm
scales by ``weight``). Norm weights and biases are randomised so that they matter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny import tiny_lens, tiny_model, token_alone
from torch import nn

import lmlens
from lmlens.analyses.factors import down_columns, norm_scale

K = 7


def _randomised(model_type: str, n_layers: int = 4):
    model, tok = tiny_model(model_type, n_layers=n_layers, seed=1)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        norm = model.transformer.ln_f if model_type == "gpt2" else model.model.norm
        norm.weight.copy_(0.5 + torch.rand(norm.weight.shape, generator=g) * 2)
        if getattr(norm, "bias", None) is not None:
            norm.bias.copy_(torch.randn(norm.bias.shape, generator=g))
    return lmlens.Lens(model, tok)


def _hand(model_type: str, lens, layer: int, neuron: int) -> torch.Tensor:
    """Logits per unit of activation, from the weights as each architecture stores them."""
    m = lens.model
    W_U = m.lm_head.weight.detach()
    if model_type == "gpt2":
        w = m.transformer.h[layer].mlp.c_proj.weight[neuron, :].detach()  # Conv1D: (in, out)
        gamma = m.transformer.ln_f.weight.detach()
        return W_U @ (gamma * (w - w.mean()))  # LayerNorm centres; its bias is not written by w
    w = m.model.layers[layer].mlp.down_proj.weight[:, neuron].detach()  # Linear: (out, in)
    return W_U @ (m.model.norm.weight.detach() * w)


@pytest.mark.parametrize("model_type", ["gpt2", "llama"])
def test_neuron_tokens_equal_a_hand_computation(model_type):
    lens = _randomised(model_type)
    layers, neurons = [0, 2, 1, 2], [5, 63, 0, 17]
    r = lens.neuron_tokens(layers, neurons, k=K)
    assert r.neurons.tolist() == [[a, b] for a, b in zip(layers, neurons, strict=True)]
    assert r.top_ids.shape == (4, K) == r.bottom_logits.shape
    for j, (layer, neuron) in enumerate(zip(layers, neurons, strict=True)):
        logits = _hand(model_type, lens, layer, neuron)
        top = torch.topk(logits, K)
        bottom = torch.topk(-logits, K)
        assert r.top_ids[j].tolist() == top.indices.tolist()
        assert r.bottom_ids[j].tolist() == bottom.indices.tolist()
        np.testing.assert_allclose(r.top_logits[j], top.values.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(r.bottom_logits[j], -bottom.values.numpy(), rtol=1e-4, atol=1e-5)
        for i, s in zip(top.indices.tolist(), r.top_tokens[j], strict=True):
            assert s == token_alone(lens.tokenizer, i)
    what = " ".join(r.notes)
    assert ("LayerNorm" in what) == (model_type == "gpt2") and ("RMSNorm" in what) == (model_type == "llama")


def test_layernorm_bias_does_not_change_what_a_neuron_writes():
    lens = _randomised("gpt2")
    before = lens.neuron_tokens(1, 9, k=K)
    with torch.no_grad():
        lens.model.transformer.ln_f.bias.add_(3.0)
    after = lens.neuron_tokens(1, 9, k=K)
    np.testing.assert_array_equal(before.top_ids, after.top_ids)
    np.testing.assert_allclose(before.top_logits, after.top_logits, rtol=1e-5)


def test_a_single_neuron_and_negative_layers():
    lens = tiny_lens("llama")
    r = lens.neuron_tokens(-1, 3, k=4)
    assert r.neurons.tolist() == [[1, 3]] and r.top_ids.shape == (1, 4)
    assert np.all(np.diff(r.top_logits[0]) <= 0) and np.all(np.diff(r.bottom_logits[0]) >= 0)


def test_a_probed_module_gives_the_weight_column():
    lin = nn.Linear(6, 4)
    wrapped = nn.Sequential(lin)  # neither Linear nor Conv1D: probed as mod(e_n) - mod(0)
    np.testing.assert_allclose(down_columns(wrapped, [1, 5]).numpy(), lin.weight[:, [1, 5]].T.detach().numpy(),
                               rtol=1e-6, atol=1e-7)


def test_norm_scale_of_a_gemma_style_norm():
    class OnePlus(nn.Module):  # Gemma's RMSNorm: x / rms(x) * (1 + weight)
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.tensor([0.5, -0.25, 1.0, 0.0]))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * (1 + self.weight)

    w = torch.tensor([[0.1, -0.2, 0.03, 0.4]])
    np.testing.assert_allclose(norm_scale(OnePlus(), w).numpy(), (w * torch.tensor([1.5, 0.75, 2.0, 1.0])).numpy(),
                               rtol=1e-5)


@pytest.mark.parametrize("layer, neuron, match", [
    (2, 0, "layer must be <= 1"),
    (-3, 0, "layer must be >= -2"),
    (0, 64, "neuron must be <= 63"),
    (0, -1, "neuron must be >= 0"),
    ([0, 1], [1], "one length"),
    (0.5, 1, "layer must be an int"),
])
def test_bad_neurons(layer, neuron, match):
    with pytest.raises((ValueError, TypeError), match=match):
        tiny_lens("llama").neuron_tokens(layer, neuron)


def test_k_is_checked():
    with pytest.raises(ValueError, match="k must be <= "):
        tiny_lens("llama").neuron_tokens(0, 0, k=10**6)


def test_no_unembedding_gets_a_clear_error_and_factors_still_work():
    from transformers import BertModel

    model, tok = tiny_model("bert")
    base = BertModel(model.config).eval()
    lens = lmlens.Lens(base, tok)
    with pytest.raises(ValueError, match="neuron_tokens needs an unembedding"):
        lens.neuron_tokens(0, 1)
    r = lens.neuron_factors("the capital of france is paris", n_factors=2).result
    assert r.write_neurons is None and r.writes is None and r.kind == "base"


def test_factor_writes_equal_neuron_tokens():
    lens = _randomised("gpt2")
    r = lens.neuron_factors("The quick brown fox jumps over the lazy dog.", n_factors=3, k=5).result
    pairs = {tuple(p) for p in r.neuron_index[r.top_neurons.ravel()].tolist()}
    assert {tuple(p) for p in r.write_neurons.tolist()} == pairs
    alone = lens.neuron_tokens(r.write_neurons[:, 0].tolist(), r.write_neurons[:, 1].tolist(), k=5)
    np.testing.assert_array_equal(alone.top_ids, r.write_top_ids)
    np.testing.assert_array_equal(alone.bottom_ids, r.write_bottom_ids)
    np.testing.assert_allclose(alone.top_logits, r.write_top_logits)
    assert r.writes.top_tokens == alone.top_tokens
