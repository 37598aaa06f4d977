"""``lens.probe``: ranks, top-k, candidate scores and precision checked against hand computations
straight from the Hugging Face model and tokenizer; the logit lens per fact against HF
``hidden_states``; facts, LAMA files and the shipped set; bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny import tiny_lens

import lmlens
from lmlens.probes import Fact, as_facts, load_lama, shipped


def _logits(model, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].double()


# ---- causal LM (tiny GPT-2, byte-level BPE) -----------------------------------------------------
CAUSAL_FACTS = [
    # one-token objects at the end: ranked over the vocabulary from the left context
    Fact("[X] quick brown fox jumps over the lazy [Y].", "The", "dog", relation="end"),
    Fact("The capital [X] France is [Y].", "of", "the", relation="end"),
    # several tokens (" Pa" "ris", " Tok" "yo"): ranked among the relation's candidates
    Fact("The capital of [X] is [Y].", "France", "Paris", relation="capital"),
    Fact("The capital of [X] is [Y].", "Japan", "Tokyo", relation="capital"),
    # a one-token object with words after it: candidates too
    Fact("The [Y] sleeps.", "", "dog", relation="after", candidates=("dog", "fox", "capital")),
]


@pytest.fixture(scope="module")
def causal():
    lens = tiny_lens("gpt2")
    return lens, lens.probe(CAUSAL_FACTS, k=4, batch_size=2, progress=False).result


def test_causal_one_token_objects_rank_over_the_vocabulary_as_hf(causal):
    lens, r = causal
    tok, model = lens.tokenizer, lens.model
    for i in (0, 1):
        f = CAUSAL_FACTS[i]
        left = f.template.split("[Y]")[0].replace("[X]", f.subject).rstrip()
        ids = tok(left)["input_ids"]
        obj = tok(" " + f.object)["input_ids"]
        assert len(obj) == 1
        z = _logits(model, ids)[-1]
        p = torch.softmax(z, -1)
        top = torch.topk(z, 4).indices
        assert r.modes[i] == "vocab"
        assert r.ranks[i] == 1 + int((z > z[obj[0]]).sum())
        assert r.top_ids[i].tolist() == top.tolist()
        np.testing.assert_allclose(r.top_probs[i], p[top].numpy(), rtol=1e-4)
        np.testing.assert_allclose(r.object_probs[i], float(p[obj[0]]), rtol=1e-4)
        assert r.n_choices[i] == z.shape[0] and r.n_object_tokens[i] == 1
        assert r.top_strings[i][0] == tok.decode([int(top[0])])


def _causal_score(model, tok, left: str, obj: str, right: str) -> float:
    """Log-likelihood of every token from the object on, by hand."""
    n_left = len(tok(left.rstrip())["input_ids"])
    ids = tok(left.rstrip() + " " + obj + right)["input_ids"]
    lp = torch.log_softmax(_logits(model, ids), -1)
    return float(sum(lp[t - 1, ids[t]] for t in range(n_left, len(ids))))


def test_causal_candidates_rank_by_sentence_log_likelihood_as_hf(causal):
    lens, r = causal
    tok, model = lens.tokenizer, lens.model
    for i, cands in ((2, ["Paris", "Tokyo"]), (3, ["Paris", "Tokyo"]), (4, ["dog", "fox", "capital"])):
        f = CAUSAL_FACTS[i]
        left, right = f.template.split("[Y]")
        left = left.replace("[X]", f.subject)
        scores = np.array([_causal_score(model, tok, left, c, right) for c in cands])
        p = np.exp(scores - scores.max())
        p /= p.sum()
        true = cands.index(f.object)
        assert r.modes[i] == "candidates" and r.n_choices[i] == len(cands)
        assert r.ranks[i] == 1 + int((scores > scores[true]).sum())
        order = np.argsort(-scores, kind="stable")
        assert list(r.top_strings[i]) == [cands[j] for j in order][:4]
        np.testing.assert_allclose(r.object_probs[i], p[true], rtol=1e-4)
    assert list(r.n_object_tokens[2:4]) == [2, 2] and r.n_object_tokens[4] == 1
    assert any("several tokens" in n and "words after the slot" in n for n in r.notes)


def test_precision_per_relation_is_computed_from_the_ranks(causal):
    _, r = causal
    assert r.relations == ("end", "capital", "after")
    for j, name in enumerate(r.relations):
        ranks = np.array([r.ranks[i] for i in range(r.n_facts) if CAUSAL_FACTS[i].relation == name], float)
        assert r.precision_at_1[j] == pytest.approx(np.mean(ranks == 1))
        assert r.precision_at_k[j] == pytest.approx(np.mean(ranks <= 4))
        assert r.mrr[j] == pytest.approx(np.mean(1 / ranks))
    assert r.overall["precision_at_1"] == pytest.approx(r.precision_at_1.mean())


def test_logit_lens_ranks_at_the_slot_match_hf_hidden_states(causal):
    """Every layer decoded through GPT-2's ln_f and head (HF's last hidden state is already normed)."""
    lens, r = causal
    model, tok = lens.model, lens.tokenizer
    assert len(r.layer_names) == lens.n_layers + 1
    for i, f in enumerate(CAUSAL_FACTS):
        ids = tok(f.sentence().replace(" " + f.object, " " + f.object))["input_ids"]
        left = f.template.split("[Y]")[0].replace("[X]", f.subject).rstrip()
        slot = len(tok(left)["input_ids"]) - 1
        obj = ids[slot + 1]
        with torch.no_grad():
            hs = model(torch.tensor([ids]), output_hidden_states=True).hidden_states
            want = []
            for layer, h in enumerate(hs):
                h = h[0, slot]
                z = model.lm_head(h if layer == len(hs) - 1 else model.transformer.ln_f(h))
                want.append(1 + int((z > z[obj]).sum()))
        assert r.slots[i] == slot
        assert r.layer_ranks[i].tolist() == want
        hits = [layer for layer, x in enumerate(want) if x == 1]
        assert r.first_layer[i] == (hits[0] if hits else -1)
        if r.modes[i] == "vocab":
            assert r.layer_ranks[i, -1] == r.ranks[i]  # the last layer is the model's own output


def test_a_facts_rankings_equal_lens_rankings_of_its_sentence(causal):
    lens, r = causal
    one = r.rankings(2)
    ref = lens.rankings(CAUSAL_FACTS[2].sentence(), target="next", topk=1).result
    np.testing.assert_array_equal(one.ranks, ref.ranks)
    np.testing.assert_array_equal(one.top_ids, ref.top_ids)
    assert one.tokens == ref.tokens and one.target == "next"


def test_without_the_logit_lens_the_scores_are_the_same(causal):
    lens, r = causal
    fast = lens.probe(CAUSAL_FACTS, k=4, batch_size=3, logit_lens=False, progress=False).result
    np.testing.assert_array_equal(fast.ranks, r.ranks)
    np.testing.assert_allclose(fast.object_probs, r.object_probs, rtol=1e-5)
    assert not fast.has_logit_lens and fast.layer_names == ()
    with pytest.raises(ValueError, match="logit_lens=False"):
        fast.rankings(0)


def test_the_result_saves_and_loads(causal, tmp_path):
    _, r = causal
    r.save(tmp_path / "p.npz")
    back = lmlens.load_result(tmp_path / "p.npz")
    np.testing.assert_array_equal(back.lens_ranks, r.lens_ranks)
    assert back.top_strings == r.top_strings and back.strings == r.strings


# ---- masked LM (tiny BERT, WordPiece) ------------------------------------------------------------
MASKED_FACTS = [
    Fact("The capital of [X] is [Y].", "France", "Paris", relation="capital"),
    Fact("The capital of [X] is [Y].", "Japan", "Tokyo", relation="capital"),
    Fact("The quick brown [Y] jumps over the lazy dog.", "", "fox", relation="animal"),
    # "official" splits into WordPiece pieces: ranked among candidates with one [MASK] per token
    Fact("The [Y] language of Japan is Japanese.", "", "official", relation="word", candidates=("official", "capital", "quick")),
]


def test_masked_lm_fills_mask_as_hf():
    lens = tiny_lens("bert")
    tok, model = lens.tokenizer, lens.model
    r = lens.probe(MASKED_FACTS, k=3, progress=False).result
    assert r.kind == "masked"
    for i in range(3):
        f = MASKED_FACTS[i]
        ids = tok(f.template.replace("[X]", f.subject).replace("[Y]", tok.mask_token))["input_ids"]
        pos = ids.index(tok.mask_token_id)
        obj = tok(f.object, add_special_tokens=False)["input_ids"]
        assert len(obj) == 1 and r.modes[i] == "vocab"
        z = _logits(model, ids)[pos]
        assert r.ranks[i] == 1 + int((z > z[obj[0]]).sum())
        assert r.top_ids[i].tolist() == torch.topk(z, 3).indices.tolist()
        assert r.slots[i] == pos
    # several tokens: masks in their place, log-probabilities of the pieces summed
    f = MASKED_FACTS[3]
    scores = []
    for c in f.candidates:
        pieces = tok(c, add_special_tokens=False)["input_ids"]
        left, right = f.template.split("[Y]")
        masked = " ".join([tok.mask_token] * len(pieces)).replace(f"{tok.mask_token} ", tok.mask_token)
        ids = tok(left + masked + right)["input_ids"]
        start = ids.index(tok.mask_token_id)
        assert ids[start:start + len(pieces)] == [tok.mask_token_id] * len(pieces)
        lp = torch.log_softmax(_logits(model, ids), -1)
        scores.append(float(sum(lp[start + j, t] for j, t in enumerate(pieces))))
    assert r.modes[3] == "candidates" and r.n_object_tokens[3] == len(tok("official", add_special_tokens=False)["input_ids"]) > 1
    assert r.ranks[3] == 1 + int((np.array(scores) > scores[0]).sum())


# ---- facts, LAMA files, the shipped set, bad input ----------------------------------------------
def test_lama_files_load_with_their_own_field_names(tmp_path):
    data = tmp_path / "data"
    (data / "TREx").mkdir(parents=True)
    (data / "relations.jsonl").write_text(json.dumps({"relation": "P19", "template": "[X] was born in [Y] ."}) + "\n")
    (data / "TREx" / "P19.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"sub_label": "Dante", "obj_label": "Florence", "predicate_id": "P19"},
        {"sub_label": "Mozart", "obj_label": "Salzburg", "predicate_id": "P19"},
    ]) + "\n")
    facts = load_lama(data / "TREx" / "P19.jsonl")
    assert [f.sentence() for f in facts] == ["Dante was born in Florence .", "Mozart was born in Salzburg ."]
    assert {f.relation for f in facts} == {"P19"}
    google = tmp_path / "place_of_birth_test.jsonl"
    google.write_text(json.dumps({"pred": "/people/person/place_of_birth", "sub_label": "Khatchig Mouradian",
                                  "obj_label": "Lebanon", "masked_sentences": ["Mouradian was born in [MASK] in 1978."]}) + "\n")
    (f,) = load_lama(google)
    assert f.template == "Mouradian was born in [Y] in 1978." and f.sentence() == "Mouradian was born in Lebanon in 1978."
    assert len(load_lama(data / "TREx")) == 2
    (data / "TREx" / "bad.jsonl").write_text('{"sub_label": "x", "obj_label": "y"}\nnot json\n')
    with pytest.raises(ValueError, match=r"bad.jsonl line 2: not a JSON object"):
        load_lama(data / "TREx")
    (data / "TREx" / "bad.jsonl").write_text('{"sub_label": "x", "obj_label": "y"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl record 1: no template"):
        load_lama(data / "TREx")


@pytest.mark.parametrize(("record", "needle"), [
    ({"template": "The capital of [X] is Paris.", "subject": "France", "object": "Paris"}, r"facts\[0\]: template must contain \[Y\]"),
    ({"template": "[X] and [Y] and [Y]", "subject": "a", "object": "b"}, r"\[Y\] .* once"),
    ({"template": "[X] is [Y].", "subject": "", "object": "b"}, "subject must be a non-empty string"),
    ({"template": "[X] is [Y].", "subject": "a", "object": " "}, "object must be a non-empty string"),
    ({"subject": "a", "object": "b"}, "no template"),
])
def test_bad_facts_are_refused_naming_the_fact(record, needle):
    with pytest.raises(ValueError, match=needle):
        tiny_lens("gpt2").probe([record], progress=False)


def test_bad_calls_are_refused():
    lens = tiny_lens("gpt2")
    with pytest.raises(ValueError, match="no facts"):
        lens.probe([], progress=False)
    with pytest.raises(TypeError, match="list of facts"):
        as_facts({"template": "[X] is [Y]."})
    with pytest.raises(ValueError, match="no file or folder"):
        lens.probe("/no/such/facts.jsonl", progress=False)
    with pytest.raises(ValueError, match="k must be >= 1"):
        lens.probe(CAUSAL_FACTS[:1], k=0, progress=False)


def test_a_model_without_an_lm_head_is_refused():
    import transformers as T
    from tiny import wordpiece_tokenizer

    tok = wordpiece_tokenizer()
    cfg = T.BertConfig(num_hidden_layers=1, hidden_size=16, num_attention_heads=2, intermediate_size=32,
                       vocab_size=len(tok), max_position_embeddings=64)
    lens = lmlens.Lens(T.BertModel(cfg).eval(), tok)
    with pytest.raises(ValueError, match="lens.probe needs an unembedding"):
        lens.probe(CAUSAL_FACTS[:1], progress=False)


def test_the_shipped_set_is_english_and_japanese_with_templates():
    facts = shipped()
    en, ja = shipped("en"), shipped("ja")
    assert len(facts) == len(en) + len(ja) and len(en) >= 40 and len(ja) >= 30
    assert {f.relation.split("/")[0] for f in facts} == {"en", "ja"}
    assert len({f.relation for f in facts}) >= 8
    assert all("[X]" in f.template and "[Y]" in f.template for f in facts)
    assert all(f.lang == f.relation.split("/")[0] for f in facts)
    with pytest.raises(ValueError, match="lang must be one of"):
        shipped("fr")
    assert (Path(lmlens.probes.__file__).parent / "data" / "facts_ja.jsonl").is_file()


@pytest.mark.slow
def test_smollm2_knows_the_shipped_english_facts_well_above_chance():
    """SmolLM2-135M on the shipped English facts: measured P@1 0.65 over facts (chance: 1 in 49,152
    for the vocabulary-ranked facts, 1 in ~4-10 for the rest)."""
    lens = lmlens.load("smollm2")
    r = lens.probe(shipped("en"), logit_lens=False, progress=False).result
    vocab = np.array([m == "vocab" for m in r.modes])
    assert vocab.sum() >= 40
    assert (r.ranks[vocab] == 1).mean() > 0.5
    assert r.overall["precision_at_1"] > 0.5


# ---- the CLI ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gpt2_folder(tmp_path_factory) -> Path:
    from tiny import save_tiny

    return save_tiny(tmp_path_factory.mktemp("tiny-gpt2"), "gpt2")


def test_cli_probe_writes_the_view_of_the_api(gpt2_folder, tmp_path):
    from test_cli import run

    facts = tmp_path / "facts.jsonl"
    facts.write_text("\n".join(json.dumps({"template": f.template, "subject": f.subject, "object": f.object,
                                            "relation": f.relation}) for f in CAUSAL_FACTS[:4]) + "\n")
    out = run("probe", str(facts), "--model", str(gpt2_folder), "-o", str(tmp_path / "p.html"), "-k", "4")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str((tmp_path / "p.html").resolve())]
    html = (tmp_path / "p.html").read_text(encoding="utf-8")
    want = lmlens.load(gpt2_folder).probe(facts, k=4, progress=False).result
    assert want.sentences[0] in html and f"P@1 {100 * want.overall['precision_at_1']:.0f}%" in html


def test_cli_probe_refuses_a_template_without_y_in_one_line(gpt2_folder, tmp_path):
    from test_cli import assert_one_line_error, run

    facts = tmp_path / "facts.jsonl"
    facts.write_text(json.dumps({"template": "The capital of [X] is Paris.", "subject": "France", "object": "Paris"}) + "\n")
    out = run("probe", str(facts), "--model", str(gpt2_folder), "-o", str(tmp_path / "p.html"))
    assert_one_line_error(out, "facts.jsonl record 1: template must contain [Y]")
    assert not (tmp_path / "p.html").exists()
    assert_one_line_error(run("probe", str(tmp_path / "none.jsonl"), "-o", str(tmp_path / "p.html")), "no file or folder")
    assert_one_line_error(run("probe", str(facts), "--lang", "en", "-o", str(tmp_path / "p.html")), "--lang")
    assert_one_line_error(run("probe", "--lang", "fr", "-o", str(tmp_path / "p.html")), "invalid choice: 'fr'")
