"""The notebooks in ``notebooks/``: every code cell compiles and calls only lmlens API that
exists; each runs top to bottom in a real kernel (nbclient) with no error output and its views in
the outputs; the executed notebook, exported to HTML as nbconvert writes it (JupyterLab's
template, minus its CDN scripts), opens in headless Chromium with every view mounted, no console
error and no network request.

- ``00_quickstart``: a tiny random GPT-2 (fast);
- ``01_logit_lens``: the real embedded SmolLM2 (slow);
- ``colab_japanese_rinna``: needs the hub, so it runs with a tiny folder in rinna's exact tokenizer
  layout (tests/rinna_folder.py: T5Tokenizer over sentencepiece, GPT-2 weights) in place of
  ``rinna/japanese-gpt2-medium``.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from browser import SETTLED, assert_mounted, chromium, open_page, skip_reason
from rinna_folder import rinna_folder
from tiny import CORPUS, tiny_lens

import lmlens

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "lmlens-test-python"
RINNA_ID = "rinna/japanese-gpt2-medium"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
#: nbconvert's JupyterLab template without the scripts it loads from a CDN (require.js, MathJax,
#: mermaid, and the ipywidgets embed manager it adds when tqdm drew widget progress bars): what is
#: left is the page a reader of an exported notebook gets, offline.
OFFLINE_LAB = """{%- extends "lab/index.html.j2" -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
"""


# ---- helpers ----------------------------------------------------------------------------


def read(name: str):
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def python_source(cell_source: str) -> str:
    """A code cell as IPython runs it (``!cmd`` and ``%magic`` become ``get_ipython()`` calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


def code_trees(nb) -> list[ast.Module]:
    return [ast.parse(python_source(c.source)) for c in nb.cells if c.cell_type == "code"]


def outputs(nb) -> list[dict]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def error_outputs(nb) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}" for o in outputs(nb) if o.get("output_type") == "error"]


def html_outputs(nb) -> list[str]:
    return [o["data"]["text/html"] for o in outputs(nb) if "text/html" in o.get("data", {})]


def view_kinds(htmls: list[str]) -> list[str]:
    return [k for h in htmls for k in re.findall(r'class="lmlens-root" data-lmlens-kind="([a-z_]+)"', h)]


def spec_of(html: str) -> dict:
    """The spec of the (first) view in an HTML output."""
    m = re.search(r'<script type="application/json" class="lmlens-spec">(.*?)</script>', html, re.S)
    assert m, "no lmlens-spec script in the output"
    return json.loads(m.group(1))


def export_html(nb, path: Path) -> Path:
    """The executed notebook as one HTML page: nbconvert's lab template without CDN scripts, or
    (without nbconvert) a minimal page holding the text/html outputs in order. Live widgets are
    exported as a notebook saved without widget state is (JupyterLab's default): their output's
    ``text/html``, the static view (with widget state nbconvert would load a widget manager from
    a CDN)."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.metadata.pop("widgets", None)
    try:
        from jinja2 import DictLoader
        from nbconvert import HTMLExporter
    except ImportError:
        body = "\n".join(f'<div class="output">{h}</div>' for h in html_outputs(nb))
        page = f"<!doctype html><html><head><meta charset=utf-8></head><body>{body}</body></html>"
    else:
        exporter = HTMLExporter(
            template_name="lab", template_file="offline.html.j2",
            extra_loaders=[DictLoader({"offline.html.j2": OFFLINE_LAB})],
        )
        page, _ = exporter.from_notebook_node(nb)
    path.write_text(page, encoding="utf-8")
    return path


# ---- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory) -> str:
    """A kernelspec that runs *this* Python (the venv), found through a temporary JUPYTER_PATH."""
    jupyter = tmp_path_factory.mktemp("jupyter")
    spec_dir = jupyter / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "lmlens test", "language": "python",
        "env": {"TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1",
                "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    }))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(jupyter))
        yield KERNEL


@pytest.fixture(scope="module")
def executed(kernel_name, tmp_path_factory) -> Callable:
    """``executed(name, edit=None) -> (nb, folder)``: the notebook run once per module in a real
    kernel, its working directory ``folder``; ``edit(nb, folder)`` may change it before the run."""
    cache: dict[str, tuple] = {}

    def run(name: str, edit: Callable | None = None):
        if name not in cache:
            folder = tmp_path_factory.mktemp(name)
            nb = read(name)
            if edit is not None:
                edit(nb, folder)
            client = nbclient.NotebookClient(
                nb, kernel_name=kernel_name, timeout=300,
                resources={"metadata": {"path": str(folder)}},
            )
            client.execute()
            cache[name] = (nb, folder)
        return cache[name]

    return run


@pytest.fixture(scope="module")
def browser():
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    with chromium() as b:
        yield b


@contextmanager
def views_mounted(browser, page_path: Path, kinds: list[str]) -> Iterator[object]:
    """Open the exported notebook and check that every view root mounted (mount visible and
    drawn, fallback and error box hidden), in the order of ``kinds``; yield the page for more
    checks; then check that there was no console error and no request."""
    with open_page(page_path, browser=browser) as (page, log):
        roots = page.locator(".lmlens-root")
        assert roots.count() == len(kinds)
        page.wait_for_function(SETTLED, timeout=10_000)
        for i, kind in enumerate(kinds):
            assert_mounted(roots.nth(i), kind)
        yield page
    assert log.errors == [] and log.requests == []


# ---- every notebook: compiles, uses API that exists ---------------------------------------


@pytest.mark.parametrize("name", sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_is_valid_and_calls_existing_api(name):
    nb = read(name)
    nbformat.validate(nb)
    assert any(c.cell_type == "markdown" for c in nb.cells)
    lens = tiny_lens("gpt2")
    for tree in code_trees(nb):  # ast.parse inside: every cell compiles
        compile(tree, name, "exec")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                owner = {"lens": lens, "lmlens": lmlens}.get(node.value.id)
                if owner is not None:
                    assert not node.attr.startswith("_"), f"{name}: private {node.value.id}.{node.attr}"
                    assert hasattr(owner, node.attr), f"{name}: no {node.value.id}.{node.attr}"


def test_colab_notebook_installs_only_on_colab_and_speaks_japanese():
    nb = read("colab_japanese_rinna")
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert any(JAPANESE.search(s) for s in md) and all(re.search(r"[A-Za-z]{4}", s) for s in md)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    installs = [s for s in code if "pip install" in s]
    assert len(installs) == 1 and "lmlens" in installs[0]
    guard = ast.parse(python_source(installs[0])).body[-1]  # if "google.colab" in sys.modules: !pip
    assert isinstance(guard, ast.If) and "google.colab" in ast.unparse(guard.test)
    assert all(re.match(r"\s*[!%]", line) is None for s in code if s not in installs
               for line in s.splitlines())
    assert sum(f'lmlens.load("{RINNA_ID}")' in s for s in code) == 1
    called = {n.func.attr for t in code_trees(nb) for n in ast.walk(t)
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert {"predictions", "rankings", "rankings_watch", "layer_predictions"} <= called


# ---- 00_quickstart (tiny random GPT-2) ------------------------------------------------------


QUICKSTART_KINDS = ["predictions", "attribution", "rankings"]  # the view, then two live widgets
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_quickstart_executes_and_shows_the_view(executed):
    nb, folder = executed("00_quickstart")
    assert any('lmlens.load("smollm2")' in c.source for c in nb.cells if c.cell_type == "markdown")
    assert error_outputs(nb) == []
    htmls = html_outputs(nb)
    assert view_kinds(htmls) == QUICKSTART_KINDS
    html = htmls[0]
    assert html.startswith('<div id="lmlens-')
    assert "東" in html and "function load(path)" in html
    assert "https://" not in html and "http://" not in html
    saved = folder / "predictions.html"
    assert saved.is_file() and saved.stat().st_size > 10_000


def test_quickstart_live_section_keeps_the_last_state(executed):
    nb, folder = executed("00_quickstart")
    widgets = [o for o in outputs(nb) if WIDGET_VIEW in o.get("data", {})]
    assert len(widgets) == 2 and all("text/html" in o["data"] for o in widgets)
    # nbclient saved the widget state: the attribution widget's spec is the one after the call
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    by_id = {w["data"][WIDGET_VIEW]["model_id"]: state[w["data"][WIDGET_VIEW]["model_id"]]["state"] for w in widgets}
    specs = [s["spec"] for s in by_id.values()]
    assert [s["kind"] for s in specs] == ["attribution", "rankings"]
    assert specs[0]["focus"] == 3
    assert "function load(path)" in by_id[widgets[0]["data"][WIDGET_VIEW]["model_id"]]["_esm"]
    # the last state as one page, too
    page = (folder / "attribution_live.html").read_text(encoding="utf-8")
    assert '"focus":3' in page and "https://" not in page


@pytest.mark.browser
def test_quickstart_exported_notebook_in_chromium(executed, browser, tmp_path):
    nb, _ = executed("00_quickstart")
    page_path = export_html(nb, tmp_path / "00_quickstart.html")
    with views_mounted(browser, page_path, QUICKSTART_KINDS) as page:
        view = page.locator('.lmlens-root[data-lmlens-kind="predictions"]')
        view.locator(".lm-tok >> nth=1").hover()
        assert view.locator(".lm-detail .lm-row").count() == 5


# ---- 01_logit_lens (real SmolLM2) ------------------------------------------------------------

def needs_smollm2() -> None:
    """Skip unless the embedded SmolLM2 package is installed (found without importing it)."""
    from lmlens.loading.embedded import package_dir

    try:
        package_dir("smollm2")
    except ModuleNotFoundError as e:
        pytest.skip(str(e))


LOGIT_LENS_KINDS = ["predictions", "rankings", "rankings_watch", "layer_predictions", "attribution"]


@pytest.mark.slow
def test_logit_lens_notebook_executes_on_smollm2(executed):
    needs_smollm2()
    nb, _ = executed("01_logit_lens")
    assert error_outputs(nb) == []
    htmls = html_outputs(nb)
    assert view_kinds(htmls) == LOGIT_LENS_KINDS
    assert all(h.startswith('<div id="lmlens-') and "SmolLM2" in h for h in htmls)
    assert not any("https://" in h or "http://" in h for h in htmls)
    assert spec_of(htmls[2])["watch_labels"] == [" Paris", " London"]
    assert any("image/png" in o.get("data", {}) for o in outputs(nb))  # view.figure()
    text = "".join(o.get("text", "") for o in outputs(nb) if o.get("output_type") == "stream")
    assert re.search(r"layer_predictions\.html \d+ kB", text)


@pytest.mark.slow
@pytest.mark.browser
def test_logit_lens_exported_notebook_in_chromium(executed, browser, tmp_path):
    needs_smollm2()
    nb, _ = executed("01_logit_lens")
    page_path = export_html(nb, tmp_path / "01_logit_lens.html")
    with views_mounted(browser, page_path, LOGIT_LENS_KINDS) as page:
        rankings = page.locator('.lmlens-root[data-lmlens-kind="rankings"]')
        assert rankings.locator(".lm-rk-bottom.lm-rk-gen").count() == 6  # max_new_tokens=6
        assert rankings.locator(".lm-gen-key").is_visible()


# ---- colab_japanese_rinna (tiny rinna-style folder in place of the hub model) ---------------


def _use_tiny_rinna(nb, folder: Path) -> None:
    """Point the notebook's ``lmlens.load`` at a tiny rinna-layout folder whose tokenizer knows
    every character of the notebook's strings."""
    texts = [n.value for t in code_trees(nb) for n in ast.walk(t)
             if isinstance(n, ast.Constant) and isinstance(n.value, str) and JAPANESE.search(n.value)]
    model = rinna_folder(folder / "tiny-rinna", [*CORPUS, *texts])
    cells = [c for c in nb.cells if c.cell_type == "code" and RINNA_ID in c.source]
    assert len(cells) == 1
    cells[0].source = cells[0].source.replace(RINNA_ID, str(model))


def test_colab_notebook_runs_on_a_tiny_rinna_like_model(executed):
    pytest.importorskip("sentencepiece")
    nb, folder = executed("colab_japanese_rinna", _use_tiny_rinna)
    assert error_outputs(nb) == []
    htmls = html_outputs(nb)
    assert view_kinds(htmls) == ["predictions", "rankings", "rankings_watch", "layer_predictions"]
    assert "吾輩は猫である" in "".join(spec_of(htmls[0])["tokens"])
    assert spec_of(htmls[2])["watch_labels"] == ["東京", "大阪", "京都"]
    assert (folder / "rinna_rankings.html").stat().st_size > 10_000
    assert (folder / "rinna_rankings.png").stat().st_size > 1_000


@pytest.mark.browser
def test_colab_exported_notebook_in_chromium(executed, browser, tmp_path):
    pytest.importorskip("sentencepiece")
    nb, _ = executed("colab_japanese_rinna", _use_tiny_rinna)
    page_path = export_html(nb, tmp_path / "colab_japanese_rinna.html")
    kinds = ["predictions", "rankings", "rankings_watch", "layer_predictions"]
    with views_mounted(browser, page_path, kinds) as page:
        assert "吾" in page.locator('.lmlens-root[data-lmlens-kind="predictions"] .lmlens-mount').inner_text()
