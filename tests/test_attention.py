"""The attention analysis against independent computations: Hugging Face's own
``output_attentions`` (rows sum to 1; layer / head choice; sentence pairs with segment ids),
hiding with a hand renormalisation, the rollout by hand (Abnar & Zuidema), value-weighted norms
from the model's own V and O weights (GPT-2 ``Conv1D``, Llama with grouped-query heads and biases,
BERT), positions (not strings) for a repeated word, and bad input."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
import transformers as T
from tiny import bpe_tokenizer, tiny_lens, tiny_model

import lmlens
from lmlens.analyses.attention import attention, attention_rollout, points, renormalise

TEXT = "The quick brown fox jumps over the lazy dog, and the dog sleeps."


def _hf(model, ids: torch.Tensor, **kw) -> tuple[np.ndarray, tuple]:
    """``(attentions (L, H, n, n) float64, hidden_states)`` straight from the HF model."""
    with torch.no_grad():
        out = model(ids[None], output_attentions=True, output_hidden_states=True, **kw)
    att = np.stack([a[0].double().numpy() for a in out.attentions])
    return att, out.hidden_states


@pytest.mark.parametrize("model_type", ["gpt2", "llama", "bert"])
def test_patterns_are_the_models_own_and_rows_sum_to_one(model_type):
    lens = tiny_lens(model_type, n_layers=4)
    r = lens.attention(TEXT, layers=[0, 1, 2]).result
    ids = torch.tensor(r.input_ids)
    want, _ = _hf(lens.model, ids)
    want = want[:3]
    assert r.patterns.shape == (3, 4, len(ids), len(ids)) and r.patterns.dtype == np.float32
    np.testing.assert_allclose(r.patterns, want, atol=1e-6)
    np.testing.assert_allclose(r.patterns.sum(-1), 1.0, atol=1e-5)
    if model_type != "bert":
        assert np.all(np.triu(r.patterns, 1) == 0)  # causal: no key after its query
    np.testing.assert_array_equal(r.layers, [0, 1, 2])
    assert r.layer_names == ("blocks.0.attn.pattern", "blocks.1.attn.pattern", "blocks.2.attn.pattern")
    assert r.model_dtype == str(next(lens.model.parameters()).dtype).removeprefix("torch.")


def test_chosen_layers_and_heads_are_slices_and_the_rollout_still_uses_all():
    lens = tiny_lens("gpt2", n_layers=4)
    r = lens.attention(TEXT, layers=[2, 1], heads=[3, 0]).result
    want, _ = _hf(lens.model, torch.tensor(r.input_ids))
    np.testing.assert_array_equal(r.layers, [1, 2])
    np.testing.assert_array_equal(r.heads, [0, 3])
    np.testing.assert_allclose(r.patterns, want[1:3][:, [0, 3]], atol=1e-6)
    full = attention_rollout(want)
    np.testing.assert_allclose(r.rollout, full[1:3], atol=1e-5)
    assert any("every head" in n for n in r.notes)
    assert r.n_heads_total == 4


def test_rollout_equals_a_hand_computation_on_two_layers():
    lens = tiny_lens("gpt2", n_layers=2)
    r = lens.attention(TEXT).result
    att, _ = _hf(lens.model, torch.tensor(r.input_ids))
    eye = np.eye(att.shape[-1])
    a0 = 0.5 * att[0].mean(0) + 0.5 * eye  # the residual as the identity (Abnar & Zuidema 2020)
    a1 = 0.5 * att[1].mean(0) + 0.5 * eye
    np.testing.assert_allclose(r.rollout[0], a0, atol=1e-6)
    np.testing.assert_allclose(r.rollout[1], a1 @ a0, atol=1e-6)
    np.testing.assert_allclose(r.rollout.sum(-1), 1.0, atol=1e-5)
    assert lens.attention(TEXT, rollout=False).result.rollout is None


def test_hiding_renormalises_each_row_over_the_keys_left():
    lens = tiny_lens("bert")
    r = lens.attention(TEXT, hide=["special", 3]).result
    ids = r.input_ids
    special = {lens.tokenizer.cls_token_id, lens.tokenizer.sep_token_id}
    hidden = [i for i, t in enumerate(ids) if t in special] + [3]
    assert sorted(np.flatnonzero(r.hidden).tolist()) == sorted(hidden) and 0 in hidden
    p = r.patterns.astype(np.float64)
    keep = np.ones(len(ids), bool)
    keep[hidden] = False
    want = np.zeros_like(p)
    want[..., keep] = p[..., keep] / p[..., keep].sum(-1, keepdims=True)
    want[..., ~keep, :] = 0
    np.testing.assert_allclose(r.weights, want, atol=1e-6)
    np.testing.assert_allclose(r.weights[..., keep, :].sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(r.patterns.sum(-1), 1.0, atol=1e-5)  # the captured rows stay whole
    assert "renormalised" in r.notes[0] and "[CLS]" in r.notes[0]
    first = lens.attention(TEXT, hide="first").result
    assert np.flatnonzero(first.hidden).tolist() == [0]
    roll = r.rollout_weights
    np.testing.assert_allclose(roll[..., keep, :].sum(-1), 1.0, atol=1e-5)
    assert np.all(roll[..., ~keep] == 0)


def test_renormalise_keeps_a_row_with_nothing_left_at_zero():
    a = np.array([[1.0, 0.0, 0.0], [0.6, 0.4, 0.0], [0.2, 0.3, 0.5]])
    got = renormalise(a, np.array([True, False, False]))
    np.testing.assert_allclose(got, [[0, 0, 0], [0, 1, 0], [0, 0.375, 0.625]])


def _bias_llama():
    """Tiny Llama with grouped-query heads (4 query, 2 key-value) and biases on q, k, v, o."""
    tok = bpe_tokenizer()
    cfg = T.LlamaConfig(num_hidden_layers=2, hidden_size=32, num_attention_heads=4, num_key_value_heads=2,
                        intermediate_size=64, vocab_size=len(tok), max_position_embeddings=128, attention_bias=True)
    cfg._attn_implementation = "eager"
    torch.manual_seed(3)
    model = T.LlamaForCausalLM(cfg).eval()
    return model, tok


def _randomise_biases(model) -> None:
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") and ("attn" in name or "attention" in name):
                p.copy_(torch.randn(p.shape, generator=g))


@torch.no_grad()
def _hand_norms(model_type: str, model, hidden: tuple, layer: int, n_heads: int) -> np.ndarray:
    """``‖f(x_j)‖`` per head and position, ``(n_heads, n)``, from the weights as each layout stores them
    (float64; norms applied through float64 copies of the model's own norm modules)."""
    h_in = hidden[layer][0].double()
    out = []
    if model_type == "gpt2":
        blk = model.transformer.h[layer]
        d = h_in.shape[-1]
        dh = d // n_heads
        x = copy.deepcopy(blk.ln_1).double()(h_in)
        W, b = blk.attn.c_attn.weight.double(), blk.attn.c_attn.bias.double()  # Conv1D: (in, 3d)
        v = x @ W[:, 2 * d:] + b[2 * d:]
        Wo = blk.attn.c_proj.weight.double()  # Conv1D: (in, out)
        for h in range(n_heads):
            out.append((v[:, h * dh:(h + 1) * dh] @ Wo[h * dh:(h + 1) * dh, :]).norm(dim=-1))
    elif model_type == "llama":
        blk = model.model.layers[layer]
        att = blk.self_attn
        dh = att.head_dim
        x = copy.deepcopy(blk.input_layernorm).double()(h_in)
        v = x @ att.v_proj.weight.double().T + att.v_proj.bias.double()  # (n, n_kv * dh)
        group = n_heads // (v.shape[-1] // dh)
        for h in range(n_heads):
            kv = h // group  # grouped-query: query head h reads key-value head h // group
            out.append((v[:, kv * dh:(kv + 1) * dh] @ att.o_proj.weight.double()[:, h * dh:(h + 1) * dh].T).norm(dim=-1))
    else:  # bert: post-norm, the block input goes straight into the value projection
        blk = model.bert.encoder.layer[layer].attention
        d = h_in.shape[-1]
        dh = d // n_heads
        v = h_in @ blk.self.value.weight.double().T + blk.self.value.bias.double()
        for h in range(n_heads):
            out.append((v[:, h * dh:(h + 1) * dh] @ blk.output.dense.weight.double()[:, h * dh:(h + 1) * dh].T).norm(dim=-1))
    return torch.stack(out).numpy()


@pytest.mark.parametrize("model_type", ["gpt2", "llama", "bert"])
def test_value_weighted_norms_equal_a_hand_computation_from_v_and_o(model_type):
    model, tok = _bias_llama() if model_type == "llama" else tiny_model(model_type, n_layers=2, seed=2)
    _randomise_biases(model)  # the value bias counts, the output projection's bias does not
    lens = lmlens.Lens(model, tok)
    r = lens.attention(TEXT, weighting="norm").result
    att, hidden = _hf(model, torch.tensor(r.input_ids))
    assert r.weighting == "norm" and r.value_norms.shape == (2, 4, len(r.input_ids))
    for layer in range(2):
        norms = _hand_norms(model_type, model, hidden, layer, 4)
        np.testing.assert_allclose(r.value_norms[layer], norms, rtol=2e-4, atol=1e-5)
        np.testing.assert_allclose(r.norms[layer], att[layer] * norms[:, None, :], rtol=2e-4, atol=1e-5)
    np.testing.assert_allclose(r.weights, r.norms, rtol=1e-6)
    assert any("bias" in n and "Kobayashi" in n for n in r.notes)


def test_norms_need_the_value_and_output_projection_sites():
    model, tok = tiny_model("gpt2")
    lens = lmlens.Lens(model, tok)
    lens.anatomy = dataclasses.replace(lens.anatomy, attn_v=None)
    with pytest.raises(ValueError, match="weighting='norm'.*attn_v"):
        lens.attention(TEXT, weighting="norm")


def test_a_repeated_word_is_two_positions():
    lens = tiny_lens("gpt2", n_layers=2)
    text = "the dog saw the dog and the dog ran"
    ids = lens.tokenize(text).tolist()
    dog = [i for i, t in enumerate(ids) if lens.tokenizer.decode([t]) == " dog"]
    the = [i for i, t in enumerate(ids) if lens.tokenizer.decode([t]).strip() == "the"]
    assert len(dog) == 3 and len(the) >= 2
    q, k = dog[2], the[-1]  # the third "dog" → the last " the"
    view = lens.attention(text, view="pair", pair=(q, k))
    r = view.result
    att, _ = _hf(lens.model, torch.tensor(ids))
    np.testing.assert_allclose(r.pair(q, k), att[:, :, q, k], atol=1e-6)
    np.testing.assert_allclose(r.pair(dog[1], the[0]), att[:, :, dog[1], the[0]], atol=1e-6)
    assert not np.allclose(r.pair(q, k), r.pair(dog[1], k))  # another "dog", another row
    assert view.spec["pair"] == [q, k] and view.spec["mode"] == "pair"
    assert r.pair(-1, 0).shape == (2, 4)


def test_sentence_pairs_use_the_tokenizers_pair_encoding_and_segment_ids():
    lens = tiny_lens("bert")
    a, b = "The capital of France is Paris.", "The dog sleeps."
    view = lens.attention(a, sentence_b=b, view="model")
    r = view.result
    enc = lens.tokenizer(a, b)
    assert r.input_ids.tolist() == enc["input_ids"]
    seps = [i for i, t in enumerate(enc["input_ids"]) if t == lens.tokenizer.sep_token_id]
    assert len(seps) == 2 and r.sentence_b_start == seps[0] + 1 and r.tokens[seps[0]].strip() == "[SEP]"
    types = [0] * (seps[0] + 1) + [1] * (len(enc["input_ids"]) - seps[0] - 1)  # BERT's segment ids
    ids = torch.tensor(enc["input_ids"])
    want, _ = _hf(lens.model, ids, token_type_ids=torch.tensor([types]))
    np.testing.assert_allclose(r.patterns, want, atol=1e-6)
    without, _ = _hf(lens.model, ids)
    assert not np.allclose(want, without, atol=1e-4)  # the segment ids reached the model
    assert view.spec["sentence_b_start"] == r.sentence_b_start
    assert str(r.sentence_b_start) in view.spec["summary"]


def test_points_and_a_trace_without_them():
    assert points([1], 3, rollout=False) == ["blocks.1.attn.pattern"]
    lens = tiny_lens("gpt2")
    trace = lens.trace(TEXT, points=["blocks.1.attn.pattern"])
    with pytest.raises(ValueError, match="lacks.*blocks.0.attn.pattern"):
        attention(trace, layers=[1])
    assert attention(trace, layers=[1], rollout=False).patterns.shape[0] == 1
    gen = lens.generate("The capital of France is", max_new_tokens=3)
    r = lens.attention(gen).result
    assert r.generated.sum() == 3 and r.patterns.shape[-1] == gen.n_positions


@pytest.mark.parametrize("bad, match", [
    (dict(view="lines"), "view must be one of"),
    (dict(weighting="grad"), "weighting must be one of"),
    (dict(layers=[5]), "layers: block 5 does not exist"),
    (dict(heads=[4]), "heads: head 4 does not exist"),
    (dict(heads=[1, 1]), "head 1 is given twice"),
    (dict(hide="cls"), "hide: 'cls' is not one of"),
    (dict(hide=[99]), "hide: position 99 is out of range"),
    (dict(hide=[1.5]), "hide: each entry"),
    (dict(mass=0), "mass must be a number in"),
    (dict(mass=1.5), "mass must be a number in"),
    (dict(pair=(0, 99)), "pair: key position 99"),
    (dict(pair=3), "pair must be"),
    (dict(rollout="yes"), "rollout must be True or False"),
])
def test_bad_arguments_name_what_is_valid(bad, match):
    lens = tiny_lens("gpt2")
    with pytest.raises((ValueError, TypeError), match=match):
        lens.attention(TEXT, **bad)


def test_sentence_b_needs_two_texts():
    lens = tiny_lens("bert")
    with pytest.raises(ValueError, match="sentence_b"):
        lens.attention(lens.trace(TEXT), sentence_b="Another text.")
    with pytest.raises(ValueError, match="sentence_b"):
        lens.attention("One text.", sentence_b="  ")
    every = list(range(len(lens.tokenize("Hi there"))))
    with pytest.raises(ValueError, match="every position would be hidden"):
        lens.attention("Hi there", hide=every)


def test_norms_on_a_generate_trace_capture_the_value_vectors_it_lacks():
    """A ``generate`` trace holds no value vectors: ``weighting="norm"`` captures them again over the
    trace's own ids (prompt + generated), checked against the hand computation on HF's hidden states."""
    model, tok = tiny_model("gpt2", n_layers=2, seed=2)
    lens = lmlens.Lens(model, tok)
    gen = lens.generate(TEXT, max_new_tokens=3)
    assert not any(n.endswith("attn.v") for n in gen.names)
    r = lens.attention(gen, weighting="norm").result
    assert list(r.input_ids) == gen.token_ids.tolist() and len(r.input_ids) == len(lens.tokenize(TEXT)) + 3
    att, hidden = _hf(model, torch.tensor(r.input_ids))
    for layer in range(2):
        norms = _hand_norms("gpt2", model, hidden, layer, 4)
        np.testing.assert_allclose(r.value_norms[layer], norms, rtol=2e-4, atol=1e-5)
    assert not any(n.endswith("attn.v") for n in gen.names)  # the user's trace is left as it was
