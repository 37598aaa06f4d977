"""Capture: golden names, values against HF's own outputs, hooks always removed, clear errors."""

import numpy as np
import pytest
import torch
from tiny import tiny_lens, tiny_model

import lmlens
from lmlens import names as N

GOLDEN_2_LAYERS = [
    "embed",
    "blocks.0.attn.pattern", "blocks.0.mlp.post", "blocks.0.resid_post",
    "blocks.1.attn.pattern", "blocks.1.mlp.post", "blocks.1.resid_post",
    "logits",
]
ALL_2_LAYERS = [
    "embed",
    "blocks.0.attn.v", "blocks.0.attn.pattern", "blocks.0.attn.out", "blocks.0.mlp.post",
    "blocks.0.mlp.out", "blocks.0.resid_post",
    "blocks.1.attn.v", "blocks.1.attn.pattern", "blocks.1.attn.out", "blocks.1.mlp.post",
    "blocks.1.mlp.out", "blocks.1.resid_post",
    "logits",
]


def _n_hooks(model):
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


@pytest.mark.parametrize("model_type", ["gpt2", "llama"])
def test_golden_point_names(model_type):
    lens = tiny_lens(model_type)
    trace = lens.trace("The capital of France is")
    assert trace.names == GOLDEN_2_LAYERS  # points=None: the default sites
    assert lens.point_names == ALL_2_LAYERS  # every site, in forward order
    n = trace.n_positions
    assert trace["embed"].shape == (n, 32)
    assert trace["blocks.1.attn.pattern"].shape == (4, n, n)
    assert trace["blocks.0.mlp.post"].shape == (n, 64)
    assert trace["logits"].shape == (n, len(lens.tokenizer))


@pytest.mark.parametrize("model_type", ["gpt2", "llama", "bert", "gpt_neox"])
def test_values_equal_hf_outputs(model_type):
    lens = tiny_lens(model_type)
    text = "The capital of France is Paris."
    trace = lens.trace(text)
    ids = lens.tokenize(text)[None]
    with torch.no_grad():
        out = lens.model(input_ids=ids, output_hidden_states=True, output_attentions=True)
    hs = out.hidden_states
    torch.testing.assert_close(trace["embed"], hs[0][0])
    torch.testing.assert_close(trace["blocks.0.resid_post"], hs[1][0])
    last = trace["blocks.1.resid_post"]
    if lens.anatomy.final_norm is not None:  # HF's last hidden state is already normed
        with torch.no_grad():
            torch.testing.assert_close(trace.readout.normed(last), hs[2][0])
    else:
        torch.testing.assert_close(last, hs[2][0])
    for i in range(2):
        torch.testing.assert_close(trace[N.pattern(i)], out.attentions[i][0])
    torch.testing.assert_close(trace["logits"], out.logits[0])


def test_mlp_post_is_the_down_projection_input():
    lens = tiny_lens("llama")
    seen = {}
    mlp = lens.model.model.layers[1].mlp
    h = mlp.register_forward_hook(lambda m, a, o: seen.setdefault("out", o.detach()[0]))
    try:
        trace = lens.trace("The capital of France is", points="blocks.1.mlp.post")
    finally:
        h.remove()
    with torch.no_grad():
        torch.testing.assert_close(mlp.down_proj(trace["blocks.1.mlp.post"]), seen["out"])


def test_hooks_removed_and_state_restored_on_success_and_errors(fresh_gpt2):
    model, tok = fresh_gpt2
    model.train()
    model.transformer.h[0].attn.c_attn.weight.requires_grad_(False)
    flags = [p.requires_grad for p in model.parameters()]
    lens = lmlens.Lens(model, tok)
    base = _n_hooks(model)
    lens.trace("hello world")
    assert _n_hooks(model) == base and model.training
    with pytest.raises(ValueError, match="points"):
        lens.trace("hello world", points=["blocks.7.resid_post"])
    assert _n_hooks(model) == base

    def boom(mod, args):
        raise RuntimeError("boom")

    h = model.transformer.h[1].register_forward_pre_hook(boom)
    with pytest.raises(RuntimeError, match="boom"):
        lens.trace("hello world")
    h.remove()
    assert _n_hooks(model) == base
    assert model.training
    assert [p.requires_grad for p in model.parameters()] == flags
    assert model.config._attn_implementation == "eager"


