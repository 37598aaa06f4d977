"""The attention view: the spec carries the result (per-layer compressed records that decode to
``weights``), the size budget (fewer tokens, or a window around the pair's query, with a notice),
the fallback, the matplotlib figures, the report entry (MiniLM and SmolLM2), and a real offline
Chromium for every mode: no console errors, no requests; hovering changes the drawing; the layer
selector changes it; head toggles, the sentence filter, the mass slider, pin and Unpin; two views
on one page stay independent; light and dark screenshots are not blank."""

from __future__ import annotations

import re

import numpy as np
import pytest
from browser import chromium, open_page, skip_reason
from tiny import tiny_lens

from lmlens.views import ViewTooLargeError, decode_array, page_html
from lmlens.views.attention import attention_view

TEXT = "The capital of France is Paris. The quick brown fox jumps over the lazy dog."
browser = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


@pytest.fixture(scope="module")
def gpt2():
    return tiny_lens("gpt2", n_layers=4)


@pytest.fixture(scope="module")
def bert():
    return tiny_lens("bert")


@pytest.fixture(scope="module")
def ch():
    with chromium() as b:
        yield b


@pytest.mark.parametrize("weighting", ["attention", "norm"])
def test_spec_records_decode_to_what_the_result_draws(gpt2, weighting):
    view = gpt2.attention(TEXT, weighting=weighting, hide=[0])
    r, spec = view.result, view.spec
    assert spec["kind"] == "attention" and spec["version"] == 1 and spec["mode"] == "heads"
    assert spec["layers"] == [0, 1, 2, 3] and spec["heads"] == [0, 1, 2, 3] and spec["causal"] is True
    assert len(spec["weights"]) == r.n_layers and all(rec["codec"] == "deflate" for rec in spec["weights"])
    w = r.weights
    for i, rec in enumerate(spec["weights"]):
        got = decode_array(rec)
        assert got.shape == (4, r.n_positions, r.n_positions)
        step = rec["scale"]
        if weighting == "attention":
            assert step == pytest.approx(1 / 255)
        else:
            assert step == pytest.approx(w[i].max() / 255)
        np.testing.assert_allclose(got, w[i], atol=step / 2 + 1e-7)
    roll = np.stack([decode_array(rec) for rec in spec["rollout"]])
    np.testing.assert_allclose(roll, r.rollout_weights, atol=1 / 510 + 1e-7)
    np.testing.assert_array_equal(decode_array(spec["hidden"]), r.hidden)
    assert spec["tokens"] == list(r.tokens) and spec["n_positions"] == r.n_positions
    html = view.to_html()
    assert not re.search(r"https?://", html)


def test_records_compress_and_size_is_far_below_json(gpt2):
    view = gpt2.attention(" ".join([TEXT] * 3))
    r = view.result
    raw = r.n_layers * r.n_heads * r.n_positions ** 2
    b64 = sum(len(rec["b64"]) for rec in view.spec["weights"])
    assert b64 < raw  # compressed below one byte per weight, even after base64
    import json
    assert view.nbytes() < len(json.dumps(r.patterns.tolist())) / 5


def test_budget_keeps_the_first_tokens_or_a_window_around_the_pair(gpt2):
    text = " ".join([TEXT] * 5)
    full = gpt2.attention(text)
    n = full.result.n_positions
    data = sum(len(rec["b64"]) for rec in full.spec["weights"] + full.spec["rollout"])
    budget = full.nbytes() - data // 2  # the runtime (~90 kB) is most of a small view
    small = attention_view(full.result, max_bytes=budget)
    m = len(small.spec["tokens"])
    assert 1 <= m < n and small.spec["offset"] == 0 and small.spec["n_positions"] == n
    assert any("Showing the first" in s for s in small.spec["notices"])
    w = decode_array(small.spec["weights"][1])
    np.testing.assert_allclose(w, full.result.weights[1][:, :m, :m], atol=1 / 510 + 1e-7)
    pair = attention_view(full.result, view="pair", pair=(n - 5, n - 9), max_bytes=budget)
    lo = pair.spec["offset"]
    assert lo > 0 and lo <= n - 9 and pair.spec["pair"] == [n - 5 - lo, n - 9 - lo]
    assert any("around position" in s for s in pair.spec["notices"])
    with pytest.raises(ViewTooLargeError):
        attention_view(full.result, max_bytes=50_000).to_html()  # the runtime alone is larger


