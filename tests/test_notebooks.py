"""The notebooks in ``notebooks/``: every code cell compiles and calls only lmlens API that
exists; each runs top to bottom in a real kernel (nbclient) with no error output and its views in
the outputs; the executed notebook, exported to HTML as nbconvert writes it (JupyterLab's
template, minus its CDN scripts), opens in headless Chromium with every view mounted, no console
error and no network request.

- ``00_quickstart``: every view in order on the embedded SmolLM2 (slow), and its tiny random GPT-2
  branch (fast);
- ``01_logit_lens``: the real embedded SmolLM2 (slow);
- ``02_encoder_attention_features``: the real embedded MiniLM (BERT encoder; small, seconds);
- ``03_knowledge_probe``: the real embedded SmolLM2 (slow);
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
from browser import SETTLED, assert_mounted, chromium, grid_point, open_page, skip_reason
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


def spec_hidden(spec: dict) -> list[bool]:
    """An attention spec's ``hidden`` mask (a base64 uint8 record) as booleans."""
    from lmlens.views import decode_array

    return [bool(b) for b in decode_array(spec["hidden"]).tolist()]


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

    def run(name: str, edit: Callable | None = None, key: str | None = None):
        key = key or name
        if key not in cache:
            folder = tmp_path_factory.mktemp(key)
            nb = read(name)
            if edit is not None:
                edit(nb, folder)
            client = nbclient.NotebookClient(
                nb, kernel_name=kernel_name, timeout=300,
                resources={"metadata": {"path": str(folder)}},
            )
            client.execute()
            cache[key] = (nb, folder)
        return cache[key]

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
    assert sum(f'MODEL = "{RINNA_ID}"' in s and "lmlens.load(MODEL)" in s for s in code) == 1
    called = {n.func.attr for t in code_trees(nb) for n in ast.walk(t)
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert {"predictions", "rankings", "rankings_watch", "layer_predictions", "attribution",
            "neuron_factors", "figure", "save_html"} <= called
    assert any('group="word"' in s for s in code)


def _install_cell(nb) -> tuple[str, str]:
    """``(LMLENS_SOURCE's value, the pip command line)`` of the Colab notebook's install cell."""
    cell = next(c.source for c in nb.cells if c.cell_type == "code" and "pip install" in c.source)
    names = _install_variables(cell)
    command = next(line.strip()[1:] for line in cell.splitlines() if line.strip().startswith("!"))
    return names["LMLENS_SOURCE"], command


def _install_variables(cell: str) -> dict[str, str]:
    """The string variables the install cell assigns (``LMLENS_REPOSITORY``, ``LMLENS_SOURCE``),
    each evaluated over the ones before it (an f-string may use them); nothing else runs."""
    names: dict[str, str] = {}
    for node in ast.parse(python_source(cell)).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.JoinedStr)):
            (target,) = node.targets
            names[target.id] = eval(compile(ast.Expression(node.value), "install", "eval"), {}, dict(names))
    return names


def test_colab_badge_opens_this_notebook():
    nb = read("colab_japanese_rinna")
    first = nb.cells[0].source
    m = re.search(r"\[!\[Open In Colab\]\((https://colab\.research\.google\.com/assets/colab-badge\.svg)\)\]"
                  r"\((https://colab\.research\.google\.com/github/[^/]+/[^/]+/blob/[^/]+/(.+?))\)", first)
    assert m, "the first cell starts with the Open in Colab badge"
    assert m.group(3) == "notebooks/colab_japanese_rinna.ipynb"


