"""Activation patching (capture/patch.py, capture/resume.py, analyses/tracing, lens.patch), checked
against forwards of the Hugging Face model with hand-written hooks on its own modules."""

from __future__ import annotations

import pytest
import torch
from tiny import tiny_lens

from lmlens import names as N
from lmlens.analyses.tracing import Base, Cell, run_patches
from lmlens.capture.patch import PATCHABLE, check_patchable, patching, restore
from lmlens.capture.resume import resumed

CLEAN = "The capital of France is Paris"
OTHER = "The capital of Japan is Tokyo"  # as many tokens as CLEAN in the tiny tokenizer
ARCHS = ("gpt2", "llama")


def hf_module(model, arch: str, site: str, layer: int):
    """The HF module whose output is ``site`` at ``layer``, named by hand (not via the anatomy)."""
    block = model.transformer.h[layer] if arch == "gpt2" else model.model.layers[layer]
    return {"resid": block, "mlp": block.mlp, "attn": block.attn if arch == "gpt2" else block.self_attn}[site]


def hf_outputs(model, arch: str, site: str, ids: torch.Tensor) -> list[torch.Tensor]:
    """``site``'s output at every layer of a plain forward over ``ids`` ``(n,)``: ``(n, d)`` each."""
    got, handles = [], []
    for layer in range(model.config.num_hidden_layers):
        def keep(mod, args, out):
            got.append((out[0] if isinstance(out, tuple) else out)[0].detach().clone())
        handles.append(hf_module(model, arch, site, layer).register_forward_hook(keep))
    try:
        with torch.no_grad():
            model(input_ids=ids[None])
    finally:
        for h in handles:
            h.remove()
    return got


def hf_patched_prob(model, arch, site, layers, positions, values, ids, target, *, inputs_embeds=None) -> float:
    """P(target) at the last position of a forward over ``ids`` (or ``inputs_embeds``, one row per
    sample: the mean over rows) with ``site``'s output at ``layers`` × ``positions`` replaced by
    ``values[layer][positions]``, through hooks written here."""
    handles = []
    for layer in layers:
        def put(mod, args, out, _layer=layer):
            t = out[0] if isinstance(out, tuple) else out
            t = t.clone()
            t[:, positions] = values[_layer][positions]
            return (t, *out[1:]) if isinstance(out, tuple) else t
        handles.append(hf_module(model, arch, site, layer).register_forward_hook(put))
    try:
        with torch.no_grad():
            if inputs_embeds is None:
                logits = model(input_ids=ids[None]).logits[:, -1]
            else:
                logits = model(inputs_embeds=inputs_embeds).logits[:, -1]
    finally:
        for h in handles:
            h.remove()
    return float(torch.softmax(logits.float(), -1)[:, target].mean())


def hf_prob(model, ids, target) -> float:
    with torch.no_grad():
        return float(torch.softmax(model(input_ids=ids[None]).logits[0, -1].float(), -1)[target])


def noisy_embeds(model, ids, positions, n_samples, seed, std=None):
    """The corrupted inputs by hand: token embeddings + seeded Gaussian noise of 3 × their std."""
    emb = model.get_input_embeddings()
    std = 3 * float(emb.weight.detach().float().std()) if std is None else std
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(n_samples, len(positions), emb.weight.shape[1], generator=g) * std
    with torch.no_grad():
        x = emb(ids)[None].repeat(n_samples, 1, 1)
    x[:, positions] += noise
    return x, std