def test_fallback_names_where_the_last_token_attends(gpt2):
    html = gpt2.attention(TEXT).to_html()
    fb = html.split('class="lmlens-fallback"', 1)[1].split("lmlens-spec", 1)[0]
    assert "attends most" in fb and fb.count("<tr>") == 4 + 1


def test_figures_of_matrix_pair_and_model(gpt2):
    pytest.importorskip("matplotlib")
    view = gpt2.attention(TEXT, view="pair", pair=(10, 2))
    r = view.result
    fig = view.figure()
    ax = fig.axes[0]
    mean = [ln for ln in ax.lines if ln.get_label() == "head mean"][0]
    np.testing.assert_allclose(mean.get_ydata(), r.pair(10, 2).mean(axis=1), atol=1e-6)
    assert "(10)" in ax.get_title(loc="left") and "(2)" in ax.get_title(loc="left")
    m = view.figure(view="matrix", layer=2, head=1)
    img = m.axes[0].images[0].get_array()
    np.testing.assert_allclose(np.ma.filled(img, 0), np.tril(r.weights[2, 1]), atol=1e-6)
    assert gpt2.attention(TEXT).figure().axes[0].get_title(loc="left").startswith("Layer 0, mean")  # heads view → matrix
    assert view.figure(view="model").axes
    assert view.figure(view="matrix", head="rollout").axes
    with pytest.raises(ValueError, match="head must be"):
        view.figure(view="matrix", head=9)
    with pytest.raises(ValueError, match="view must be one of"):
        view.figure(view="heads")


def test_report_has_the_attention_entries(gpt2):
    from lmlens.report import REPORT_VIEWS, report_sections

    entries = [(t, m) for t, m in REPORT_VIEWS if t.startswith("Attention")]
    assert len(entries) == 2
    sections, failures = report_sections(gpt2, "The capital of France is", views=entries)
    assert failures == [] and all(v.kind == "attention" for _, v in sections)
    assert sections[1][1].result.weighting == "norm"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["minilm", "smollm2"])
