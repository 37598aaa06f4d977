"""Batched capture: per-text traces from padded batches equal single-text traces (≤ 1e-5), with
left and right padding, on causal and masked tiny models; order, budget, errors, state."""

from __future__ import annotations

import pytest
import torch
from tiny import tiny_lens

import lmlens
from lmlens.capture import iter_batches, record_batch
from lmlens.capture.batch import needs_position_ids, pad, position_ids

TEXTS = [
    "The capital of France is Paris.",
    "Hello",
    "The quick brown fox jumps over the lazy dog, and the dog sleeps.",
    "東京は日本の首都です。",
    "Transformers read tokens",
]


def _same(batched, single):
    assert batched.token_ids.tolist() == single.token_ids.tolist()
    assert batched.tokens == single.tokens and batched.names == single.names
    for name in single.names:
        a, b = batched[name], single[name]
        assert a.shape == b.shape, name
        assert float((a - b).abs().max()) <= 1e-5, name


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("model_type", ["gpt2", "llama", "bert", "roberta", "qwen2_moe"])
def test_batched_traces_equal_single_traces(model_type, side):
    lens = tiny_lens(model_type)
    points = lens.point_names  # every site: patterns, values, logits included
    batched = lens.trace_batch(TEXTS, batch_size=2, points=points, padding_side=side)
    assert len(batched) == len(TEXTS)
    for text, b in zip(TEXTS, batched, strict=True):
        single = lens.trace(text, points=points)
        _same(b, single)
        n = single.n_positions
        assert b["blocks.1.attn.pattern"].shape == (4, n, n)  # no padding positions
        torch.testing.assert_close(b["blocks.1.attn.pattern"].sum(-1), torch.ones(4, n))


def test_left_padding_positions_on_causal_models():
    """HF counts GPT-2's (absolute, learned) positions from the first column: left-padded without
    position_ids the output changes; trace_batch passes positions counted over real tokens. Llama's
    rotary positions are relative, so a shift changes nothing; either way the result must match."""
    for model_type in ("gpt2", "llama"):
        lens = tiny_lens(model_type)
        ids = [lens.tokenize(t) for t in TEXTS[:2]]
        n = len(ids[1])
        batch, mask = pad(ids, 0, "left")
        assert position_ids(mask)[1].tolist() == [0] * (len(ids[0]) - n) + list(range(n))
        with torch.no_grad():
            ref = lens.model(ids[1][None]).logits[0]
            naive = lens.model(batch, attention_mask=mask).logits[1, -n:]
        if model_type == "gpt2":
            assert float((naive - ref).abs().max()) > 1e-2  # wrong positions change the output
            assert needs_position_ids(lens.model, lens.anatomy, "left", 0)
        assert not needs_position_ids(lens.model, lens.anatomy, "right", 0)
        got = lens.trace_batch(TEXTS[:2], padding_side="left", points="logits")[1]["logits"]
        assert float((got - ref).abs().max()) <= 1e-5


def test_input_order_ids_and_generated_mask():
    lens = tiny_lens("gpt2")
    ids = lens.tokenize(TEXTS[0])
    out = lens.trace_batch([TEXTS[1], ids, TEXTS[2]], batch_size=1, points="blocks.0.resid_post")
    assert [t.n_positions for t in out] == [len(lens.tokenize(TEXTS[1])), len(ids), len(lens.tokenize(TEXTS[2]))]
    assert out[1].token_ids.tolist() == ids.tolist() and not out[1].generated.any()


def test_record_batch_streams_nothing_padded():
    lens = tiny_lens("llama")
    seqs = [lens.tokenize(t) for t in TEXTS]
    got = record_batch(lens.model, lens.anatomy, seqs, ["blocks.0.mlp.post"], pad_id=0, batch_size=3)
    assert [g["blocks.0.mlp.post"].shape[0] for g in got] == [len(s) for s in seqs]
    assert all(g["blocks.0.mlp.post"].is_contiguous() for g in got)


def test_iter_batches_streams_longest_first_and_checks_at_call_time():
    lens = tiny_lens("gpt2")
    seqs = [lens.tokenize(t) for t in TEXTS]
    with pytest.raises(ValueError, match="max_bytes"):  # raised by the call, not the first next()
        iter_batches(lens.model, lens.anatomy, seqs, ["blocks.0.resid_post"], pad_id=0, max_bytes=10)
    batches = list(iter_batches(lens.model, lens.anatomy, seqs, ["blocks.0.resid_post"], pad_id=0, batch_size=2))
    order = [i for b in batches for i, _ in b]
    assert sorted(order) == list(range(len(TEXTS))) and [len(b) for b in batches] == [2, 2, 1]
    assert [len(seqs[i]) for i in order] == sorted((len(s) for s in seqs), reverse=True)
    for b in batches:
        for i, tensors in b:
            single = lens.trace(seqs[i], points="blocks.0.resid_post")["blocks.0.resid_post"]
            assert float((tensors["blocks.0.resid_post"] - single).abs().max()) <= 1e-5


def test_progress_bar_for_many_batches(capsys):
    lens = tiny_lens("gpt2")
    lens.trace_batch(TEXTS, batch_size=1, points="embed", progress=True)
    assert "capture" in capsys.readouterr().err
    lens.trace_batch(TEXTS, batch_size=1, points="embed", progress=False)
    assert "capture" not in capsys.readouterr().err


def test_budget_refuses_before_any_forward_and_bad_inputs():
    lens = tiny_lens("gpt2")
    calls = []
    h = lens.model.register_forward_pre_hook(lambda m, a: calls.append(1))
    try:
        with pytest.raises(ValueError, match="max_bytes"):
            lens.trace_batch(TEXTS, batch_size=2, max_bytes=10_000)
        assert calls == []
        with pytest.raises(ValueError, match="batch_size"):
            lens.trace_batch(TEXTS, batch_size=0)
        with pytest.raises(ValueError, match="padding_side"):
            lens.trace_batch(TEXTS, padding_side="middle")
        with pytest.raises(TypeError, match="texts must be a list"):
            lens.trace_batch("one text")
        with pytest.raises(ValueError, match="no texts"):
            lens.trace_batch([])
        with pytest.raises(ValueError, match=r"texts\[1\]: text must be a non-empty"):
            lens.trace_batch(["ok", "  "])
        assert calls == []
    finally:
        h.remove()


def test_state_restored_when_a_batch_fails(fresh_gpt2):
    model, tok = fresh_gpt2
    lens = lmlens.Lens(model, tok)
    model.train()
    base = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
    seen = []

    def boom(mod, args):
        seen.append(1)
        if len(seen) == 2:
            raise RuntimeError("boom")

    h = model.transformer.h[1].register_forward_pre_hook(boom)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            lens.trace_batch(TEXTS, batch_size=2)
    finally:
        h.remove()
    assert sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules()) == base
    assert model.training and model.config._attn_implementation == "eager"


def test_model_that_cannot_be_left_padded_is_refused_clearly():
    """This LUKE counts positions over ids unequal to its config's pad id (1), not the tokenizer's
    [PAD] (0), and offsets explicit position_ids: the probe finds that neither way reproduces an
    unpadded forward, so left padding is refused before any batch runs; right padding works."""
    lens = tiny_lens("luke")
    with pytest.raises(ValueError, match="padding_side='left'.*use padding_side='right'"):
        lens.trace_batch(TEXTS[:2], padding_side="left", points="blocks.1.resid_post")
    _same(lens.trace_batch(TEXTS[:2], points="blocks.1.resid_post")[1],
          lens.trace(TEXTS[1], points="blocks.1.resid_post"))