def test_attention_switches_to_eager_and_back():
    model, tok = tiny_model("llama")
    model.set_attn_implementation("sdpa")
    lens = lmlens.Lens(model, tok)
    trace = lens.trace("The capital", points="blocks.*.attn.pattern")
    p = trace["blocks.0.attn.pattern"]
    torch.testing.assert_close(p.sum(-1), torch.ones(p.shape[:-1]))
    assert torch.all(torch.triu(p, diagonal=1) == 0)  # causal
    assert model.config._attn_implementation == "sdpa"


def test_budget_refuses_before_running(gpt2_lens):
    with pytest.raises(ValueError, match=r"max_bytes: .*float16.*shorter text"):
        gpt2_lens.trace("The capital of France is", max_bytes=1000)
    small = gpt2_lens.trace("The capital", points="blocks.*.resid_post", dtype=torch.float16)
    assert small["blocks.0.resid_post"].dtype == torch.float16
    assert small.nbytes() == 2 * small.n_positions * 32 * 2


def test_bad_inputs(gpt2_lens):
    with pytest.raises(ValueError, match="non-empty"):
        gpt2_lens.trace("   ")
    with pytest.raises(ValueError, match="more than the model's 128 positions"):
        gpt2_lens.trace("word " * 300)
    with pytest.raises(ValueError, match="empty"):
        gpt2_lens.trace([])
    with pytest.raises(TypeError, match="text_or_ids must be"):
        gpt2_lens.trace(3.5)
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, "):
        gpt2_lens.trace([1, 2, 10**6])
    with pytest.raises(KeyError, match="was not captured"):
        gpt2_lens.trace("hi", points="embed")["logits"]


def test_ids_and_text_give_the_same_trace(gpt2_lens):
    a = gpt2_lens.trace("The capital of France")
    b = gpt2_lens.trace(a.token_ids.tolist())
    c = gpt2_lens.trace(a.token_ids)
    for name in a.names:
        torch.testing.assert_close(a[name], b[name])
        torch.testing.assert_close(a[name], c[name])


def test_generate_matches_hf_greedy(gpt2_lens):
    prompt = "The capital of France is"
    trace = gpt2_lens.generate(prompt, max_new_tokens=4)
    ids = gpt2_lens.tokenize(prompt)
    with torch.no_grad():
        ref = gpt2_lens.model.generate(ids[None], attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                       max_new_tokens=4, do_sample=False, pad_token_id=0)[0]
    assert trace.token_ids.tolist() == ref.tolist()
    assert trace.generated.tolist() == [False] * len(ids) + [True] * 4
    assert trace.n_prompt == len(ids)
    # the trace covers prompt + generated: its logits predict each generated token greedily
    pred = trace["logits"][len(ids) - 1:-1].argmax(-1)
    assert pred.tolist() == trace.token_ids[len(ids):].tolist()
    with pytest.raises(ValueError, match="max_new_tokens"):
        gpt2_lens.generate(prompt, max_new_tokens=0)
    with pytest.raises(ValueError, match="causal"):
        tiny_lens("bert").generate(prompt)


def test_display_tokens_read_like_the_text():
    gpt2 = tiny_lens("gpt2")
    for text in ["The capital of France is Paris.", "東京は日本の首都です。", "<b>&amp;</b> \"q\""]:
        t = gpt2.trace(text, points="embed")
        assert "".join(t.tokens) == text
        assert len(t.pieces) == t.n_positions and t.word_starts[0]
    bert = tiny_lens("bert")
    t = bert.trace("The capital of France", points="embed")
    assert t.tokens[0] == "[CLS]" and t.tokens[-1] == " [SEP]"
    assert "".join(t.tokens[1:-1]).strip() == "The capital of France"
    assert isinstance(t.word_starts, np.ndarray) and t.word_starts.dtype == bool


