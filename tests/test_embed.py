"""``lens.embed``: every layer and pooling against Hugging Face's ``hidden_states`` (and BERT's
``pooler_output``) computed here; padding never reaches a vector (a text batched with long ones
equals the text alone); per-token vectors with character offsets; the similarity view's numbers
against scikit-learn; bad options."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers as T
from tiny import tiny_lens, wordpiece_tokenizer

import lmlens
import lmlens.lens.embed as embed_module
from lmlens.analyses.embed import TokenVectors

TEXTS = [
    "The capital of France is Paris.",
    "Hello",
    "The quick brown fox jumps over the lazy dog, and the dog sleeps.",
    "Transformers read tokens.",
]
LONG = ["The quick brown fox jumps over the lazy dog, and the dog sleeps. " * 3] * 5


def hf_states(lens, text: str) -> tuple[torch.Tensor, ...]:
    """``hidden_states`` of one text alone, straight from the model."""
    ids = lens.tokenizer(text)["input_ids"]
    with torch.no_grad():
        return lens.model(torch.tensor([ids]), output_hidden_states=True).hidden_states


@pytest.mark.parametrize("model_type", ["gpt2", "llama", "opt", "bert", "roberta"])
def test_layers_pick_the_hf_hidden_states(model_type):
    """``layers`` indexes HF's hidden_states (0 = embeddings, -1 = the last, normed as HF gives it)."""
    lens = tiny_lens(model_type)
    layers = [-1, 0, -2]
    for pooling in ("mean", "last"):
        got = lens.embed(TEXTS, layers=layers, pooling=pooling, batch_size=3, progress=False)
        for i, text in enumerate(TEXTS):
            hs = hf_states(lens, text)
            parts = [hs[j][0].mean(0) if pooling == "mean" else hs[j][0, -1] for j in layers]
            np.testing.assert_allclose(got[i], torch.cat(parts).numpy(), atol=2e-5, rtol=1e-5)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 3 * lens.model.config.hidden_size)


@pytest.mark.parametrize(("model_type", "pooling"), [("gpt2", "mean"), ("gpt2", "last"), ("bert", "mean"),
                                                      ("bert", "cls"), ("llama", "mean")])
def test_padding_never_reaches_a_vector(model_type, pooling):
    """A short text batched with long ones gives the vector it gives alone (<= 1e-5)."""
    lens = tiny_lens(model_type)
    alone = lens.embed(["Hello"], pooling=pooling, layers=[-1, 1], progress=False)[0]
    batched = lens.embed(LONG + ["Hello"] + LONG, pooling=pooling, layers=[-1, 1], batch_size=4, progress=False)
    assert np.abs(batched[len(LONG)] - alone).max() <= 1e-5


def test_cls_and_pooler_equal_hf_pooler_output():
    tok = wordpiece_tokenizer()
    cfg = T.BertConfig(num_hidden_layers=2, hidden_size=32, num_attention_heads=4, intermediate_size=64,
                       vocab_size=len(tok), max_position_embeddings=128)
    torch.manual_seed(0)
    lens = lmlens.Lens(T.BertModel(cfg).eval(), tok)
    pooled = lens.embed(TEXTS, pooling="pooler", batch_size=2, progress=False)
    cls = lens.embed(TEXTS, pooling="cls", layers=-2, progress=False)
    for i, text in enumerate(TEXTS):
        with torch.no_grad():
            out = lens.model(torch.tensor([tok(text)["input_ids"]]), output_hidden_states=True)
        np.testing.assert_allclose(pooled[i], out.pooler_output[0].numpy(), atol=1e-5)
        np.testing.assert_allclose(cls[i], out.hidden_states[-2][0, 0].numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="reads the last hidden state only"):
        lens.embed(TEXTS, pooling="pooler", layers=-2)


def test_normalize_gives_unit_vectors_in_the_same_direction():
    lens = tiny_lens("gpt2")
    raw = lens.embed(TEXTS, layers=[-1, -2], progress=False)
    unit = lens.embed(TEXTS, layers=[-1, -2], normalize=True, progress=False)
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(unit, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)


