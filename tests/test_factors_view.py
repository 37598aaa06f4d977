"""The neuron-factors view: spec contents against the result, the fallback, the size budget, the
figure, the report entry, and a real offline Chromium (clicking a factor shows its neurons and
what they write, shading by one or all factors, pin and keys, two views on one page)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from browser import chromium, open_page, skip_reason
from tiny import tiny_lens
from views_helpers import HOSTILE

from lmlens.analyses.factors import NeuronFactorsResult
from lmlens.views import decode_array, page_html
from lmlens.views.logit_lens_figures import token_text  # twin of ui tokenText
from lmlens.views.neuron_factors import neuron_factors_view, to_spec
from lmlens.views.neuron_factors_text import layer_ranges

TEXT = "The capital of France is Paris. The quick brown fox jumps over the lazy dog. 東京は日本の首都です。"
OTHER = "Transformers read tokens and predict the next token in the text."

browser = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


@pytest.fixture(scope="module")
def lens():
    return tiny_lens("llama", n_layers=12)


@pytest.fixture(scope="module")
def view(lens):
    return lens.neuron_factors(TEXT, n_factors=5)


@pytest.fixture(scope="module")
def ch():
    with chromium() as b:
        yield b


def test_spec_carries_the_result(view):
    r: NeuronFactorsResult = view.result
    spec = view.spec
    assert spec["kind"] == "neuron_factors" and spec["version"] == 1
    assert spec["tokens"] == list(r.tokens) and spec["layers"] == list(range(12))
    np.testing.assert_array_equal(decode_array(spec["activations"]), r.activations)
    np.testing.assert_array_equal(decode_array(spec["factor_max"]), r.activations.max(axis=1))
    neurons = decode_array(spec["neurons"])
    for f in range(r.n_factors):
        best = np.argsort(-r.loadings[f], kind="stable")[:10]
        np.testing.assert_array_equal(neurons[f, :, :2], r.neuron_index[best])
        np.testing.assert_array_equal(decode_array(spec["loadings"])[f], r.loadings[f, best])
    rows = decode_array(spec["writes"]["row"])
    strings = dict(zip(decode_array(spec["vocab_ids"]).tolist(), spec["vocab_strings"], strict=True))
    ids = decode_array(spec["writes"]["top_ids"])
    for f in range(r.n_factors):
        for j in range(3):
            layer, neuron = (int(v) for v in neurons[f, j, :2])
            assert (r.write_neurons[rows[f, j]] == [layer, neuron]).all()
            assert [strings[i] for i in ids[rows[f, j]]] == list(r.writes.top_tokens[rows[f, j]])
    html = view.to_html()
    assert "http://" not in html and "https://" not in html
    assert "relative error" in spec["summary"] and "blocks 0–11" in spec["summary"]


def test_fallback_lists_every_factor(view):
    fb = view.to_html().split('class="lmlens-fallback"', 1)[1].split("lmlens-spec", 1)[0]
    assert fb.count("<tr>") == view.result.n_factors + 1 and "top neurons" in fb
    assert re.search(r"L\d+ N\d+ →", fb)


def test_budget_cuts_positions_and_says_so(lens):
    text = " ".join([TEXT] * 3)
    full = lens.neuron_factors(text, n_factors=3)
    small = neuron_factors_view(full.result, max_bytes=full.nbytes() - 2_000)
    n_small = len(small.spec["tokens"])
    assert 1 <= n_small < full.result.n_positions == small.spec["n_positions"]
    assert any("tokens" in s for s in small.spec["notices"])
    assert small.nbytes() <= full.nbytes() - 2_000


def test_to_spec_takes_a_result_only():
    with pytest.raises(TypeError, match="NeuronFactorsResult"):
        to_spec({"activations": []})
    assert layer_ranges([0, 1, 2, 4, 10, 11]) == "0–2, 4, 10–11"


def test_figure_renders_japanese_labels(view):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph warns
        fig = view.figure(figsize=(12, 4))
        fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "東" in "".join(labels) or "首" in "".join(labels)
    assert len(fig.axes[0].get_yticklabels()) == view.result.n_factors


def test_report_has_the_view():
    from lmlens.report import REPORT_VIEWS, report_html

    assert "Neuron factors" in [t for t, _ in REPORT_VIEWS]
    html = report_html(tiny_lens("gpt2"), "The capital")  # 2 tokens: 2 factors
    assert 'data-lmlens-kind="neuron_factors"' in html and "Not available" not in html


def _rgb(s: str) -> tuple[int, ...]:
    m = re.match(r"rgba?\((\d+), (\d+), (\d+)", s)
    return tuple(int(x) for x in m.groups()) if m else ()


@browser
@pytest.mark.browser
def test_click_a_factor_shows_its_neurons(ch, tmp_path, lens, view):
    r = view.result
    path = view.save_html(tmp_path / "f.html")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(".lm-neuron-factors .lm-tok")
        assert page.locator(".lmlens-fallback").is_hidden() and page.locator(".lmlens-error").is_hidden()
        assert page.locator(".lm-tok").count() == r.n_positions
        assert page.locator(".lm-factor").count() == r.n_factors
        assert page.get_attribute(".lm-factor-detail", "data-lm-factor") == "0"
        f = 3
        page.click(f".lm-factor >> nth={f}")
        assert page.get_attribute(".lm-factor-detail", "data-lm-factor") == str(f)
        assert f"Factor {f + 1} of {r.n_factors}" in page.locator(".lm-factor-detail .lm-detail-title").text_content()
        rows = page.locator(".lm-neuron-row")
        best = np.argsort(-r.loadings[f], kind="stable")[:10]
        assert rows.count() == len(best)
        for j in range(3):
            cells = rows.nth(j).locator("td").all_text_contents()
            layer, neuron = (int(v) for v in r.neuron_index[best[j]])
            assert cells[1] == str(layer) and cells[2] == str(neuron)
            # what the neuron writes, from lens.neuron_tokens (checked against the weights elsewhere)
            want = lens.neuron_tokens(layer, neuron, k=5)
            assert rows.nth(j).locator("td >> nth=4").locator(".lm-chip").all_text_contents() == \
                [token_text(t) for t in want.top_tokens[0]]
            assert rows.nth(j).locator("td >> nth=5").locator(".lm-chip").all_text_contents() == \
                [token_text(t) for t in want.bottom_tokens[0]]
        # the tokens that fire it most, largest first
        peaks = page.locator(".lm-factor-detail .lm-peak").all_text_contents()
        order = np.argsort(-r.activations[f], kind="stable")[:len(peaks)]
        # (a byte piece reads as its chip label, "<E6 9D>(東)": tests/test_byte_pieces.py)
        assert peaks == [token_text(r.token_labels[p] or r.tokens[p]) for p in order]
        # "one factor": the text is shaded by factor f only, strongest at its peak
        alphas = [float(re.findall(r"[\d.]+", c)[-1]) if c.startswith("rgba") else 0.0
                  for c in page.eval_on_selector_all(".lm-tok", "els => els.map(e => e.style.backgroundColor)")]
        assert int(np.argmax(alphas)) == int(order[0])
        # a peak chip pins its position
        page.click(".lm-factor-detail .lm-peak >> nth=1")
        assert page.get_attribute(".lm-token-detail", "data-lm-position") == str(order[1])
        assert page.locator(".lm-token-detail .lm-unpin").is_visible()
    assert log.requests == [] and log.errors == []


@browser
@pytest.mark.browser
def test_all_factors_toggles_and_keys(ch, tmp_path, view):
    r = view.result
    rel = r.activations / r.activations.max(axis=1, keepdims=True)
    path = view.save_html(tmp_path / "g.html")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(".lm-neuron-factors .lm-tok")
        swatch = [_rgb(c) for c in page.eval_on_selector_all(
            ".lm-factor > span:first-child", "els => els.map(e => getComputedStyle(e).backgroundColor)")]
        page.click(".lm-seg button[data-v='all']")
        bg = page.eval_on_selector_all(".lm-tok", "els => els.map(e => e.style.backgroundColor)")
        for p in range(r.n_positions):
            if rel[:, p].max() > 0:
                assert _rgb(bg[p]) == swatch[int(np.argmax(rel[:, p]))]
        # hide the factor that wins at position p: the next one takes over
        p = int(np.argmax(rel.max(axis=0)))
        first, second = np.argsort(-rel[:, p], kind="stable")[:2]
        page.click(f".lm-nf-list > span[data-f='{first}'] input")
        bg = page.eval_on_selector_all(".lm-tok", "els => els.map(e => e.style.backgroundColor)")
        assert _rgb(bg[p]) == swatch[int(second)]
        # hover: every factor's activation at that token, relative to its maximum
        page.hover(f".lm-tok >> nth={p}")
        assert page.get_attribute(".lm-token-detail", "data-lm-position") == str(p)
        shown = page.locator(".lm-tok-factor").all_text_contents()
        for f in range(r.n_factors):
            assert shown[f].endswith(f"{rel[f, p] * 100:.0f}%")
        # keys: ↓ on the factor list selects the next factor; tokens: Enter pins, → moves, Escape releases
        page.focus(".lm-factor >> nth=0")
        page.keyboard.press("ArrowDown")
        assert page.get_attribute(".lm-factor-detail", "data-lm-factor") == "1"
        page.focus(".lm-tok >> nth=2")
        page.keyboard.press("Enter")
        page.keyboard.press("ArrowRight")
        assert page.get_attribute(".lm-token-detail", "data-lm-position") == "3"
        page.hover(".lm-tok >> nth=6")
        assert page.get_attribute(".lm-token-detail", "data-lm-position") == "3"
        page.keyboard.press("Escape")
        assert page.locator(".lm-token-detail .lm-unpin").is_hidden()
    assert log.requests == [] and log.errors == []


@browser
@pytest.mark.browser
def test_two_views_on_one_page_stay_independent(ch, tmp_path, lens, view):
    other = lens.neuron_factors(OTHER, n_factors=4)
    path = tmp_path / "two.html"
    path.write_text(page_html([("one", view), ("two", other)]), encoding="utf-8")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(".lm-neuron-factors .lm-tok")
        roots = page.locator(".lmlens-root")
        assert roots.count() == 2
        a, b = roots.nth(0), roots.nth(1)
        assert b.locator(".lm-tok").count() == other.result.n_positions
        a.locator(".lm-factor >> nth=2").click()
        assert a.locator(".lm-factor-detail").get_attribute("data-lm-factor") == "2"
        assert b.locator(".lm-factor-detail").get_attribute("data-lm-factor") == "0"
        b.locator(".lm-tok >> nth=4").click()
        assert b.locator(".lm-token-detail .lm-unpin").is_visible()
        assert a.locator(".lm-token-detail .lm-unpin").is_hidden()
        b.locator(".lm-seg button[data-v='all']").click()
        assert a.locator(".lm-seg button[data-v='one']").get_attribute("aria-pressed") == "true"
        assert b.locator(".lm-factor").count() == 4
    assert log.requests == [] and log.errors == []


@browser
@pytest.mark.browser
def test_hostile_tokens_and_dark_theme(ch, tmp_path, view):
    import io
    from dataclasses import replace

    from PIL import Image, ImageStat

    r = view.result
    tokens = (HOSTILE * 10)[:r.n_positions]
    path = neuron_factors_view(replace(r, tokens=tuple(tokens)), theme="dark").save_html(tmp_path / "h.html")
    with open_page(path, browser=ch, color_scheme="dark") as (page, log):
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.wait_for_selector(".lm-neuron-factors .lm-tok")
        assert page.locator(".lm-tok").all_text_contents() == [t.replace("\n", "↵\n") for t in tokens]
        assert page.locator(".lmlens-root img").count() == 0 and dialogs == []
        png = page.locator(".lmlens-root").screenshot()
    assert ImageStat.Stat(Image.open(io.BytesIO(png)).convert("L")).stddev[0] > 10
    assert log.requests == [] and log.errors == []


def _listeners(cdp, expression: str) -> int:
    """Event listeners on the node ``expression`` evaluates to and its subtree (DevTools' count)."""
    obj = cdp.send("Runtime.evaluate", {"expression": expression})["result"]["objectId"]
    return len(cdp.send("DOMDebugger.getEventListeners", {"objectId": obj, "depth": -1, "pierce": True})["listeners"])


@browser
@pytest.mark.browser
def test_rerendering_leaves_no_duplicates(ch, tmp_path, view):
    path = view.save_html(tmp_path / "r.html")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(".lm-neuron-factors .lm-tok")
        cdp = page.context.new_cdp_session(page)
        everywhere = _listeners(cdp, "document") + _listeners(cdp, "window")
        page.evaluate("""() => {
          const root = document.querySelector(".lmlens-root");
          const spec = JSON.parse(root.querySelector("script.lmlens-spec").textContent);
          const host = document.createElement("div");
          host.id = "host";
          root.appendChild(host);
          window.__lm = { spec, host, cleanup: LMLens.render({ model: LMLens.staticModel(spec), el: host }) };
        }""")
        first = _listeners(cdp, "document.querySelector('#host')")
        nodes = page.evaluate("document.querySelector('#host').querySelectorAll('*').length")
        for _ in range(5):
            page.evaluate("() => { const v = window.__lm; v.cleanup(); v.cleanup = LMLens.render({ model: LMLens.staticModel(v.spec), el: v.host }); }")
        assert first > 0 and _listeners(cdp, "document.querySelector('#host')") == first
        assert page.evaluate("document.querySelector('#host').querySelectorAll('*').length") == nodes
        page.click("#host .lm-tok >> nth=3")  # a doubled click handler would pin and unpin
        assert page.locator("#host .lm-token-detail .lm-unpin").is_visible()
        assert _listeners(cdp, "document") + _listeners(cdp, "window") == everywhere + first
        page.evaluate("() => window.__lm.cleanup()")
        assert _listeners(cdp, "document.querySelector('#host')") == 0
    assert log.requests == [] and log.errors == []
