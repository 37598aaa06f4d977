"""Logit lens analyses: agree with the model's logits and with computations by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny import ALL_TYPES, tiny_lens, tiny_model, token_alone
from torch import nn

import lmlens
from lmlens.analyses.logit_lens import (
    POINTS,
    layer_logits,
    layer_names,
    layer_predictions,
    rankings,
    rankings_watch,
    resolve_watch,
)
from lmlens.analyses.logit_lens.decode import decode_layers

TEXT = "The capital of France is Paris. The capital of Japan is Tokyo."


def _trace(model_type: str, text: str = TEXT, n_layers: int = 2, points=POINTS):
    return tiny_lens(model_type, n_layers).trace(text, points=points)


def _hf_logits(lens, trace) -> torch.Tensor:
    with torch.no_grad():
        return lens.model(trace.token_ids[None]).logits[0].float()


def _hand_rank(row: torch.Tensor, token: int) -> int:
    """1 + how many logits are strictly greater, counted one by one."""
    t = float(row[token])
    return 1 + sum(1 for v in row.tolist() if v > t)


# ---- the last layer is the model's output ------------------------------------------------------
@pytest.mark.parametrize("model_type", ["gpt2", "llama", "gpt_neox", "bert"])
def test_last_layer_equals_model_logits(model_type):
    lens = tiny_lens(model_type)
    trace = _trace(model_type, points=POINTS[:2])  # no "logits": the last block is decoded
    hf = _hf_logits(lens, trace)
    decoded = layer_logits(trace, -1)
    assert decoded.shape == hf.shape
    assert float((decoded - hf).abs().max()) <= 1e-4
    r = rankings(trace)
    p = torch.softmax(hf.double(), -1)
    np.testing.assert_array_equal(r.token_ids, hf.argmax(-1).numpy())
    np.testing.assert_allclose(r.probs[-1], p.max(-1).values.numpy(), atol=1e-5)
    for pos, t in enumerate(r.token_ids.tolist()):  # the output's rank, counted on HF's logits
        assert r.ranks[-1, pos] == 1 + int((hf[pos] > hf[pos, t]).sum())
    assert any("no 'logits'" in n for n in r.notes)
    # tokens that are not the output: the last layer's ranks and probabilities from HF's logits
    given = torch.randint(0, hf.shape[-1], (trace.n_positions,), generator=torch.Generator().manual_seed(0))
    g = rankings(trace, target=given.tolist())
    for pos, t in enumerate(given.tolist()):
        assert g.ranks[-1, pos] == 1 + int((hf[pos] > hf[pos, t]).sum())
        assert g.probs[-1, pos] == pytest.approx(float(p[pos, t]), abs=1e-5)


@pytest.mark.parametrize("model_type", ALL_TYPES)
def test_every_tiny_model(model_type):
    """Decoding the last block reproduces the logits, and with or without captured logits the
    results agree, for every architecture."""
    lens = tiny_lens(model_type)
    full = _trace(model_type)
    hf = _hf_logits(lens, full)
    assert float((layer_logits(_trace(model_type, points=POINTS[:2]), -1) - hf).abs().max()) <= 1e-4
    a, b = rankings(full), rankings(_trace(model_type, points=POINTS[:2]))
    np.testing.assert_array_equal(a.ranks, b.ranks)
    np.testing.assert_allclose(a.probs, b.probs, atol=1e-6)
    assert a.ranks.shape == (3, full.n_positions) and a.layer_names[0] == "embed"
    assert a.ranks.min() >= 1 and a.ranks.max() <= lens.readout.d_vocab
    top = torch.softmax(hf.double(), -1).topk(a.top_probs.shape[-1], -1)  # the last layer's top-k, from HF
    np.testing.assert_allclose(a.top_probs[-1], top.values.numpy(), atol=1e-5)
    assert a.kind == ("masked" if model_type in ("bert", "roberta", "xlm-roberta", "distilbert", "luke") else "causal")


# ---- by hand -----------------------------------------------------------------------------------
def test_ranks_equal_a_hand_count_for_random_logits():
    """With an identity head the logits are the hidden rows themselves: random integers, so
    ties happen; rank = 1 + strictly greater, never a sort position."""
    torch.manual_seed(0)
    V, P, nl = 40, 6, 3
    head = nn.Linear(V, V, bias=False)
    with torch.no_grad():
        head.weight.copy_(torch.eye(V))
    layers = [torch.randint(-4, 5, (P, V)).float() for _ in range(nl)]
    targets = torch.randint(0, V, (P, 2))
    out = decode_layers(layers, norm=None, head=head, targets=targets, topk=3)
    for i in range(nl):
        for p in range(P):
            for j in range(2):
                assert out.ranks[i, p, j] == _hand_rank(layers[i][p], int(targets[p, j]))
                lp = torch.log_softmax(layers[i][p].double(), -1)[targets[p, j]]
                assert out.logprobs[i, p, j] == pytest.approx(float(lp), abs=1e-5)
    # "output" targets: a top logit of the last layer (ties allowed), ranked by hand at every layer
    out = decode_layers(layers, norm=None, head=head, targets="output", topk=1)
    for p in range(P):
        t = int(out.target_ids[p, 0])
        assert layers[-1][p, t] == layers[-1][p].max()
        for i in range(nl):
            assert out.ranks[i, p, 0] == _hand_rank(layers[i][p], t)


@pytest.mark.parametrize("v", [5000, 5000 + 77])
def test_block_top_k_equals_torch_top_k(v):
    """Large vocabularies take the block-maxima top-k path; it must equal torch.topk."""
    torch.manual_seed(1)
    head = nn.Linear(16, v)
    layers = [torch.randn(9, 16) * 4 for _ in range(2)]
    out = decode_layers(layers, norm=None, head=head, targets=None, topk=10, chunk_bytes=v * 4 * 8)
    with torch.no_grad():
        logp = torch.log_softmax(torch.stack([head(h) for h in layers]), -1)
    top = logp.topk(10, -1)
    np.testing.assert_array_equal(out.top_ids, top.indices.numpy())
    np.testing.assert_allclose(out.top_logprobs, top.values.numpy(), atol=1e-5)


def test_layers_come_in_numeric_order():
    lens = tiny_lens("gpt2", 12)
    trace = lens.trace(TEXT, points=POINTS)
    r = rankings(trace)
    assert list(r.layer_names) == layer_names(trace) == ["embed"] + [f"blocks.{i}.resid_post" for i in range(12)]
    for i in (2, 10, 11):  # blocks 1, 9, 10: would be misplaced by a string sort
        logits = lens.readout(trace[f"blocks.{i - 1}.resid_post"]).detach()
        for p in range(trace.n_positions):
            assert r.ranks[i, p] == _hand_rank(logits[p], int(r.token_ids[p]))


@pytest.mark.parametrize("model_type", ["gpt2", "llama"])
def test_middle_layer_equals_final_norm_then_unembedding_by_hand(model_type):
    lens = tiny_lens(model_type)
    trace = _trace(model_type)
    h = trace["blocks.0.resid_post"].double()
    if model_type == "gpt2":
        ln = lens.model.transformer.ln_f
        mu, var = h.mean(-1, keepdim=True), h.var(-1, unbiased=False, keepdim=True)
        normed = (h - mu) / torch.sqrt(var + ln.eps) * ln.weight.double() + ln.bias.double()
        w_u = lens.model.lm_head.weight.double()
    else:
        rms = lens.model.model.norm
        eps = getattr(rms, "variance_epsilon", getattr(rms, "eps", 1e-6))
        normed = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps) * rms.weight.double()
        w_u = lens.model.lm_head.weight.double()
    hand = (normed @ w_u.T).detach()
    assert float((layer_logits(trace, 1).double() - hand).abs().max()) <= 1e-4
    assert float((layer_logits(trace, "blocks.0.resid_post").double() - hand).abs().max()) <= 1e-4
    r = rankings(trace, target="next")
    p = torch.softmax(hand, -1)
    for pos in range(trace.n_positions):
        t = int(r.token_ids[pos])
        assert r.ranks[1, pos] == _hand_rank(hand[pos], t)
        assert r.probs[1, pos] == pytest.approx(float(p[pos, t]), abs=1e-5)
    np.testing.assert_array_equal(r.top_ids[1], p.topk(r.k, -1).indices.numpy())


def test_chunked_equals_unchunked():
    trace = _trace("llama")
    one = rankings(trace, chunk_bytes=1)  # one slab of rows per chunk
    big = rankings(trace, chunk_bytes=2**30)
    np.testing.assert_array_equal(one.ranks, big.ranks)
    np.testing.assert_array_equal(one.probs, big.probs)
    np.testing.assert_array_equal(one.top_ids, big.top_ids)
    a = layer_predictions(trace, chunk_bytes=1)
    b = layer_predictions(trace, chunk_bytes=2**30)
    np.testing.assert_array_equal(a.top_ids, b.top_ids)


# ---- targets, watch, layer predictions ----------------------------------------------------------
def test_targets():
    lens = tiny_lens("gpt2")
    trace = _trace("gpt2")
    ids = trace.token_ids.numpy()
    hf = _hf_logits(lens, trace)
    nxt = rankings(trace, target="next")
    assert nxt.target == "next"
    np.testing.assert_array_equal(nxt.token_ids[:-1], ids[1:])
    assert nxt.token_ids[-1] == int(hf[-1].argmax())
    for p in range(len(ids) - 1):
        assert nxt.ranks[-1, p] == _hand_rank(hf[p], int(ids[p + 1]))
    np.testing.assert_array_equal(rankings(trace, target="input").token_ids, ids)
    given = rankings(trace, target=list(range(len(ids))))
    assert given.target == "given" and given.token_ids.tolist() == list(range(len(ids)))
    # a byte token that decodes to U+FFFD alone reads as its bytes in hex ("<E6 9D>")
    want = [token_alone(lens.tokenizer, i) for i in hf.argmax(-1).tolist()]
    assert rankings(trace).target_tokens == want


def test_rankings_watch_agrees_with_rankings():
    lens = tiny_lens("llama")
    trace = _trace("llama")
    hf = _hf_logits(lens, trace)
    w = rankings_watch(trace, watch=[5, 17, 5], position=3)
    assert w.ranks.shape == (3, 3) and w.position == 3
    assert w.watch_labels == tuple(lens.tokenizer.decode([i]) for i in (5, 17, 5))
    for j, t in enumerate((5, 17)):
        r = rankings(trace, target=[t] * trace.n_positions)
        np.testing.assert_array_equal(w.ranks[:, j], r.ranks[:, 3])
        np.testing.assert_allclose(w.probs[:, j], r.probs[:, 3], atol=1e-6)
    assert w.output_id == int(hf[3].argmax())
    for t, rank in [(w.output_id, w.output_ranks[-1]), (5, w.ranks[-1, 0]), (17, w.ranks[-1, 1])]:
        assert rank == _hand_rank(hf[3], t)  # the last layer, counted on HF's logits
    last = rankings_watch(trace, watch=[5], position=-1)
    assert last.position == trace.n_positions - 1


def test_resolve_watch_words():
    lens = tiny_lens("gpt2")
    tok = lens.tokenizer
    ids, labels, notes = resolve_watch(tok, [" Paris", 7, " the"], lens.readout.d_vocab)
    assert labels == [" Paris", tok.decode([7]), " the"] and ids[1] == 7
    for word, i in ((" Paris", ids[0]), (" the", ids[2])):
        assert i == tok(word, add_special_tokens=False)["input_ids"][0]
    # a word that splits: the first token, and a note that says so
    ids, _, notes = resolve_watch(tok, ["Transformersxyz"], lens.readout.d_vocab)
    pieces = tok("Transformersxyz", add_special_tokens=False)["input_ids"]
    assert len(pieces) > 1 and ids == [pieces[0]]
    assert len(notes) == 1 and "splits into" in notes[0] and "first" in notes[0]
    # a single word or id is accepted as a one-item list
    assert resolve_watch(tok, " Paris", lens.readout.d_vocab)[1] == [" Paris"]


def test_layer_predictions_match_softmax_per_layer():
    lens = tiny_lens("gpt2")
    trace = _trace("gpt2")
    r = layer_predictions(trace, position=-2, topk=4)
    n = trace.n_positions
    assert r.position == n - 2 and r.token_ids.shape == (3, 4) and r.top_ids.shape == (3, n, 4)
    for i, name in enumerate(layer_names(trace)):
        p = torch.softmax(layer_logits(trace, name).double(), -1)
        top = p.topk(4, -1)
        np.testing.assert_array_equal(r.top_ids[i], top.indices.numpy())
        np.testing.assert_allclose(r.top_probs[i], top.values.numpy(), atol=1e-5)
    np.testing.assert_array_equal(r.token_ids, r.top_ids[:, n - 2])
    sub = layer_predictions(trace, layers=[-1, 0, "blocks.0.resid_post"], topk=4)
    assert sub.layer_names == ("embed", "blocks.0.resid_post", "blocks.1.resid_post")
    np.testing.assert_array_equal(sub.top_ids, r.top_ids)
    mid = layer_predictions(trace, layers=[1], topk=4)  # without the last layer: decoded as well
    np.testing.assert_array_equal(mid.top_ids, r.top_ids[1:2])
    assert r.top_tokens()[0] == [token_alone(lens.tokenizer, int(i)) for i in r.token_ids[0]]


def test_generate_trace_marks_generated():
    lens = tiny_lens("gpt2")
    trace = lens.generate("The capital of", max_new_tokens=3)
    r = rankings(trace)
    assert r.generated.tolist() == trace.generated.tolist() and r.generated[-3:].all()
    assert not r.generated[0]
    # greedy generation: the output at position p is the generated token p + 1
    np.testing.assert_array_equal(r.token_ids[-4:-1], trace.token_ids[-3:].numpy())
    assert layer_predictions(trace).generated[-1]


def test_results_are_frozen_and_read_only():
    r = rankings(_trace("gpt2"))
    with pytest.raises(AttributeError):
        r.ranks = None  # type: ignore[misc]
    with pytest.raises(ValueError):
        r.ranks[0, 0] = 7
    bad = dict(r.__dict__)
    bad["probs"] = r.probs[:, :2]
    with pytest.raises(ValueError, match="probs must have shape"):
        type(r)(**bad)


# ---- bad input --------------------------------------------------------------------------------
def test_bad_input_errors():
    lens = tiny_lens("gpt2")
    trace = _trace("gpt2")
    n, v = trace.n_positions, lens.readout.d_vocab
    with pytest.raises(TypeError, match="Trace"):
        rankings("The capital")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="topk"):
        rankings(trace, topk=0)
    with pytest.raises(TypeError, match="topk"):
        rankings(trace, topk=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="target must be"):
        rankings(trace, target="nope")
    with pytest.raises(ValueError, match=r"shape \(\d+,\)"):
        rankings(trace, target=[1, 2])
    with pytest.raises(ValueError, match="lie in"):
        rankings(trace, target=[v] * n)
    with pytest.raises(ValueError, match=f"position={n} is out of range for a text of {n} tokens"):
        rankings_watch(trace, watch=[1], position=n)
    with pytest.raises(ValueError, match="out of range"):
        layer_predictions(trace, position=-n - 1)
    with pytest.raises(TypeError, match="position must be an int"):
        layer_predictions(trace, position=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=f"token id {v} is not in the vocabulary"):
        rankings_watch(trace, watch=[v])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        resolve_watch(lens.tokenizer, [10**9], v)
    with pytest.raises(TypeError, match="token ids"):
        rankings_watch(trace, watch=["Paris"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="watch"):
        resolve_watch(lens.tokenizer, [1.5], v)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="empty"):
        resolve_watch(lens.tokenizer, [""], v)
    with pytest.raises(ValueError, match="out of range: there are 3 layers"):
        layer_predictions(trace, layers=[3])
    with pytest.raises(ValueError, match="not a decoded layer"):
        layer_predictions(trace, layers=["blocks.9.resid_post"])
    with pytest.raises(ValueError, match="residual stream"):
        rankings(lens.trace(TEXT, points=["logits"]))


def test_masked_lm_errors_and_unknown_watch_word():
    lens = tiny_lens("bert")
    trace = _trace("bert")
    with pytest.raises(ValueError, match="target='next' needs a causal LM"):
        rankings(trace, target="next")
    with pytest.raises(ValueError, match="is not in the vocabulary.*unknown token"):
        resolve_watch(lens.tokenizer, ["🙂"], lens.readout.d_vocab)
    with pytest.raises(ValueError, match="is not in the vocabulary"):
        lens.rankings_watch(TEXT, watch=["🙂"])


def test_model_without_unembedding():
    from transformers import BertModel

    model, tok = tiny_model("bert")
    base = lmlens.Lens(BertModel(model.config).eval(), tok)
    assert base.kind == "base"
    for call in (lambda: base.rankings(TEXT), lambda: base.rankings_watch(TEXT, watch=[1]),
                 lambda: base.layer_predictions(TEXT)):
        with pytest.raises(ValueError, match="no.*unembedding|has\\s+none"):
            call()
    with pytest.raises(ValueError, match="unembedding"):
        rankings(base.trace(TEXT))


@pytest.mark.slow
def test_smollm2_and_minilm(smollm2, minilm):
    """The real model: the last layer's ranks of the output and of the next input token equal
    hand counts on HF's logits; 'Paris' after 'France is'. MiniLM is an encoder without an LM
    head: a clear error."""
    trace = smollm2.trace("The capital of France is", points=POINTS)
    with torch.no_grad():
        hf = smollm2.model(trace.token_ids[None]).logits[0].float()
    r = rankings(trace)
    assert r.ranks.shape == (31, r.n_positions)
    np.testing.assert_array_equal(r.token_ids, hf.argmax(-1).numpy())
    nxt = rankings(trace, target="next")
    ids = trace.token_ids.tolist()
    for pos in range(len(ids) - 1):
        assert nxt.ranks[-1, pos] == 1 + int((hf[pos] > hf[pos, ids[pos + 1]]).sum())
        assert r.ranks[-1, pos] == 1 + int((hf[pos] > hf[pos, int(r.token_ids[pos])]).sum())
    lp = layer_predictions(smollm2.trace("The capital of France is", points=POINTS), topk=5)
    assert lp.top_tokens()[-1][0] == " Paris"
    with pytest.raises(ValueError, match="unembedding"):
        minilm.rankings("The capital of France is")

