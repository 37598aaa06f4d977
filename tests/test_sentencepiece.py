"""A rinna-style folder (T5Tokenizer over a sentencepiece ``spiece.model``, GPT-2 weights) loads
through ``lmlens.load(folder)``: the tokenizer works, the appended ``</s>`` is dropped for a causal
LM, and Japanese tokens display as text."""

import json

import pytest
from tiny import rinna_like_folder

import lmlens

spm = pytest.importorskip("sentencepiece")


@pytest.fixture(scope="module")
def rinna_like(tmp_path_factory):
    return rinna_like_folder(tmp_path_factory.mktemp("rinna_like"))


def test_folder_with_sentencepiece_tokenizer(rinna_like):
    lens = lmlens.load(str(rinna_like))
    assert lens.kind == "causal" and lens.model.config._attn_implementation == "eager"
    raw = lens.tokenizer("東京は日本の首都です")["input_ids"]
    assert raw[-1] == lens.tokenizer.eos_token_id  # the tokenizer appends </s> ...
    trace = lens.trace("東京は日本の首都です", points="embed")
    assert trace.token_ids.tolist() == raw[:-1]  # ... which lmlens drops for next-token views
    assert "".join(trace.tokens).strip() == "東京は日本の首都です"
    assert trace.pieces[0] == "▁"


def test_broken_tokenizer_folder_says_what_to_install(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "T5Tokenizer"}))
    from lmlens.loading.tokenizer_check import load_tokenizer

    with pytest.raises(ValueError, match="pip install sentencepiece protobuf"):
        load_tokenizer(str(tmp_path))
