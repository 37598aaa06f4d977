"""The HTML shell: escaping, unique ids, runtime inlining, fallback, size budget, assets."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from views_helpers import HOSTILE, hand_result

import lmlens
from lmlens.views import (
    View,
    ViewTooLargeError,
    _html,
    _resources,
    decode_array,
    page_html,
    predictions_view,
)
from lmlens.views.fit import fit

ROOT = Path(__file__).resolve().parents[1]


def test_runtime_is_inlinable():
    js = _html.runtime_js()
    assert "</script" not in js.lower()
    assert "<!--" not in js
    assert not re.search(r"https?://", js)
    assert "document.write" not in js
    for mod in _html.js_modules():  # every file of js/src goes in
        assert mod["path"] in js


def test_each_output_inlines_only_the_modules_it_draws_with():
    js = _html.runtime_js(["predictions"])
    # 45 kB: the live wrapper (live.js, ui/controls.js, ~8 kB) and byte-piece labels joined the
    # shared core after the 40 kB budget was set; a view's own modules must not grow it further
    assert len(js.encode()) < 45_000, "the runtime is inlined into every output: keep it small"
    paths = [m["path"] for m in _html.js_modules(["predictions"])]
    assert "index.js" in paths and "views/predictions.js" in paths and "decode.js" in paths
    assert not any(p.startswith("views/") and p != "views/predictions.js" for p in paths)
    html = View({"kind": "predictions", "version": 1}).to_html()
    assert '"views/predictions.js"' in html and '"views/rankings.js"' not in html


def test_runtime_source_files_are_inlinable():
    for p in (ROOT / "js" / "src").rglob("*.js"):
        text = p.read_text(encoding="utf-8")
        assert "</script" not in text.lower(), p
        assert not re.search(r"https?://", text), p


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_runtime_bundle_evaluates_in_node(tmp_path):
    """The inlined expression parses and exposes render/mount/version (comment stripping is safe)."""
    script = tmp_path / "r.js"
    script.write_text(
        "globalThis.atob = (s) => Buffer.from(s, 'base64').toString('latin1');\n"
        f"const api = {_html.runtime_js()};\n"
        "console.log(JSON.stringify([typeof api.render, typeof api.mount, api.version]));\n",
        encoding="utf-8",
    )
    out = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == ["function", "function", lmlens.__version__]


def test_versions_agree():
    pkg = json.loads((ROOT / "js" / "package.json").read_text())
    assert pkg["version"] == lmlens.__version__
    assert f'const version = "{lmlens.__version__}"' in (ROOT / "js" / "src" / "index.js").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{lmlens.__version__}"' in pyproject


def test_hostile_tokens_are_escaped_in_the_html():
    html = predictions_view(hand_result()).to_html()
    assert "<img" not in html
    assert "<!--" not in html
    assert "onerror=alert(1)>" not in html.replace("&gt;", "")  # only escaped forms remain
    assert html.lower().count("</script>") == html.lower().count("<script")
    assert "<script>alert(2)" not in html
    assert "日本語のテキスト" in html  # UTF-8, not mangled
    # the spec round-trips: the JSON in the page parses back to the same tokens
    spec_json = re.search(r'<script type="application/json" class="lmlens-spec">(.*?)</script>', html, re.S)
    spec = json.loads(spec_json.group(1))
    assert spec["tokens"] == HOSTILE
    assert spec["model_name"] == "hand <made> & 'model'"


def test_every_render_gets_its_own_root_id():
    view = predictions_view(hand_result())
    ids = {re.search(r'id="(lmlens-[0-9a-f]+)"', view.to_html()).group(1) for _ in range(5)}
    assert len(ids) == 5
    html = view.to_html()
    root = re.search(r'id="(lmlens-[0-9a-f]+)"', html).group(1)
    # every style rule is scoped under the root id
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    rules = [r.strip() for r in re.findall(r"([^{}]+)\{", style)]
    assert rules and all(sel.strip().startswith(f"#{root}") for r in rules for sel in r.split(","))


def test_fragment_has_fallback_error_slot_and_mount():
    html = predictions_view(hand_result()).to_html()
    assert 'class="lmlens-fallback"' in html
    assert 'class="lmlens-error" role="alert" hidden' in html
    assert 'class="lmlens-mount" hidden' in html
    assert "the interactive view needs JavaScript" in html and "<strong>run the cell</strong>" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the fallback shows the token as text


def test_page_has_one_runtime_and_a_csp():
    v = predictions_view(hand_result())
    html = page_html([("A", v), ("B <i>", v), ("C", "a note <b>")], title="t & t")
    assert html.count("function load(path)") == 1
    assert html.count('class="lmlens-root"') == 2
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "B &lt;i&gt;" in html and "a note &lt;b&gt;" in html and "<title>t &amp; t</title>" in html
    assert len(set(re.findall(r'id="(lmlens-[0-9a-f]+)"', html))) == 2


def test_view_api(tmp_path):
    r = hand_result()
    v = predictions_view(r)
    assert v.result is r and v.kind == "predictions" and v.spec["version"] == 1
    assert v._repr_html_().startswith('<div id="lmlens-')
    page = v.to_html(full_page=True)
    assert page.startswith("<!doctype html>")
    p = v.save(tmp_path / "v.html")
    assert p.read_text(encoding="utf-8").startswith("<!doctype html>")
    j = v.save(tmp_path / "v.json")
    spec = json.loads(j.read_text(encoding="utf-8"))
    assert spec["kind"] == "predictions"
    np.testing.assert_allclose(decode_array(spec["topk_probs"]), r.top_probs, rtol=1e-3)
    with pytest.raises(ValueError, match=r"\.html, \.htm or \.json"):
        v.save(tmp_path / "v.png")
    assert "predictions" in repr(v)


def test_spec_validation():
    with pytest.raises(ValueError, match="kind"):
        View({"kind": "Bad Kind", "version": 1})
    with pytest.raises(ValueError, match="version"):
        View({"kind": "predictions", "version": 0})
    with pytest.raises(ValueError, match="js/src/views/nope.js"):
        View({"kind": "nope", "version": 1})
    with pytest.raises(ValueError, match="not JSON-able"):
        View({"kind": "predictions", "version": 1, "x": float("nan")})
    with pytest.raises(ValueError, match="not JSON-able"):
        View({"kind": "predictions", "version": 1, "x": np.zeros(2)})
    with pytest.raises(ValueError, match="theme"):
        View({"kind": "predictions", "version": 1}, theme="blue")
    with pytest.raises(ValueError, match="max_bytes"):
        View({"kind": "predictions", "version": 1}, max_bytes=0)
    assert View({"kind": "predictions", "version": 1}, theme="dark").spec["theme"] == "dark"


def test_size_budget_refuses():
    v = View({"kind": "predictions", "version": 1, "blob": "x" * 200_000}, max_bytes=100_000)
    with pytest.raises(ViewTooLargeError, match="max_bytes=100,000"):
        v.to_html()
    with pytest.raises(ViewTooLargeError):
        v.save_html("/nonexistent/never-written.html")
    assert View({"kind": "predictions", "version": 1, "blob": "x" * 200_000}, max_bytes=None).to_html()


def test_size_budget_subsamples_and_says_so():
    tokens = [f" w{i}" for i in range(3000)]
    r = hand_result(tokens, k=5)
    full = predictions_view(r, max_bytes=None)
    budget = full.nbytes() // 3
    v = predictions_view(r, max_bytes=budget)
    n = len(v.spec["tokens"])
    assert 0 < n < 3000
    assert v.nbytes() <= budget
    assert v.spec["n_positions"] == 3000
    (notice,) = v.spec["notices"]
    assert f"Showing the first {n:,} of 3,000 tokens" in notice and f"max_bytes={budget:,}" in notice
    assert notice.replace("'", "&#39;") in v.to_html() or notice in v.to_html()  # fallback shows it too
    with pytest.raises(ViewTooLargeError, match="do not fit"):
        predictions_view(r, max_bytes=5_000)


def test_fit_needs_positive_budget():
    with pytest.raises(ValueError, match="max_bytes"):
        fit(lambda m: None, 3, max_bytes=-1)


def test_assets_not_found_names_both_places(monkeypatch, tmp_path):
    monkeypatch.setattr(_resources, "_PACKAGE", tmp_path / "pkg")
    monkeypatch.setattr(_resources, "_SOURCE_ROOT", tmp_path / "src")
    _resources.asset_dirs.cache_clear()
    try:
        with pytest.raises(_resources.AssetsNotFoundError) as e:
            _resources.asset_dirs()
        msg = str(e.value)
        assert str(tmp_path / "pkg" / "_assets" / "templates") in msg
        assert str(tmp_path / "src" / "templates") in msg
    finally:
        monkeypatch.undo()
        _resources.asset_dirs.cache_clear()
    assert _resources.templates_dir().is_dir()


def test_lens_default_budget_matches_the_views():
    from lmlens.lens.core import VIEW_MAX_BYTES
    from lmlens.views import DEFAULT_MAX_BYTES

    assert VIEW_MAX_BYTES == DEFAULT_MAX_BYTES


@pytest.mark.parametrize(
    "module",
    ["lmlens.views._encode", "lmlens.views._format", "lmlens.views._html", "lmlens.views._budget",
     "lmlens.views._resources", "lmlens.views.page", "lmlens.views.view", "lmlens.views"],
)
def test_docstring_examples(module):
    import doctest
    import importlib

    failed, _ = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert failed == 0
