"""Live widgets, kernel side (no browser): the widget ships the static views' runtime byte for
byte and the same stylesheets; a click's attribution equals the batched one and captum's; re-runs
equal the analysis run directly; bad requests change nothing and say why; the last state saves.

The page side runs in a real JupyterLab and Notebook 7: tests/test_jupyter_live.py.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from test_attribution import assert_matches_captum
from tiny import tiny_lens

from lmlens.analyses.attribution import METHODS, attribute, merge_targets
from lmlens.analyses.factors import neuron_factors
from lmlens.analyses.logit_lens import layer_predictions, rankings
from lmlens.views import View
from lmlens.views.live import Control, LiveActions, widget_scope

pytest.importorskip("anywidget")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TEXT = "The capital of France is Paris city"


@pytest.fixture(scope="module")
def llama():
    return tiny_lens("llama")


def ask(widget, action: str, **args) -> dict:
    """What a click does: the page's request message through the widget's handler; the reply."""
    sent: list[dict] = []
    widget.send = sent.append  # the comm is not open outside a kernel
    widget._on_msg(widget, {"type": "lmlens:request", "id": 7, "action": action, "args": args}, [])
    assert len(sent) == 1 and sent[0]["type"] == "lmlens:reply" and sent[0]["id"] == 7
    return sent[0]


# ---- one runtime, one set of styles ------------------------------------------------------------

STATIC_RUNTIME = re.compile(r"var api = (\(function \(\) \{.*?\}\)\(\));\n    if \(!api\)", re.S)
WIDGET_RUNTIME = re.compile(r"\Aconst LMLens = (\(function \(\) \{.*?\}\)\(\));\nexport default ", re.S)


def every_view(lens):
    return [
        lens.predictions(TEXT, topk=3), lens.rankings(TEXT), lens.rankings_watch(TEXT, watch=[" Paris"]),
        lens.layer_predictions(TEXT, topk=3), lens.attribution(TEXT, method="saliency"),
        lens.neuron_factors(TEXT, n_factors=3),
    ]


def test_the_widget_runs_the_static_runtime_byte_for_byte_and_the_same_styles(llama):
    for view in every_view(llama):
        html = view.to_html()
        static = STATIC_RUNTIME.search(html).group(1)
        widget = view.live()
        esm = widget._esm
        assert WIDGET_RUNTIME.search(esm).group(1) == static, view.kind
        assert esm.count("function load(path)") == 1  # one runtime, no second copy of a view
        assert f'"views/{view.kind}.js": function' in static and '"live.js": function' in static
        # the same stylesheets, under the widget's scope instead of the fragment's root id
        root_id = re.search(r'<div id="(lmlens-[0-9a-f]+)"', html).group(1)
        style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
        assert widget._css == style.replace(f"#{root_id}", widget_scope(view.kind))
        assert widget._anywidget_id == f"lmlens.live.{view.kind}"  # one stylesheet per kind
        assert "http://" not in esm and "https://" not in esm


def test_the_output_carries_the_static_view_for_front_ends_without_widgets(llama):
    w = llama.predictions(TEXT, live=True)
    data, _meta = w._repr_mimebundle_()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id
    assert data["text/html"].startswith('<div id="lmlens-') and 'data-lmlens-kind="predictions"' in data["text/html"]
    assert "LiveView(View(kind='predictions'" in data["text/plain"]


# ---- attribution: a click computes that target ---------------------------------------------------


@pytest.mark.parametrize("name", ["gpt2", "llama"])
@pytest.mark.parametrize("method", [*METHODS, "ig_tol"])
def test_a_click_attribution_equals_the_batched_one_and_captum(name, method):
    lens = tiny_lens(name)
    opts = {"tol": 0.05} if method == "ig_tol" else {"n_steps": 20}
    method = "integrated_gradients" if method == "ig_tol" else method
    w = lens.attribution(TEXT, method=method, live=True, **opts)
    n = len(w.result.tokens)
    assert w.result.target_positions.tolist() == [n - 1]  # only the next token, up front
    assert w.live["actions"]["attribute"]["positions"] == list(range(1, n))
    for p in (3, 7, 5, 7):  # the second 7 finds it computed
        reply = ask(w, "attribute", position=p)
        assert reply["ok"], reply
        assert w.spec["focus"] == p
    r = w.result
    assert r.target_positions.tolist() == [3, 5, 7, n - 1]
    ids = r.input_ids
    batched = attribute(lens.model, ids, r.target_positions, embed=lens.anatomy.embed_module(lens.model),
                        method=method, **opts)
    np.testing.assert_allclose(r.scores, batched.scores, atol=1e-5, rtol=0)
    np.testing.assert_allclose(r.norms, batched.norms, atol=1e-5, rtol=0)
    assert np.array_equal(r.valid, batched.valid)
    for field in ("delta", "steps"):
        got, want = getattr(r, field), getattr(batched, field)
        assert (got is None) == (want is None), field
        if want is not None:
            np.testing.assert_allclose(got, want, atol=1e-5)
    if method in ("saliency", "input_x_gradient") or "n_steps" in opts and method == "integrated_gradients":
        assert_matches_captum(lens.model, r, ids, n_steps=20)  # captum has no rules of our DeepLift/AttnLRP
    # the spec the page draws holds the same rows
    spec_targets = np.frombuffer(__import__("base64").b64decode(w.spec["targets"]["b64"]), np.int32)
    assert spec_targets.tolist() == [3, 5, 7, n - 1]


def test_view_live_adds_targets_to_those_already_computed(llama):
    gen = llama.generate("The capital of France", max_new_tokens=4, attribution=["saliency"])
    view = llama.attribution(gen, method="saliency")
    stored = view.result
    w = view.live()
    assert w.result is stored
    assert ask(w, "attribute", position=2)["ok"]
    assert w.result.target_positions.tolist() == [2, *stored.target_positions.tolist()]
    np.testing.assert_array_equal(w.result.norms[1:, : stored.n_sources], stored.norms)
    assert llama.stored_attributions(gen)["saliency"] is stored  # the store is left as it was


def test_words_and_several_methods_follow_the_click(llama):
    w = llama.attribution(TEXT, method=["saliency", "input_x_gradient"], group="word", live=True)
    assert ask(w, "attribute", position=4)["ok"]
    methods = [m["name"] for m in w.spec["methods"]]
    assert methods == ["saliency", "input_x_gradient"]
    assert w.result.grouping == "word" and 4 in w.result.target_positions


@pytest.mark.parametrize("position", [0, 99, -1, "3", True, 2.0, None])
def test_a_bad_click_changes_nothing_and_says_why(llama, position):
    w = llama.attribution(TEXT, method="saliency", live=True)
    spec = w.spec
    reply = ask(w, "attribute", position=position)
    assert not reply["ok"] and "position must be a token position" in reply["error"]
    assert w.spec is spec


def test_unknown_actions_and_arguments_are_refused(llama):
    w = llama.attribution(TEXT, method="saliency", live=True)
    assert "no live action 'fit'" in ask(w, "fit")["error"]
    assert "unexpected keyword" in ask(w, "attribute", position=3, extra=1)["error"]
    w._on_msg(w, {"type": "something else"}, [])  # other messages are not ours: ignored


# ---- the logit lens: text box and layer range ------------------------------------------------------


def test_rerun_with_new_text_and_layers_equals_the_analysis(llama):
    w = llama.rankings(TEXT, live=True)
    controls = {c["name"]: c for c in w.live["controls"]}
    assert controls["text"]["value"] == TEXT
    assert controls["layers"]["options"] == ["embed", "0", "1"] and controls["layers"]["value"] == [0, 2]
    new = "Hello world, hello"
    assert ask(w, "run", text=new, layers=[1, 2])["ok"]
    want = rankings(llama.trace(new), layers=[1, 2])
    full = rankings(llama.trace(new))
    np.testing.assert_array_equal(w.result.ranks, want.ranks)
    np.testing.assert_array_equal(w.result.ranks, full.ranks[1:])
    np.testing.assert_allclose(w.result.probs, full.probs[1:], atol=1e-6)
    assert w.spec["layer_names"] == ["blocks.0.resid_post", "blocks.1.resid_post"]
    assert {c["name"]: c["value"] for c in w.live["controls"]} == {"text": new, "layers": [1, 2]}


def test_layer_predictions_rerun(llama):
    w = llama.layer_predictions(TEXT, topk=3, live=True)
    assert ask(w, "run", text="The quick brown fox", layers=[0, 1])["ok"]
    want = layer_predictions(llama.trace("The quick brown fox"), topk=3, layers=[0, 1])
    np.testing.assert_array_equal(w.result.top_ids, want.top_ids)


@pytest.mark.parametrize(("args", "match"), [
    ({"text": "", "layers": [0, 2]}, "type some text"),
    ({"text": "x", "layers": [2, 1]}, "layers: a range"),
    ({"text": "x", "layers": [0, 3]}, "layers: a range"),
    ({"text": "x"}, "run needs a value for \\['layers'\\]"),
    ({"text": 5, "layers": [0, 1]}, "type some text"),
])
def test_bad_inputs_change_nothing(llama, args, match):
    w = llama.rankings(TEXT, live=True)
    before = w.spec
    reply = ask(w, "run", **args)
    assert not reply["ok"] and re.search(match, reply["error"]), reply
    assert w.spec is before


def test_predictions_and_watch_rerun_on_new_text(llama):
    for w in (llama.predictions(TEXT, topk=3, live=True), llama.rankings_watch(TEXT, watch=[" Paris"], live=True)):
        assert [c["name"] for c in w.live["controls"]] == ["text"]
        assert ask(w, "run", text="The quick brown fox")["ok"]
        assert "".join(w.spec["tokens"]) == "The quick brown fox"


# ---- neuron factors: text, n_factors and a block range, re-fit in the kernel ----------------------

FACTOR_TEXT = "The quick brown fox jumps over the lazy dog and the cat"


def test_neuron_factors_refit_equals_the_analysis(llama):
    w = llama.neuron_factors(TEXT, n_factors=3, live=True)
    controls = {c["name"]: c for c in w.live["controls"]}
    assert [c for c in controls] == ["text", "n_factors", "layers"]
    assert controls["n_factors"]["value"] == 3 and controls["layers"]["options"] == ["0", "1"]
    assert controls["layers"]["value"] == [0, 1]
    assert ask(w, "run", text=FACTOR_TEXT, n_factors=2, layers=[1, 1])["ok"]
    # the analysis run directly on a fresh trace of the new text
    want = neuron_factors(llama.trace(FACTOR_TEXT, points=["blocks.*.mlp.post"]), n_factors=2, layers=[1])
    assert w.result.layers.tolist() == [1] and w.result.n_factors == 2
    np.testing.assert_allclose(w.result.activations, want.activations, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(w.result.loadings, want.loadings, rtol=1e-5, atol=1e-6)
    assert "".join(w.spec["tokens"]) == FACTOR_TEXT
    assert {c["name"]: c["value"] for c in w.live["controls"]} == {
        "text": FACTOR_TEXT, "n_factors": 2, "layers": [1, 1]}


@pytest.mark.parametrize(("args", "match"), [
    ({"n_factors": 0}, "factors: an integer in \\[1, 64\\]"),
    ({"n_factors": 40}, "n_factors must be <= 12, got 40"),  # more than tokens: the analysis says so
    ({"layers": [1, 2]}, "blocks: a range"),
])
def test_neuron_factors_bad_refit_changes_nothing(llama, args, match):
    w = llama.neuron_factors(TEXT, n_factors=3, live=True)
    before = w.spec
    reply = ask(w, "run", **{"text": TEXT, "n_factors": 3, "layers": [0, 1], **args})
    assert not reply["ok"] and re.search(match, reply["error"]), reply
    assert w.spec is before


def test_neuron_factors_with_components_apply_them_to_the_new_text(llama):
    fit = llama.neuron_factors(TEXT, n_factors=3).result
    w = llama.neuron_factors(TEXT, components=fit, live=True)
    assert [c["name"] for c in w.live["controls"]] == ["text"]
    assert ask(w, "run", text=FACTOR_TEXT)["ok"]
    np.testing.assert_array_equal(w.result.loadings, fit.loadings)  # the same factors
    want = neuron_factors(llama.trace(FACTOR_TEXT, points=["blocks.*.mlp.post"]), components=fit)
    np.testing.assert_allclose(w.result.activations, want.activations, rtol=1e-5, atol=1e-6)


# ---- the last state, offline ----------------------------------------------------------------------


def test_save_html_writes_the_last_state(llama, tmp_path):
    w = llama.attribution(TEXT, method="saliency", live=True)
    ask(w, "attribute", position=5)
    page = w.save_html(tmp_path / "last.html").read_text()
    assert '"focus":5' in page and page.count('class="lmlens-root"') == 1
    assert w.to_html() != llama.attribution(TEXT, method="saliency").to_html()


def test_a_view_without_actions_is_live_but_computes_nothing():
    view = View({"kind": "predictions", "version": 1, "title": "t"})
    w = view.live()
    assert w.live == {"actions": {}, "controls": []}
    with pytest.raises(ValueError, match="no live actions"):
        w.call("run", text="x")


def test_show_keeps_the_kind(llama):
    w = llama.rankings(TEXT, live=True)
    with pytest.raises(ValueError, match="cannot show a predictions view"):
        w.show(llama.predictions(TEXT))


# ---- the handler table --------------------------------------------------------------------------


def test_the_table_checks_what_it_is_given():
    v = View({"kind": "predictions", "version": 1})
    with pytest.raises(ValueError, match="'run' action"):
        LiveActions({"other": lambda: v}, controls=[Control.text("text", "x")])
    with pytest.raises(TypeError, match="must be callable"):
        LiveActions({"run": 3})
    with pytest.raises(ValueError, match="info for actions that do not exist"):
        LiveActions({"run": lambda: v}, info={"slice": {}})
    with pytest.raises(ValueError, match="control type"):
        Control("n", "slider", 1)
    with pytest.raises(ValueError, match="n_factors: an integer in \\[1, 64\\]"):
        Control.integer("n_factors", 0, 1, 64)
    with pytest.raises(TypeError, match="what live action .run. returns must be an lmlens View"):
        LiveActions({"run": lambda: 3}).call("run")
    acts = LiveActions({"run": lambda n_factors, mode: v},
                       controls=[Control.integer("n_factors", 8, 1, 64), Control.choice("mode", ["a", "b"], "a")])
    assert acts.call("run", {"n_factors": 4, "mode": "b"}) is v
    with pytest.raises(ValueError, match="mode: one of"):
        acts.call("run", {"n_factors": 4, "mode": "c"})


def test_merge_targets_orders_rows_and_refuses_mixtures(llama):
    ids = llama.tokenize(TEXT)
    embed = llama.anatomy.embed_module(llama.model)
    a = attribute(llama.model, ids, [6], embed=embed, method="saliency")
    b = attribute(llama.model, ids, [2, 4], embed=embed, method="saliency")
    m = merge_targets([a, b, a])
    assert m.target_positions.tolist() == [2, 4, 6] and m.n_sources == 6
    both = attribute(llama.model, ids, [2, 4, 6], embed=embed, method="saliency")
    np.testing.assert_allclose(m.norms, both.norms, atol=1e-6)
    np.testing.assert_array_equal(m.valid, both.valid)
    with pytest.raises(ValueError, match="one method"):
        merge_targets([a, attribute(llama.model, ids, [3], embed=embed, method="input_x_gradient")])
    with pytest.raises(ValueError, match="same sequence"):
        merge_targets([a, attribute(llama.model, ids[:-1], [3], embed=embed, method="saliency")])


# ---- attention: one layer at a time -----------------------------------------------------------


def _records_bytes(spec: dict) -> int:
    import json

    return len(json.dumps(spec, separators=(",", ":")).encode())


def test_live_attention_ships_one_layer_and_fetches_the_others(llama):
    import torch
    from test_attention import _hf

    from lmlens.views import decode_array

    static = llama.attention(TEXT)  # every layer's records in the page
    w = llama.attention(TEXT, live=True)
    blocks = static.spec["layers"]
    assert len(blocks) > 1 and w.live["actions"]["slice"]["layers"] == blocks
    # the page starts with the shown (first) layer only
    assert w.spec["weights"][0] == static.spec["weights"][0]
    assert all(rec is None for rec in w.spec["weights"][1:])
    assert all(rec is None for rec in w.spec["rollout"][1:])
    full = _records_bytes(static.spec)
    want, _ = _hf(llama.model, torch.tensor(static.result.input_ids))
    for b in blocks[1:]:
        reply = ask(w, "slice", layers=[b])
        assert reply["ok"], reply
        i = blocks.index(b)
        sent = w.spec
        # the slice sent is the static page's record of that layer, and nothing else
        assert sent["weights"][i] == static.spec["weights"][i] and sent["rollout"][i] == static.spec["rollout"][i]
        assert [j for j, rec in enumerate(sent["weights"]) if rec is not None] == [i]
        # ... and it decodes to HF's own attention of that block (uint8: within half a code)
        got = decode_array(sent["weights"][i]).astype(np.float64)  # code × scale
        np.testing.assert_allclose(got, want[b], atol=0.5 / 255 + 1e-6)
        assert _records_bytes(sent) < full / (len(blocks) - 0.5) + 4096  # about one layer's share
    # view.live() on the static view does the same
    w2 = static.live()
    assert [rec is not None for rec in w2.spec["weights"]] == [True] + [False] * (len(blocks) - 1)


def test_live_attention_model_and_pair_modes_start_with_every_layer(llama):
    static = llama.attention(TEXT, view="model")
    w = static.live()
    assert w.spec["weights"] == static.spec["weights"]


@pytest.mark.parametrize("layers, match", [
    ([99], "block 99 is not in this view"), ([], "non-empty list"), (1, "non-empty list"),
    (["0"], "block '0' is not in this view"), ([True], "block True"),
])
def test_live_attention_bad_layer_changes_nothing(llama, layers, match):
    w = llama.attention(TEXT, live=True)
    before = w.spec
    reply = ask(w, "slice", layers=layers)
    assert not reply["ok"] and re.search(match, reply["error"]) and "blocks [0, 1" in reply["error"]
    assert w.spec is before


def test_live_attention_refuses_a_non_bool_live(llama):
    with pytest.raises(TypeError, match="live must be True or False"):
        llama.attention(TEXT, live="yes")


FAKE_WIDGET = """([spec, live]) => {
  const listeners = {};
  const state = {spec, live};
  window.sent = [];
  window.fake = {
    get: (k) => state[k], send: (m) => window.sent.push(m),
    on: (ev, cb) => { (listeners[ev] = listeners[ev] || []).push(cb); },
    off: (ev, cb) => { listeners[ev] = (listeners[ev] || []).filter((f) => f !== cb); },
    change(values) { Object.assign(state, values); for (const k of Object.keys(values)) for (const cb of listeners["change:" + k] || []) cb(); },
  };
  const el = document.createElement("div");
  el.id = "w";
  document.body.appendChild(el);
  window.LMLens.live({model: window.fake, el});
}"""


def test_live_attention_page_asks_for_a_layer_and_draws_the_answer(llama, tmp_path):
    """The real view in Chromium with a fake anywidget model: picking a layer the page lacks sends
    ``slice``; the kernel's answer (the handler) is drawn, the view kept on the heads mode."""
    from browser import chromium, open_page, skip_reason

    if skip_reason():
        pytest.skip(skip_reason())
    w = llama.attention(TEXT, live=True)
    path = tmp_path / "runtime.html"
    w.save_html(path)  # a page that carries the runtime (and CSP: nothing is fetched)
    blocks = w.spec["layers"]
    with chromium() as ch, open_page(path, browser=ch) as (page, log):
        page.evaluate(FAKE_WIDGET, [w.spec, w.live])
        page.wait_for_selector("#w .lm-attention[data-lm-ready]", timeout=20_000)
        assert page.evaluate("window.sent.length") == 0
        page.select_option("#w .lm-att-layer", str(len(blocks) - 1))
        sent = page.evaluate("window.sent")
        assert [(m["action"], m["args"]) for m in sent] == [("slice", {"layers": [blocks[-1]]})]
        # the view stays as drawn until the answer comes
        assert page.input_value("#w .lm-att-layer") == "0"
        reply = ask(w, "slice", **sent[0]["args"])
        assert reply["ok"]
        page.evaluate("(spec) => window.fake.change({spec})", w.spec)
        page.wait_for_selector("#w .lm-live[data-lm-draws='2'] .lm-attention[data-lm-ready]", timeout=20_000)
        assert page.input_value("#w .lm-att-layer") == str(len(blocks) - 1)
        drawn = page.get_attribute("#w .lm-att-lines", "data-lm-drawn") or ""
        assert drawn.startswith(f"{len(blocks) - 1}:")
        # back to layer 0: received before, so nothing is asked
        page.select_option("#w .lm-att-layer", "0")
        assert page.evaluate("window.sent.length") == 1
        page.screenshot(path=str(tmp_path / "live_attention.png"))
        assert not log.errors and not log.requests


def test_live_attention_saves_and_falls_back_to_every_layer(llama, tmp_path):
    from lmlens.views import decode_array

    static = llama.attention(TEXT)
    w = static.live()
    ask(w, "slice", layers=[static.spec["layers"][1]])
    assert w.view.to_json() == static.to_json()
    html = w.save_html(tmp_path / "a.html").read_text(encoding="utf-8")
    assert html.count('"dtype"') == static.save_html(tmp_path / "b.html").read_text(encoding="utf-8").count('"dtype"')
    assert '"weights": [null' not in html and "null, null" not in w.to_html()
    assert decode_array(static.spec["weights"][1]).shape[0] == static.result.n_heads