def test_per_token_vectors_carry_character_offsets():
    lens = tiny_lens("bert")
    tv = lens.embed(TEXTS, pooling="none", layers=-1, progress=False)
    assert isinstance(tv, TokenVectors) and len(tv) == len(TEXTS)
    for i, text in enumerate(TEXTS):
        vectors, offsets = tv[i]
        hs = hf_states(lens, text)[-1][0]
        np.testing.assert_allclose(vectors, hs.numpy(), atol=1e-5)
        tokens = lens.tokenizer.convert_ids_to_tokens(lens.tokenizer(text)["input_ids"])
        for (s, e), t in zip(offsets.tolist(), tokens, strict=True):
            if t in ("[CLS]", "[SEP]"):
                assert (s, e) == (0, 0)
            elif t != "[UNK]":
                assert text[s:e] == t.removeprefix("##")


def test_windows_do_not_change_the_rows(monkeypatch):
    lens = tiny_lens("gpt2")
    texts = (TEXTS + LONG) * 2
    whole = lens.embed(texts, batch_size=3, progress=False)
    monkeypatch.setattr(embed_module, "WINDOW_LINES", 4)
    np.testing.assert_allclose(lens.embed(texts, batch_size=3, progress=False), whole, atol=1e-5)


def test_similarity_matrices_equal_scikit_learn():
    from sklearn.metrics.pairwise import cosine_similarity

    lens = tiny_lens("bert")
    view = lens.embedding_similarity(TEXTS, layers=[-1, 0], poolings=["mean", "cls"])
    r = view.result
    assert list(r.labels) == ["layer -1 (block 1) · mean", "layer 0 (embeddings) · mean",
                              "layer -1 (block 1) · cls", "layer 0 (embeddings) · cls"]
    for c, (layer, pooling) in enumerate([(-1, "mean"), (0, "mean"), (-1, "cls"), (0, "cls")]):
        states = [hf_states(lens, t)[layer][0] for t in TEXTS]
        vecs = np.stack([h.mean(0).numpy() if pooling == "mean" else h[0].numpy() for h in states])
        np.testing.assert_allclose(r.similarity[c], cosine_similarity(vecs), atol=1e-5)
    assert view.kind == "embedding_similarity" and "layer -1 (block 1) · mean" in view.to_html()


@pytest.mark.parametrize(("kwargs", "error", "needle"), [
    ({"pooling": "cls"}, ValueError, "adds none"),
    ({"pooling": "pooler"}, ValueError, "has none"),
    ({"pooling": "max"}, ValueError, "pooling must be one of"),
    ({"layers": 3}, ValueError, r"layers: 3 is out of range; this model has 3 hidden states"),
    ({"layers": []}, ValueError, "at least one"),
    ({"layers": "last"}, TypeError, "layers must be an int or a list"),
    ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
    ({"normalize": "yes"}, TypeError, "normalize must be a bool"),
    ({"engine": "spark"}, ValueError, "engine must be None, 'local' or 'ray'"),
])
def test_bad_options_are_refused(kwargs, error, needle):
    with pytest.raises(error, match=needle):
        tiny_lens("gpt2").embed(TEXTS, **kwargs)


def test_bad_texts_are_refused_naming_the_text():
    lens = tiny_lens("gpt2")
    with pytest.raises(TypeError, match=r"for one text pass \[text\]"):
        lens.embed("Hello")
    with pytest.raises(ValueError, match="no texts"):
        lens.embed([])
    with pytest.raises(ValueError, match=r"texts\[1\]: text must be a non-empty string"):
        lens.embed(["Hello", "  "], progress=False)
    with pytest.raises(ValueError, match=r"texts\[0\]: text has \d+ tokens, more than the model's 128"):
        lens.embed(["word " * 300], progress=False)


def test_engine_ray_needs_a_lens_that_can_be_loaded_again():
    with pytest.raises(ValueError, match="built from objects in memory"):
        tiny_lens("gpt2").embed(TEXTS, engine="ray")


@pytest.mark.slow
def test_minilm_mean_pooling_is_sentence_transformers_mean_pooling():
    """all-MiniLM-L6-v2's sentence vector: mean over the attention mask of the last hidden state,
    normalized; computed here from a padded HF batch with its mask."""
    lens = lmlens.load("minilm")
    got = lens.embed(TEXTS, normalize=True, progress=False)
    enc = lens.tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        h = lens.model(**enc).last_hidden_state
    m = enc["attention_mask"][..., None].float()
    want = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)
    np.testing.assert_allclose(got, want.numpy(), atol=1e-5)
