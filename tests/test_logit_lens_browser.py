"""Logit-lens views in a real headless Chromium, offline: no requests, no console errors, and
hovering / clicking shows the numbers of the result."""

from __future__ import annotations

import math

import pytest
from browser import chromium, grid_pixel, grid_point, open_page, skip_reason, viridis
from tiny import tiny_lens

from lmlens.views._format import format_prob, visible_token
from lmlens.views.logit_lens_figures import token_text

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or ""),
]

TEXT = "The capital of France is Paris. 東京は日本の首都です。"
HOSTILE = "</script><!-- <img src=x onerror=alert(1)> & \"q\""


@pytest.fixture(scope="module")
def ch():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def lens():
    return tiny_lens("gpt2")


def _int(n: int) -> str:
    return f"{n:,}"


GRID = ".lm-rk-grid"


def _rank_unit(rank: int) -> float:
    """Where a rank sits on the rank colour scale (rank 1 → 1, 10,000 or worse → 0, log scale)."""
    return min(1.0, max(0.0, 1 - math.log10(rank) / 4))


def _prob_unit(p: float) -> float:
    """Where a probability sits on the log scale from 0.01 % (0) to 100 % (1)."""
    return 0.0 if p <= 1e-4 else min(1.0, max(0.0, 1 - math.log10(p) / -4))


def _close(got, want, tol=3) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(got, want, strict=True))


def test_rankings_hover_toggle_and_generated(ch, tmp_path, lens):
    trace = lens.generate("The capital of France is", max_new_tokens=4)
    view = lens.rankings(trace)
    r = view.result
    path = view.save_html(tmp_path / "rankings.html")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(f"{GRID}[data-lm-left]")
        assert page.locator(".lmlens-error").is_hidden() and page.locator(".lmlens-fallback").is_hidden()
        grid = page.locator(GRID)
        assert grid.get_attribute("data-lm-rows") == str(r.n_layers)
        assert grid.get_attribute("data-lm-cols") == str(r.n_positions)
        assert page.locator("canvas").count() == 1  # one canvas, no element per cell
        detail = page.locator(".lm-detail")
        for layer, p in ((0, 2), (1, 5), (2, r.n_positions - 1)):
            page.mouse.move(*grid_point(page, GRID, layer, p))
            assert detail.get_attribute("data-lm-layer") == str(layer)
            assert detail.get_attribute("data-lm-position") == str(p)
            text = detail.text_content()
            assert f"is rank {_int(int(r.ranks[layer, p]))} here ({format_prob(r.probs[layer, p])})" in text
            assert token_text(r.strings[int(r.token_ids[p])]) in text
            chips = detail.locator(".lm-topk .lm-chip")
            assert chips.count() == r.k
            assert [chips.nth(j).text_content() for j in range(r.k)] == [
                token_text(r.strings[int(i)]) for i in r.top_ids[layer, p]
            ]
            # the canvas paints the cell in the colour of its rank
            assert _close(grid_pixel(page, GRID, layer, p), viridis(_rank_unit(int(r.ranks[layer, p]))))
        for p in range(r.n_positions):  # generated positions are marked
            page.mouse.move(*grid_point(page, GRID, 0, p))
            assert ("(generated)" in detail.locator(".lm-detail-title").text_content()) == bool(r.generated[p])
        # click pins: hovering elsewhere keeps the pinned cell
        page.mouse.click(*grid_point(page, GRID, 1, 1))
        page.mouse.move(*grid_point(page, GRID, 0, 3))
        assert detail.get_attribute("data-lm-position") == "1"
        page.click(".lm-unpin")
        # keyboard: arrows move the active cell, Enter pins
        page.focus(GRID)
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowUp")
        assert (detail.get_attribute("data-lm-layer"), detail.get_attribute("data-lm-position")) == ("2", "2")
        # probability mode repaints the cells by probability
        page.click('button[data-v="prob"]')
        assert page.locator('button[data-v="prob"]').get_attribute("aria-pressed") == "true"
        assert _close(grid_pixel(page, GRID, 2, 0), viridis(_prob_unit(float(r.probs[2, 0]))))
    assert log.requests == [] and log.errors == []


