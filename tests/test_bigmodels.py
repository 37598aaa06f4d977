"""Models bigger than one device (issue 14): accelerate's ``device_map`` with CPU/disk offload,
half precision, the device checks at load. The references are the same model run plainly
(float32, no accelerate hooks) and Hugging Face's own ``hidden_states`` and logits.

GPU paths (a model on cuda, blocks split over cuda:0 and the CPU) are checked by
``bench/gpu_check.py`` where a GPU exists; this machine has none.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch
from accelerate import cpu_offload, disk_offload, dispatch_model
from tiny import tiny_model

import lmlens
from lmlens.anatomy import discover
from lmlens.capture.budget import check_device_budget
from lmlens.capture.devices import (
    execution_device,
    free_memory,
    is_dispatched,
    materialized,
    to_host,
)

TEXT = "The capital of France is Paris. The capital of Japan is Tokyo."

#: bfloat16 keeps 8 significant bits (relative step 2**-8 ≈ 0.004 per activation); over two
#: tiny blocks, a norm and the unembedding, log-probabilities move by well under this.
BF16_LOGPROB_ATOL = 0.05
#: attribution norms (each row sums to 1) of a bfloat16 run vs the float32 run
BF16_NORMS_ATOL = 0.02


def hook_state(model: torch.nn.Module) -> list[tuple]:
    """Per module: its torch hook ids (ours and transformers'), accelerate's hook object and the
    ``forward`` accelerate installed; equal before and after means nothing was left or touched."""
    return [
        (name, tuple(m._forward_hooks), tuple(m._forward_pre_hooks), tuple(m._backward_hooks),
         id(getattr(m, "_hf_hook", None)), id(m.__dict__.get("forward")))
        for name, m in model.named_modules()
    ]


def hf_logprobs(model, ids: torch.Tensor) -> torch.Tensor:
    """``(n_layers + 1, n_positions, d_vocab)`` log-probabilities of each HF hidden state decoded
    through the model's own final norm and head, in float32 (the last state is already normed)."""
    with torch.no_grad():
        out = model(input_ids=ids[None], output_hidden_states=True)
        hs = out.hidden_states
        norm, head = model.model.norm.float(), model.lm_head.float()
        rows = [head(norm(h[0].float())) for h in hs[:-1]] + [out.logits[0].float()]
    return torch.log_softmax(torch.stack(rows), -1)


# ---- tiny models under accelerate's hooks -------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory):
    """``(plain lens, lens over the same weights with every module offloaded to disk)``."""
    model, tok = tiny_model("llama")
    off = disk_offload(copy.deepcopy(model), str(tmp_path_factory.mktemp("offload")))
    return lmlens.Lens(model, tok), lmlens.Lens(off, tok)


def test_disk_offloaded_tiny_model_traces_and_decodes_like_the_plain_one(tiny_pair):
    plain, off = tiny_pair
    assert is_dispatched(off.model) and not is_dispatched(plain.model)
    assert off.model.lm_head.weight.device.type == "meta"  # really offloaded: no weights between calls
    before = hook_state(off.model)
    a, b = plain.trace(TEXT), off.trace(TEXT)
    assert a.names == b.names
    for name in a.names:
        assert b[name].device.type == "cpu"
        torch.testing.assert_close(b[name], a[name], atol=1e-5, rtol=1e-5)
    ra, rb = plain.rankings(TEXT).result, off.rankings(TEXT).result
    np.testing.assert_array_equal(rb.ranks, ra.ranks)
    np.testing.assert_allclose(rb.probs, ra.probs, atol=1e-6)
    pa, pb = plain.layer_predictions(TEXT).result, off.layer_predictions(TEXT).result
    np.testing.assert_array_equal(pb.token_ids, pa.token_ids)
    # the offloaded unembedding and down-projections are loaded for the decode only
    na, nb = plain.neuron_tokens(1, 3, k=5), off.neuron_tokens(1, 3, k=5)
    np.testing.assert_array_equal(nb.top_ids, na.top_ids)
    np.testing.assert_allclose(nb.top_logits, na.top_logits, atol=1e-5)
    assert hook_state(off.model) == before
    assert off.model.lm_head.weight.device.type == "meta"


def test_cpu_offloaded_model_attribution_and_generate_match(tiny_pair):
    plain, _ = tiny_pair
    model = cpu_offload(copy.deepcopy(plain.model), execution_device="cpu")
    off = lmlens.Lens(model, plain.tokenizer)
    before = hook_state(model)
    flags = {n: p.requires_grad for n, p in model.named_parameters()}
    for method in ("saliency", "input_x_gradient", "deeplift"):
        a = plain.attribution(TEXT, method=method, target=" Tokyo.").result
        b = off.attribution(TEXT, method=method, target=" Tokyo.").result
        np.testing.assert_allclose(b.scores, a.scores, atol=1e-5, rtol=1e-4)
    ga = plain.generate("The capital of", max_new_tokens=4)
    gb = off.generate("The capital of", max_new_tokens=4)
    assert gb.token_ids.tolist() == ga.token_ids.tolist()
    assert hook_state(model) == before
    assert {n: p.requires_grad for n, p in model.named_parameters()} == flags


def test_materialized_loads_offloaded_weights_for_the_block_only(tiny_pair):
    plain, off = tiny_pair
    head = off.model.lm_head
    with materialized(head):
        w = head.weight.detach()
        assert w.device.type == "cpu"
    assert head.weight.device.type == "meta"
    torch.testing.assert_close(w, plain.model.lm_head.weight.detach())  # still valid after
    assert execution_device(head) == torch.device("cpu")


def test_dispatched_model_with_a_device_map_is_accepted(tmp_path):
    model, tok = tiny_model("gpt2")
    plain = lmlens.Lens(model, tok)
    device_map = {"transformer.wte": "cpu", "transformer.wpe": "cpu", "transformer.h.0": "cpu",
                  "transformer.h.1": "disk", "transformer.ln_f": "disk", "lm_head": "cpu"}
    off = lmlens.Lens(dispatch_model(copy.deepcopy(model), device_map, offload_dir=str(tmp_path)), tok)
    ra, rb = plain.rankings(TEXT).result, off.rankings(TEXT).result
    np.testing.assert_array_equal(rb.ranks, ra.ranks)
    np.testing.assert_allclose(rb.probs, ra.probs, atol=1e-6)
    assert rb.model_dtype == "float32" and rb.notes == ra.notes


# ---- SmolLM2 split over CPU and disk by device_map + max_memory ---------------------------------
@pytest.fixture(scope="module")
def smollm2_offloaded(smollm2, tmp_path_factory):
    """SmolLM2 through ``lmlens.load(device_map="auto", max_memory=...)``: 250 MB of CPU for the
    weights (the model takes ~540 MB in float32), the rest offloaded to disk."""
    return lmlens.load("smollm2", device_map="auto", max_memory={"cpu": "250MB"},
                       offload_folder=str(tmp_path_factory.mktemp("smollm2_offload")))


def test_smollm2_offloaded_to_disk_matches_the_plain_model(smollm2, smollm2_offloaded):
    off = smollm2_offloaded
    where = off.model.hf_device_map
    assert "disk" in where.values() and "cpu" in where.values(), where
    assert "offloaded to disk" in repr(off)
    before = hook_state(off.model)
    text = "The capital of France is Paris, and the capital of Japan is"
    a, b = smollm2.trace(text), off.trace(text)
    assert a.names == b.names
    for name in a.names:
        err = float((a[name].float() - b[name].float()).abs().max())
        assert err <= 1e-4 * max(1.0, float(a[name].abs().max())), (name, err)
    ra, rb = smollm2.rankings(text).result, off.rankings(text).result
    np.testing.assert_array_equal(rb.ranks, ra.ranks)
    np.testing.assert_allclose(rb.probs, ra.probs, atol=1e-4)
    # independent: Hugging Face's hidden states of the plain model, decoded by hand
    lp = hf_logprobs(smollm2.model, a.token_ids)
    shown = torch.as_tensor(np.array(rb.token_ids))
    want = lp[:, torch.arange(len(shown)), shown].exp().numpy()
    np.testing.assert_allclose(rb.probs, want, atol=1e-4)
    sa = smollm2.attribution("The capital of France is Paris", method="saliency", target=" Paris").result
    sb = off.attribution("The capital of France is Paris", method="saliency", target=" Paris").result
    np.testing.assert_allclose(sb.scores, sa.scores, atol=1e-4, rtol=1e-4)
    assert hook_state(off.model) == before


def test_smollm2_offloaded_capture_in_half_precision(smollm2, smollm2_offloaded):
    text = "The capital of France is"
    a = smollm2.trace(text, points="blocks.*.resid_post")
    b = smollm2_offloaded.trace(text, points="blocks.*.resid_post", dtype=torch.bfloat16)
    for name in a.names:
        assert b[name].dtype == torch.bfloat16 and b[name].device.type == "cpu"
        torch.testing.assert_close(b[name].float(), a[name], rtol=2**-8, atol=1e-3)


# ---- half precision -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bf16_pair():
    model, tok = tiny_model("llama")
    half = copy.deepcopy(model).to(torch.bfloat16)
    return model, lmlens.Lens(model, tok), lmlens.Lens(half, tok)  # the bf16 Lens runs the load check


def test_bfloat16_rankings_agree_with_float32_within_tolerance(bf16_pair):
    model, f32, bf = bf16_pair
    assert bf.model_dtype == "bfloat16" and f32.model_dtype == "float32"
    r = bf.rankings(TEXT).result
    assert r.model_dtype == "bfloat16" and any("bfloat16" in n for n in r.notes)
    assert f32.rankings(TEXT).result.model_dtype == "float32"
    ids = f32.tokenize(TEXT)
    lp = hf_logprobs(model, ids)  # float32 reference from HF
    shown = torch.as_tensor(np.array(r.token_ids))  # the token whose rank each column shows
    want = lp[:, torch.arange(len(shown)), shown]
    got = torch.log(torch.as_tensor(np.array(r.probs)))
    assert float((got - want).abs().max()) <= BF16_LOGPROB_ATOL
    want_ranks = 1 + (lp > want[..., None]).sum(-1)
    # ranks may swap between tokens whose float32 log-probabilities are closer than the tolerance
    close = ((lp - want[..., None]).abs() <= BF16_LOGPROB_ATOL).sum(-1)
    assert (np.abs(r.ranks - want_ranks.numpy()) <= close.numpy()).all()


@pytest.mark.parametrize("method", ["saliency", "input_x_gradient", "integrated_gradients"])
def test_bfloat16_attribution_agrees_with_float32(bf16_pair, method):
    _, f32, bf = bf16_pair
    opts = {"n_steps": 16} if method == "integrated_gradients" else {}
    a = f32.attribution(TEXT, method=method, target=" Tokyo.", **opts).result
    b = bf.attribution(TEXT, method=method, target=" Tokyo.", **opts).result
    assert b.model_dtype == "bfloat16" and any("bfloat16" in n for n in b.notes)
    np.testing.assert_allclose(b.norms, a.norms, atol=BF16_NORMS_ATOL)
    np.testing.assert_allclose(b.norms.sum(-1), 1.0, atol=1e-5)  # normalised in float32


def test_bfloat16_load_check_still_catches_a_wrong_readout():
    model, tok = tiny_model("gpt2")
    half = model.to(torch.bfloat16)
    lmlens.Lens(half, tok)  # the right anatomy passes at bfloat16's tolerance
    wrong = dataclasses.replace(discover(half), final_norm=None)  # decodes without ln_f
    with pytest.raises(ValueError, match="self-check: final norm"):
        lmlens.Lens(half, tok, anatomy=wrong)


# ---- devices --------------------------------------------------------------------------------------
def test_load_rejects_devices_it_cannot_use():
    with pytest.raises(ValueError, match="device="):
        lmlens.load("smollm2", device="cuda", device_map="auto")
    with pytest.raises(ValueError, match="device must be"):
        lmlens.load("smollm2", device="banana")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            lmlens.load("smollm2", device="cuda")


def test_device_budget_counts_free_gpu_memory():
    check_device_budget(2**30, "cpu", None)  # not a GPU: nothing to check
    check_device_budget(2**20, "cuda:0", 2**30)
    with pytest.raises(ValueError, match="max_bytes: the forward would hold 3072 MiB on cuda:0"):
        check_device_budget(3 * 2**30, "cuda:0", 2**30)
    assert free_memory(torch.device("cpu")) is None


def test_to_host_converts_before_moving():
    t = torch.arange(4.0)
    assert to_host(t, torch.float16).dtype == torch.float16
    assert to_host(torch.arange(3), torch.float16).dtype == torch.int64  # ids stay ids
    pending: set = set()
    assert to_host(t, None, pending) is not None and not pending  # a CPU tensor queues nothing
