"""``lens.embed_file`` and ``lmlens embed``: the file's rows equal ``lens.embed`` of its lines; bad
lines are skipped and reported by number; an empty, binary or missing input is refused before
anything is written; an interrupted run resumes where it stopped and nothing is half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_cli import assert_one_line_error, run
from tiny import save_tiny

import lmlens
import lmlens.lens.embed as embed_module
from lmlens import cli

ROOT = Path(__file__).resolve().parents[1]
LINES = [
    "The capital of France is Paris.",
    "Hello world!",
    "The quick brown fox jumps over the lazy dog, and the dog sleeps.",
    "東京は日本の首都です。",
    "Transformers read tokens and predict the next token in the text.",
    "The dog sleeps.",
    "1 2 3 4 5",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A tiny random BERT with its WordPiece tokenizer, saved as a Hugging Face folder."""
    return save_tiny(tmp_path_factory.mktemp("tiny-bert"), "bert")


@pytest.fixture(scope="module")
def lens(folder):
    return lmlens.load(folder)


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name or p.name.startswith("."))


def test_cli_output_equals_the_api(folder, lens, tmp_path):
    src = _write(tmp_path / "in.txt", [s.encode() for s in LINES])
    out = run("embed", str(src), "-o", str(tmp_path / "v.npy"), "--model", str(folder), "--layers", "-2", "-1",
              "--pooling", "mean", "--batch-size", "3")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str((tmp_path / "v.npy").resolve())]
    got = np.load(tmp_path / "v.npy", mmap_mode="r")
    want = lens.embed(LINES, layers=[-2, -1], batch_size=3, progress=False)
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-6)
    side = json.loads((tmp_path / "v.npy.json").read_text())
    assert side["options"]["layers"] == [1, 2] and side["options"]["pooling"] == "mean"
    assert side["model_source"] == str(folder.resolve()) and side["input"]["lines"] == len(LINES)
    assert side["skipped"] == [] and side["rows"] == len(LINES) and side["dim"] == want.shape[1]
    assert _partials(tmp_path) == []


def test_bad_lines_are_skipped_reported_and_left_as_nan_rows(folder, lens, tmp_path):
    lines = [LINES[0].encode(), b"", "caf\u00e9 ok".encode(), b"bad \xff byte", b"   ", ("word " * 200).encode(), LINES[1].encode()]
    src = _write(tmp_path / "in.txt", lines)
    out = run("embed", str(src), "-o", str(tmp_path / "v.npy"), "--model", str(folder))
    assert out.returncode == 0, out.stderr
    warnings = out.stderr.splitlines()
    assert any(w.startswith("lmlens: warning: line 2: empty line; skipped") for w in warnings), warnings
    assert any("line 4: not valid UTF-8 (byte 0xff at column 5); skipped" in w for w in warnings), warnings
    assert any("line 6: text has" in w and "more than the model's 128 positions" in w for w in warnings), warnings
    got = np.load(tmp_path / "v.npy")
    bad = [1, 3, 4, 5]
    assert np.isnan(got[bad]).all() and not np.isnan(np.delete(got, bad, axis=0)).any()
    good = [0, 2, 6]
    np.testing.assert_allclose(got[good], lens.embed([lines[i].decode() for i in good], progress=False), atol=1e-6)
    side = json.loads((tmp_path / "v.npy.json").read_text())
    assert [s["line"] for s in side["skipped"]] == [2, 4, 5, 6] and side["lines_embedded"] == 3


