"""Views in a real headless Chromium, offline: no requests, no console errors, interaction works.

The expected top-k text comes from the HF model directly (logits → softmax), not from lmlens.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from browser import chromium, grid_point, open_page, skip_reason
from tiny import tiny_lens, token_alone
from views_helpers import HOSTILE, hand_result, independent, visible

from lmlens.analyses.predictions import predictions
from lmlens.views import page_html, predictions_view
from lmlens.views.logit_lens_figures import token_text

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or ""),
]

TEXT = "The capital of France is Paris. 東京は日本の首都です。"


@pytest.fixture(scope="module")
def ch():
    """One Chromium for the module; each page gets a fresh offline context."""
    with chromium() as b:
        yield b


def _pct(s: str) -> float:
    s = s.strip()
    if s.startswith("<"):
        return 0.0
    return float(s.rstrip("%")) / 100


def _rows(page, root: str = "") -> list[tuple[str, float, bool]]:
    rows = page.locator(f"{root} .lm-detail .lm-row")
    out = []
    for i in range(rows.count()):
        r = rows.nth(i)
        cls = r.get_attribute("class") or ""
        out.append((r.locator(".lm-chip").text_content(), _pct(r.locator(".lm-pct").text_content()), "lm-actual" in cls))
    return out


def _check_rows(rows, tokenizer, top_ids, top_probs, actual_id):
    assert len(rows) == len(top_ids)
    for (chip, pct, is_actual), tid, p in zip(rows, top_ids, top_probs, strict=True):
        assert chip == token_text(token_alone(tokenizer, int(tid)))
        # displayed with 3 significant digits from float16: compare loosely
        assert pct == pytest.approx(p, rel=6e-3, abs=1e-4 if p < 1e-4 else 0)
        assert is_actual == (int(tid) == actual_id)


@pytest.fixture(scope="module")
def tiny():
    lens = tiny_lens("gpt2")
    trace = lens.trace(TEXT)
    return lens, trace, independent(lens.model, trace.token_ids, 10)


def test_hover_and_click_show_the_hf_top_k(ch, tmp_path, tiny):
    lens, trace, (probs, top_ids, top_probs) = tiny
    ids = trace.token_ids.tolist()
    path = predictions_view(predictions(trace, topk=10)).save_html(tmp_path / "p.html")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(".lm-tok")
        assert page.locator(".lmlens-fallback").is_hidden()
        assert page.locator(".lmlens-error").is_hidden()
        n = len(ids)
        assert page.locator(".lm-tok").count() == n
        # default: the last position (what comes after the text)
        assert page.get_attribute(".lm-detail", "data-lm-index") == str(n - 1)
        _check_rows(_rows(page), lens.tokenizer, top_ids[n - 1], top_probs[n - 1], -1)

        i = 3
        page.hover(f".lm-tok >> nth={i}")
        assert page.get_attribute(".lm-detail", "data-lm-index") == str(i)
        _check_rows(_rows(page), lens.tokenizer, top_ids[i], top_probs[i], ids[i + 1])
        page.mouse.move(5, 790)  # moving off the text (e.g. to read the panel) keeps it
        assert page.get_attribute(".lm-detail", "data-lm-index") == str(i)
        self_text = page.locator(".lm-self").text_content()
        assert re.search(r"had ([\d.]+%|<0.01%)", self_text)
        assert _pct(re.search(r"had ([^ ]+)", self_text).group(1)) == pytest.approx(probs[i], rel=6e-3)

        # click pins: moving to another token keeps the pinned one
        j = 5
        page.click(f".lm-tok >> nth={j}")
        page.hover(f".lm-tok >> nth={j + 2}")
        assert page.get_attribute(".lm-detail", "data-lm-index") == str(j)
        assert page.locator(".lm-unpin").is_visible()
        _check_rows(_rows(page), lens.tokenizer, top_ids[j], top_probs[j], ids[j + 1])
        # unpin, then hover follows the mouse again
        page.click(".lm-unpin")
        page.hover(f".lm-tok >> nth={j + 2}")
        assert page.get_attribute(".lm-detail", "data-lm-index") == str(j + 2)
        # a second click on the pinned token releases it; so does Escape
        page.click(".lm-tok >> nth=1")
        page.click(".lm-tok >> nth=1")
        assert page.locator(".lm-unpin").is_hidden()
        page.click(".lm-tok >> nth=1")
        page.keyboard.press("Escape")
        assert page.locator(".lm-unpin").is_hidden()
        page.hover(".lm-tok >> nth=2")
        assert page.get_attribute(".lm-detail", "data-lm-index") == "2"
        # the first token has no prediction of its own
        page.hover(".lm-tok >> nth=0")
        assert "no prediction" in page.locator(".lm-self").text_content()
    assert log.requests == []
    assert log.errors == []


def test_keyboard_moves_between_tokens(ch, tmp_path, tiny):
    _, trace, _ = tiny
    path = predictions_view(predictions(trace, topk=3)).save_html(tmp_path / "k.html")
    with open_page(path, browser=ch) as (page, log):
        page.focus(".lm-tok >> nth=0")
        page.keyboard.press("Enter")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        assert page.get_attribute(".lm-detail", "data-lm-index") == "2"
        assert "lm-locked" in page.get_attribute(".lm-tok >> nth=2", "class")
    assert log.errors == [] and log.requests == []


def test_screenshot_is_not_blank_light_and_dark(ch, tmp_path, tiny):
    from PIL import Image, ImageStat

    _, trace, _ = tiny
    path = predictions_view(predictions(trace)).save_html(tmp_path / "s.html")
    for scheme in ("light", "dark"):
        with open_page(path, color_scheme=scheme, browser=ch) as (page, log):
            page.wait_for_selector(".lm-tok")
            page.hover(".lm-tok >> nth=4")
            theme = page.get_attribute(".lmlens-mount", "data-lm-theme")
            assert theme == scheme
            png = page.locator(".lmlens-root").screenshot()
        img = Image.open(io.BytesIO(png)).convert("L")
        assert img.size[0] > 300 and img.size[1] > 150
        assert ImageStat.Stat(img).stddev[0] > 10, f"{scheme} screenshot looks blank"
        assert log.errors == [] and log.requests == []


def test_two_views_on_one_page_are_independent(ch, tmp_path, tiny):
    _, trace, _ = tiny
    v = predictions_view(predictions(trace, topk=4))
    # (a) a report-like page: one runtime, two fragments
    # (b) a notebook-like page: two self-contained fragments, each with its own runtime
    pages = {
        "page": page_html([("one", v), ("two", v)], title="two"),
        "fragments": "<!doctype html><meta charset=utf-8><body>" + v.to_html() + v.to_html() + "</body>",
    }
    for name, html in pages.items():
        path = tmp_path / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        with open_page(path, browser=ch) as (page, log):
            roots = page.locator(".lmlens-root")
            assert roots.count() == 2
            a, b = (f"#{roots.nth(i).get_attribute('id')}" for i in range(2))
            assert a != b
            page.wait_for_selector(f"{b} .lm-tok")
            page.click(f"{a} .lm-tok >> nth=2")
            page.hover(f"{b} .lm-tok >> nth=4")
            assert page.get_attribute(f"{a} .lm-detail", "data-lm-index") == "2"
            assert page.get_attribute(f"{b} .lm-detail", "data-lm-index") == "4"
            assert page.locator(f"{a} .lm-unpin").is_visible()
            assert page.locator(f"{b} .lm-unpin").is_hidden()
            assert page.locator(".lm-detail").count() == 2
        assert log.errors == [] and log.requests == [], name


def test_hostile_tokens_render_as_literal_text(ch, tmp_path):
    path = predictions_view(hand_result()).save_html(tmp_path / "h.html")
    with open_page(path, browser=ch) as (page, log):
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.wait_for_selector(".lm-tok")
        texts = page.locator(".lm-tok").all_text_contents()
        assert texts == HOSTILE
        assert page.locator(".lmlens-root img").count() == 0
        assert page.locator(".lmlens-root script").count() == 2  # the spec and the mount script
        for i in range(len(HOSTILE)):
            page.hover(f".lm-tok >> nth={i}")
            chips = page.locator(".lm-detail .lm-row .lm-chip").all_text_contents()
            assert chips == [token_text(HOSTILE[(i + 1 + j) % len(HOSTILE)]) for j in range(3)]
        assert "hand <made> & 'model'" in page.locator(".lm-meta").text_content()
        assert "日本語のテキスト" in page.locator(".lm-text").text_content()
        assert dialogs == []
    assert log.errors == [] and log.requests == []


def test_fallback_without_javascript(ch, tmp_path):
    r = hand_result()
    path = predictions_view(r).save_html(tmp_path / "nojs.html")
    with open_page(path, java_script_enabled=False, browser=ch) as (page, log):
        fb = page.locator(".lmlens-fallback")
        assert fb.is_visible()
        assert page.locator(".lmlens-mount").is_hidden()
        assert page.locator(".lmlens-error").is_hidden()
        spans = fb.locator(".lmlens-fallback-tokens span").all_text_contents()
        assert spans == HOSTILE
        text = fb.inner_text()
        assert "needs JavaScript" in text and "tokens" in text
        assert page.locator(".lmlens-root img").count() == 0
    assert log.requests == []


def test_real_tokenizer_hostile_text(ch, tmp_path):
    lens = tiny_lens("gpt2")
    text = "</script> <!-- <img src=x onerror=alert(1)> & \"quotes\" 'x' 日本語のテキスト"
    view = lens.predictions(text, topk=3)
    path = view.save_html(tmp_path / "real.html")
    with open_page(path, browser=ch) as (page, log):
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.wait_for_selector(".lm-tok")
        shown = page.locator(".lm-tok").all_text_contents()
        toks = list(view.result.tokens)
        # a character split into byte tokens ("" until the token completing it) is drawn once
        # over the group's slices, which hold no text themselves
        in_group = [(t == "" and any(toks[i + 1 :])) or (t != "" and i > 0 and toks[i - 1] == "")
                    for i, t in enumerate(toks)]
        assert any(in_group)
        assert shown == ["" if g else visible(t) for t, g in zip(toks, in_group, strict=True)]
        groups = page.locator(".lmlens-mount .lm-tok-group .lm-tok-text").all_text_contents()
        assert groups == [t for i, t in enumerate(toks) if t and i > 0 and toks[i - 1] == ""]
        assert "∅" not in page.locator(".lmlens-mount .lm-text").inner_text()
        assert "<img src=x onerror=alert(1)>" in "".join(shown)
        assert page.locator(".lmlens-root img").count() == 0
        assert dialogs == []
    assert log.errors == [] and log.requests == []


def test_budget_notice_shows_in_the_view(ch, tmp_path):
    r = hand_result([f" w{i}" for i in range(2000)], k=4)
    budget = predictions_view(r, max_bytes=None).nbytes() // 2
    view = predictions_view(r, max_bytes=budget)
    with open_page(view.save_html(tmp_path / "b.html"), browser=ch) as (page, log):
        page.wait_for_selector(".lm-notices")
        assert "Showing the first" in page.locator(".lm-notices").text_content()
        assert page.locator(".lm-tok").count() == len(view.spec["tokens"]) < 2000
        page.hover(f".lm-tok >> nth={len(view.spec['tokens']) - 1}")
        assert "continues beyond" in page.locator(".lm-foot").text_content()
    assert log.errors == [] and log.requests == []


def test_a_js_error_shows_inside_the_view(ch, tmp_path):
    r = hand_result()
    view = predictions_view(r)
    html = view.to_html(full_page=True)
    # corrupt one array record: the runtime must say so in the view, not leave it blank
    html = re.sub(r'("topk_probs":\{"dtype":"float16","shape":\[\d+,\d+\],"b64":")[^"]+"', r'\1AAAA"', html)
    path = tmp_path / "broken.html"
    path.write_text(html, encoding="utf-8")
    with open_page(path, browser=ch) as (page, log):
        err = page.locator(".lmlens-error")
        err.wait_for(state="visible")
        assert "needs" in err.text_content() and "bytes" in err.text_content()
        assert page.locator(".lmlens-fallback").is_visible()  # the fallback stays useful
    assert log.requests == []


def test_probabilities_tint_tokens(ch, tmp_path):
    r = hand_result()
    with open_page(predictions_view(r).save_html(tmp_path / "c.html"), browser=ch) as (page, _):
        page.wait_for_selector(".lm-tok")
        colors = page.locator(".lm-tok").evaluate_all("els => els.map(e => getComputedStyle(e).backgroundColor)")
    assert colors[0] == "rgba(0, 0, 0, 0)"  # the first token has no probability
    likely = [c for c, p in zip(colors, r.probs, strict=True) if p > 0.2]
    assert likely and all(c.startswith("rgba(40, 122, 204") for c in likely)
    assert len(set(colors)) > 3 and np.isnan(r.probs[0])


# ---- re-rendering (anywidget's contract: render → cleanup → render in the same element) -------

RERENDERS = 5


def _listeners(cdp, expression: str) -> int:
    """Event listeners on the node ``expression`` evaluates to and its whole subtree, as Chrome's
    DevTools protocol reports them (independent of lmlens' own listener table)."""
    obj = cdp.send("Runtime.evaluate", {"expression": expression})["result"]["objectId"]
    return len(cdp.send("DOMDebugger.getEventListeners", {"objectId": obj, "depth": -1, "pierce": True})["listeners"])


@pytest.fixture(scope="module")
def five_views():
    lens = tiny_lens("gpt2")
    trace = lens.trace(TEXT)
    return [
        lens.predictions(trace, topk=4),
        lens.rankings(trace),
        lens.layer_predictions(trace, topk=3),
        lens.rankings_watch(trace, watch=[" Paris", " the"], position=5),
        lens.attribution("The capital of France is Paris city", target=" Paris city", method=["saliency", "input_x_gradient"]),
        lens.attention(trace, view="heads"),
        lens.causal_trace(TEXT, subject=[1, 2], n_samples=2, progress=False),
    ]


def _toggle_once(page, host: str, kind: str) -> None:
    """One user action that a doubled handler would undo or overdo; check its single effect."""
    if kind == "predictions":
        page.click(f"{host} .lm-tok >> nth=2")  # a doubled click handler would pin and unpin
        assert page.get_attribute(f"{host} .lm-detail", "data-lm-index") == "2"
        assert page.locator(f"{host} .lm-unpin").is_visible()
    elif kind == "rankings":
        page.mouse.click(*grid_point(page, f"{host} .lm-rk-grid", 1, 2))
        assert page.locator(f"{host} .lm-unpin").is_visible()
        page.focus(f"{host} .lm-rk-grid")
        page.keyboard.press("ArrowLeft")  # doubled: it would move two columns
        assert page.get_attribute(f"{host} .lm-detail", "data-lm-position") == "1"
    elif kind == "layer_predictions":
        page.click(f'{host} .lm-tok[data-i="3"]')
        page.keyboard.press("ArrowRight")
        assert page.get_attribute(f"{host} .lm-layer-predictions", "data-lm-position") == "4"
    elif kind == "rankings_watch":
        page.focus(f"{host} .lm-wt-chart")
        start = int(page.get_attribute(f"{host} .lm-detail", "data-lm-layer"))
        page.keyboard.press("ArrowLeft")
        assert int(page.get_attribute(f"{host} .lm-detail", "data-lm-layer")) == start - 1
    elif kind == "causal_trace":
        grid = f"{host} .lm-ct-grid[data-lm-site='mlp']"
        page.mouse.click(*grid_point(page, grid, 1, 3))
        assert page.get_attribute(f"{host} .lm-detail", "data-lm-site") == "mlp"
        assert page.locator(f"{host} .lm-unpin").is_visible()
        page.focus(grid)
        page.keyboard.press("ArrowLeft")  # doubled: it would move two columns
        assert page.get_attribute(f"{host} .lm-detail", "data-lm-position") == "2"
    elif kind == "attribution":
        page.click(f"{host} .lm-tok.lm-target >> nth=0")
        assert page.locator(f"{host} .lm-detail .lm-unpin").is_visible()
        page.click(f"{host} .lm-seg button[data-v='signed']")  # doubled: still one change, checked below
        assert page.get_attribute(f"{host} .lm-seg button[data-v='signed']", "aria-pressed") == "true"
        assert "lowers" in page.locator(f"{host} .lm-legend").text_content()
    elif kind == "attention":
        page.click(f"{host} .lm-att-left .lm-tok >> nth=3")  # doubled: it would pin and unpin
        assert page.locator(f"{host} .lm-att-headview .lm-unpin").is_visible()
        page.click(f"{host} .lm-att-head[data-h='1']")  # doubled: it would hide and show again
        assert page.get_attribute(f"{host} .lm-att-head[data-h='1']", "aria-pressed") == "false"


def _rendered(page, host: str, kind: str) -> None:
    """Wait until a view drawn asynchronously (attention inflates its data first) has drawn."""
    if kind == "attention":
        page.wait_for_selector(f"{host} .lm-attention[data-lm-ready]", timeout=10_000)


def test_rerendering_in_the_same_element_leaves_no_duplicates(ch, tmp_path, five_views):
    path = tmp_path / "five.html"
    path.write_text(page_html(five_views, title="five"), encoding="utf-8")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(".lm-attribution .lm-tok")
        page.wait_for_selector(".lm-attention[data-lm-ready]")
        cdp = page.context.new_cdp_session(page)
        everywhere = _listeners(cdp, "document") + _listeners(cdp, "window")  # the page's own views
        for view in five_views:
            kind = view.kind
            host = f"#host-{kind}"
            # a fresh element inside the view's root (so its scoped styles apply), rendered N times
            page.evaluate(
                """(kind) => {
                  const root = document.querySelector(`.lmlens-root[data-lmlens-kind="${kind}"]`);
                  const spec = JSON.parse(root.querySelector("script.lmlens-spec").textContent);
                  const host = document.createElement("div");
                  host.id = "host-" + kind;
                  root.appendChild(host);
                  window.__lm = window.__lm || {};
                  window.__lm[kind] = { spec, host, cleanup: LMLens.render({ model: LMLens.staticModel(spec), el: host }) };
                }""",
                kind,
            )
            _rendered(page, host, kind)
            first = _listeners(cdp, f"document.querySelector('{host}')")
            nodes = page.evaluate(f"document.querySelector('{host}').querySelectorAll('*').length")
            assert first > 0 and nodes > 0, kind
            for _ in range(RERENDERS):
                page.evaluate(
                    """(kind) => { const v = window.__lm[kind]; v.cleanup();
                       v.cleanup = LMLens.render({ model: LMLens.staticModel(v.spec), el: v.host }); }""",
                    kind,
                )
                _rendered(page, host, kind)
            assert _listeners(cdp, f"document.querySelector('{host}')") == first, kind
            assert page.evaluate(f"document.querySelector('{host}').querySelectorAll('*').length") == nodes, kind
            assert page.locator(f"{host} .lm-view").count() == 1, kind
            assert page.locator(f"{host} .lm-detail").count() == (2 if kind == "attribution" else 1), kind
            _toggle_once(page, host, kind)
            assert _listeners(cdp, "document") + _listeners(cdp, "window") == everywhere + first, kind
            # the cleanup removes every listener the renders added, wherever they were
            page.evaluate("(kind) => window.__lm[kind].cleanup()", kind)
            assert _listeners(cdp, f"document.querySelector('{host}')") == 0, kind
            assert _listeners(cdp, "document") + _listeners(cdp, "window") == everywhere, kind
            assert page.evaluate(f"document.querySelector('{host}').childNodes.length") == 0, kind
            assert page.locator(f".lmlens-root[data-lmlens-kind='{kind}'] .lmlens-error").is_hidden(), kind
    assert log.errors == [] and log.requests == []
