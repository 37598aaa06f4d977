"""Every result shares one base: read-only arrays, save → load_result round trips, JSON-able
to_dict, one field vocabulary; the Lens is composed (no method defined twice) and says what it is."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import transformers as T
from tiny import bpe_tokenizer, tiny_lens, tiny_model

import lmlens
from lmlens.analyses.attention import attention
from lmlens.analyses.attribution import attribute
from lmlens.analyses.logit_lens import layer_predictions, rankings, rankings_watch
from lmlens.analyses.predictions import predictions
from lmlens.analyses.result import RESULT_CLASSES, Result

TEXT = "The capital of France is Paris"


def _results(lens):
    trace = lens.trace(TEXT)
    ids = trace.token_ids
    return [
        predictions(trace, topk=3),
        rankings(trace, topk=2, progress=False),
        rankings_watch(trace, watch=[int(ids[1]), int(ids[2])], progress=False),
        layer_predictions(trace, topk=3, progress=False),
        attribute(lens.model, ids, [3, 5], embed=lens.anatomy.embed_module(lens.model),
                  method="integrated_gradients", n_steps=4, progress=False),
        attention(trace, hide=[0]),
    ]


def _same(a, b) -> None:
    import dataclasses

    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
            assert x.dtype == y.dtype, f.name
        else:
            assert x == y, f.name


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_every_result_round_trips_and_is_read_only(kind, tmp_path):
    lens = tiny_lens(kind)
    for r in _results(lens):
        assert isinstance(r, Result) and type(r).__name__ in RESULT_CLASSES
        arrays = [v for v in vars(r).values() if isinstance(v, np.ndarray)]
        assert arrays and all(not a.flags.writeable for a in arrays)
        with pytest.raises(ValueError, match="read-only"):
            arrays[0].flat[0] = 0
        path = r.save(tmp_path / f"{type(r).__name__}.npz")
        back = lmlens.load_result(path)
        _same(r, back)
        json.dumps(r.to_dict())  # JSON-able, NaN included (predictions' first prob)
        assert repr(r).startswith(type(r).__name__ + "(")


def test_the_vocabulary_is_shared(gpt2_lens):
    ids = gpt2_lens.trace(TEXT).token_ids.numpy()
    for r in _results(gpt2_lens):
        np.testing.assert_array_equal(r.input_ids[: len(ids)], ids)
        assert r.kind == "causal" and isinstance(r.notes, tuple) and isinstance(r.tokens, tuple)
        assert r.generated.dtype == bool and r.generated.shape == r.input_ids.shape
        for old in ("topk_ids", "topk_probs", "mode", "note", "all_token_ids"):
            assert not hasattr(r, old), (type(r).__name__, old)


def test_bad_paths_say_what_is_wrong(tmp_path, gpt2_lens):
    r = _results(gpt2_lens)[0]
    with pytest.raises(ValueError, match=r"\.npz"):
        r.save(tmp_path / "r.txt")
    with pytest.raises(FileNotFoundError, match="path"):
        lmlens.load_result(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not an lmlens result"):
        lmlens.load_result(tmp_path / "junk.npz")
    np.savez(tmp_path / "plain.npz", a=np.arange(3))
    with pytest.raises(ValueError, match="no lmlens result"):
        lmlens.load_result(tmp_path / "plain.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.npz", "plain.npz"]  # no partial file


def test_lens_is_composed_without_overrides():
    from lmlens.lens import Lens, LensCore

    assert Lens.__mro__[1:] == (LensCore, object)
    core = {n for n in vars(LensCore) if not n.startswith("__")}
    own = {n for n in vars(Lens) if not n.startswith("__")}
    assert own and not (own & core), own & core  # no method of the core is redefined
    for name in ("predictions", "rankings", "rankings_watch", "layer_predictions", "attribution"):
        assert callable(getattr(Lens, name))


def test_repr_names_the_model(llama_lens):
    text = repr(llama_lens)
    cfg = llama_lens.model.config
    for bit in ("llama", "causal", f"{cfg.num_hidden_layers} layers", f"{cfg.num_attention_heads} heads",
                f"d_model={cfg.hidden_size}", "cpu", "float32"):
        assert bit in text, (bit, text)


def test_no_unembedding_says_so():
    cfg = T.GPT2Config(n_layer=2, n_embd=16, n_head=2, vocab_size=len(bpe_tokenizer()), n_positions=32)
    base = lmlens.Lens(T.GPT2Model(cfg).eval(), bpe_tokenizer(), check=False)
    for call in (lambda: base.predictions(TEXT), lambda: base.rankings(TEXT),
                 lambda: base.layer_predictions(TEXT)):
        with pytest.raises(ValueError, match="needs an unembedding"):
            call()


def test_generated_attributions_live_with_the_lens_not_the_trace(gpt2_lens):
    gen = gpt2_lens.generate(TEXT, max_new_tokens=2, points=["logits"], attribution="saliency")
    assert not hasattr(gen, "extras")
    stored = gpt2_lens.stored_attributions(gen)
    assert list(stored) == ["saliency"]
    assert gpt2_lens.attribution(gen, method="saliency").result is stored["saliency"]
    other = gpt2_lens.generate(TEXT, max_new_tokens=2, points=["logits"])
    assert gpt2_lens.stored_attributions(other) == {}


def test_attribution_rechecks_the_position_limit():
    model, tok = tiny_model("gpt2")
    lens = lmlens.Lens(model, tok)
    limit = model.config.n_positions
    ids = torch.arange(limit) % 50 + 1  # exactly at the limit: the appended target would overflow
    with pytest.raises(ValueError, match="positions"):
        lens.attribution(ids, method="saliency")
