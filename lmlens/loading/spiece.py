"""Sentencepiece tokenizers (``spiece.model``, e.g. rinna's ``T5Tokenizer``) made to tokenize as
their model file and config say, and checked against the ``sentencepiece`` processor itself.

transformers 5 builds a ``T5Tokenizer`` as a *tokenizers* Unigram with T5's own layout baked in.
On a folder with rinna's layout (ids 0 ``<unk>``, 1 ``<s>``, 2 ``</s>``, 3 ``[PAD]``, ...) that
means: an unknown character gets id 2 (``</s>``) instead of ``<unk>``; ``do_lower_case: true`` is
ignored, so "NHK" (upper case never seen in training) becomes unknown too; and every text gets
``</s>`` appended, which a causal LM must not see. :func:`fit_tokenizer` repairs the fast
tokenizer's backend in place; :func:`check_against_spiece` then compares its ids with
``sentencepiece`` run on the same (lower-cased) text.

>>> from transformers import AutoTokenizer  # doctest: +SKIP
>>> tok = AutoTokenizer.from_pretrained("rinna/japanese-gpt2-medium")  # doctest: +SKIP
>>> fit_tokenizer(tok, causal=True)  # doctest: +SKIP
['unknown pieces map to <unk> (id 0), not id 2', 'input is lower-cased (do_lower_case)', ...]
>>> check_against_spiece(tok)  # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

#: Texts compared with sentencepiece: upper-case Latin, Japanese, Cyrillic, digits, punctuation
#: and a character missing from most vocabularies (an emoji). No accents: some sentencepiece
#: tokenizers (ALBERT) strip them on purpose before the model runs.
SPIECE_PROBES = (
    "NHKで放送された番組です。",
    "The Capital of France is Paris, 123.",
    "東京は日本の首都です😀",
    "Привет мир",
)


def _backend(tok):
    """The *tokenizers* object behind a fast tokenizer, or None for a pure-Python one."""
    return getattr(tok, "backend_tokenizer", None)


def _do_lower_case(tok) -> bool:
    """What the tokenizer's config says (transformers 5 keeps it but does not apply it)."""
    return bool(tok.init_kwargs.get("do_lower_case", getattr(tok, "do_lower_case", False)))


def _fix_unknown_id(tok, bt) -> str | None:
    """A Unigram model whose ``unk_id`` points at another token than ``tok.unk_token``: repoint it."""
    from tokenizers import models

    state = json.loads(bt.model.__getstate__())
    if state.get("type") != "Unigram" or tok.unk_token is None:
        return None
    pieces = [p for p, _ in state["vocab"]]
    if str(tok.unk_token) not in pieces:
        return None
    want = pieces.index(str(tok.unk_token))
    had = state.get("unk_id")
    if had == want:
        return None
    bt.model = models.Unigram([tuple(v) for v in state["vocab"]], want, bool(state.get("byte_fallback")))
    return f"unknown pieces map to {tok.unk_token} (id {want}), not id {had}"


def _lower_case(tok, bt) -> str | None:
    """``do_lower_case: true`` in the config, and the backend does not lower-case: add it first
    (before the sentencepiece normalizer, as the Python tokenizer rinna was released with did)."""
    from tokenizers import normalizers

    if not _do_lower_case(tok):
        return None
    current = bt.normalizer
    if current is not None and current.normalize_str("AZ") == "az":
        return None
    bt.normalizer = normalizers.Lowercase() if current is None else normalizers.Sequence(
        [normalizers.Lowercase(), current]
    )
    return "input is lower-cased (do_lower_case)"


def _template_item(item: dict) -> str:
    if "Sequence" in item:
        return f"${item['Sequence']['id']}:{item['Sequence']['type_id']}"
    return f"{item['SpecialToken']['id']}:{item['SpecialToken']['type_id']}"