def test_colab_repository_placeholder_is_one_named_variable_with_a_note():
    """No repository URL is known: the badge and ``LMLENS_REPOSITORY`` hold the same
    ``github.com/OWNER/lmlens``, ``LMLENS_SOURCE`` is built from that variable, and a note at the
    top (and the README's notebook section) says to replace ``OWNER``."""
    nb = read("colab_japanese_rinna")
    first = nb.cells[0].source
    badge = re.search(r"colab\.research\.google\.com/github/([^/]+/[^/]+)/blob/", first).group(1)
    cell = next(c.source for c in nb.cells if c.cell_type == "code" and "pip install" in c.source)
    names = _install_variables(cell)
    assert names["LMLENS_REPOSITORY"] == f"https://github.com/{badge}" == "https://github.com/OWNER/lmlens"
    assert names["LMLENS_SOURCE"] == f"git+{names['LMLENS_REPOSITORY']}.git"
    assert 'f"git+{LMLENS_REPOSITORY}.git"' in cell  # one place to edit, not two URLs
    note = first.split("\n\n")[1]
    assert "OWNER" in note and "LMLENS_REPOSITORY" in note and "replace" in note
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"`OWNER`[^\n]*\n?[^\n]*LMLENS_REPOSITORY", readme), "README names the placeholder"


def test_colab_install_cell_installs_lmlens_from_a_wheel(tmp_path):
    """The install command, with LMLENS_SOURCE pointed at a wheel built from this checkout, is
    one pip accepts and resolves to lmlens with its [plot,ja] extras (a dry run, offline: the
    extras' packages are already in this environment); the default names a git repository as
    a PEP 508 direct reference."""
    import shlex
    import subprocess

    from packaging.requirements import Requirement

    source, command = _install_cell(read("colab_japanese_rinna"))
    argv = shlex.split(command)
    assert argv[:2] == ["pip", "install"]
    spec = next(a for a in argv[2:] if "{LMLENS_SOURCE}" in a)
    req = Requirement(spec.replace("{LMLENS_SOURCE}", source))
    assert req.name == "lmlens" and {"plot", "ja"} <= req.extras
    assert req.url and req.url.startswith("git+https://")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("lmlens-*.whl"))
    # the cell's own arguments (minus -q, so pip says what it would install)
    args = [a.replace("{LMLENS_SOURCE}", wheel.resolve().as_uri()) for a in argv[2:] if a != "-q"]
    run = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--ignore-installed", "--no-deps", *args],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"Would install .*lmlens-0", run.stdout), run.stdout
    deps = subprocess.run(  # the extras resolve to packages this environment has
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", *args],
        capture_output=True, text=True, timeout=600,
    )
    assert deps.returncode == 0, deps.stdout + deps.stderr


# ---- 00_quickstart (SmolLM2; tiny random GPT-2 branch) ---------------------------------------

QUICKSTART_VIEWS = ["predictions", "rankings", "rankings_watch", "layer_predictions", "attribution",
                    "neuron_factors", "attention", "attention", "attention", "attention", "causal_trace",
                    "probe", "embedding_similarity"]
#: where the views after neuron factors sit among the HTML outputs
ATTENTION, CAUSAL_TRACE, PROBE, SIMILARITY = 6, 10, 11, 12
QUICKSTART_FACTS = [("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Egypt", "Cairo")]
QUICKSTART_KINDS = [*QUICKSTART_VIEWS, "attribution", "rankings"]  # every view, then two live widgets
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _tiny_branch(nb, folder: Path) -> None:
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.strip() == "USE_REAL_MODEL = True"]
    assert len(cells) == 1
    cells[0].source = "USE_REAL_MODEL = False"


