"""The report page and the CLI (`lmlens report`, `python -m lmlens report`)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from tiny import tiny_model

import lmlens
from lmlens.cli import main
from lmlens.report import REPORT_VIEWS, report_html, save_report

TEXT = "The capital of France is <b>Paris</b>"


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """A tiny GPT-2 + tokenizer saved as a Hugging Face folder (what `--model PATH` loads)."""
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    model, tok = tiny_model("gpt2")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_cli_writes_the_report(tiny_folder, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", TEXT, "--model", str(tiny_folder), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out.resolve())
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert html.count('class="lmlens-root"') == len(REPORT_VIEWS)
    assert html.count("function load(path)") == 1
    assert "The capital of France is &lt;b&gt;Paris&lt;/b&gt;" in html
    assert not re.search(r"https?://", html)


def test_python_dash_m(tiny_folder, tmp_path):
    out = tmp_path / "r.html"
    proc = subprocess.run(
        [sys.executable, "-m", "lmlens", "report", "The capital", "--model", str(tiny_folder), "-o", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(out.resolve()) and out.is_file()
    version = subprocess.run([sys.executable, "-m", "lmlens", "--version"], capture_output=True, text=True)
    assert version.stdout.strip() == f"lmlens {lmlens.__version__}"


def test_failing_entries_are_noted_not_fatal(tmp_path, capsys):
    from tiny import tiny_lens

    lens = tiny_lens("gpt2")

    def broken(lens, text):
        raise ValueError("this view needs <something> else")

    views = [("Works", lambda lens, text: lens.predictions(text)), ("Broken", broken)]
    path = save_report(lens, "The capital", tmp_path / "r.html", views=views)
    html = path.read_text(encoding="utf-8")
    assert html.count('class="lmlens-root"') == 1
    assert "Not available: ValueError: this view needs &lt;something&gt; else" in html
    assert "'Broken' not available" in capsys.readouterr().err
    with pytest.raises(ValueError, match="needs <something>"):
        save_report(lens, "The capital", tmp_path / "s.html", views=views, strict=True)
    with pytest.raises(ValueError, match="non-empty"):
        save_report(lens, "  ", tmp_path / "t.html")


def test_masked_model_report():
    from tiny import tiny_lens

    html = report_html(tiny_lens("bert"), "The capital of France is Paris.")
    assert 'data-lmlens-kind="predictions"' in html and "Predictions at each position" in html


@pytest.mark.slow
def test_smollm2_predicts_paris(smollm2):
    view = smollm2.predictions("The capital of France is", topk=10)
    r = view.result
    assert " Paris" in r.top_tokens[-1][:3]
    assert r.probs[-1] > 0.01  # " is" after "The capital of France" is expected


def test_report_after_generating_marks_generated_tokens(tmp_path):
    from tiny import tiny_lens

    lens = tiny_lens("gpt2")
    out = save_report(lens, "The capital of France", tmp_path / "g.html", generate=3)
    html = out.read_text(encoding="utf-8")
    gen = lens.generate("The capital of France", max_new_tokens=3)
    assert html.count('class="lmlens-root"') == len(REPORT_VIEWS)
    assert "Not available" not in html
    assert lens.rankings(gen).result.generated.sum() == 3
    with pytest.raises(ValueError, match="generate must be a non-negative int"):
        save_report(lens, "The capital", tmp_path / "x.html", generate=-1)


def test_cli_subject_adds_causal_tracing(tiny_folder, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", TEXT, "--model", str(tiny_folder), "-o", str(out), "--subject", "France", "--strict"]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.count('class="lmlens-root"') == len(REPORT_VIEWS) + 1
    assert 'data-lmlens-kind="causal_trace"' in html and "Causal tracing" in html
    with pytest.raises(SystemExit) as e:
        main(["report", TEXT, "--model", str(tiny_folder), "-o", str(out), "--subject", "Rome"])
    assert e.value.code == 2
    assert "--subject 'Rome' must be text found in TEXT" in capsys.readouterr().err
