"""Japanese word grouping (lmlens/capture/words.py) against boundaries marked by hand, with
fugashi + unidic-lite (morphemes) and without them (runs of one script), and applied to
attribution's group="word" on a byte-level BPE model and on a rinna-shaped sentencepiece model,
whatever the tokenizer marks."""

from __future__ import annotations

import numpy as np
import pytest
from tiny import tiny_lens

from lmlens.capture import words

# sentences written for this test, words marked by hand with "|"
MORPHEMES = [  # unidic's short units
    "私|は|コーヒー|を|飲み|まし|た|。",
    "東京|は|日本|の|首都|です|。",
    "NHK|で|放送|さ|れ|た|番組|です|。",
    "猫|が|窓|から|外|を|見|て|いる",
]
SCRIPT_RUNS = [
    "私|は|コーヒー|を|飲|みました|。",
    "東京|は|日本|の|首都|です|。",
    "NHK|で|放送|された|番組|です|。",
    "GPT|-|2|は|2019|年|に|公開|された|。",
    "ラーメン|を|食|べた| Tokyo| station",
]


def _starts(marked: str) -> list[int]:
    out, at = [], 0
    for w in marked.split("|"):
        out.append(at)
        at += len(w)
    return out


@pytest.mark.parametrize("marked", SCRIPT_RUNS)
def test_script_runs_without_fugashi(marked, monkeypatch):
    text = marked.replace("|", "")
    assert words.char_starts(text, engine="script") == _starts(marked)
    monkeypatch.setattr(words, "_tagger", lambda: None)  # as if fugashi were not installed
    assert not words.has_morphemes()
    assert words.char_starts(text) == _starts(marked)  # "auto" falls back to script runs
    with pytest.raises(ImportError, match=r"lmlens\[ja\]"):
        words.char_starts(text, engine="fugashi")


@pytest.mark.parametrize("marked", MORPHEMES)
def test_morphemes_with_fugashi(marked):
    pytest.importorskip("fugashi")
    pytest.importorskip("unidic_lite")
    text = marked.replace("|", "")
    assert words.char_starts(text, engine="fugashi") == _starts(marked)
    assert words.char_starts(text) == _starts(marked)


def test_only_japanese_text_is_regrouped():
    assert words.is_japanese("東京は日本の首都です") and words.is_japanese("東京")
    assert not words.is_japanese("The capital of France is Paris.")
    marked = np.array([True, False, True])
    np.testing.assert_array_equal(words.word_starts(["The", " cap", "ital"], marked), marked)
    with pytest.raises(ValueError, match="engine"):
        words.char_starts("東京", engine="mecab")


def test_byte_tokens_start_a_word_at_the_first_byte():
    # 東京|は|日本 with 東 split into two byte tokens ("" then "東"), 京 whole
    tokens = ["", "東", "京", "は", "日本"]
    got = words.word_starts(tokens, np.zeros(5, bool), engine="script").tolist()
    assert got == [True, False, False, True, True]


def _token_offsets(tokens):
    out, at = [], 0
    for t in tokens:
        out.append(at)
        at += len(t)
    return out


@pytest.mark.parametrize("engine", ["fugashi", "script"])
def test_attribution_groups_japanese_words_on_a_byte_level_model(engine, monkeypatch):
    if engine == "fugashi":
        pytest.importorskip("fugashi")
        marked = "東京|は|日本|の|首都|です|。|京都"
    else:
        monkeypatch.setattr(words, "_tagger", lambda: None)
        marked = "東京|は|日本|の|首都|です|。|京都"
    text = marked.replace("|", "")
    lens = tiny_lens("gpt2")
    trace = lens.trace(text, points="embed")
    assert "".join(trace.tokens) == text
    r = lens.attribution(trace, method="saliency", target=None, group="word").result
    bounds = set(_starts(marked))
    offs = _token_offsets(trace.tokens)
    # a group starts at a hand-marked boundary ("" byte tokens begin the next character) ...
    for a, _ in r.source_spans:
        assert offs[a] in bounds
    # ... and every hand-marked boundary where some token begins starts a group
    n_src = int(r.source_spans[-1, 1])
    firsts = {offs[i] for i in range(n_src) if i == 0 or offs[i] != offs[i - 1]}
    starts = {offs[a] for a, _ in r.source_spans}
    assert {b for b in bounds if b in firsts} == starts
    # a word's scores are the sums of its tokens' (saliency per token, computed alone)
    tok = lens.attribution(trace, method="saliency", target=None).result
    for k, (a, b) in enumerate(r.source_spans):
        np.testing.assert_allclose(r.scores[0, k], tok.scores[0, a:b].sum(), rtol=1e-5, atol=1e-7)


def test_rinna_words_are_morphemes_not_one_sentence(tmp_path):
    pytest.importorskip("sentencepiece")
    from rinna_folder import rinna_folder

    import lmlens

    lens = lmlens.load(rinna_folder(tmp_path / "rinna"))
    text = "東京は日本の首都です。"
    trace = lens.trace(text, points="embed")
    joined = "".join(trace.tokens)
    assert joined.strip() == text
    # the tokenizer marks only the first piece with ▁: grouping on it would give one word
    assert sum(p.startswith("▁") for p in trace.pieces) == 1
    n_words = int(np.asarray(trace.word_starts).sum())
    assert n_words >= 5
    groups = lens.attribution(trace, method="saliency", group="word").result.source_tokens
    assert "".join(groups).strip() == text and len(groups) > 1


def test_neuron_factors_group_japanese_words(tmp_path):
    pytest.importorskip("sklearn")
    from browser import open_page, skip_reason

    marked = "東京|は|日本|の|首都|です|。|京都"
    text = marked.replace("|", "")
    lens = tiny_lens("gpt2")
    tok = lens.neuron_factors(text, n_factors=3).result
    view = lens.neuron_factors(text, n_factors=3, group="word")
    w = view.result
    assert "".join(w.tokens) == text
    bounds = set(_starts(marked))
    offs = _token_offsets(tok.tokens)
    assert all(offs[a] in bounds for a, _ in w.word_spans)
    # by hand: a word's activation is the largest of its tokens'
    for k, (a, b) in enumerate(w.word_spans):
        np.testing.assert_allclose(w.activations[:, k], tok.activations[:, a:b].max(axis=1))
    np.testing.assert_array_equal(w.loadings, tok.loadings)
    if skip_reason() is None:
        path = tmp_path / "nf_words.html"
        view.save_html(path)
        with open_page(path) as (page, log):
            page.wait_for_selector(".lmlens-mount .lm-text")
            spans = page.locator(".lmlens-mount .lm-text .lm-tok")
            assert spans.count() == len(w.tokens)
            assert spans.evaluate_all("els => els.map(e => e.textContent)") == list(w.tokens)
            assert not log.errors and not log.requests
