"""A folder in rinna/japanese-gpt2-medium's exact layout (tests/rinna_folder.py) loads through
``lmlens.load(folder)`` and tokenizes as rinna intends: every id equals the ``sentencepiece``
processor's, called directly on the lower-cased text; unknown characters become ``<unk>`` (id 0),
never ``</s>`` (id 2); no ``</s>`` enters a trace. The load-time tokenizer check accepts a
vocabulary without Latin letters and refuses one where every piece maps to ``<unk>``."""

import json
import re

import pytest
from rinna_folder import RINNA_SPECIALS, rinna_folder
from tiny import CORPUS

import lmlens
from lmlens.loading.spiece import check_against_spiece
from lmlens.loading.tokenizer_check import PROBES, load_tokenizer, round_trips, works

spm = pytest.importorskip("sentencepiece")

TEXTS = ["NHKで放送された番組です。", "東京は日本の首都です", "The Capital of France is Paris."]
EXTRA = ["nhkで放送された番組です。"]  # every character of TEXTS (lower-cased) is in the vocabulary
UNKNOWN = ["東京😀は日本の首都です", "東京は鬱の首都です", "東京は😀😀です"]  # emoji, a rare kanji, two in a row


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return rinna_folder(tmp_path_factory.mktemp("rinna"), [*CORPUS, *EXTRA])


@pytest.fixture(scope="module")
def lens(folder):
    return lmlens.load(str(folder))


@pytest.fixture(scope="module")
def sp(folder):
    return spm.SentencePieceProcessor(model_file=str(folder / "spiece.model"))


def test_the_folder_has_rinnas_layout(folder, sp):
    assert [sp.id_to_piece(i) for i in range(7)] == list(RINNA_SPECIALS)
    assert (sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id()) == (0, 1, 2, 3)
    config = json.loads((folder / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "T5Tokenizer" and config["do_lower_case"] is True
    assert config["extra_ids"] == 0 and config["pad_token"] == "[PAD]" and config["mask_token"] == "[MASK]"
    assert json.loads((folder / "special_tokens_map.json").read_text())["unk_token"] == "<unk>"
    model_config = json.loads((folder / "config.json").read_text())
    assert (model_config["bos_token_id"], model_config["eos_token_id"]) == (1, 2)
    pieces = [sp.id_to_piece(i) for i in range(7, sp.get_piece_size())]
    assert not any(re.search("[A-Z]", p) for p in pieces)  # trained on lower-cased text


def test_loads_as_a_causal_model_with_eager_attention(lens):
    assert lens.kind == "causal" and lens.model.config._attn_implementation == "eager"


@pytest.mark.parametrize("text", TEXTS)
def test_ids_equal_sentencepiece_on_the_lower_cased_text(lens, sp, text):
    want = sp.encode(text.lower())  # "NHK" → "nhk": rinna's vocabulary has no upper case
    assert 2 not in want and 0 not in want
    assert list(lens.tokenizer(text)["input_ids"]) == want  # nothing appended: no </s>
    trace = lens.trace(text, points="embed")
    assert trace.token_ids.tolist() == want
    assert trace.pieces == [sp.id_to_piece(i) for i in want] and trace.pieces[0].startswith("▁")
    assert lens.tokenizer.decode(trace.token_ids) == text.lower()
    if " " not in text:  # (display strings of mid-text "▁word" pieces are capture's business)
        assert "".join(trace.tokens).strip() == text.lower()


@pytest.mark.parametrize("text", UNKNOWN)
def test_unknown_characters_become_unk_not_end_of_text(lens, sp, text):
    want = sp.encode(text.lower())
    assert want.count(0) == 1 and 2 not in want  # one <unk> (two emoji in a row fuse into one)
    trace = lens.trace(text, points="embed")
    assert trace.token_ids.tolist() == want
    assert trace.pieces[want.index(0)] == "<unk>"


def test_no_end_of_text_enters_a_trace(lens, sp):
    text = TEXTS[0]
    assert list(lens.tokenizer(text, add_special_tokens=True)["input_ids"]) == sp.encode(text.lower())
    trace = lens.trace(text)
    assert 2 not in trace.token_ids.tolist() and "</s>" not in trace.tokens


def test_the_unrepaired_tokenizer_fails_the_sentencepiece_check(folder):
    """transformers 5 alone: unknown pieces → id 2 and no lower-casing; the check says so."""
    from transformers import AutoTokenizer

    raw = AutoTokenizer.from_pretrained(str(folder))
    assert 2 in raw("NHK", add_special_tokens=False)["input_ids"]  # the bug this repairs is real
    with pytest.raises(ValueError, match="disagrees with its sentencepiece model spiece.model"):
        check_against_spiece(raw)
    check_against_spiece(load_tokenizer(str(folder), causal=True))  # the repaired one agrees


def test_a_disagreement_with_the_model_file_fails_the_load_unless_unchecked(tmp_path):
    """A sentencepiece model trained without the dummy prefix: T5Tokenizer still puts ``▁``
    first, so its ids are not the model file's. The load says so; ``check=False`` loads anyway."""
    folder = rinna_folder(tmp_path / "no-prefix", [*CORPUS, *EXTRA], add_dummy_prefix=False)
    sp = spm.SentencePieceProcessor(model_file=str(folder / "spiece.model"))
    assert sp.encode("東京")[0] != sp.piece_to_id("▁")
    with pytest.raises(ValueError, match="disagrees with its sentencepiece model .*check=False"):
        lmlens.load(str(folder))
    assert lmlens.load(str(folder), check=False).kind == "causal"


def test_a_vocabulary_without_latin_letters_passes_the_check(tmp_path):
    japanese = [s for s in CORPUS if not re.search("[A-Za-z]", s)]
    folder = rinna_folder(tmp_path / "ja", [*japanese, "日本の首都は東京です。", "こんにちは、世界。"], vocab_size=40)
    sp = spm.SentencePieceProcessor(model_file=str(folder / "spiece.model"))
    pieces = [sp.id_to_piece(i) for i in range(len(RINNA_SPECIALS), sp.get_piece_size())]
    assert pieces and not any(re.search("[A-Za-z]", p) for p in pieces)
    tok = load_tokenizer(str(folder), causal=True)
    assert not round_trips(tok, "hello world")  # a probe in Latin letters alone would refuse it
    assert round_trips(tok, "東京は日本の首都です")
    lens = lmlens.load(str(folder))
    assert lens.trace("こんにちは", points="embed").token_ids.tolist() == sp.encode("こんにちは")


def test_a_tokenizer_that_maps_everything_to_unk_is_refused(tmp_path):
    """The empty conversion: a Unigram vocabulary with only special pieces and ``▁``."""
    from transformers import T5Tokenizer

    empty = T5Tokenizer(extra_ids=0)
    ids = empty("hello world", add_special_tokens=False)["input_ids"]
    assert set(ids) <= {empty.unk_token_id, empty.convert_tokens_to_ids("▁")}
    assert not works(empty) and not any(round_trips(empty, p) for p in PROBES)
    empty.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="round-trips none of"):
        load_tokenizer(str(tmp_path))


def test_broken_tokenizer_folder_says_what_to_install(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "T5Tokenizer"}))
    with pytest.raises(ValueError, match="pip install sentencepiece protobuf"):
        load_tokenizer(str(tmp_path))
