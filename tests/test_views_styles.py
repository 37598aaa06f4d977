"""The one styling mechanism: a ``.css`` next to each JS module, scoped under the view's root.

``scope_css`` refuses what would leak out of a view or load anything; ``view_css`` carries exactly
the stylesheets of the modules an output inlines. The Python twins of the JS text rules are
compared with the JS itself (run in node), not with a copy of it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from views_helpers import hand_result

from lmlens.views import _html, predictions_view
from lmlens.views._format import format_prob, visible_token
from lmlens.views.logit_lens_figures import rank_text, token_text

ROOT = Path(__file__).resolve().parents[1]
KINDS = ["predictions", "rankings", "layer_predictions", "rankings_watch", "attribution"]


def _rules(css: str) -> list[tuple[list[str], str]]:
    return [([s.strip() for s in sel.split(",")], body) for sel, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)]


def test_scope_css_scopes_compacts_and_drops_comments():
    out = _html.scope_css("/* a comment */\n& { margin: 0; }\n& .a:hover,\n  &[data-x=\"1\"] > .b { color: red;\n  top: 0 }")
    scoped = out.replace("\ue000", "#v")
    assert scoped == '#v{margin: 0;}#v .a:hover,#v[data-x="1"] > .b{color: red;top: 0;}'
    # commas inside :is(...) do not split selectors
    assert _html.scope_css("& :is(.a, .b) { x: y }").replace("\ue000", "#v") == "#v :is(.a, .b){x: y;}"


@pytest.mark.parametrize(
    ("css", "match"),
    [
        (".lm-x { color: red }", "must start with '&'"),
        ("& .a, .b { color: red }", "'.b' must start"),
        ("@media (max-width: 1px) { & .a { color: red } }", "at-rules"),
        ("& .a { background: url(x.png) }", "url\\("),
        ("@import 'x.css';", "@import"),
        ("& .a { content: '</style><script>' }", "'</'"),
        ("& .a { color: red", "unbalanced"),
        ("& .a { color: red } }", "unbalanced"),
        ("& .a { content: 'https://x' }", "https://"),
    ],
)
def test_scope_css_refuses_what_could_leak_or_load(css, match):
    with pytest.raises(ValueError, match=match):
        _html.scope_css(css, "demo.css")


def test_every_stylesheet_of_the_runtime_loads():
    styles = _html._all_styles()
    assert {"index.js", "ui/token_strip.js", "ui/detail.js", "ui/switch.js", "ui/legend.js", "ui/topk.js",
            "ui/header.js", "ui/token_text.js"} <= set(styles)
    assert {f"views/{k}.js" for k in ("rankings", "layer_predictions", "rankings_watch", "attribution")} <= set(styles)


def test_view_css_carries_the_modules_of_the_kind_shell_first_view_last():
    css = _html.view_css(["predictions"], "#r1")
    for sel, _ in _rules(css):
        assert all(s.startswith("#r1") for s in sel), sel
    assert css.startswith("#r1{margin: 6px 0;}")  # the shell's first rule
    assert ".lm-tok" in css and ".lm-topk" in css and ".lm-legend" in css
    assert ".lm-rk-line" not in css and ".lm-grid" not in css and ".lm-wt-chart" not in css and ".lm-heatmap" not in css
    rk = _html.view_css(["rankings"], ".lmlens-widget")
    assert rk.index(".lm-view{--lm-fg") < rk.index(".lm-seg{") < rk.index(".lm-rk-line{")
    assert ".lm-tok{" not in rk  # the rankings view has no token strip
    every = set(_html.view_css(None, "#all").split("}"))
    for kind in KINDS:  # each output's rules are a subset of the whole runtime's
        assert set(_html.view_css([kind], "#all").split("}")) <= every


@pytest.mark.parametrize("scope", ["", "a{b", "x}", "\ue000"])
def test_view_css_needs_a_selector(scope):
    with pytest.raises(ValueError, match="scope"):
        _html.view_css(["predictions"], scope)


def test_a_stylesheet_belongs_to_a_module(monkeypatch, tmp_path):
    (tmp_path / "index.js").write_text("module.exports = {};\n")
    (tmp_path / "orphan.css").write_text("& .x { color: red }\n")
    monkeypatch.setattr(_html, "js_dir", lambda: tmp_path)
    _html._all_styles.cache_clear()
    try:
        with pytest.raises(ValueError, match="orphan.css has no js/src/orphan.js"):
            _html._all_styles()
    finally:
        monkeypatch.undo()
        _html._all_styles.cache_clear()


def test_the_fragment_style_is_the_view_css_under_its_root():
    html = predictions_view(hand_result()).to_html()
    root = re.search(r'id="(lmlens-[0-9a-f]+)"', html).group(1)
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    assert style == _html.view_css(["predictions"], f"#{root}")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_python_text_rules_equal_the_js_ones():
    """format_prob / visible_token / token_text / rank_text against the JS functions, run in node."""
    strings = [" Paris", "", " ", "   ", "a\nb", "\t\r", "\x15", "\x00x\x7f", "</script>", "日本語", " a "]
    probs = [0.1234, 1.0, 0.012, 0.000456, 1e-7, 0.5, 0.99949]
    ranks = [1, 7, 999, 1000, 1234, 9949, 9950, 45678, 49152]
    script = f"""
const f = require({json.dumps(str(ROOT / "js" / "src" / "format.js"))});
const t = require({json.dumps(str(ROOT / "js" / "src" / "ui" / "token_text.js"))});
const s = {json.dumps(strings)}, p = {json.dumps(probs)}, r = {json.dumps(ranks)};
console.log(JSON.stringify([s.map(f.visibleToken), s.map(t.tokenText), p.map(f.formatProb), r.map(f.rankText)]));
"""
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    visible, chips, pcts, rks = json.loads(out.stdout)
    assert visible == [visible_token(s) for s in strings]
    assert chips == [token_text(s) for s in strings]
    assert pcts == [format_prob(p) for p in probs]
    assert rks == [rank_text(r) for r in ranks]
