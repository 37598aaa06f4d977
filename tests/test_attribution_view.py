"""The attribution view: spec contents, fallback, size budget, and a real offline Chromium
(hover shades the sources, click pins, method and signed/unsigned switch, IG delta and the
DeepLift note visible, heatmap rows pin targets)."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from browser import chromium, open_page, skip_reason
from tiny import tiny_lens
from views_helpers import HOSTILE

from lmlens.analyses.attribution import METHODS, AttributionResult
from lmlens.views import decode_array
from lmlens.views.attribution import attribution_view, to_spec

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def generated():
    lens = tiny_lens("gpt2")
    options = {m: ({"n_steps": 16} if m == "integrated_gradients" else {}) for m in METHODS}
    trace = lens.generate(PROMPT, max_new_tokens=6, points=["logits"], attribution=options)
    return lens, trace


def test_spec_carries_every_method_and_the_exact_numbers(generated):
    lens, trace = generated
    view = lens.attribution(trace)
    spec = view.spec
    r = view.result
    assert spec["kind"] == "attribution" and spec["version"] == 1
    assert [m["name"] for m in spec["methods"]] == list(METHODS)
    assert spec["tokens"] == list(trace.tokens)
    np.testing.assert_array_equal(decode_array(spec["targets"]), np.flatnonzero(trace.generated))
    store = lens.stored_attributions(trace)
    for m in spec["methods"]:
        res = store[m["name"]]
        np.testing.assert_array_equal(decode_array(m["scores"]), res.scores)
        np.testing.assert_array_equal(decode_array(m["norms"]), res.norms)
        assert (m["delta"] is None) == (res.delta is None)
    dl = next(m for m in spec["methods"] if m["name"] == "deeplift")
    assert "rules for every non-linearity" in dl["note"]
    assert isinstance(r, AttributionResult) and r.method == "integrated_gradients"
    html = view.to_html()
    assert "http://" not in html and "https://" not in html


def test_fallback_shows_the_table_and_note(generated):
    lens, trace = generated
    html = lens.attribution(trace, method="deeplift").to_html()
    fallback = html.split('class="lmlens-fallback"', 1)[1].split("lmlens-spec", 1)[0]
    assert "leans most on" in fallback and "rules for every non-linearity" in fallback
    assert fallback.count("<tr>") == int(trace.generated.sum()) + 1


def test_budget_cuts_targets_and_says_so():
    from lmlens.views import View

    lens = tiny_lens("gpt2")
    trace = lens.generate(PROMPT, max_new_tokens=40, points=["logits"], attribution="saliency")
    full = lens.attribution(trace, method="saliency")
    one = View(to_spec([full.result], limit=1)).nbytes()
    small = lens.attribution(trace, method="saliency", max_bytes=(full.nbytes() + one) // 2)
    n_full = len(decode_array(full.spec["targets"]))
    n_small = len(decode_array(small.spec["targets"]))
    assert 1 <= n_small < n_full == 40
    assert any("target tokens" in n for n in small.spec["notices"])
    assert small.spec["n_targets"] == 40 and len(small.spec["tokens"]) < len(full.spec["tokens"])


def test_results_must_agree(generated):
    lens, trace = generated
    ig = lens.stored_attributions(trace)["integrated_gradients"]
    other = lens.attribution(PROMPT, method="saliency").result
    with pytest.raises(ValueError, match="share tokens"):
        to_spec([ig, other])
    with pytest.raises(TypeError):
        attribution_view([])


def _hostile_result() -> AttributionResult:
    n = len(HOSTILE)
    rng = np.random.default_rng(0)
    pos = np.arange(3, n)
    m, s = len(pos), n - 1
    valid = np.arange(s)[None] < pos[:, None]
    norms = rng.uniform(0, 1, (m, s)) * valid
    norms = (norms / norms.sum(1, keepdims=True)).astype(np.float32)
    return AttributionResult(
        method="saliency", scores=(rng.normal(size=(m, s)) * valid).astype(np.float32), norms=norms,
        delta=None, valid=valid, target_ids=pos.copy(), target_tokens=[HOSTILE[p] for p in pos],
        target_positions=pos, target_values=np.full(m, -1.0, np.float32), baseline_values=None,
        tokens=list(HOSTILE), source_tokens=list(HOSTILE[:s]),
        source_spans=np.stack([np.arange(s), np.arange(1, s + 1)], 1),
        word_starts=np.ones(n, bool), generated=np.isin(np.arange(n), pos),
        input_ids=np.arange(n), model_name="hand <made> & 'model'",
    )


# ---- browser -------------------------------------------------------------------------------
browser = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


@pytest.fixture(scope="module")
def ch():
    if skip_reason() is not None:
        pytest.skip(skip_reason())
    with chromium() as b:
        yield b


def _alpha(css: str) -> float:
    m = re.match(r"rgba?\(([^)]*)\)", css)
    if not m:
        return 0.0
    parts = [float(x) for x in m.group(1).replace("/", ",").split(",")]
    return parts[3] if len(parts) > 3 else 1.0


def _backgrounds(page) -> list[str]:
    return page.eval_on_selector_all(".lm-attribution .lm-tok", "els => els.map(e => getComputedStyle(e).backgroundColor)")


@browser
@pytest.mark.browser
def test_hover_click_switch_in_chromium(ch, tmp_path, generated):
    lens, trace = generated
    store = lens.stored_attributions(trace)
    targets = np.flatnonzero(trace.generated)
    path = lens.attribution(trace).save_html(tmp_path / "a.html")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(".lm-attribution .lm-tok")
        assert page.locator(".lmlens-fallback").is_hidden() and page.locator(".lmlens-error").is_hidden()
        assert page.locator(".lm-tok").count() == trace.n_positions
        assert page.locator(".lm-tok.lm-target").count() == len(targets)
        # default: the last target
        assert page.get_attribute(".lm-detail", "data-lm-target") == str(len(targets) - 1)

        # hover target j: sources before it are shaded by their share, later tokens are not
        j = 2
        p = int(targets[j])
        page.hover(f".lm-tok >> nth={p}")
        assert page.get_attribute(".lm-detail", "data-lm-target") == str(j)
        bg = [_alpha(c) for c in _backgrounds(page)]
        norms = store["integrated_gradients"].norms[j]
        assert all(a == 0 for a in bg[p:])
        assert int(np.argmax(bg[:p])) == int(np.argmax(norms[:p]))
        # the top source chip reads its share, as in the result
        first = page.locator(".lm-top .lm-top-item >> nth=0").text_content()
        assert f"{norms.max() * 100:.0f}%" in first
        # IG: delta visible, matching the result
        delta = page.locator(".lm-delta").text_content()
        assert "δ" in delta
        shown = float(delta.split("=")[1].replace("−", "-").strip())
        assert shown == pytest.approx(float(store["integrated_gradients"].delta[j]), rel=0.01, abs=1e-9)
        assert "Completeness" in page.locator(".lm-method-note").text_content()

        # click pins: hovering another target keeps the pinned one; Escape releases
        page.click(f".lm-tok >> nth={p}")
        page.hover(f".lm-tok >> nth={int(targets[4])}")
        assert page.get_attribute(".lm-detail", "data-lm-target") == str(j)
        assert page.locator(".lm-detail .lm-unpin").is_visible()
        page.keyboard.press("Escape")
        assert page.locator(".lm-detail .lm-unpin").is_hidden()

        # method switch: DeepLift shows its note; the meta line names the method
        page.click(".lm-seg button[data-v='deeplift']")
        assert "DeepLift" in page.locator(".lm-meta").text_content()
        note = page.locator(".lm-method-note").text_content()
        assert "rules for every non-linearity" in note
        # signed scores: the legend and the colours change
        before = _backgrounds(page)
        page.click(".lm-seg button[data-v='signed']")
        assert "lowers" in page.locator(".lm-legend").text_content()
        assert _backgrounds(page) != before
        page.click(".lm-seg button[data-v='saliency']")  # saliency: no delta
        assert page.locator(".lm-delta").count() == 0

        # heatmap: one row per target; clicking a row pins it
        box = page.locator(".lm-heatmap").bounding_box()
        assert box["width"] > 100 and box["height"] > 16 * len(targets)
        top = box["height"] - 4 - 16 * len(targets)  # rows are 16 px, under the column labels
        page.mouse.click(box["x"] + 20, box["y"] + top + 16 * 1 + 8)
        assert page.get_attribute(".lm-detail", "data-lm-target") == "1"
        assert page.locator(".lm-detail .lm-unpin").is_visible()
    assert log.requests == [] and log.errors == []


@browser
@pytest.mark.browser
def test_next_token_view_and_keyboard(ch, tmp_path):
    lens = tiny_lens("llama")
    path = lens.attribution("The capital of France is Paris. The quick brown", target=" quick brown",
                            method=["saliency", "integrated_gradients"], n_steps=8,
                            group="word").save_html(tmp_path / "n.html")
    with open_page(path, browser=ch) as (page, log):
        page.wait_for_selector(".lm-attribution .lm-tok")
        page.focus(".lm-tok.lm-target >> nth=0")
        page.keyboard.press("Enter")
        page.keyboard.press("ArrowRight")
        assert page.get_attribute(".lm-detail", "data-lm-target") == "1"
        assert "grouped by word" in page.locator(".lm-meta").text_content()
    assert log.requests == [] and log.errors == []


@browser
@pytest.mark.browser
def test_hostile_tokens_and_dark_theme(ch, tmp_path):
    from PIL import Image, ImageStat

    path = attribution_view(_hostile_result()).save_html(tmp_path / "h.html")
    for scheme in ("light", "dark"):
        with open_page(path, browser=ch, color_scheme=scheme) as (page, log):
            dialogs = []
            page.on("dialog", lambda d, seen=dialogs: (seen.append(d.message), d.dismiss()))
            page.wait_for_selector(".lm-attribution .lm-tok")
            assert page.locator(".lm-tok").all_text_contents() == HOSTILE
            assert page.locator(".lmlens-root img").count() == 0
            assert "hand <made> & 'model'" in page.locator(".lm-meta").text_content()
            page.hover(".lm-tok.lm-target >> nth=1")
            png = page.locator(".lmlens-root").screenshot()
            assert dialogs == []
        img = Image.open(io.BytesIO(png)).convert("L")
        assert ImageStat.Stat(img).stddev[0] > 10, f"{scheme} screenshot looks blank"
        assert log.requests == [] and log.errors == []