@pytest.mark.parametrize(("content", "needle"), [
    (b"", "is empty"),
    (b"GIF89a\x01\x00\x00\x00binary", "looks binary (a NUL byte at byte 7)"),
    (None, "no file at"),
])
def test_empty_binary_or_missing_input_is_refused_and_nothing_is_written(folder, tmp_path, content, needle):
    src = tmp_path / "in.txt"
    if content is not None:
        src.write_bytes(content)
    out = run("embed", str(src), "-o", str(tmp_path / "v.npy"), "--model", str(folder))
    assert_one_line_error(out, needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == (["in.txt"] if content is not None else [])


@pytest.mark.parametrize(("args", "needle"), [
    (["-o", "v.txt"], "output must end in .npy or .parquet"),
    (["-o", "v.npy", "--pooling", "none"], "write it to an output ending in .parquet"),
    (["-o", "v.npy", "--layers", "x"], "--layers"),
    (["-o", "v.npy", "--pooling", "max"], "invalid choice: 'max'"),
    (["-o", "v.npy", "--layers", "9"], "layers: 9 is out of range"),
    (["-o", "v.npy", "--pooling", "cls", "--model", "GPT"], "adds none"),
])
def test_bad_options_are_one_line_errors(folder, tmp_path, args, needle):
    src = _write(tmp_path / "in.txt", [b"hello"])
    if "GPT" in args:
        gpt = save_tiny(tmp_path / "gpt", "gpt2")
        args = [str(gpt) if a == "GPT" else a for a in args]
    else:
        args = [*args, "--model", str(folder)]
    assert_one_line_error(run("embed", str(src), *args, cwd=tmp_path), needle)
    assert not (tmp_path / "v.npy").exists() and _partials(tmp_path) == []


def test_parquet_holds_the_same_rows_and_per_token_vectors(folder, lens, tmp_path):
    import pyarrow.parquet as pq

    src = _write(tmp_path / "in.txt", [LINES[0].encode(), b"", LINES[2].encode()])
    rep = lens.embed_file(src, tmp_path / "v.parquet", batch_size=2, progress=False)
    table = pq.read_table(rep.path)
    assert table.column("line").to_pylist() == [1, 2, 3]
    vec = table.column("vector").to_pylist()
    assert vec[1] is None and [s["line"] for s in rep.skipped] == [2]
    np.testing.assert_allclose(np.array([vec[0], vec[2]]), lens.embed([LINES[0], LINES[2]], progress=False), atol=1e-6)
    rep = lens.embed_file(src, tmp_path / "t.parquet", pooling="none", progress=False)
    table = pq.read_table(rep.path)
    tv = lens.embed([LINES[0], LINES[2]], pooling="none", progress=False)
    rows = table.column("vectors").to_pylist()
    offsets = table.column("offsets").to_pylist()
    assert rows[1] is None and offsets[1] is None
    for row, i in ((0, 0), (2, 1)):
        np.testing.assert_allclose(np.array(rows[row]), tv[i][0], atol=1e-6)
        assert offsets[row] == tv[i][1].tolist()


def test_an_interrupted_run_resumes_where_it_stopped(lens, tmp_path, monkeypatch):
    src = _write(tmp_path / "in.txt", [s.encode() for s in LINES * 3])  # 21 lines: windows of 4
    whole = lens.embed_file(src, tmp_path / "whole.npy", batch_size=3, window_lines=4, progress=False)
    calls = []
    real = embed_module.window_of_lines
    stop = [True]

    def stop_at_the_third(lens_, path, window, opts, **kw):
        calls.append(window.start)
        if stop[0] and len(calls) == 3:
            raise KeyboardInterrupt
        return real(lens_, path, window, opts, **kw)

    monkeypatch.setattr(embed_module, "window_of_lines", stop_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        lens.embed_file(src, tmp_path / "v.npy", batch_size=3, window_lines=4, progress=False)
    assert not (tmp_path / "v.npy").exists() and not (tmp_path / "v.npy.json").exists()
    assert (tmp_path / "v.npy.partial").exists()
    state = json.loads((tmp_path / "v.npy.partial.json").read_text())
    assert state["done"] == {"0": 4, "4": 4}
    calls.clear()
    stop[0] = False
    rep = lens.embed_file(src, tmp_path / "v.npy", batch_size=3, window_lines=4, progress=False)
    assert calls[0] == 8 and len(calls) == 4 and rep.resumed_lines == 8  # windows 8, 12, 16, 20
    np.testing.assert_array_equal(np.load(rep.path), np.load(whole.path))
    assert _partials(tmp_path) == []


def test_a_partial_run_with_other_options_starts_over(lens, tmp_path, monkeypatch):
    src = _write(tmp_path / "in.txt", [s.encode() for s in LINES])
    real = embed_module.window_of_lines

    def stop(lens_, path, window, opts, **kw):
        if window.start > 0:
            raise KeyboardInterrupt
        return real(lens_, path, window, opts, **kw)

    monkeypatch.setattr(embed_module, "window_of_lines", stop)
    with pytest.raises(KeyboardInterrupt):
        lens.embed_file(src, tmp_path / "v.npy", window_lines=3, progress=False)
    monkeypatch.setattr(embed_module, "window_of_lines", real)
    rep = lens.embed_file(src, tmp_path / "v.npy", layers=0, window_lines=3, progress=False)
    assert rep.resumed_lines == 0
    np.testing.assert_allclose(np.load(rep.path), lens.embed(LINES, layers=0, progress=False), atol=1e-6)


def test_when_every_line_fails_nothing_is_written(lens, tmp_path):
    src = _write(tmp_path / "in.txt", [b"", b"\xff\xfe", b"  "])
    with pytest.raises(ValueError, match=r"none of the 3 lines could be embedded \(line 1: empty line\)"):
        lens.embed_file(src, tmp_path / "v.npy", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt"]


def test_ctrl_c_in_the_cli_says_how_to_resume(lens, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(lmlens, "load", lambda *a, **k: lens)

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(type(lens), "embed_file", interrupted)
    src = _write(tmp_path / "in.txt", [b"hello"])
    assert cli.main(["embed", str(src), "-o", str(tmp_path / "v.npy")]) == 130
    assert capsys.readouterr().err == "lmlens: interrupted; run the same command again to resume\n"


def test_python_dash_m_lmlens_embed_help_lists_the_options():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "lmlens", "embed", "--help"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0
    for opt in ("--layers", "--pooling", "--engine", "--address", "--normalize", "--batch-size"):
        assert opt in out.stdout