def _drop_appended_eos(tok, bt) -> str | None:
    """A template that appends ``</s>`` after each sequence: drop it (a causal LM predicts after
    the text, not after an end-of-text)."""
    from tokenizers import processors

    eos = tok.eos_token
    if bt.post_processor is None or eos is None:
        return None
    state = json.loads(bt.post_processor.__getstate__())
    if state.get("type") != "TemplateProcessing":
        return None

    def strip(template: list[dict]) -> list[dict]:
        out = []
        for i, item in enumerate(template):
            after_seq = i > 0 and "Sequence" in template[i - 1]
            if after_seq and item.get("SpecialToken", {}).get("id") == str(eos):
                continue
            out.append(item)
        return out

    single, pair = strip(state["single"]), strip(state["pair"])
    if single == state["single"]:
        return None
    used = {i["SpecialToken"]["id"] for i in single + pair if "SpecialToken" in i}
    specials = [(k, v["ids"][0]) for k, v in state["special_tokens"].items() if k in used and len(v["ids"]) == 1]
    bt.post_processor = processors.TemplateProcessing(
        single=[_template_item(i) for i in single], pair=[_template_item(i) for i in pair],
        special_tokens=specials,
    )
    return f"no {eos} appended to a causal model's input"


def fit_tokenizer(tok, *, causal: bool) -> list[str]:
    """Repair a fast tokenizer in place so it tokenizes as its sentencepiece model and config say:
    unknown pieces map to ``unk_token``; ``do_lower_case`` is applied; for a causal model no
    end-of-text is appended. Returns what was changed (empty for tokenizers that need nothing).

    >>> fit_tokenizer(AutoTokenizer.from_pretrained(rinna_folder), causal=True)  # doctest: +SKIP
    ['unknown pieces map to <unk> (id 0), not id 2', 'input is lower-cased (do_lower_case)', "no </s> appended to a causal model's input"]
    """
    bt = _backend(tok)
    if bt is None:
        return []
    steps = [_fix_unknown_id(tok, bt), _lower_case(tok, bt)]
    if causal:
        steps.append(_drop_appended_eos(tok, bt))
    return [s for s in steps if s]


def spiece_file(tok) -> Path | None:
    """The tokenizer's sentencepiece model file, when it was built from one and it is on disk."""
    f = getattr(tok, "vocab_file", None) or tok.init_kwargs.get("vocab_file")
    if not f or not str(f).endswith(".model") or not Path(f).is_file():
        return None
    return Path(f)


def check_against_spiece(tok, model_file: str | Path | None = None) -> None:
    """Raise ``ValueError`` unless ``tok`` gives the ids ``sentencepiece`` gives for every probe
    text (lower-cased first when the config says ``do_lower_case``). Does nothing when there is
    no ``.model`` file, ``sentencepiece`` is not installed, or the tokenizer's ids are not the
    sentencepiece ids (fairseq-style vocabularies shift them).

    >>> check_against_spiece(tok)  # doctest: +SKIP
    """
    model_file = model_file or spiece_file(tok)
    if model_file is None:
        return
    try:
        import sentencepiece as spm
    except ImportError:
        return
    sp = spm.SentencePieceProcessor(model_file=str(model_file))
    n = sp.get_piece_size()
    if tok.convert_ids_to_tokens(list(range(min(n, len(tok))))) != [sp.id_to_piece(i) for i in range(n)]:
        return  # not an identity mapping of ids: nothing to compare with
    lower = _do_lower_case(tok)
    for text in SPIECE_PROBES:
        want = sp.encode(text.lower() if lower else text)
        got = list(tok(text, add_special_tokens=False)["input_ids"])
        if got != want:
            raise ValueError(
                f"the tokenizer disagrees with its sentencepiece model {Path(model_file).name} on "
                f"{text!r}: {tok.convert_ids_to_tokens(got)} != {[sp.id_to_piece(i) for i in want]} "
                f"(lower-cased: {lower}). Pass check=False to load it anyway."
            )

