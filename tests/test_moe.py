"""Optional anatomy parts: a mixture-of-experts model (no single FFN down-projection) loads, traces
and runs the logit lens; FFN sites say at use time what is missing and how to pass it. A model
that gives no attention weights loads too; one whose weights are wrong is still refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from tiny import MOE_TYPES, tiny_model

import lmlens
from lmlens.analyses.logit_lens import POINTS, rankings
from lmlens.anatomy import MissingPart

TEXT = "The capital of France is Paris."


@pytest.fixture(scope="module", params=MOE_TYPES)
def moe(request):
    model, tok = tiny_model(request.param)
    return lmlens.Lens(model, tok)


def test_moe_loads_traces_and_runs_the_logit_lens(moe):
    a = moe.anatomy
    assert a.mlp_down is None and a.mlp_out == "mlp"
    assert dict(a.missing)["mlp_down"].startswith("block 0 routes tokens to experts")
    trace = moe.trace(TEXT)  # points=None: every default site the model has
    assert "blocks.0.mlp.post" not in trace.names
    assert {"embed", "blocks.1.resid_post", "blocks.1.attn.pattern", "logits"} <= set(trace.names)
    with torch.no_grad():
        hf = moe.model(trace.token_ids[None]).logits[0]
    r = rankings(moe.trace(TEXT, points=POINTS[:2]))  # decoded from the last block, not copied
    np.testing.assert_array_equal(r.token_ids, hf.argmax(-1).numpy())
    np.testing.assert_allclose(r.probs[-1], torch.softmax(hf.double(), -1).max(-1).values.numpy(), atol=1e-5)
    assert moe.rankings(TEXT).result.ranks.shape == (3, trace.n_positions)


def test_ffn_site_says_what_is_missing_and_how_to_pass_it(moe):
    with pytest.raises(ValueError, match=r"'blocks\.\*\.mlp\.post' cannot be captured: .*anatomy\.mlp_down "
                                         r"\(the FFN down-projection\).*experts.*dataclasses\.replace"):
        moe.trace(TEXT, points="blocks.*.mlp.post")
    with pytest.raises(MissingPart, match="anatomy.mlp_down"):
        lmlens.capture.record(moe.model, moe.anatomy, moe.tokenize(TEXT), ["blocks.0.mlp.post"])
    with pytest.raises(MissingPart, match="anatomy.mlp_down"):
        moe.anatomy.mlp_down_module(moe.model, 0)


def test_moe_block_output_is_mlp_out(moe):
    """mlp.out is the experts block's output: the residual after block 0 is its input plus the
    attention output plus mlp.out (computed by the model, summed here)."""
    t = moe.trace(TEXT, points=["embed", "blocks.0.attn.out", "blocks.0.mlp.out", "blocks.0.resid_post"])
    torch.testing.assert_close(t["embed"] + t["blocks.0.attn.out"] + t["blocks.0.mlp.out"],
                               t["blocks.0.resid_post"], atol=1e-5, rtol=1e-5)


def test_passing_a_dense_down_projection_by_hand():
    model, tok = tiny_model("qwen2_moe")
    lens = lmlens.Lens(model, tok, anatomy=dataclasses.replace(
        lmlens.anatomy.discover(model), mlp_down="mlp.shared_expert.down_proj"))
    t = lens.trace(TEXT, points="blocks.0.mlp.post")
    shared = model.model.layers[0].mlp.shared_expert
    seen = {}
    h = shared.down_proj.register_forward_hook(lambda m, a, o: seen.setdefault("out", o.detach()))
    try:
        with torch.no_grad():
            model(lens.tokenize(TEXT)[None])
    finally:
        h.remove()
    assert t["blocks.0.mlp.post"].shape == (t.n_positions, 48)  # the block sees tokens flattened
    torch.testing.assert_close(shared.down_proj(t["blocks.0.mlp.post"]), seen["out"].reshape(t.n_positions, 32))


def _replace_weights(model, fn):
    def hook(mod, args, out):
        return (out[0], fn(out[1]), *out[2:])
    return [layer.self_attn.register_forward_hook(hook) for layer in model.model.layers]


def test_model_without_attention_weights_loads_and_says_so():
    model, tok = tiny_model("llama")
    handles = _replace_weights(model, lambda w: None)  # like an attention kernel that returns none
    try:
        lens = lmlens.Lens(model, tok)  # the self-check does not require patterns
        assert "blocks.0.attn.pattern" not in lens.trace(TEXT).names
        with pytest.raises(ValueError, match="returns no attention weights"):
            lens.trace(TEXT, points="blocks.0.attn.pattern")
    finally:
        for h in handles:
            h.remove()


def test_model_with_wrong_attention_weights_is_still_refused():
    model, tok = tiny_model("llama")
    handles = _replace_weights(model, lambda w: w * 2)
    try:
        with pytest.raises(ValueError, match="attention rows of layer 0 do not sum to 1"):
            lmlens.Lens(model, tok)
    finally:
        for h in handles:
            h.remove()
