"""The capture-site table: new sites (attn.v, attn.out, mlp.out) against hand computations from
the model's own weights, for GPT-2 (Conv1D, fused q|k|v), Llama (grouped-query heads), GPT-NeoX
(fused per head) and BERT (post-norm); a wrong value layout is caught at load."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from tiny import tiny_lens, tiny_model

import lmlens
from lmlens import names as N

TEXT = "The capital of France is Paris."
NEW = ["blocks.*.attn.v", "blocks.*.attn.out", "blocks.*.mlp.out"]


def _hf_attentions(lens, ids):
    with torch.no_grad():
        return [a[0] for a in lens.model(ids[None], output_attentions=True).attentions]


def _merge(ctx: torch.Tensor) -> torch.Tensor:  # (heads, n, d_head) -> (n, heads * d_head)
    return ctx.transpose(0, 1).reshape(ctx.shape[1], -1)


def test_new_sites_are_rows_of_the_table_and_opt_in():
    keys = [s.key for s in N.SITES]
    assert keys == ["embed", "attn.v", "attn.pattern", "attn.out", "mlp.post", "mlp.out", "resid_post", "logits"]
    assert N.site("blocks.4.attn.v").shape == ("n_heads", "n_positions", "d_head")
    assert N.site("blocks.4.attn.pattern").position_axes == (1, 2)
    lens = tiny_lens("gpt2")
    assert not any(n.endswith(("attn.v", "attn.out", "mlp.out")) for n in lens.trace(TEXT).names)
    t = lens.trace(TEXT, points=NEW)
    assert t.names == ["blocks.0.attn.v", "blocks.0.attn.out", "blocks.0.mlp.out",
                       "blocks.1.attn.v", "blocks.1.attn.out", "blocks.1.mlp.out"]


def test_gpt2_conv1d_by_hand():
    """Every site of block 0 recomputed from GPT-2's Conv1D weights (x @ W + b, W stored (in, out)),
    the pattern included (causal softmax of q·k / sqrt(d_head))."""
    lens = tiny_lens("gpt2")
    t = lens.trace(TEXT, points=["embed", "blocks.0.*"])
    blk = lens.model.transformer.h[0]
    h, d = 4, 32
    dh = d // h
    x = t["embed"]
    n = x.shape[0]
    with torch.no_grad():
        qkv = blk.ln_1(x) @ blk.attn.c_attn.weight + blk.attn.c_attn.bias
        q, k, v = (qkv[:, i * d:(i + 1) * d].view(n, h, dh).transpose(0, 1) for i in range(3))
        scores = q @ k.transpose(1, 2) / math.sqrt(dh)
        scores = scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), float("-inf"))
        pattern = scores.softmax(-1)
        attn_out = _merge(pattern @ v) @ blk.attn.c_proj.weight + blk.attn.c_proj.bias
        mid = x + attn_out
        post = F.gelu(blk.ln_2(mid) @ blk.mlp.c_fc.weight + blk.mlp.c_fc.bias, approximate="tanh")
        mlp_out = post @ blk.mlp.c_proj.weight + blk.mlp.c_proj.bias
    tol = dict(atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(t["blocks.0.attn.v"], v, **tol)
    torch.testing.assert_close(t["blocks.0.attn.pattern"], pattern, **tol)
    torch.testing.assert_close(t["blocks.0.attn.out"], attn_out, **tol)
    torch.testing.assert_close(t["blocks.0.mlp.post"], post, **tol)
    torch.testing.assert_close(t["blocks.0.mlp.out"], mlp_out, **tol)
    torch.testing.assert_close(t["blocks.0.resid_post"], mid + mlp_out, **tol)


@pytest.mark.parametrize("layer", [0, 1])
def test_llama_grouped_query_values_by_hand(layer):
    """Llama: 4 query heads share 2 key-value heads; query head h reads kv head h // 2."""
    lens = tiny_lens("llama")
    ids = lens.tokenize(TEXT)
    prev = "embed" if layer == 0 else f"blocks.{layer - 1}.resid_post"
    t = lens.trace(ids, points=[prev, f"blocks.{layer}.*"])
    blk = lens.model.model.layers[layer]
    x = t[prev]
    n = x.shape[0]
    with torch.no_grad():
        v_kv = (blk.input_layernorm(x) @ blk.self_attn.v_proj.weight.T).view(n, 2, 8)  # 2 kv heads
        v = torch.stack([v_kv[:, hh // 2] for hh in range(4)])  # (4, n, 8)
        pattern = _hf_attentions(lens, ids)[layer]
        attn_out = _merge(pattern @ v) @ blk.self_attn.o_proj.weight.T
        mid = x + attn_out
        normed = blk.post_attention_layernorm(mid)
        post = F.silu(normed @ blk.mlp.gate_proj.weight.T) * (normed @ blk.mlp.up_proj.weight.T)
        mlp_out = post @ blk.mlp.down_proj.weight.T
    tol = dict(atol=1e-5, rtol=1e-5)
    v_got = t[f"blocks.{layer}.attn.v"]
    assert v_got.shape == (4, n, 8)
    torch.testing.assert_close(v_got, v, **tol)
    torch.testing.assert_close(v_got[0], v_got[1])  # heads 0 and 1 share kv head 0
    assert not torch.allclose(v_got[1], v_got[2])
    torch.testing.assert_close(t[f"blocks.{layer}.attn.out"], attn_out, **tol)
    torch.testing.assert_close(t[f"blocks.{layer}.mlp.post"], post, **tol)
    torch.testing.assert_close(t[f"blocks.{layer}.mlp.out"], mlp_out, **tol)
    torch.testing.assert_close(t[f"blocks.{layer}.resid_post"], mid + mlp_out, **tol)


def test_gpt_neox_fused_per_head_values_by_hand():
    """GPT-NeoX fuses q, k, v per head: the fused output is (n, heads, 3 * d_head)."""
    lens = tiny_lens("gpt_neox")
    ids = lens.tokenize(TEXT)
    t = lens.trace(ids, points=["embed", "blocks.0.attn.v", "blocks.0.attn.out", "blocks.0.mlp.out"])
    blk = lens.model.gpt_neox.layers[0]
    x = t["embed"]
    n = x.shape[0]
    with torch.no_grad():
        qkv = blk.attention.query_key_value(blk.input_layernorm(x)).view(n, 4, 3 * 8)
        v = qkv[..., 16:].transpose(0, 1)
        attn_out = blk.attention.dense(_merge(_hf_attentions(lens, ids)[0] @ v))
        # parallel residual: block 0's MLP reads the block input (post_attention_layernorm of x)
        mlp_out = blk.mlp(blk.post_attention_layernorm(x))
    torch.testing.assert_close(t["blocks.0.attn.v"], v, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(t["blocks.0.attn.out"], attn_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(t["blocks.0.mlp.out"], mlp_out, atol=1e-5, rtol=1e-5)


def test_bert_post_norm_sites_by_hand():
    """BERT adds the residual and normalises after the output projections: attn.out and mlp.out
    are the projections' outputs, before that."""
    lens = tiny_lens("bert")
    ids = lens.tokenize(TEXT)
    t = lens.trace(ids, points=["embed", "blocks.0.*"])
    blk = lens.model.bert.encoder.layer[0]
    x = t["embed"]
    n = x.shape[0]
    with torch.no_grad():
        v = (x @ blk.attention.self.value.weight.T + blk.attention.self.value.bias).view(n, 4, 8).transpose(0, 1)
        attn_out = _merge(_hf_attentions(lens, ids)[0] @ v) @ blk.attention.output.dense.weight.T \
            + blk.attention.output.dense.bias
        mid = blk.attention.output.LayerNorm(x + attn_out)
        mlp_out = t["blocks.0.mlp.post"] @ blk.output.dense.weight.T + blk.output.dense.bias
        resid = blk.output.LayerNorm(mid + mlp_out)
    torch.testing.assert_close(t["blocks.0.attn.v"], v, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(t["blocks.0.attn.out"], attn_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(t["blocks.0.mlp.out"], mlp_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(t["blocks.0.resid_post"], resid, atol=1e-5, rtol=1e-5)


def test_wrong_value_layout_is_dropped_at_load_with_a_reason():
    model, tok = tiny_model("gpt_neox")
    wrong = dataclasses.replace(lmlens.anatomy.discover(model), attn_v_layout="qkv")
    with pytest.warns(UserWarning, match="could not reproduce the attention output"):
        lens = lmlens.Lens(model, tok, anatomy=wrong)
    assert lens.anatomy.attn_v is None and "blocks.0.attn.v" not in lens.point_names
    with pytest.raises(ValueError, match=r"anatomy\.attn_v .*could not reproduce"):
        lens.trace(TEXT, points="blocks.0.attn.v")
    assert lens.trace(TEXT)["blocks.1.resid_post"].shape[-1] == 32  # the rest still works
