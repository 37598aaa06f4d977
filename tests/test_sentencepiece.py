"""A rinna-style folder (T5Tokenizer over a sentencepiece ``spiece.model``, GPT-2 weights) loads
through ``lmlens.load(folder)``: the tokenizer works, the appended ``</s>`` is dropped for a causal
LM, and Japanese tokens display as text."""

import io
import json

import pytest
import torch
import transformers as T
from tiny import CORPUS

import lmlens

spm = pytest.importorskip("sentencepiece")


@pytest.fixture(scope="module")
def rinna_like(tmp_path_factory):
    d = tmp_path_factory.mktemp("rinna_like")
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 5), model_writer=buf, vocab_size=90, model_type="unigram",
        pad_id=0, unk_id=1, bos_id=2, eos_id=3, character_coverage=1.0, minloglevel=2,
    )
    (d / "spiece.model").write_bytes(buf.getvalue())
    (d / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "T5Tokenizer", "do_lower_case": True, "eos_token": "</s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "bos_token": "<s>", "extra_ids": 0,
    }))
    torch.manual_seed(0)
    cfg = T.GPT2Config(n_layer=2, n_embd=32, n_head=4, vocab_size=90, n_positions=64,
                       bos_token_id=2, eos_token_id=3)
    model = T.GPT2LMHeadModel(cfg)
    assert sum(p.numel() for p in model.parameters()) < 100_000
    model.save_pretrained(d)
    return d


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