def _check_quickstart(nb, folder: Path, model_name: str) -> list[str]:
    assert error_outputs(nb) == []
    htmls = html_outputs(nb)
    assert view_kinds(htmls) == QUICKSTART_KINDS
    assert all(h.startswith('<div id="lmlens-') and model_name in h for h in htmls[: len(QUICKSTART_VIEWS)])
    assert "東" in htmls[0] and "function load(path)" in htmls[0]
    assert not any("https://" in h or "http://" in h for h in htmls)
    saved = folder / "predictions.html"
    assert saved.is_file() and saved.stat().st_size > 10_000
    # attention: heads, model (value-weighted), matrix of the first and last block, pair
    att = [spec_of(h) for h in htmls[ATTENTION:ATTENTION + 4]]
    assert [a["mode"] for a in att] == ["heads", "model", "matrix", "pair"]
    assert [a["weighting"] for a in att] == ["attention", "norm", "attention", "norm"]
    assert "".join(att[0]["tokens"]) == "The capital of France is Paris."
    assert spec_hidden(att[0])[0] and not any(spec_hidden(att[0])[1:])  # hide="first": the sink only
    assert len(att[2]["layers"]) == 2 and att[2]["layers"][0] == 0  # layers=[0, -1]
    # the pair: from the token holding the second "Paris" to the one holding the first (offsets by hand)
    pair_text, tokens = "We flew to Paris. Paris is big.", att[3]["tokens"]
    assert "".join(tokens) == pair_text and spec_hidden(att[3])[0]
    starts = [len("".join(tokens[:i])) for i in range(len(tokens) + 1)]
    q, k = att[3]["pair"]
    assert starts[q] <= 18 < starts[q + 1] and starts[k] <= 11 < starts[k + 1]  # "Paris" at 18 and 11
    ct = spec_of(htmls[CAUSAL_TRACE])
    assert ct["sites"] == ["resid", "mlp"] and ct["params"]["n_samples"] == 3 and ct["params"]["window"] == 10
    # the subject's tokens (a whitespace-only token is not corrupted)
    assert "".join(ct["tokens"][i] for i in decode_record(ct["subject"])).replace(" ", "") == "EiffelTower"
    probe = spec_of(htmls[PROBE])
    assert probe["n_facts"] == 4 and probe["objects"] == [o for _, o in QUICKSTART_FACTS]
    sim = spec_of(htmls[SIMILARITY])
    assert len(sim["texts"]) == 3 and set(sim["poolings"]) == {"mean", "last"}
    return htmls


def decode_record(rec: dict) -> list:
    """A spec's base64 array record as a (nested) list."""
    from lmlens.views import decode_array

    return decode_array(rec).tolist()


def test_quickstart_tiny_branch_executes_every_view(executed):
    nb, folder = executed("00_quickstart", _tiny_branch, key="00_quickstart_tiny")
    assert any('lmlens.load("smollm2")' in c.source for c in nb.cells if c.cell_type == "markdown")
    _check_quickstart(nb, folder, "tiny random GPT-2")


@pytest.mark.slow
def test_quickstart_executes_every_view_on_smollm2(executed):
    needs_smollm2()
    nb, folder = executed("00_quickstart")
    htmls = _check_quickstart(nb, folder, "SmolLM2")
    # SmolLM2 splits 東 into byte tokens: they read as hex, and the strip's text is the text
    labels = spec_of(htmls[0]).get("token_labels", [])
    assert any(re.fullmatch(r" ?<E6 9D>\(東\)| ?<E6>\(東\)", lab) for lab in labels), labels