def test_rankings_grid_is_crisp_on_high_dpi_screens(ch, tmp_path, lens):
    view = lens.rankings(TEXT)
    path = view.save_html(tmp_path / "rankings.html")
    with open_page(path, browser=ch, device_scale_factor=2) as (page, log):
        page.wait_for_selector(f"{GRID}[data-lm-left]")
        w, h, css_w, css_h = page.evaluate(
            "(() => { const c = document.querySelector('.lm-grid-canvas'); const r = c.getBoundingClientRect();"
            " return [c.width, c.height, r.width, r.height]; })()")
        assert (w, h) == (round(css_w * 2), round(css_h * 2))
        r = view.result
        assert _close(grid_pixel(page, GRID, 1, 2), viridis(_rank_unit(int(r.ranks[1, 2]))))
    assert log.requests == [] and log.errors == []


def _prob_text(p: float) -> str:
    """Mirror of probText in js/src/format.js."""
    pct = p * 100
    if pct >= 99.5:
        return "100"
    if pct >= 9.95:
        return str(round(pct))
    if pct >= 0.995:
        return f"{pct:.1f}"
    if pct >= 0.01:
        return f"{pct:.2f}".removeprefix("0")
    return "0"


def test_rankings_watch_hover(ch, tmp_path, lens):
    view = lens.rankings_watch(TEXT, watch=[" Paris", " the", 7], position=5)
    r = view.result
    path = view.save_html(tmp_path / "watch.html")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(".lm-wt-chart polyline", state="attached")
        assert page.locator(".lmlens-error").is_hidden()
        assert page.locator(".lm-wt-chart polyline").count() == r.n_watch + 1
        box = page.locator(".lm-wt-chart").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 58 / 720 + 2, box["y"] + box["height"] / 2)  # layer 0
        detail = page.locator(".lm-detail")
        assert detail.get_attribute("data-lm-layer") == "0"
        rows = detail.locator(".lm-wt-row")
        assert rows.count() == r.n_watch + 1
        for j in range(r.n_watch):
            text = rows.nth(j).text_content()
            assert f"rank {_int(int(r.ranks[0, j]))}" in text and format_prob(r.probs[0, j]) in text
        page.locator(".lm-wt-chart").focus()
        page.keyboard.press("ArrowRight")
        assert detail.get_attribute("data-lm-layer") == "1"
        page.click('button[data-v="prob"]')
        assert page.locator(".lm-wt-chart polyline").count() == r.n_watch + 1
        if r.notes:
            assert r.notes[0] in page.locator(".lm-notices").text_content()
    assert log.requests == [] and log.errors == []


def test_layer_predictions_click_a_token(ch, tmp_path, lens):
    view = lens.layer_predictions(TEXT, position=-1, topk=4)
    r = view.result
    path = view.save_html(tmp_path / "lp.html")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(".lm-lp-cell")
        assert page.locator(".lmlens-error").is_hidden()
        v = page.locator(".lm-layer-predictions")
        assert v.get_attribute("data-lm-position") == str(r.n_positions - 1)
        for pos in (2, 0):
            page.click(f'.lm-lp-text .lm-tok[data-i="{pos}"]')
            assert v.get_attribute("data-lm-position") == str(pos)
            for layer in (0, r.n_layers - 1):
                got = [page.locator(f'.lm-lp-cell[data-l="{layer}"][data-j="{j}"] .lm-lp-tok').text_content()
                       for j in range(r.k)]
                assert got == [token_text(r.strings[int(i)]) for i in r.top_ids[layer, pos]]
            pct = page.locator('.lm-lp-cell[data-l="0"][data-j="0"] .lm-lp-pct').text_content()
            assert pct == format_prob(r.top_probs[0, pos, 0])
        page.keyboard.press("ArrowRight")
        assert v.get_attribute("data-lm-position") == "1"
    assert log.requests == [] and log.errors == []


def test_fallback_without_javascript_and_hostile_tokens(ch, tmp_path, lens):
    view = lens.rankings(HOSTILE)
    path = view.save_html(tmp_path / "nojs.html")
    with open_page(path, browser=ch, java_script_enabled=False) as (page, log):
        fb = page.locator(".lmlens-fallback")
        assert fb.is_visible()
        assert f">{int(view.result.ranks[-1, 0]):,}<" in fb.inner_html()
        assert page.locator("img").count() == 0
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(f"{GRID}[data-lm-left]")
        shown = []
        for p in range(view.result.n_positions):  # each token reads literally in the detail panel
            page.mouse.move(*grid_point(page, GRID, 0, p))
            shown.append(page.locator(".lm-detail .lm-context b").text_content())
        assert shown == [visible_token(t) for t in view.result.tokens]
        assert page.locator("img").count() == 0
    assert log.requests == [] and log.errors == []
