"""Japanese on a byte-level BPE model (tests/tiny.py's tokenizer, trained on a corpus with
Japanese, splits most characters into 2–3 byte tokens): partial byte tokens read as hex with the
character they belong to, the text strip draws each character once and joins back to the text,
and a watched Japanese word names its first bytes. Bytes are checked against transformers' own
GPT-2 byte table and Python's UTF-8 encoder, not against lmlens' decoding."""

from __future__ import annotations

import html
import json
import re

import pytest
from browser import chromium, grid_point, open_page, skip_reason
from tiny import tiny_lens
from transformers.convert_slow_tokenizer import bytes_to_unicode

from lmlens.capture.byte_pieces import label_bytes, text_labels
from lmlens.capture.tokens import display_tokens

TEXT = "東京は日本の首都です。京都"
UNICODE_TO_BYTE = {c: b for b, c in bytes_to_unicode().items()}
HEX = re.compile(r"<([0-9A-F ]+)>")


@pytest.fixture(scope="module")
def lens():
    return tiny_lens("gpt2")


def _bytes(piece: str) -> bytes:
    return bytes(UNICODE_TO_BYTE[c] for c in piece)


def _split_chars(ids_bytes: list[bytes]) -> bool:
    """Whether some character of the text is split over tokens (the case under test)."""
    return any(not _valid(b) for b in ids_bytes)


