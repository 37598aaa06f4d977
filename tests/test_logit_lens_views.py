"""Logit-lens views: specs carry the results, fallbacks render, figures draw Japanese, budgets cut."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings

import numpy as np
import pytest
from tiny import tiny_lens

from lmlens.analyses.logit_lens import POINTS, layer_predictions, rankings, rankings_watch
from lmlens.views import View, decode_array
from lmlens.views.layer_predictions import layer_predictions_view
from lmlens.views.layer_predictions import to_spec as lp_spec
from lmlens.views.rankings import rankings_view, settle_layers
from lmlens.views.rankings import to_spec as rk_spec
from lmlens.views.rankings_watch import watch_view

TEXT = "The capital of France is Paris. 東京は日本の首都です。"


@pytest.fixture(scope="module")
def lens():
    return tiny_lens("gpt2")


@pytest.fixture(scope="module")
def trace(lens):
    return lens.trace(TEXT, points=POINTS)


def test_rankings_spec_carries_the_result(trace):
    r = rankings(trace)
    spec = rk_spec(r)
    assert spec["kind"] == "rankings" and spec["version"] == 1
    np.testing.assert_array_equal(decode_array(spec["ranks"]), r.ranks)
    np.testing.assert_array_equal(decode_array(spec["probs"]), r.probs)
    np.testing.assert_array_equal(decode_array(spec["top_ids"]), r.top_ids)
    np.testing.assert_array_equal(decode_array(spec["target_ids"]), r.token_ids)
    vocab = dict(zip(decode_array(spec["vocab_ids"]).tolist(), spec["vocab_strings"], strict=True))
    assert all(vocab[int(i)] == r.strings[int(i)] for i in r.top_ids.ravel())
    assert spec["layer_labels"] == ["embed", "0", "1"] and spec["tokens"] == list(trace.tokens)
    cut = rk_spec(r, limit=4)
    assert decode_array(cut["ranks"]).shape == (3, 4) and cut["n_positions"] == trace.n_positions


def test_settle_layers():
    ranks = np.array([[9, 1, 1, 3], [1, 4, 1, 2], [1, 1, 1, 1]])
    assert settle_layers(ranks).tolist() == [1, 2, 0, 2]


def test_views_from_the_lens(lens):
    v = lens.rankings(TEXT)
    assert isinstance(v, View) and v.kind == "rankings" and v.result.ranks.shape[0] == 3
    html = v.to_html()
    assert "data-lmlens-kind=\"rankings\"" in html and "東" in html and "首都" in html
    w = lens.rankings_watch(TEXT, watch=[" Paris", 7], position=4)
    assert w.kind == "rankings_watch" and w.result.position == 4
    assert w.result.watch_labels[1] == lens.tokenizer.decode([7])
    top3 = lens.rankings_watch(TEXT)  # watch=None: the final top 3 at the last position
    assert top3.result.n_watch == 3 and top3.result.ranks[-1].tolist() == [1, 2, 3]
    assert "splits into" in " ".join(w.spec["notices"]) or len(lens.tokenizer(" Paris")["input_ids"]) == 1
    p = lens.layer_predictions(TEXT, position=3, topk=4)
    assert p.kind == "layer_predictions" and p.spec["position"] == 3 and p.result.k == 4
    for view in (v, w, p):
        assert "lmlens-fallback" in view.to_html()


def test_fallbacks_show_the_numbers(trace):
    r = rankings(trace)
    html = rankings_view(r).to_html()
    fallback = html.split('class="lmlens-fallback"')[1].split('class="lmlens-mount"')[0]
    assert f">{int(r.ranks[-1, 0]):,}<" in fallback and "input" in fallback
    w = rankings_watch(trace, watch=[3, 9], position=2)
    fb = watch_view(w).to_html().split('class="lmlens-fallback"')[1]
    assert f"{int(w.ranks[0, 1]):,} · " in fb
    lp = layer_predictions(trace, position=2, topk=3)
    fb = layer_predictions_view(lp).to_html().split('class="lmlens-fallback"')[1]
    assert "Position 2" in fb


def test_hostile_tokens_stay_text(lens):
    text = "</script><!-- <img src=x onerror=alert(1)> & \"q\" 'q'"
    html = lens.rankings(text).to_html(full_page=True)
    assert "<img src=x" not in html and "</script><!--" not in html


@pytest.mark.parametrize("make", ["rankings", "watch", "layer_predictions"])
def test_figures_render_japanese_without_missing_glyphs(lens, make):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    if make == "rankings":
        v = lens.rankings(TEXT)
    elif make == "watch":
        v = lens.rankings_watch(TEXT, watch=["東京", " Paris"])
    else:
        v = lens.layer_predictions(TEXT, position=-1, topk=3)
    assert any("東" in t or "京" in t for t in v.result.tokens)
    fig = v.figure()
    assert isinstance(fig, Figure)
    assert fig._repr_png_().startswith(b"\x89PNG")  # shows in a notebook without pyplot
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png", dpi=40)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert missing == []


def test_rankings_figure_options(trace):
    pytest.importorskip("matplotlib")
    from lmlens.views.logit_lens_figures import font_families, rankings_figure

    r = rankings(trace)
    fig = rankings_figure(r, values="prob", annotate=False)
    fig.savefig(io.BytesIO(), format="png", dpi=30)
    with pytest.raises(ValueError, match="values"):
        rankings_figure(r, values="logit")
    assert len(font_families()) == 2  # a CJK font is found (japanize-matplotlib or Noto)


def test_size_budget_cuts_positions_and_says_so():
    lens = tiny_lens("gpt2", 12)
    trace = lens.trace(TEXT * 5, points=POINTS)
    r = rankings(trace)
    full = rankings_view(r, max_bytes=None)
    base = rankings_view(rankings(lens.trace("The", points=POINTS)), max_bytes=None).nbytes()
    small = rankings_view(r, max_bytes=base + (full.nbytes() - base) * 7 // 10)
    shown = len(small.spec["tokens"])
    assert shown < r.n_positions and any("Showing the first" in n for n in small.spec["notices"])
    assert small.figure() is not None  # still a FigureView after the notice
    lp = layer_predictions(trace, position=trace.n_positions - 2)
    full = layer_predictions_view(lp, max_bytes=None)
    base = layer_predictions_view(layer_predictions(lens.trace("The", points=POINTS)), max_bytes=None).nbytes()
    small = layer_predictions_view(lp, max_bytes=base + (full.nbytes() - base) // 2)
    lo = small.spec["offset"]
    assert lo > 0 and small.spec["tokens"][small.spec["position"]] == trace.tokens[lp.position]
    assert any("around position" in n for n in small.spec["notices"])
    with pytest.raises(ValueError, match="window"):
        lp_spec(lp, lo=0, hi=2)


def test_generated_view(lens):
    trace = lens.generate("The capital of", max_new_tokens=3)
    v = lens.rankings(trace)
    assert decode_array(v.spec["generated"]).tolist() == trace.generated.astype(int).tolist()
    v.figure().savefig(io.BytesIO(), format="png", dpi=30)


def test_analyses_stay_free_of_view_libraries():
    code = (
        "import sys, lmlens.analyses.logit_lens\n"
        "bad = [m for m in ('jinja2', 'IPython', 'matplotlib', 'lmlens.views') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
