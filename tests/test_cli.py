"""``python -m lmlens report ...``: bad input (an option, a model name, an output path) prints one
line on stderr and exits 2 with no traceback; a good run prints the path it wrote and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tiny import save_tiny

from lmlens import cli

ROOT = Path(__file__).resolve().parents[1]
TEXT = "The capital of France is"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "lmlens", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def assert_one_line_error(out: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit 2, nothing on stdout, and exactly one stderr line: ``lmlens: error: ...``."""
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("lmlens: error: ") and "Traceback" not in out.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    """A tiny random GPT-2 with its BPE tokenizer, saved as a Hugging Face folder."""
    return save_tiny(tmp_path_factory.mktemp("tiny-gpt2"), "gpt2")


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["report", TEXT, "--bogus"], ["unrecognized arguments: --bogus", "--help"]),
        (["report", TEXT, "--generate", "-3"], ["--generate", "non-negative integer"]),
        (["report", TEXT, "--device", "toaster"], ["--device", "'toaster' is not a torch device"]),
        (["frobnicate"], ["invalid choice: 'frobnicate'"]),
        ([], ["required: command"]),
        (["report", "   "], ["text must be a non-empty string"]),
    ],
    ids=["unknown-option", "negative-generate", "bad-device", "unknown-command", "no-command", "empty-text"],
)
def test_bad_option_is_one_line_and_exit_2(args, needles):
    assert_one_line_error(run(*args), *needles)


def test_bad_model_name_is_one_line_and_exit_2(tmp_path):
    out = run("report", TEXT, "--model", "no-such/model-xyz", "-o", str(tmp_path / "r.html"))
    assert_one_line_error(out, "--model no-such/model-xyz", "is neither an embedded model")
    assert not (tmp_path / "r.html").exists()


def test_unwritable_output_is_refused_before_the_model_loads(tmp_path):
    """A missing folder, a folder given as the file, a file given as the folder: the output is
    checked first (with a bad model name too, the message is about the output)."""
    (tmp_path / "a-file").write_text("x")
    cases = {
        str(tmp_path / "missing" / "r.html"): "does not exist",
        str(tmp_path): "is a folder",
        str(tmp_path / "a-file" / "r.html"): "is not a folder",
    }
    for output, why in cases.items():
        line = assert_one_line_error(run("report", TEXT, "--model", "no-such/model-xyz", "-o", output), why)
        assert line.startswith("lmlens: error: output: ")


def test_a_write_that_fails_after_loading_is_one_line(monkeypatch, capsys, tmp_path):
    """The folder looked writable but the write fails (a full disk, a race): still one line."""
    import lmlens
    import lmlens.report

    monkeypatch.setattr(lmlens, "load", lambda *a, **k: object())

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device", str(tmp_path / "r.html"))

    monkeypatch.setattr(lmlens.report, "save_report", full_disk)
    with pytest.raises(SystemExit) as e:
        cli.main(["report", TEXT, "-o", str(tmp_path / "r.html")])
    assert e.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"lmlens: error: [Errno 28] No space left on device: '{tmp_path / 'r.html'}'"]


def test_good_run_prints_the_path_and_exits_0(tiny_folder, tmp_path):
    out = run("report", TEXT, "--model", str(tiny_folder), "-o", "page.html", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    page = tmp_path / "page.html"
    assert out.stdout.splitlines() == [str(page.resolve())]
    html = page.read_text(encoding="utf-8")
    assert len(html) > 10_000 and "Traceback" not in out.stderr
    assert "capital" in html and "https://" not in html
