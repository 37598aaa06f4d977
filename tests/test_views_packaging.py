"""The wheel ships templates/, js/src/ and the probe set: build it, install it alone, render a view
and read the shipped facts from it."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RENDER = r"""
import json, sys
import numpy as np
import lmlens
from lmlens.analyses.predictions import PredictionsResult
from lmlens.views import predictions_view
from lmlens.views._resources import js_dir, templates_dir

r = PredictionsResult(
    input_ids=np.arange(3), tokens=["a", " </script>", " 日本"], probs=np.array([np.nan, .5, .1], dtype=np.float32),
    ranks=np.array([0, 1, 3]), top_ids=np.array([[1], [2], [0]]), top_probs=np.array([[.5], [.2], [.3]], dtype=np.float32),
    top_tokens=[[" </script>"], [" 日本"], ["a"]], generated=np.zeros(3, bool), kind="causal",
)
path = predictions_view(r).save_html(sys.argv[1])
from lmlens.probes import shipped
print(json.dumps({"lmlens": lmlens.__file__, "templates": str(templates_dir()), "js": str(js_dir()), "bytes": path.stat().st_size,
                  "facts": [len(shipped("en")), len(shipped("ja"))]}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    if proc.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{proc.stdout}\n{proc.stderr}")
    (whl,) = out.glob("lmlens-*.whl")
    return whl


def test_wheel_holds_the_assets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for p in (ROOT / "templates").rglob("*"):
        if p.is_file() and not p.name.startswith("."):
            assert f"lmlens/_assets/templates/{p.relative_to(ROOT / 'templates').as_posix()}" in names
    for p in (ROOT / "js" / "src").rglob("*.js"):
        assert f"lmlens/_assets/js/{p.relative_to(ROOT / 'js' / 'src').as_posix()}" in names
    data = sorted((ROOT / "lmlens" / "probes" / "data").glob("*.jsonl"))
    assert data and all(f"lmlens/probes/data/{p.name}" in names for p in data)


def test_view_renders_from_the_installed_wheel(wheel, tmp_path):
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", "--target", str(site), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    out_html = tmp_path / "from_wheel.html"
    proc = subprocess.run(
        [sys.executable, "-c", RENDER, str(out_html)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    assert info["lmlens"].startswith(str(site)), "lmlens must come from the wheel, not the checkout"
    assert info["templates"] == str(site / "lmlens" / "_assets" / "templates")
    assert info["js"] == str(site / "lmlens" / "_assets" / "js")
    assert info["facts"][0] >= 40 and info["facts"][1] >= 30
    html = out_html.read_text(encoding="utf-8")
    assert 'class="lmlens-root"' in html and "function load(path)" in html and "日本" in html
    assert "</script>\"" not in html and "&lt;/script&gt;" in html