@pytest.mark.slow
def test_quickstart_new_views_agree_with_hugging_face_on_smollm2(executed, smollm2):
    """The quickstart's attention, causal trace and probe on SmolLM2, checked against the model
    called here: the last block's attention (matrix view) equals Hugging Face's
    ``output_attentions=True`` to the view's uint8 precision; the causal trace's clean probability
    of " Paris" and its subject positions come from the logits and the tokenizer; each probed
    object's rank is ``1 + (logits > logits[object]).sum()`` after "The capital of X is"."""
    import numpy as np
    import torch

    needs_smollm2()
    nb, _ = executed("00_quickstart")
    htmls = html_outputs(nb)
    tok, model = smollm2.tokenizer, smollm2.model

    def forward(text: str, **kw):
        ids = tok(text, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            return ids[0].tolist(), model(ids, **kw)

    matrix = spec_of(htmls[ATTENTION + 2])
    ids, out = forward("The capital of France is Paris.", output_attentions=True)
    assert len(matrix["tokens"]) == len(ids) and matrix["layers"] == [0, len(out.attentions) - 1]
    for rec, layer in zip(matrix["weights"], matrix["layers"], strict=True):
        want = out.attentions[layer][0].float().numpy()  # (heads, query, key)
        np.testing.assert_allclose(decode_record(rec), want, atol=0.6 / 255 + 1e-6)
    ct = spec_of(htmls[CAUSAL_TRACE])
    ids, out = forward("The Eiffel Tower is in")
    paris = tok(" Paris", add_special_tokens=False)["input_ids"]
    assert len(paris) == 1 and ct["target_id"] == paris[0]
    assert ct["clean_prob"] == pytest.approx(float(out.logits[0, -1].softmax(-1)[paris[0]]), rel=1e-3)
    pieces = tok.convert_ids_to_tokens(ids)
    assert decode_record(ct["subject"]) == [i for i, p in enumerate(pieces) if p in ("ĠE", "iffel", "ĠTower")]
    probe = spec_of(htmls[PROBE])
    ranks = []
    for subject, obj in QUICKSTART_FACTS:
        _, out = forward(f"The capital of {subject} is")
        logits = out.logits[0, -1]
        (o,) = tok(" " + obj, add_special_tokens=False)["input_ids"]
        ranks.append(1 + int((logits > logits[o]).sum()))
    assert decode_record(probe["ranks"]) == ranks


def test_quickstart_live_section_keeps_the_last_state(executed):
    nb, folder = executed("00_quickstart", _tiny_branch, key="00_quickstart_tiny")
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
    nb, _ = executed("00_quickstart", _tiny_branch, key="00_quickstart_tiny")
    page_path = export_html(nb, tmp_path / "00_quickstart.html")
    with views_mounted(browser, page_path, QUICKSTART_KINDS) as page:
        view = page.locator('.lmlens-root[data-lmlens-kind="predictions"]')
        view.locator(".lm-tok >> nth=1").hover()
        assert view.locator(".lm-detail .lm-row").count() == 5
        assert "∅" not in view.locator(".lmlens-mount .lm-text").inner_text()
        _new_views_in_chromium(page)


def _new_views_in_chromium(page) -> None:
    """The quickstart's attention pair plot, causal trace and probe are drawn and answer a click."""
    pair = page.locator('.lmlens-root[data-lmlens-kind="attention"]').nth(3)
    assert pair.locator(".lm-att-chart").is_visible()
    assert pair.locator(".lm-att-pairtext").inner_text().strip() == "We flew to Paris. Paris is big."
    assert page.locator('.lmlens-root[data-lmlens-kind="causal_trace"] canvas').first.is_visible()
    probe = page.locator('.lmlens-root[data-lmlens-kind="probe"]')
    assert probe.locator(".lm-pr-fact").count() == len(QUICKSTART_FACTS)
    fact = probe.locator('.lm-pr-fact[data-f="0"]')
    fact.click()
    assert fact.get_attribute("aria-expanded") == "true"
    assert probe.locator(".lm-pr-detail .lm-rankings .lm-rk-grid").is_visible()
    sim = page.locator('.lmlens-root[data-lmlens-kind="embedding_similarity"] .lmlens-mount')
    assert sim.is_visible() and "Stock prices fell today." in sim.inner_text()


@pytest.mark.slow
@pytest.mark.browser
def test_quickstart_smollm2_exported_notebook_in_chromium(executed, browser, tmp_path):
    """The real-model branch, exported: every view mounts offline, the new ones answer."""
    needs_smollm2()
    nb, _ = executed("00_quickstart")
    page_path = export_html(nb, tmp_path / "00_quickstart_smollm2.html")
    with views_mounted(browser, page_path, QUICKSTART_KINDS) as page:
        for kind, i in [("attention", 0), ("attention", 3), ("causal_trace", 0), ("probe", 0),
                        ("embedding_similarity", 0)]:  # kept in tmp_path, to look at
            page.locator(f'.lmlens-root[data-lmlens-kind="{kind}"]').nth(i).screenshot(
                path=str(tmp_path / f"quickstart_{kind}_{i}.png"))
        _new_views_in_chromium(page)


# ---- 01_logit_lens (real SmolLM2) ------------------------------------------------------------

def needs_embedded(name: str) -> None:
    """Skip unless the embedded model's package is installed (found without importing it)."""
    from lmlens.loading.embedded import package_dir

    try:
        package_dir(name)
    except ModuleNotFoundError as e:
        pytest.skip(str(e))


def needs_smollm2() -> None:
    needs_embedded("smollm2")


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
        grid = '.lmlens-root[data-lmlens-kind="rankings"] .lm-rk-grid'
        n = int(page.locator(grid).get_attribute("data-lm-cols"))
        detail = rankings.locator(".lm-detail-title")
        generated = []
        for p in range(n):  # the canvas grid names a generated position in its detail title
            page.mouse.move(*grid_point(page, grid, 0, p))
            generated.append("(generated)" in detail.text_content())
        assert generated == [False] * (n - 6) + [True] * 6  # max_new_tokens=6
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


RINNA_KINDS = ["predictions", "rankings", "rankings_watch", "layer_predictions", "attribution",
               "neuron_factors", "attention", "attention"]
#: the attribution cell's text cut into morphemes by hand (unidic short units)
RINNA_WORDS = "吾輩|は|猫|で|ある|。|名前|は|まだ|無い|。"


def test_colab_notebook_runs_on_a_tiny_rinna_like_model(executed):
    pytest.importorskip("sentencepiece")
    pytest.importorskip("fugashi")
    nb, folder = executed("colab_japanese_rinna", _use_tiny_rinna)
    assert error_outputs(nb) == []
    htmls = html_outputs(nb)
    assert view_kinds(htmls) == RINNA_KINDS
    assert "吾輩は猫である" in "".join(spec_of(htmls[0])["tokens"])
    assert spec_of(htmls[2])["watch_labels"] == ["東京", "大阪", "京都"]
    # attribution grouped into Japanese words: every group starts at a hand-marked morpheme
    # boundary (a token may hold several morphemes, so groups may be coarser), and not one group
    attr = spec_of(htmls[4])
    assert attr["grouping"] == "word"
    tokens = attr["tokens"]
    text = "".join(tokens).strip()
    assert text.startswith(RINNA_WORDS.replace("|", ""))
    lead = len("".join(tokens)) - len("".join(tokens).lstrip())
    bounds, at = set(), 0
    for w in RINNA_WORDS.split("|"):
        bounds.add(at)
        at += len(w)
    offs = [len("".join(tokens[:i])) - lead for i in range(len(tokens))]
    import base64

    import numpy as np

    rec = attr["spans"]
    spans = np.frombuffer(base64.b64decode(rec["b64"]), dtype=rec["dtype"]).reshape(rec["shape"])
    starts = [max(0, offs[a]) for a, _ in spans.tolist()]
    assert len(starts) > 3 and all(o in bounds for o in starts), (starts, tokens)
    nf = [t.strip() for t in spec_of(htmls[5])["tokens"]]  # neuron factors over Japanese words
    assert "".join(nf).startswith(RINNA_WORDS.replace("|", ""))
    assert {"吾輩", "名前", "無い"} <= set(nf), nf
    # attention: the head view of the attribution's sentence; the pair plot from the second 東京
    # to the first, value-weighted, the first token (the sink) hidden
    heads, pair = spec_of(htmls[6]), spec_of(htmls[7])
    assert heads["mode"] == "heads" and "".join(heads["tokens"]).strip() == RINNA_WORDS.replace("|", "")
    assert pair["mode"] == "pair" and pair["weighting"] == "norm"
    text = "日本の首都は東京です。東京は大きな都市です。"
    offs = [len("".join(pair["tokens"][:i])) for i in range(len(pair["tokens"]) + 1)]
    lead = len(pair["tokens"][0]) - len(pair["tokens"][0].lstrip(" ▁"))
    want = [text.find("東京", text.find("東京") + 1), text.find("東京")]  # character offsets, by hand
    assert [offs[p] - lead <= w < offs[p + 1] - lead for p, w in zip(pair["pair"], want, strict=True)] == [True] * 2, (
        pair["tokens"], pair["pair"])
    assert pair["pair"][0] > pair["pair"][1]
    assert spec_hidden(pair)[0] and not any(spec_hidden(pair)[1:])
    for f in ("rinna_rankings.html", "rinna_views.html"):
        assert (folder / f).stat().st_size > 10_000
    for f in ("rinna_rankings.png", "rinna_neuron_factors.png", "rinna_attention_pair.png"):
        assert (folder / f).stat().st_size > 1_000
    assert (folder / "rinna_views.html").read_text(encoding="utf-8").count('data-lmlens-kind="attention"') == 1


COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


@pytest.mark.browser
def test_colab_exported_notebook_in_chromium(executed, browser, tmp_path):
    pytest.importorskip("sentencepiece")
    nb, _ = executed("colab_japanese_rinna", _use_tiny_rinna)
    # the badge image is the notebook's one network URL (for GitHub / Colab readers): an
    # exported page for slides leaves it out
    nb = nbformat.from_dict(nb)
    nb.cells[0].source = re.sub(r"^\[!\[Open In Colab\]\(" + re.escape(COLAB_BADGE) + r"\)\]\([^)]*\)", "",
                                nb.cells[0].source)
    assert COLAB_BADGE not in nb.cells[0].source
    page_path = export_html(nb, tmp_path / "colab_japanese_rinna.html")
    with views_mounted(browser, page_path, RINNA_KINDS) as page:
        assert "吾" in page.locator('.lmlens-root[data-lmlens-kind="predictions"] .lmlens-mount').inner_text()


# ---- 02_encoder_attention_features (real MiniLM) ----------------------------------------------

ENCODER_KINDS = ["attention", "attention", "attention", "attention", "embedding_similarity"]


def _assigned(nb, name: str):
    """The literal a notebook cell assigns to ``name``."""
    for tree in code_trees(nb):
        for n in ast.walk(tree):
            if isinstance(n, ast.Assign) and [getattr(t, "id", None) for t in n.targets] == [name]:
                return ast.literal_eval(n.value)
    raise AssertionError(f"no cell assigns {name}")


@pytest.mark.slow
def test_encoder_notebook_executes_on_minilm(executed, minilm):
    """Every attention view (a sentence pair with [CLS]/[SEP] hidden, the model view, the matrix,
    the LUKE pair plot from the second "dog" to the first, value-weighted), a figure, an HTML
    export, and sentence vectors equal to sentence-transformers' mean pooling computed here from
    Hugging Face's outputs."""
    import numpy as np
    import torch

    nb, folder = executed("02_encoder_attention_features")
    assert error_outputs(nb) == []
    htmls = html_outputs(nb)
    assert view_kinds(htmls) == ENCODER_KINDS
    assert not any("https://" in h or "http://" in h for h in htmls)
    specs = [spec_of(h) for h in htmls[:4]]
    assert [s["mode"] for s in specs] == ["heads", "model", "matrix", "pair"]
    tok = minilm.tokenizer
    # the sentence pair, as the tokenizer encodes pairs; [CLS] and [SEP] (and only they) hidden
    heads = specs[0]
    enc = tok("The cat sat on the mat.", "It was tired, so it slept.")
    assert len(heads["tokens"]) == len(enc["input_ids"])
    assert heads["sentence_b_start"] == enc["token_type_ids"].index(1)
    special = [i in (tok.cls_token_id, tok.sep_token_id) for i in enc["input_ids"]]
    assert spec_hidden(heads) == special and sum(special) == 3
    assert specs[2]["layers"] == [0, 2, 5]
    # the pair plot: the two "dog" tokens, found here from the tokenizer's ids
    pair = specs[3]
    ids = tok("The dog chased the other dog into the park.")["input_ids"]
    dog = tok.convert_tokens_to_ids("dog")
    first, second = [i for i, t in enumerate(ids) if t == dog]
    assert pair["pair"] == [second, first] and pair["weighting"] == "norm"
    assert any("image/png" in o.get("data", {}) for o in outputs(nb))
    assert (folder / "minilm_pair.png").stat().st_size > 1_000
    assert (folder / "minilm_attention_pair.html").stat().st_size > 10_000
    # the sentence vectors: mean over the attention mask of the last hidden state, normalized
    sentences = _assigned(nb, "sentences")
    got = np.load(folder / "minilm_vectors.npy")
    batch = tok(sentences, padding=True, return_tensors="pt")
    with torch.no_grad():
        h = minilm.model(**batch).last_hidden_state
    m = batch["attention_mask"][..., None].float()
    want = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.slow
@pytest.mark.browser
def test_encoder_exported_notebook_in_chromium(executed, browser, tmp_path):
    needs_embedded("minilm")
    nb, _ = executed("02_encoder_attention_features")
    page_path = export_html(nb, tmp_path / "02_encoder_attention_features.html")
    with views_mounted(browser, page_path, ENCODER_KINDS) as page:
        pair = page.locator('.lmlens-root[data-lmlens-kind="attention"]').nth(3)
        assert pair.locator(".lm-att-chart").is_visible()
        strip = pair.locator(".lm-att-pairtext")
        assert strip.locator(".lm-tok").count() == 12 and strip.inner_text().count("dog") == 2


# ---- 03_knowledge_probe (real SmolLM2) ----------------------------------------------------------

PROBE_KINDS = ["probe", "probe"]


@pytest.mark.slow
def test_probe_notebook_executes_on_smollm2(executed, smollm2):
    """The shipped English facts and a user's own, two figures, the HTML and .npz exports; the
    rank of " Paris" for "The capital of France is" equals the rank computed here from the
    model's logits."""
    import torch

    nb, folder = executed("03_knowledge_probe")
    assert error_outputs(nb) == []
    htmls = html_outputs(nb)
    assert view_kinds(htmls) == PROBE_KINDS
    assert not any("https://" in h or "http://" in h for h in htmls)
    assert sum("image/png" in o.get("data", {}) for o in outputs(nb)) == 2
    for f in ("probe.html", "probe.npz", "probe_relations.png"):
        assert (folder / f).stat().st_size > 1_000
    r = lmlens.load_result(folder / "probe.npz")
    assert r.n_facts == len(lmlens.probes.shipped("en"))
    i = next(i for i in range(r.n_facts) if r.subjects[i] == "France" and r.relations[r.relation_index[i]] == "en/capital")
    tok = smollm2.tokenizer
    ids = tok("The capital of France is", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = smollm2.model(ids).logits[0, -1]
    paris = tok(" Paris", add_special_tokens=False)["input_ids"][0]
    assert int(r.ranks[i]) == 1 + int((logits > logits[paris]).sum())


@pytest.mark.slow
@pytest.mark.browser
def test_probe_exported_notebook_in_chromium(executed, browser, tmp_path):
    """Both probe views mount; in the shipped set's, every fact has a row and a click on one
    opens its rankings grid (the probe's logit lens) inside the exported notebook."""
    needs_smollm2()
    nb, _ = executed("03_knowledge_probe")
    page_path = export_html(nb, tmp_path / "03_knowledge_probe.html")
    with views_mounted(browser, page_path, PROBE_KINDS) as page:
        view = page.locator('.lmlens-root[data-lmlens-kind="probe"]').first
        assert view.locator(".lm-pr-fact").count() == len(lmlens.probes.shipped("en"))
        fact = view.locator('.lm-pr-fact[data-f="0"]')
        fact.click()
        assert fact.get_attribute("aria-expanded") == "true"
        assert view.locator(".lm-pr-detail .lm-rankings .lm-rk-grid").is_visible()