def hooks_of(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


@pytest.fixture(scope="module", params=ARCHS)
def arch_lens(request):
    return request.param, tiny_lens(request.param)


def test_patchable_sites_come_from_the_site_table():
    assert set(PATCHABLE) == {"embed", "attn.out", "mlp.post", "mlp.out", "resid_post"}
    for bad in ("blocks.0.attn.pattern", "blocks.0.attn.v", "logits"):
        with pytest.raises(ValueError, match="cannot be patched"):
            check_patchable(bad)


def test_restore_all_positions_gives_the_clean_probability(arch_lens):
    arch, lens = arch_lens
    clean, other = lens.tokenize(CLEAN), lens.tokenize(OTHER)
    assert clean.shape == other.shape
    target = int(lens.model(input_ids=clean[None]).logits[0, -1].argmax())
    for layer in range(lens.n_layers):
        r = lens.patch(CLEAN, OTHER, site="resid", layer=layer, position=None)
        assert r.target_id == target
        assert r.clean_prob == pytest.approx(hf_prob(lens.model, clean, target), abs=1e-6)
        assert r.corrupted_prob == pytest.approx(hf_prob(lens.model, other, target), abs=1e-6)
        assert r.patched_prob == pytest.approx(r.clean_prob, abs=1e-6)  # the rest is the clean run


def test_restore_nothing_gives_the_corrupted_probability(arch_lens):
    arch, lens = arch_lens
    clean = lens.tokenize(CLEAN)
    target = int(lens.model(input_ids=clean[None]).logits[0, -1].argmax())
    x, _ = noisy_embeds(lens.model, clean, [1, 2], 4, seed=3)
    with torch.no_grad():
        by_hand = float(torch.softmax(lens.model(inputs_embeds=x).logits[:, -1].float(), -1)[:, target].mean())
    r = lens.patch(CLEAN, subject=[1, 2], site="resid", layer=0, position=0, n_samples=4, seed=3)
    assert r.corrupted_prob == pytest.approx(by_hand, abs=1e-6)
    # restoring a position before the subject changes nothing (it never saw the noise)
    assert r.patched_prob == pytest.approx(by_hand, abs=1e-6)
    # and the causal trace's corrupted run is the same
    t = lens.causal_trace(CLEAN, subject=[1, 2], n_samples=4, seed=3, progress=False).result
    assert t.corrupted_prob == pytest.approx(by_hand, abs=1e-6)
    assert t.corrupted_probs.shape == (4,)


@pytest.mark.parametrize("site", ["resid", "mlp", "attn"])
def test_one_cell_equals_a_hand_written_hook(arch_lens, site):
    arch, lens = arch_lens
    clean, other = lens.tokenize(CLEAN), lens.tokenize(OTHER)
    values = hf_outputs(lens.model, arch, site, clean)
    target = int(lens.model(input_ids=clean[None]).logits[0, -1].argmax())
    for layer, pos in ((0, 3), (1, 4), (1, len(clean) - 1)):
        r = lens.patch(CLEAN, OTHER, site=site, layer=layer, position=pos)
        want = hf_patched_prob(lens.model, arch, site, [layer], [pos], values, other, target)
        assert r.patched_prob == pytest.approx(want, abs=1e-6), (site, layer, pos)
        assert r.site == {"resid": "resid_post", "mlp": "mlp.out", "attn": "attn.out"}[site]


def test_causal_trace_cells_equal_hand_written_hooks(arch_lens):
    """Every cell of a causal trace, by both ways of running it, against a hooked HF forward on
    the noisy embeddings made here."""
    arch, lens = arch_lens
    clean = lens.tokenize(CLEAN)
    subject = [1, 2]
    x, std = noisy_embeds(lens.model, clean, subject, 3, seed=5)
    traces = [lens.causal_trace(CLEAN, subject=subject, n_samples=3, seed=5, progress=False).result]
    from lmlens.analyses.tracing import causal_trace

    traces.append(causal_trace(lens.model, lens.anatomy, clean, subject=subject, n_samples=3, seed=5, resume=False,
                               progress=False))
    assert traces[0].params["noise"] == pytest.approx(std)
    assert traces[0].params["resumed"] and not traces[1].params["resumed"]
    target = traces[0].target_id
    assert traces[0].clean_prob == pytest.approx(hf_prob(lens.model, clean, target), abs=1e-6)
    for s, site in enumerate(("resid", "mlp", "attn")):
        values = hf_outputs(lens.model, arch, site, clean)
        for layer in range(lens.n_layers):
            for pos in range(len(clean)):
                want = hf_patched_prob(lens.model, arch, site, [layer], [pos], values, clean, target, inputs_embeds=x)
                for t in traces:
                    assert t.scores[s, layer, pos] == pytest.approx(want, abs=1e-6), (site, layer, pos)


def test_window_restores_the_layers_around_the_cell():
    lens = tiny_lens("llama", n_layers=4)
    clean = lens.tokenize(CLEAN)
    values = hf_outputs(lens.model, "llama", "mlp", clean)
    x, _ = noisy_embeds(lens.model, clean, [1, 2], 2, seed=0)
    t = lens.causal_trace(CLEAN, subject=[1, 2], sites=["mlp", "resid"], window=3, n_samples=2, progress=False).result
    assert t.sites == ("mlp", "resid") and t.params["window"] == 3
    for layer, around in ((0, [0, 1]), (2, [1, 2, 3]), (3, [2, 3])):
        want = hf_patched_prob(lens.model, "llama", "mlp", around, [2], values, clean, t.target_id, inputs_embeds=x)
        assert t.scores[0, layer, 2] == pytest.approx(want, abs=1e-6)
    # resid cells restore one layer whatever the window
    rv = hf_outputs(lens.model, "llama", "resid", clean)
    want = hf_patched_prob(lens.model, "llama", "resid", [1], [2], rv, clean, t.target_id, inputs_embeds=x)
    assert t.scores[1, 1, 2] == pytest.approx(want, abs=1e-6)


def test_same_seed_same_scores_other_seed_other_scores(gpt2_lens):
    a = gpt2_lens.causal_trace(CLEAN, subject="capital", seed=7, n_samples=2, progress=False).result
    b = gpt2_lens.causal_trace(CLEAN, subject="capital", seed=7, n_samples=2, progress=False).result
    c = gpt2_lens.causal_trace(CLEAN, subject="capital", seed=8, n_samples=2, progress=False).result
    assert (a.scores == b.scores).all() and a.corrupted_prob == b.corrupted_prob
    assert not (a.scores == c.scores).all()


@pytest.mark.parametrize("arch", ["gpt2", "llama", "mistral", "qwen2", "gpt_neox", "gpt_neo", "opt", "bloom"])
def test_resumed_forwards_equal_full_forwards(arch):
    """The resumed path (prefix cache + blocks skipped) gives what full forwards give, or the
    model's check turns it off."""
    from lmlens.analyses.tracing import causal_trace

    lens = tiny_lens(arch)
    ids = lens.tokenize(CLEAN)
    kw = dict(subject=[1, 2], n_samples=2, progress=False)
    fast = causal_trace(lens.model, lens.anatomy, ids, **kw)
    full = causal_trace(lens.model, lens.anatomy, ids, resume=False, **kw)
    assert abs(fast.scores - full.scores).max() <= 1e-5


@pytest.mark.parametrize("arch", ARCHS)
def test_hooks_removed_and_state_restored_also_on_error(arch):
    from tiny import tiny_model

    import lmlens

    lens = lmlens.Lens(*tiny_model(arch))  # a fresh model: this test puts it in training mode
    model = lens.model
    clean = lens.tokenize(CLEAN)
    before = hooks_of(model)
    model.train()  # a caller's training mode must survive
    source = {N.resid(0): torch.zeros(len(clean), model.config.hidden_size)}
    cells = [Cell("resid_post", (0,), (p,)) for p in range(1, len(clean))]
    calls = []

    def reduce(logits):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return logits[:, :1]

    for resume in (True, False):
        calls.clear()
        with pytest.raises(RuntimeError, match="boom"):
            run_patches(model, lens.anatomy, Base(clean, rows=2, noise_positions=torch.tensor([1]),
                                                  noise=torch.ones(2, 1, model.config.hidden_size)),
                        cells, source, answer=len(clean) - 1, reduce=reduce, resume=resume, batch_rows=2,
                        progress=False)
        assert hooks_of(model) == before
        assert all("forward" not in vars(b) for b in lens.anatomy.block_list(model))
        assert all(m.training for m in model.modules())
    # an error inside the model's forward, with every kind of hook in place
    blocks = lens.anatomy.block_list(model)
    with pytest.raises(RuntimeError, match="inside"):
        with patching(model, lens.anatomy, {N.resid(0): restore(torch.tensor([0]), torch.tensor([0]), torch.zeros(1, 32))}):
            with resumed(model, lens.anatomy, 1, torch.zeros(1, len(clean), 32)):
                h = blocks[1].register_forward_hook(lambda *a: (_ for _ in ()).throw(RuntimeError("inside")))
                try:
                    model(input_ids=clean[None])
                finally:
                    h.remove()
    assert hooks_of(model) == before
    assert "forward" not in vars(blocks[0])


def test_patch_bad_input(gpt2_lens):
    lens = gpt2_lens
    with pytest.raises(ValueError, match="as many tokens"):
        lens.patch(CLEAN, "The capital", site="resid", layer=0, position=0)
    with pytest.raises(ValueError, match="site must be one of"):
        lens.patch(CLEAN, OTHER, site="attn.pattern", layer=0, position=0)
    with pytest.raises(ValueError, match="layer=5 is out of range"):
        lens.patch(CLEAN, OTHER, site="mlp", layer=5, position=0)
    with pytest.raises(ValueError, match="position=99 is out of range"):
        lens.patch(CLEAN, OTHER, site="mlp", layer=0, position=99)
    with pytest.raises(ValueError, match="subject="):
        lens.patch(CLEAN, site="mlp", layer=0, position=0)
    with pytest.raises(ValueError, match="subject 'Rome' does not occur"):
        lens.patch(CLEAN, subject="Rome", site="mlp", layer=0, position=0)