def _valid(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_labels_show_each_tokens_share_of_the_bytes_and_the_character(lens):
    trace = lens.trace(TEXT, points="embed")
    raw = [_bytes(p) for p in trace.pieces]
    assert b"".join(raw) == TEXT.encode("utf-8")
    assert _split_chars(raw), "the tiny tokenizer must split some character into byte tokens"
    # tokens still join back to the text
    assert "".join(trace.tokens) == TEXT
    # by hand: walk the text's characters with their UTF-8 byte ranges
    spans, at = [], 0
    for ch in TEXT:
        n = len(ch.encode("utf-8"))
        spans.append((at, at + n, ch))
        at += n
    start = 0
    for tb, label in zip(raw, trace.labels, strict=True):
        end = start + len(tb)
        cut = [(s, e, ch) for s, e, ch in spans if s < end and e > start and not (s >= start and e <= end)]
        if not cut:
            assert label == ""
        else:
            for s, e, ch in cut:
                share = TEXT.encode("utf-8")[max(s, start) : min(e, end)]
                want = "<" + " ".join(f"{x:02X}" for x in share) + ">(" + ch + ")"
                assert want in label, (label, want)
            assert "\ufffd" not in label
        start = end


def test_vocabulary_strings_of_partial_byte_tokens_are_hex(lens):
    tok = lens.tokenizer
    trace = lens.trace(TEXT, points="embed")
    ids = list(range(len(tok)))
    strings = trace.id_to_str(ids)
    n_partial = 0
    for i, s in zip(ids, strings, strict=True):
        piece = tok.convert_ids_to_tokens(i)
        if piece in tok.all_special_tokens:
            continue
        b = _bytes(piece)
        assert "\ufffd" not in s
        if _valid(b):
            assert s == b.decode("utf-8")
        else:
            n_partial += 1
            # every byte is shown, in order, as text or in a hex run
            parts = HEX.split(s)  # text, hex, text, hex, ...
            back = b"".join(bytes.fromhex(x) if k % 2 else x.encode("utf-8") for k, x in enumerate(parts))
            assert back == b, (s, b)
    assert n_partial > 10


def test_text_labels_by_hand():
    # 東 = E6 9D B1, 京 = E4 BA AC (UTF-8)
    assert text_labels([b"\xe6\x9d", b"\xb1\xe4\xba", b"\xac!"]) == [
        "<E6 9D>(東)", "<B1>(東)<E4 BA>(京)", "<AC>(京)!"]
    assert text_labels([b"ab", b"c"]) == ["", ""]
    assert text_labels([b"\xe6\x9d"]) == ["<E6 9D>"]  # cut at the end: no character known
    assert label_bytes(b" \xe6") == " <E6>"


def test_watching_a_japanese_word_names_its_first_bytes(lens):
    view = lens.rankings_watch("パリはフランスの首都です。", watch=["東京"])
    r = view.result
    first = lens.tokenizer("東京", add_special_tokens=False)["input_ids"][0]
    assert int(r.watch_ids[0]) == first
    head = _bytes(lens.tokenizer.convert_ids_to_tokens(first))
    assert "東京".encode().startswith(head) and not _valid(head)
    want = "<" + " ".join(f"{x:02X}" for x in head) + ">"
    assert any(want in n and "the first bytes of '東'" in n for n in r.notes), r.notes


def test_sentencepiece_word_pieces_keep_their_space(tmp_path):
    pytest.importorskip("sentencepiece")
    from rinna_folder import rinna_folder

    import lmlens

    lens = lmlens.load(rinna_folder(tmp_path / "rinna"))
    text = "the capital of france is paris."
    ids = lens.tokenizer(text)["input_ids"]
    tokens, pieces, _ = display_tokens(lens.tokenizer, ids)
    assert "".join(tokens).strip() == text
    # by hand: a piece starting with ▁ (after the first) reads with its space
    for t, p in zip(tokens[1:], pieces[1:], strict=True):
        if p.startswith("▁") and len(p) > 1:
            assert t.startswith(" "), (t, p)


@pytest.mark.browser
@pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
def test_views_draw_each_character_once_and_chips_show_bytes(lens, tmp_path):
    import os

    os.makedirs("/tmp/ja_shots", exist_ok=True)
    views = {
        "predictions": lens.predictions(TEXT),
        "layer_predictions": lens.layer_predictions(TEXT),
        "neuron_factors": lens.neuron_factors(TEXT, n_factors=2),
        "attribution": lens.attribution(TEXT, method="saliency"),
    }
    trace = lens.trace(TEXT, points="embed")
    first_label = next(lab for lab in trace.labels if lab)
    with chromium() as b:
        for name, view in views.items():
            path = tmp_path / f"{name}.html"
            view.save_html(path)
            with open_page(path, browser=b) as (page, log):
                page.wait_for_selector(".lm-view .lm-text")
                strip = page.locator(".lm-view .lm-text").first
                drawn = strip.evaluate(
                    "el => Array.from(el.childNodes).map(n => n.classList.contains('lm-tok-group')"
                    " ? n.querySelector('.lm-tok-text').textContent : n.textContent).join('')")
                # attribution appends its target (the next token) after the text
                assert drawn.replace("↵", "")[: len(TEXT)] == TEXT, (name, drawn)
                assert "∅" not in strip.inner_text()
                assert strip.locator(".lm-tok").count() == len(trace.tokens) + (name == "attribution")
                titles = strip.locator(".lm-tok").evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
                assert first_label in titles
                # hovering a slice of a split character shows that token
                strip.locator(".lm-tok.lm-slice").first.hover()
                assert strip.locator(".lm-tok.lm-active, .lm-tok.lm-locked").count() <= 1
                assert not log.errors and not log.requests, (name, log.errors, log.requests)
                page.screenshot(path=f"/tmp/ja_shots/bytes_{name}.png", full_page=True)
        # the logit-lens grid (a canvas) has no strip: hovering a byte token's column names it by
        # its chip label in the detail panel
        path = tmp_path / "rankings.html"
        lens.rankings(TEXT).save_html(path)
        p = trace.labels.index(first_label)
        with open_page(path, browser=b) as (page, log):
            page.mouse.move(*grid_point(page, ".lm-rk-grid", 0, p))
            detail = page.locator(".lm-detail")
            assert detail.get_attribute("data-lm-position") == str(p)
            assert first_label in detail.text_content() and "∅" not in detail.text_content()
            assert not log.errors and not log.requests


# ---- byte labels in every output: no-JS fallbacks, attention and causal tracing, figures -------


def _hand_labels(lens, text: str) -> list[str]:
    """Each token's label worked out by hand from its vocabulary piece (transformers' byte table)
    and Python's UTF-8 encoder: ``""`` when the token holds only whole characters, else its
    characters in order, a whole one as itself and a cut one as the token's share of its bytes in
    hex followed by the character."""
    ids = lens.tokenizer(text, add_special_tokens=False)["input_ids"]
    raw = [_bytes(p) for p in lens.tokenizer.convert_ids_to_tokens(ids)]
    full = text.encode("utf-8")
    assert b"".join(raw) == full
    spans, at = [], 0
    for ch in text:
        n = len(ch.encode("utf-8"))
        spans.append((at, at + n, ch))
        at += n
    labels, start = [], 0
    for tb in raw:
        end = start + len(tb)
        mine = [(s, e, ch) for s, e, ch in spans if s < end and e > start]
        if all(s >= start and e <= end for s, e, _ in mine):
            labels.append("")
        else:
            labels.append("".join(
                ch if s >= start and e <= end
                else "<" + " ".join(f"{x:02X}" for x in full[max(s, start):min(e, end)]) + ">(" + ch + ")"
                for s, e, ch in mine))
        start = end
    return labels


def _no_js_text(page_html: str) -> str:
    """What a reader without scripts sees of a view: scripts and styles dropped, tags removed,
    entities decoded."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page_html, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _spec(page_html: str) -> dict:
    m = re.search(r'<script type="application/json" class="lmlens-spec">(.*?)</script>', page_html, re.S)
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def byte_views(lens):
    return {
        "predictions": lens.predictions(TEXT),
        "rankings": lens.rankings(TEXT),
        "rankings_watch": lens.rankings_watch(TEXT, watch=["東京"]),
        "layer_predictions": lens.layer_predictions(TEXT),
        "attribution": lens.attribution(TEXT, method="saliency"),
        "neuron_factors": lens.neuron_factors(TEXT, n_factors=2),
        "attention": lens.attention(TEXT),
        "causal_trace": lens.causal_trace(TEXT, subject="東京", n_samples=2, progress=False),
        # a one-token object: the top-10 over the vocabulary, byte tokens among them
        "probe": lens.probe([{"relation": "r", "template": "The capital of [X] is [Y]", "subject": "France",
                              "object": "is"}], k=10, logit_lens=False, progress=False),
    }


def test_probe_top_predictions_read_byte_tokens_as_hex(lens, byte_views):
    r = byte_views["probe"].result
    assert r.modes == ("vocab",)
    partial = 0
    for i, s in zip(r.top_ids[0].tolist(), r.top_strings[0], strict=True):
        b = _bytes(lens.tokenizer.convert_ids_to_tokens(i))
        assert "\ufffd" not in s
        parts = HEX.split(s)  # text, hex, text, hex, ...: every byte shown, in order
        assert b"".join(bytes.fromhex(x) if k % 2 else x.encode("utf-8") for k, x in enumerate(parts)) == b
        partial += not _valid(b)
    assert partial > 0, r.top_strings


def test_attention_and_causal_trace_label_byte_tokens(lens, byte_views):
    hand = _hand_labels(lens, TEXT)
    assert sum(bool(x) for x in hand) > 5
    for name in ("attention", "causal_trace"):
        view = byte_views[name]
        assert list(view.result.token_labels) == hand, name
        assert _spec(view.to_html())["token_labels"] == hand, name


@pytest.mark.parametrize("name", ["predictions", "rankings", "rankings_watch", "layer_predictions",
                                  "attribution", "neuron_factors", "attention", "causal_trace", "probe"])
def test_no_js_fallback_shows_byte_labels_not_replacement_characters(lens, byte_views, name):
    text = _no_js_text(byte_views[name].to_html())
    assert "\ufffd" not in text
    assert HEX.search(text), name  # a byte token reads as its hex
    hand = _hand_labels(lens, TEXT)
    if name == "attention":  # the last token is the query; its keys listed by label
        assert f"“{hand[-1]}”" in text
        keys = re.search(r"layer\s+keys(.*)This is the plain-HTML", text, re.S).group(1)
        assert any(lab and lab in keys for lab in hand)
    if name == "causal_trace":  # the token row under each site names every token by its label
        assert all(lab in text for lab in hand if lab)


def test_figures_name_byte_tokens_by_label(lens, byte_views):
    pytest.importorskip("matplotlib")
    hand = _hand_labels(lens, TEXT)
    short = {lab for lab in hand if lab and len(lab) <= 12}  # figures cut longer labels
    assert short
    for name in ("attention", "causal_trace"):
        fig = byte_views[name].figure()
        ticks = {t.get_text() for ax in fig.axes for t in ax.get_xticklabels()}
        assert short <= {t.rstrip("*") for t in ticks}, (name, ticks)
        assert not any("\ufffd" in t for t in ticks)


@pytest.mark.browser
@pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
def test_attention_and_causal_trace_chips_show_byte_labels(lens, byte_views, tmp_path):
    """The head view's query and key columns (one chip per token) read as the labels; the pair
    view's text strip draws each character once with each token's label as its name; the causal
    trace's detail names a byte token's column by its label."""
    import os

    os.makedirs("/tmp/ja_shots", exist_ok=True)
    hand = _hand_labels(lens, TEXT)
    tokens = list(byte_views["attention"].result.tokens)
    want = [lab or tok for lab, tok in zip(hand, tokens, strict=True)]
    with chromium() as b:
        path = tmp_path / "attention.html"
        byte_views["attention"].save_html(path)
        with open_page(path, browser=b) as (page, log):
            page.wait_for_selector(".lm-att-left .lm-tok")
            for side in ("left", "right"):
                chips = page.locator(f".lm-att-{side} .lm-tok").all_text_contents()
                assert chips == want, (side, chips)
            page.screenshot(path="/tmp/ja_shots/bytes_attention_heads.png", full_page=True)
            assert not log.errors and not log.requests, (log.errors, log.requests)
        path = tmp_path / "attention_pair.html"
        lens.attention(TEXT, view="pair").save_html(path)
        with open_page(path, browser=b) as (page, log):
            strip = page.locator(".lm-att-pairtext")
            strip.wait_for()
            drawn = strip.evaluate(
                "el => Array.from(el.childNodes).map(n => n.classList.contains('lm-tok-group')"
                " ? n.querySelector('.lm-tok-text').textContent : n.textContent).join('')")
            assert drawn == TEXT and "∅" not in strip.inner_text()
            names = strip.locator(".lm-tok").evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")
            assert [n for n in names if n] == [lab for lab, tok in zip(hand, tokens, strict=True) if lab and lab != tok]
            detail = page.locator(".lm-detail-title").first.text_content()
            assert "\ufffd" not in detail and "∅" not in detail
            page.screenshot(path="/tmp/ja_shots/bytes_attention_pair.png", full_page=True)
            assert not log.errors and not log.requests, (log.errors, log.requests)
        path = tmp_path / "causal_trace.html"
        byte_views["causal_trace"].save_html(path)
        p = next(i for i, lab in enumerate(hand) if lab)
        with open_page(path, browser=b) as (page, log):
            page.mouse.move(*grid_point(page, ".lm-ct-grid", 0, p))
            detail = page.locator(".lm-detail")
            assert detail.get_attribute("data-lm-position") == str(p)
            assert hand[p] in detail.text_content() and "∅" not in detail.text_content()
            page.screenshot(path="/tmp/ja_shots/bytes_causal_trace.png", full_page=True)
            assert not log.errors and not log.requests, (log.errors, log.requests)
