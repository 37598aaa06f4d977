"""A tiny model folder with rinna/japanese-gpt2-medium's exact tokenizer layout, built in code.

rinna's ``spiece.model`` (sentencepiece unigram, trained on lower-cased text) has ids 0 ``<unk>``,
1 ``<s>``, 2 ``</s>``, 3 ``[PAD]``, 4 ``[CLS]``, 5 ``[SEP]``, 6 ``[MASK]``; its
``tokenizer_config.json`` names ``T5Tokenizer`` with ``do_lower_case: true`` and ``extra_ids: 0``;
a ``special_tokens_map.json`` lists the same tokens; the GPT-2 config has ``bos_token_id`` 1 and
``eos_token_id`` 2. Here the vocabulary is trained on a few sentences and the GPT-2 is random and
tiny. Needs ``sentencepiece``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import torch
import transformers as T
from tiny import CORPUS, MAX_PARAMS

#: The special pieces in rinna's order: their ids are their positions.
RINNA_SPECIALS = ("<unk>", "<s>", "</s>", "[PAD]", "[CLS]", "[SEP]", "[MASK]")
SPECIAL_TOKENS = {
    "unk_token": "<unk>", "bos_token": "<s>", "eos_token": "</s>", "pad_token": "[PAD]",
    "cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]",
}


def train_spiece(sentences: Sequence[str], vocab_size: int, *, add_dummy_prefix: bool = True) -> bytes:
    """A sentencepiece unigram model in rinna's layout, trained on ``sentences`` lower-cased
    (as rinna's was). Every character of the sentences is in the vocabulary."""
    import sentencepiece as spm

    lower = [s.lower() for s in sentences]
    n_chars = len(set("".join(lower)) - {" "})
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lower * 5), model_writer=buf, model_type="unigram",
        vocab_size=max(vocab_size, n_chars + len(RINNA_SPECIALS) + 2), hard_vocab_limit=False,
        unk_id=0, bos_id=1, eos_id=2, pad_id=3, pad_piece="[PAD]",
        user_defined_symbols=list(RINNA_SPECIALS[4:]), character_coverage=1.0, minloglevel=2,
        add_dummy_prefix=add_dummy_prefix,
    )
    return buf.getvalue()


def rinna_folder(dest, sentences: Sequence[str] = CORPUS, *, vocab_size: int = 90, n_positions: int = 64,
                 add_dummy_prefix: bool = True) -> Path:
    """Write the folder to ``dest`` and return it: ``spiece.model``, ``tokenizer_config.json``,
    ``special_tokens_map.json`` and a random tiny GPT-2 (``config.json`` + weights).
    ``add_dummy_prefix=False`` trains a model that puts no ``▁`` before the text (rinna's has one)."""
    import sentencepiece as spm

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    proto = train_spiece(sentences, vocab_size, add_dummy_prefix=add_dummy_prefix)
    (dest / "spiece.model").write_bytes(proto)
    sp = spm.SentencePieceProcessor(model_proto=proto)
    assert [sp.id_to_piece(i) for i in range(len(RINNA_SPECIALS))] == list(RINNA_SPECIALS)
    (dest / "tokenizer_config.json").write_text(json.dumps({
        **SPECIAL_TOKENS, "do_lower_case": True, "extra_ids": 0, "additional_special_tokens": [],
        "tokenizer_class": "T5Tokenizer",
    }))
    (dest / "special_tokens_map.json").write_text(json.dumps(SPECIAL_TOKENS))
    torch.manual_seed(0)
    cfg = T.GPT2Config(n_layer=2, n_embd=32, n_head=4, vocab_size=sp.get_piece_size(),
                       n_positions=n_positions, bos_token_id=1, eos_token_id=2)
    model = T.GPT2LMHeadModel(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    if n_params >= MAX_PARAMS:
        raise AssertionError(f"the rinna-style model is not tiny: {n_params} parameters")
    model.save_pretrained(dest)
    return dest
