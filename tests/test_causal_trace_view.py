"""The causal-tracing view: the spec carries the result, the fallback and the figure draw it, a
budget keeps the answer in sight; in Chromium, hovering a cell of a canvas heatmap shows the
result's numbers for it, offline and without errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from browser import chromium, grid_pixel, grid_point, open_page, skip_reason, viridis
from tiny import tiny_lens
from views_helpers import HOSTILE, hand_trace_result, visible

from lmlens.views import decode_array
from lmlens.views._format import format_prob
from lmlens.views.causal_trace import causal_trace_view, to_spec

TEXT = "The capital of France is Paris"


@pytest.fixture(scope="module")
def traced():
    lens = tiny_lens("llama")
    return lens.causal_trace(TEXT, subject="capital of", n_samples=2, progress=False)


def test_spec_carries_the_result(traced):
    r = traced.result
    spec = to_spec(r)
    assert spec["kind"] == "causal_trace" and spec["version"] == 1
    np.testing.assert_array_equal(decode_array(spec["scores"]), r.scores)
    np.testing.assert_array_equal(decode_array(spec["subject"]), r.subject_positions)
    np.testing.assert_array_equal(decode_array(spec["lens_top_ids"]), r.lens_top_ids)
    np.testing.assert_array_equal(decode_array(spec["lens_target_ranks"]), r.lens_target_ranks)
    vocab = dict(zip(decode_array(spec["vocab_ids"]).tolist(), spec["vocab_strings"], strict=True))
    assert vocab[r.target_id] == r.target
    assert spec["sites"] == ["resid", "mlp", "attn"] and spec["tokens"] == list(r.tokens)
    assert spec["clean_prob"] == r.clean_prob and spec["answer_position"] == r.answer_position
    part = to_spec(r, lo=2, hi=5)
    assert decode_array(part["scores"]).shape == (3, r.n_layers, 3) and part["offset"] == 2
    assert part["answer_position"] == -1 and decode_array(part["subject"]).tolist() == [0]


def test_fallback_and_figure(traced):
    r = traced.result
    html = traced.to_html()
    assert 'data-lmlens-kind="causal_trace"' in html
    assert f"{format_prob(r.clean_prob)} clean" in html
    fig = traced.figure()
    assert len(fig.axes) == 4  # three heatmaps and the colour bar
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"


def test_budget_keeps_the_answer_in_sight():
    r = hand_trace_result([f" t{i}" for i in range(400)], n_layers=30, subject=(380, 381))
    full = causal_trace_view(r, max_bytes=None)
    small = causal_trace_view(r, max_bytes=full.nbytes() // 3)
    spec = small.spec
    shown = len(spec["tokens"])
    assert shown < 400 and spec["offset"] + shown == 400
    assert spec["answer_position"] == shown - 1
    assert any("tokens" in n for n in spec["notices"])


def test_fallback_shows_the_last_positions_and_says_how_many_are_left_out():
    r = hand_trace_result([f" t{i}" for i in range(400)], n_layers=30, subject=(380, 381))
    html = causal_trace_view(r, max_bytes=None).to_html()
    fallback = html[html.index("lmlens-fallback"):]
    assert "… 376 earlier positions in the interactive view." in fallback
    assert " t375<" not in fallback and " t376<" in fallback
    # the best layer of the residual stream at the subject's last token, by hand: hand_trace_result
    # sets layers 0..14 to 0.7 there, the first of them wins argmax
    best = int(np.argmax(r.scores[0, :, 381]))
    assert best == 0 and format_prob(float(r.scores[0, best, 381])) in fallback


browser = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


@pytest.fixture(scope="module")
def ch():
    if skip_reason() is not None:
        pytest.skip(skip_reason())
    with chromium() as b:
        yield b


def _grid(site: str) -> str:
    return f".lm-ct-grid[data-lm-site='{site}']"


@pytest.mark.browser
@browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_hover_shows_the_numbers(ch, tmp_path, traced, scheme):
    r = traced.result
    path = traced.save_html(tmp_path / "trace.html")
    with open_page(path, browser=ch, color_scheme=scheme) as (page, log):
        page.wait_for_selector(f"{_grid('attn')}[data-lm-left]")
        assert page.locator(".lmlens-error").is_hidden() and page.locator(".lmlens-fallback").is_hidden()
        assert page.locator("canvas").count() == 3
        detail = page.locator(".lm-detail")
        gap = r.clean_prob - r.corrupted_prob
        for s, site in enumerate(r.sites):
            for layer, p in ((0, 2), (1, len(r.tokens) - 1)):
                page.mouse.move(*grid_point(page, _grid(site), layer, p))
                assert detail.get_attribute("data-lm-site") == site
                assert (detail.get_attribute("data-lm-layer"), detail.get_attribute("data-lm-position")) == (str(layer), str(p))
                text = detail.text_content()
                v = float(r.scores[s, layer, p])
                assert f") = {format_prob(v)} (clean {format_prob(r.clean_prob)}, corrupted {format_prob(r.corrupted_prob)})" in text
                assert f"is rank {int(r.lens_target_ranks[layer, p]):,} ({format_prob(r.lens_target_probs[layer, p])})" in text
                chips = detail.locator(".lm-topk .lm-chip")
                assert [chips.nth(j).text_content() for j in range(chips.count())] == [
                    visible(r.strings[int(i)]) for i in r.lens_top_ids[layer, p]]
                t = min(1.0, max(0.0, (v - r.corrupted_prob) / gap))
                got, want = grid_pixel(page, _grid(site), layer, p), viridis(t)
                assert all(abs(a - b) <= 3 for a, b in zip(got, want, strict=True)), (site, layer, p, got, want)
        # a click pins; hovering elsewhere keeps it; the keyboard moves within a grid
        page.mouse.click(*grid_point(page, _grid("mlp"), 1, 3))
        page.mouse.move(*grid_point(page, _grid("resid"), 0, 4))
        assert (detail.get_attribute("data-lm-site"), detail.get_attribute("data-lm-position")) == ("mlp", "3")
        assert page.locator(".lm-unpin").is_visible()
        page.focus(_grid("mlp"))
        page.keyboard.press("ArrowDown")
        assert (detail.get_attribute("data-lm-layer"), detail.get_attribute("data-lm-position")) == ("0", "3")
        page.keyboard.press("Escape")
        assert page.locator(".lm-unpin").is_hidden()
        page.click('button[data-v="prob"]')
        assert page.locator('button[data-v="prob"]').get_attribute("aria-pressed") == "true"
        page.screenshot(path=str(tmp_path / f"trace_{scheme}.png"), full_page=True)
    assert log.requests == [] and log.errors == []


@pytest.mark.browser
@browser
def test_hostile_tokens_and_many_positions(ch, tmp_path):
    tokens = (HOSTILE * 250)[:2000]
    r = hand_trace_result(tokens, n_layers=30, subject=(1990, 1991))
    path = causal_trace_view(r).save_html(tmp_path / "big.html")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(f"{_grid('resid')}[data-lm-left]")
        assert page.locator(_grid("resid")).get_attribute("data-lm-cols") == "2000"
        # the view opens on the strongest cell of the first site
        detail = page.locator(".lm-detail")
        assert detail.get_attribute("data-lm-site") == "resid"
        for p in (0, 1000, 1991, 1999):  # far columns scroll into view and read literally
            page.mouse.move(*grid_point(page, _grid("attn"), 29, p))
            assert detail.get_attribute("data-lm-position") == str(p)
            assert page.locator(".lm-detail .lm-context b").text_content() == visible(tokens[p])
        assert page.locator("img").count() == 0
    assert log.requests == [] and log.errors == []