def test_sdpa_used_when_no_patterns_are_captured():
    model, tok = tiny_model("llama")
    lens = lmlens.Lens(model, tok)
    seen = []
    h = model.model.layers[0].register_forward_pre_hook(
        lambda m, a: seen.append(model.config._attn_implementation))
    try:
        fast = lens.trace("The capital of France", points="blocks.*.resid_post")
        slow = lens.trace("The capital of France")
    finally:
        h.remove()
    assert seen == ["sdpa", "eager"] and model.config._attn_implementation == "eager"
    torch.testing.assert_close(fast["blocks.1.resid_post"], slow["blocks.1.resid_post"], atol=1e-5, rtol=1e-5)


def test_generate_checks_the_position_limit_before_generating(gpt2_lens, monkeypatch):
    calls = []
    monkeypatch.setattr(gpt2_lens.model, "generate", lambda *a, **k: calls.append(1))
    n = len(gpt2_lens.tokenize("The capital of France is"))
    with pytest.raises(ValueError, match=rf"max_new_tokens: the prompt has {n} tokens.*128 positions.*<= {128 - n}"):
        gpt2_lens.generate("The capital of France is", max_new_tokens=129 - n)
    assert calls == []


def test_budget_counts_what_the_forward_returns():
    """openai-gpt returns attention weights only with output_attentions=True, and then for every
    layer: asking for one layer's pattern must budget all of them (as HF returns them), plus the
    logits it computes (the last row only). GPT-2's attention modules return their weights: only
    the one layer's is held."""
    lens = tiny_lens("openai-gpt")
    ids = lens.tokenize("The capital of France is Paris.")
    with torch.no_grad():
        out = lens.model(ids[None], output_attentions=True, logits_to_keep=1)
    held = sum(a.numel() * a.element_size() for a in out.attentions) + out.logits.numel() * 4
    with pytest.raises(ValueError, match="max_bytes"):
        lens.trace(ids, points="blocks.0.attn.pattern", max_bytes=held - 1)
    lens.trace(ids, points="blocks.0.attn.pattern", max_bytes=held)

    gpt2 = tiny_lens("gpt2")
    ids = gpt2.tokenize("The capital of France is Paris.")
    with torch.no_grad():
        out = gpt2.model(ids[None], output_attentions=True, logits_to_keep=1)
    one = out.attentions[0].numel() * 4 + out.logits.numel() * 4
    assert one < held  # one layer of weights, not two
    gpt2.trace(ids, points="blocks.0.attn.pattern", max_bytes=one)
    with pytest.raises(ValueError, match="max_bytes"):
        gpt2.trace(ids, points="blocks.0.attn.pattern", max_bytes=one - 1)


def test_patterns_in_float16_as_they_arrive(gpt2_lens):
    t = gpt2_lens.trace("The capital of France is", points="blocks.*.attn.pattern", dtype=torch.float16)
    with torch.no_grad():
        ref = gpt2_lens.model(t.token_ids[None], output_attentions=True).attentions
    for i in range(2):
        assert t[N.pattern(i)].dtype == torch.float16
        torch.testing.assert_close(t[N.pattern(i)].float(), ref[i][0], atol=1e-3, rtol=1e-3)


def test_encoder_without_head_names_its_points_and_the_missing_head():
    import transformers as T
    from tiny import wordpiece_tokenizer

    tok = wordpiece_tokenizer()
    torch.manual_seed(0)
    model = T.BertModel(T.BertConfig(num_hidden_layers=6, hidden_size=16, num_attention_heads=2,
                                     intermediate_size=32, vocab_size=len(tok),
                                     attn_implementation="eager")).eval()
    lens = lmlens.Lens(model, tok)
    with pytest.raises(ValueError) as e:
        lens.trace("The capital", points="logits")
    assert "needs an LM head" in str(e.value) and "kind='base'" in str(e.value)
    with pytest.raises(ValueError) as e:
        lens.trace("The capital", points="blocks.6.resid_post")
    assert "'blocks.0..5.{attn.v,attn.pattern,attn.out,mlp.post,mlp.out,resid_post}'" in str(e.value)
