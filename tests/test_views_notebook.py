"""notebooks/00_quickstart.ipynb runs top to bottom in a real kernel; its view output is checked
(and opened in Chromium when available)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "00_quickstart.ipynb"
KERNEL = "lmlens-test-python"


@pytest.fixture
def kernel_name(tmp_path, monkeypatch) -> str:
    """A kernelspec that runs *this* Python (the venv), found through a temporary JUPYTER_PATH."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "lmlens test", "language": "python",
        "env": {"TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"},
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return KERNEL


def test_quickstart_notebook_executes_and_shows_the_view(kernel_name, tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert any("lmlens.load(\"smollm2\")" in c.source for c in nb.cells if c.cell_type == "markdown")
    client = nbclient.NotebookClient(
        nb, kernel_name=kernel_name, timeout=300, resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    htmls = [
        o["data"]["text/html"]
        for c in nb.cells
        for o in c.get("outputs", [])
        if "text/html" in o.get("data", {})
    ]
    assert len(htmls) == 1
    html = htmls[0]
    assert html.startswith('<div id="lmlens-') and 'data-lmlens-kind="predictions"' in html
    assert "東" in html and "function load(path)" in html
    assert "https://" not in html and "http://" not in html
    saved = tmp_path / "predictions.html"
    assert saved.is_file() and saved.stat().st_size > 10_000

    from browser import open_page, skip_reason

    if skip_reason() is None:  # the notebook's output cell, as a front end would show it
        page = tmp_path / "output.html"
        page.write_text(f"<!doctype html><meta charset=utf-8><body>{html}</body>", encoding="utf-8")
        with open_page(page) as (p, log):
            p.wait_for_selector(".lm-tok")
            p.hover(".lm-tok >> nth=1")
            assert p.locator(".lm-detail .lm-row").count() == 5
        assert log.errors == [] and log.requests == []
