"""The probe and embedding-similarity views: specs against their results, the fallbacks, the size
budget, and a real offline Chromium (a fact opens its rankings view with the result's ranks, the
filter, hostile strings, the dark theme, re-rendering leaves no listener behind, nested view
included; hovering a similarity cell lists that pair under every choice)."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from browser import chromium, open_page, skip_reason
from test_probe import CAUSAL_FACTS
from tiny import tiny_lens
from views_helpers import HOSTILE

from lmlens.views import decode_array
from lmlens.views.embedding_similarity import choice_stats
from lmlens.views.embedding_similarity import to_spec as similarity_spec
from lmlens.views.probe import probe_view, to_spec

browser = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")
TEXTS = ["The capital of France is Paris.", "The capital of Japan is Tokyo.", "The dog sleeps.",
         "東京は日本の首都です。", "<b>&amp;</b> \"quotes\""]


@pytest.fixture(scope="module")
def view():
    return tiny_lens("gpt2").probe(CAUSAL_FACTS, k=4, progress=False)


@pytest.fixture(scope="module")
def sim():
    return tiny_lens("bert").embedding_similarity(TEXTS, layers=[-1, 0])


@pytest.fixture(scope="module")
def ch():
    with chromium() as b:
        yield b


def test_probe_spec_carries_the_result(view):
    r, spec = view.result, view.spec
    assert spec["kind"] == "probe" and spec["sentences"] == list(r.sentences)
    np.testing.assert_array_equal(decode_array(spec["ranks"]), r.ranks)
    np.testing.assert_array_equal(decode_array(spec["layer_ranks"]), r.layer_ranks)
    np.testing.assert_allclose(decode_array(spec["relation_stats"])[:, 0], r.precision_at_1, rtol=1e-6)
    for i, sub in enumerate(spec["rankings"]):
        assert sub["kind"] == "rankings" and sub["tokens"] == list(r.rankings(i).tokens)
        np.testing.assert_array_equal(decode_array(sub["ranks"]), r.rankings(i).ranks)
    starts = spec["object_starts"]
    assert all(s[a:a + len(o)] == o for s, a, o in zip(r.sentences, starts, r.objects, strict=True))


def test_probe_fallback_and_budget(view):
    html = view.to_html()
    for s in view.result.sentences:
        assert s.replace('"', "&#34;").replace("'", "&#39;") in html or s in html
    small = probe_view(view.result, max_bytes=view.nbytes() - 4500)
    assert len(small.spec["sentences"]) < view.result.n_facts
    assert any("Showing the first" in n and "facts" in n for n in small.spec["notices"])
    with pytest.raises(TypeError, match="must be a ProbeResult"):
        to_spec(object())


def test_similarity_spec_and_fallback(sim):
    r, spec = sim.result, sim.spec
    np.testing.assert_array_equal(decode_array(spec["similarity"]), r.similarity)
    np.testing.assert_allclose(decode_array(spec["stats"]), choice_stats(r), rtol=1e-6)
    off = r.similarity[0][~np.eye(len(TEXTS), dtype=bool)]
    assert choice_stats(r)[0, 0] == pytest.approx(off.mean())
    html = sim.to_html()
    assert "&lt;b&gt;&amp;amp;&lt;/b&gt;" in html and r.labels[0] in html
    with pytest.raises(TypeError, match="must be a EmbeddingSimilarityResult"):
        similarity_spec(view)


def _listeners(cdp, expression: str) -> int:
    obj = cdp.send("Runtime.evaluate", {"expression": expression})["result"]["objectId"]
    return len(cdp.send("DOMDebugger.getEventListeners", {"objectId": obj, "depth": -1, "pierce": True})["listeners"])


@browser
@pytest.mark.browser
def test_a_click_opens_the_facts_rankings(ch, tmp_path, view):
    r = view.result
    path = view.save_html(tmp_path / "p.html")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(".lm-probe .lm-pr-fact")
        assert page.locator(".lm-pr-fact").count() == r.n_facts
        assert page.locator(".lm-pr-relname").all_text_contents() == list(r.relations)
        # the relations' tables line up: each column starts at the same x in every table
        xs = page.evaluate("""() => [...document.querySelectorAll('.lm-pr-table thead tr')].map(
          (tr) => [...tr.children].map((th) => Math.round(th.getBoundingClientRect().left)))""")
        assert len(xs) == len(r.relations) > 1 and all(x == xs[0] for x in xs)
        page.click('.lm-pr-fact[data-f="2"]')
        assert page.get_attribute('.lm-pr-fact[data-f="2"]', "aria-expanded") == "true"
        n = int(r.lens_offsets[3] - r.lens_offsets[2])
        grid = page.locator(".lm-pr-detail .lm-rankings .lm-rk-grid")
        grid.wait_for()
        assert grid.get_attribute("data-lm-rows") == str(len(r.layer_names))
        assert grid.get_attribute("data-lm-cols") == str(n)
        # it opens at the fact's slot, top layer, with the rank the result holds there
        detail = page.locator(".lm-pr-detail .lm-rankings .lm-detail")
        assert detail.get_attribute("data-lm-position") == str(r.slots[2])
        assert detail.get_attribute("data-lm-layer") == str(len(r.layer_names) - 1)
        rank = int(r.lens_ranks[-1, r.lens_offsets[2] + r.slots[2]])
        assert rank == int(r.rankings(2).ranks[-1, r.slots[2]])
        assert f"is rank {rank:,} here" in detail.text_content()
        assert page.locator(".lm-pr-detail > td > .lm-topk .lm-row").count() == len(r.top_strings[2])
        page.click('.lm-pr-fact[data-f="2"]')
        assert page.locator(".lm-pr-detail").count() == 0
        page.focus('.lm-pr-fact[data-f="0"]')
        page.keyboard.press("Enter")
        assert page.locator(".lm-pr-detail .lm-rk-grid").count() == 1
        page.click(".lm-seg button[data-v='missed']")
        hits = np.flatnonzero(r.ranks == 1)
        visible = page.locator(".lm-pr-fact:visible").count()
        assert visible == r.n_facts - hits.size and page.locator(".lm-pr-detail").count() == 0
    assert log.requests == [] and log.errors == []


@browser
@pytest.mark.browser
def test_hostile_strings_and_dark_theme(ch, tmp_path, view):
    from PIL import Image, ImageStat

    r = view.result
    hostile = tuple((HOSTILE * 3)[:r.n_facts])
    bad = replace(r, sentences=hostile, objects=hostile, top_strings=tuple((h, h) for h in hostile))
    path = probe_view(bad, theme="dark").save_html(tmp_path / "h.html")
    with open_page(path, browser=ch, color_scheme="dark") as (page, log):
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.wait_for_selector(".lm-probe .lm-pr-fact")
        assert page.locator(".lm-pr-sent").all_text_contents() == list(hostile)
        assert dialogs == [] and page.locator(".lmlens-root img").count() == 0
        png = page.locator(".lmlens-root").screenshot()
    assert ImageStat.Stat(Image.open(io.BytesIO(png)).convert("L")).stddev[0] > 10
    assert log.requests == [] and log.errors == []


@browser
@pytest.mark.browser
@pytest.mark.parametrize("which", ["probe", "similarity"])
def test_rerendering_leaves_no_listener_behind(ch, tmp_path, view, sim, which):
    v = view if which == "probe" else sim
    path = v.save_html(tmp_path / "r.html")
    item = '#host .lm-pr-fact[data-f="1"]' if which == "probe" else '#host .lm-es-cell[data-c="0"][data-i="1"][data-j="2"]'
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(".lm-view")
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
            page.click(item)  # opens a fact (its nested rankings view) / pins a pair
            page.evaluate("() => { const v = window.__lm; v.cleanup(); v.cleanup = LMLens.render({ model: LMLens.staticModel(v.spec), el: v.host }); }")
        assert first > 0 and _listeners(cdp, "document.querySelector('#host')") == first
        assert page.evaluate("document.querySelector('#host').querySelectorAll('*').length") == nodes
        page.click(item)  # a doubled handler would open and close at once
        if which == "probe":
            assert page.locator("#host .lm-pr-detail .lm-rk-grid").count() == 1
        else:
            assert page.locator("#host .lm-unpin").is_visible()
        page.evaluate("() => window.__lm.cleanup()")
        assert _listeners(cdp, "document.querySelector('#host')") == 0
        assert _listeners(cdp, "document") + _listeners(cdp, "window") == everywhere
    assert log.requests == [] and log.errors == []


@browser
@pytest.mark.browser
def test_hovering_a_pair_lists_it_under_every_choice(ch, tmp_path, sim):
    r = sim.result
    path = sim.save_html(tmp_path / "s.html")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(".lm-es-cell")
        assert page.locator(".lm-es-card").count() == r.n_choices
        page.hover('.lm-es-cell[data-c="1"][data-i="0"][data-j="3"]')
        assert page.get_attribute(".lm-detail", "data-lm-pair") == "0,3"
        assert page.locator(".lm-es-cell.lm-es-on").count() == r.n_choices
        vals = page.locator(".lm-es-val").all_text_contents()
        assert vals == [f"{v:.2f}" for v in r.similarity[:, 0, 3]]
        assert page.locator(".lm-es-texts li.lm-es-hl").all_text_contents() == [TEXTS[0], TEXTS[3]]
        page.click(".lm-seg button[data-v='shared']")
        assert page.get_attribute(".lm-seg button[data-v='shared']", "aria-pressed") == "true"
    assert log.requests == [] and log.errors == []