def test_report_on_the_embedded_models(name, request, tmp_path):
    from lmlens.cli import main

    request.getfixturevalue(name)  # skips when the model package is missing
    out = tmp_path / f"{name}.html"
    assert main(["report", "The capital of France is Paris.", "--model", name, "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.count('data-lmlens-kind="attention"') == 2
    assert not re.search(r"<h2>Attention[^<]*</h2>\s*<p class=\"lmlens-note\"", html)


# ---- Chromium ---------------------------------------------------------------------------------------

def _ready(page, n: int = 1) -> None:
    page.wait_for_selector(".lm-attention[data-lm-ready]", timeout=20_000)
    assert page.locator(".lm-attention[data-lm-ready]").count() == n


def _pixels(page, selector: str) -> str:
    return page.eval_on_selector(selector, "c => c.toDataURL()")


def _save(tmp_path, name: str, *views) -> str:
    path = tmp_path / f"{name}.html"
    path.write_text(page_html(list(views), title=name), encoding="utf-8")
    return str(path)


@browser
def test_head_view_hover_pin_layer_heads_mass(ch, tmp_path, gpt2):
    path = _save(tmp_path, "heads", gpt2.attention(TEXT, view="heads"))
    with open_page(path, browser=ch) as (page, log):
        _ready(page)
        lines = ".lm-att-lines"
        everything = _pixels(page, lines)
        page.hover(".lm-att-left .lm-tok >> nth=6")
        one = _pixels(page, lines)
        assert one != everything and page.get_attribute(".lm-att-headview", "data-lm-token") == "6"
        assert "attends to" in page.text_content(".lm-att-headview .lm-detail-title")
        page.hover(".lm-att-right .lm-tok >> nth=2")
        assert page.get_attribute(".lm-att-headview", "data-lm-token") == str(gpt2.attention(TEXT).result.n_positions + 2)
        assert "is attended by" in page.text_content(".lm-att-headview .lm-detail-title")
        page.click(".lm-att-left .lm-tok >> nth=6")  # pin
        assert page.locator(".lm-att-headview .lm-unpin").is_visible()
        page.hover(".lm-att-left .lm-tok >> nth=3")  # pinned: hovering elsewhere changes nothing
        assert page.get_attribute(".lm-att-headview", "data-lm-token") == "6" and _pixels(page, lines) == one
        page.select_option(".lm-att-layer", "2")
        layer2 = _pixels(page, lines)
        assert layer2 != one and page.get_attribute(lines, "data-lm-drawn").startswith("2:6:")
        page.click(".lm-att-head[data-h='1']")  # hide head 1
        assert page.get_attribute(".lm-att-head[data-h='1']", "aria-pressed") == "false"
        assert page.get_attribute(lines, "data-lm-drawn") == "2:6:0,2,3" and _pixels(page, lines) != layer2
        page.dblclick(".lm-att-head[data-h='3']")  # only head 3
        assert page.get_attribute(lines, "data-lm-drawn") == "2:6:3"
        page.click(".lm-att-all")
        page.click(".lm-att-headview .lm-unpin")
        assert page.locator(".lm-att-headview .lm-unpin").is_hidden()
        page.mouse.move(5, 5)
        page.dispatch_event(".lm-att-left", "mouseleave")
        assert page.get_attribute(".lm-att-headview", "data-lm-token") == "-1"
        before = page.eval_on_selector(lines, _INK)
        page.eval_on_selector(".lm-att-mass", "e => { e.value = '0.5'; e.dispatchEvent(new Event('input', {bubbles: true})); }")
        assert 0 < page.eval_on_selector(lines, _INK) < before  # fewer edges drawn
        page.check(".lm-att-controls input[type=checkbox]")  # rollout
        assert page.get_attribute(lines, "data-lm-drawn").endswith(":-1")
        page.keyboard.press("Escape")
    assert log.errors == [] and log.requests == []


@browser
def test_head_view_leaving_the_tokens_shows_every_line_of_the_layer_drawn(ch, tmp_path, gpt2):
    """The view keeps its drawing of every line and puts it back when the pointer leaves the
    tokens: it must be the picture a fresh drawing of the current layer, heads and mass gives."""
    path = _save(tmp_path, "heads_kept", gpt2.attention(TEXT, view="heads"))
    with open_page(path, browser=ch) as (page, log):
        _ready(page)
        lines = ".lm-att-lines"

        def leave() -> str:
            page.hover(".lm-att-left .lm-tok >> nth=6")
            assert page.get_attribute(lines, "data-lm-drawn").split(":")[1] == "6"
            page.mouse.move(5, 5)
            page.dispatch_event(".lm-att-left", "mouseleave")
            assert page.get_attribute(lines, "data-lm-drawn").split(":")[1] == "-1"
            return _pixels(page, lines)

        layer0 = _pixels(page, lines)
        assert leave() == layer0
        page.select_option(".lm-att-layer", "2")
        layer2 = _pixels(page, lines)  # drawn anew: not the kept layer 0
        assert layer2 != layer0 and page.get_attribute(lines, "data-lm-drawn").startswith("2:-1:")
        assert leave() == layer2
        page.click(".lm-att-head[data-h='1']")  # hide head 1: a new drawing, kept in turn
        no_head1 = _pixels(page, lines)
        assert no_head1 != layer2 and leave() == no_head1
        page.click(".lm-att-head[data-h='1']")
        page.select_option(".lm-att-layer", "0")
        assert _pixels(page, lines) == layer0 and leave() == layer0
    assert log.errors == [] and log.requests == []


def _percent(text: str) -> float:
    """The last percentage in a label ("... : 8.2%")."""
    return float(re.findall(r"([0-9.]+)%", text)[-1])


_INK = """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let s = 0; for (let i = 3; i < d.length; i += 4) s += d[i]; return s; }"""


@browser
def test_sentence_filter_splits_the_columns(ch, tmp_path, bert):
    view = bert.attention("The capital of France is Paris.", sentence_b="The dog sleeps.")
    sb = view.result.sentence_b_start
    n = view.result.n_positions
    with open_page(_save(tmp_path, "pairs", view), browser=ch) as (page, log):
        _ready(page)
        assert page.locator(".lm-att-left .lm-tok").count() == n
        page.select_option(".lm-att-filter", "AB")
        assert page.locator(".lm-att-left .lm-tok").count() == sb
        assert page.locator(".lm-att-right .lm-tok").count() == n - sb
        assert page.text_content(".lm-att-right .lm-tok >> nth=0").strip() == view.result.tokens[sb].strip()
        page.hover(".lm-att-left .lm-tok >> nth=2")
        assert page.get_attribute(".lm-att-headview", "data-lm-token") == "2"
        page.click(".lm-seg button[data-v='matrix']")
        assert page.get_attribute(".lm-att-hm-canvas", "data-lm-drawn").endswith(":AB")
    assert log.errors == [] and log.requests == []


@browser
def test_model_view_hover_and_pin_show_a_head(ch, tmp_path, gpt2):
    with open_page(_save(tmp_path, "model", gpt2.attention(TEXT, view="model")), browser=ch) as (page, log):
        _ready(page)
        grid = page.locator(".lm-att-grid")
        box = grid.bounding_box()
        cols = 4 + 1  # heads + rollout
        side = (box["width"] - 58) / cols
        detail = ".lm-att-model .lm-detail .lm-att-hm-canvas"
        first = _pixels(page, detail)
        page.mouse.move(box["x"] + 58 + 2.5 * side, box["y"] + 20 + 1.5 * side)  # layer 1, head 2
        assert page.get_attribute(".lm-att-model", "data-lm-cell") == str(1 * cols + 2)
        assert page.text_content(".lm-att-model .lm-detail-title") == "Layer 1, head 2"
        assert _pixels(page, detail) != first
        page.mouse.click(box["x"] + 58 + 4.5 * side, box["y"] + 20 + 3.5 * side)  # layer 3, rollout: pinned
        assert page.text_content(".lm-att-model .lm-detail-title") == "Layer 3, rollout"
        page.mouse.move(box["x"] + 58 + 0.5 * side, box["y"] + 20 + 0.5 * side)
        assert page.text_content(".lm-att-model .lm-detail-title") == "Layer 3, rollout"
        page.click(".lm-att-model .lm-unpin")
        page.mouse.move(box["x"] + 58 + 0.5 * side, box["y"] + 20 + 0.6 * side)
        assert page.text_content(".lm-att-model .lm-detail-title") == "Layer 0, head 0"
    assert log.errors == [] and log.requests == []


@browser
def test_matrix_hover_shows_query_key_value(ch, tmp_path, gpt2):
    view = gpt2.attention(TEXT, view="matrix")
    r = view.result
    with open_page(_save(tmp_path, "matrix", view), browser=ch) as (page, log):
        _ready(page)
        canvas = ".lm-att-hm-canvas"
        page.click(".lm-att-head[data-h='1']")
        page.click(".lm-att-head[data-h='2']")
        page.click(".lm-att-head[data-h='3']")  # only head 0 left: its own colours and values
        base = _pixels(page, canvas)
        # hover the cell (query 7, key 3) through the canvas geometry the view reports
        page.eval_on_selector(canvas, """(c, n) => {
          const r = c.getBoundingClientRect(); const cell = (r.width - 96 - 8) / n;
          c.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + 96 + 3.5 * cell, clientY: r.top + 64 + 7.5 * cell, bubbles: true}));
        }""", r.n_positions)
        assert page.get_attribute(".lm-att-matrix", "data-lm-cell") == str(7 * r.n_positions + 3)
        title = page.text_content(".lm-att-matrix .lm-detail-title")
        assert _percent(title) == pytest.approx(r.weights[0, 0, 7, 3] * 100, abs=0.5 + 100 / 510)
        page.select_option(".lm-att-layer", "3")
        assert _pixels(page, canvas) != base
        assert page.get_attribute(canvas, "data-lm-drawn").startswith("3:0:")
        page.focus(canvas)
        page.keyboard.press("ArrowLeft")
        assert page.get_attribute(".lm-att-matrix", "data-lm-cell") == str(7 * r.n_positions + 2)
    assert log.errors == [] and log.requests == []


@browser
def test_pair_view_picks_positions(ch, tmp_path, gpt2):
    text = "the dog saw the dog and the dog ran"
    view = gpt2.attention(text, view="pair")
    ids = view.result.input_ids.tolist()
    dog = [i for i, t in enumerate(ids) if gpt2.tokenizer.decode([t]) == " dog"]
    with open_page(_save(tmp_path, "pair", view), browser=ch) as (page, log):
        _ready(page)
        chart = ".lm-att-chart"
        before = page.inner_html(chart)
        page.click(f".lm-att-pairtext .lm-tok[data-i='{dog[2]}']")  # from: the third "dog"
        page.click(f".lm-att-pairtext .lm-tok[data-i='{dog[0]}']")  # to: the first "dog"
        assert page.get_attribute(".lm-att-pair", "data-lm-pair") == f"{dog[2]}:{dog[0]}"
        after = page.inner_html(chart)
        assert after != before
        # the random tiny model attends almost uniformly: the same word as the query at another
        # position (fewer keys before it) gives another curve
        page.click(".lm-att-pair .lm-seg button[data-v='from']")
        page.click(f".lm-att-pairtext .lm-tok[data-i='{dog[1]}']")
        assert page.get_attribute(".lm-att-pair", "data-lm-pair") == f"{dog[1]}:{dog[0]}"
        assert page.inner_html(chart) != after
        vals = view.result.pair(dog[1], dog[0])
        titles = page.eval_on_selector_all(".lm-att-meandot title", "ts => ts.map(t => t.textContent)")
        assert len(titles) == 4
        for layer, t in enumerate(titles):
            assert _percent(t) == pytest.approx(vals.mean(axis=1)[layer] * 100, abs=0.05 + 100 / 510)
        page.click(".lm-att-head[data-h='0']")
        assert page.locator(".lm-att-dot").count() == 3 * 4
    assert log.errors == [] and log.requests == []


@browser
def test_two_attention_views_on_one_page_stay_independent(ch, tmp_path, gpt2):
    a = gpt2.attention(TEXT, view="heads")
    b = gpt2.attention(TEXT, view="heads")
    with open_page(_save(tmp_path, "two", a, b), browser=ch) as (page, log):
        _ready(page, 2)
        second = ".lmlens-root >> nth=1"
        other = page.locator(second).locator(".lm-att-lines")
        before = other.evaluate("c => c.toDataURL()")
        page.locator(".lmlens-root >> nth=0").locator(".lm-att-layer").select_option("3")
        page.locator(".lmlens-root >> nth=0").locator(".lm-att-left .lm-tok >> nth=4").click()
        assert other.evaluate("c => c.toDataURL()") == before
        assert page.locator(second).locator(".lm-att-headview").get_attribute("data-lm-token") == "-1"
        assert page.locator(second).locator(".lm-att-layer").input_value() == "0"
    assert log.errors == [] and log.requests == []


@browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_mode_draws_in_light_and_dark(ch, tmp_path, bert, scheme):
    views = [bert.attention("The capital of France is Paris.", sentence_b="It is big.", view=m, hide="special",
                            theme=scheme) for m in ("heads", "model", "matrix", "pair")]
    with open_page(_save(tmp_path, f"all-{scheme}", *views), browser=ch, color_scheme=scheme) as (page, log):
        _ready(page, 4)
        for i, mode in enumerate(("heads", "model", "matrix", "pair")):
            root = page.locator(".lmlens-root").nth(i)
            assert root.locator(".lm-attention").get_attribute("data-lm-mode") == mode
            png = root.screenshot()
            assert len(set(png[i:i + 64] for i in range(200, len(png) - 64, 997))) > 10  # not blank
        assert page.locator(".lmlens-error:visible").count() == 0
    assert log.errors == [] and log.requests == []


@browser
def test_fallback_without_javascript(ch, tmp_path, gpt2):
    path = _save(tmp_path, "nojs", gpt2.attention(TEXT))
    with open_page(path, browser=ch, java_script_enabled=False) as (page, log):
        assert page.locator(".lmlens-fallback").is_visible()
        assert "attends most" in page.text_content(".lmlens-fallback")
    assert log.requests == []
