"""The command line: ``lmlens report TEXT --model smollm2 -o report.html``,
``lmlens probe facts.jsonl --model smollm2 -o probe.html`` and
``lmlens embed input.txt -o vectors.npy [--layers -2] [--pooling mean] [--engine ray]``.

No logic of its own: it loads the model with ``lmlens.load`` and calls ``lmlens.report``,
``lens.probe`` or ``lens.embed_file``. Bad input (an unknown option or model, an output path it
cannot write, an input file that is missing, empty or binary) prints one line to stderr,
``lmlens: error: ...``, and exits with status 2; no traceback. ``embed`` reports each skipped line
(``lmlens: warning: line 7: ...``) and goes on; Ctrl-C keeps what is done, and the same command
resumes it (exit status 130).

>>> main(["report", "The capital of France is", "--model", "smollm2", "-o", "r.html"])  # doctest: +SKIP
/home/me/r.html
0
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

#: Exit status for bad input (argparse's own convention).
USAGE_ERROR = 2


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


def fail(message: object) -> NoReturn:
    """Print ``lmlens: error: <message>`` as one line on stderr and exit with status 2."""
    print(f"lmlens: error: {_one_line(message)}", file=sys.stderr)
    raise SystemExit(USAGE_ERROR)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (argparse prints the usage block, then the error)."""

    def error(self, message: str) -> NoReturn:
        fail(f"{message} (see: {self.prog} --help)")


def _device(value: str) -> str:
    import torch

    try:
        device = torch.device(value)
    except (RuntimeError, ValueError) as e:
        raise argparse.ArgumentTypeError(f"{value!r} is not a torch device ({e})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{value!r}: CUDA is not available here; use cpu")
    return value


def _new_tokens(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {value!r}")
    return n


def _parser() -> argparse.ArgumentParser:
    from ._version import __version__

    p = _Parser(prog="lmlens", description="Interactive, offline views of transformer internals.")
    p.add_argument("--version", action="version", version=f"lmlens {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="write one HTML page with every view for a text")
    r.add_argument("text", help="the text to look at")
    r.add_argument("--model", "-m", default="smollm2", help="'smollm2', 'minilm', a Hugging Face id or a local folder (default: smollm2)")
    r.add_argument("--output", "-o", default="report.html", help="where to write the page (default: report.html)")
    r.add_argument("--device", default="cpu", type=_device, help="torch device (default: cpu)")
    r.add_argument("--generate", "-g", type=_new_tokens, default=0, metavar="N",
                   help="first continue the text by N greedy tokens; views mark them (default: 0)")
    r.add_argument("--subject", "-s", default=None, metavar="S",
                   help="add causal tracing: corrupt the subject S (text in TEXT) and show where the "
                        "prediction after the text is computed (a model with an LM head)")
    r.add_argument("--strict", action="store_true", help="fail if any view fails instead of noting it on the page")

    pr = sub.add_parser("probe", help="ask the model cloze questions (LAMA-style) and write the probe view")
    pr.add_argument("facts", nargs="?", default=None,
                    help="a .jsonl of facts (template with [X] and [Y], subject, object; LAMA's fields "
                         "work too) or a LAMA folder (default: the facts shipped with lmlens)")
    pr.add_argument("--model", "-m", default="smollm2", help="'smollm2', a Hugging Face id or a local folder (default: smollm2)")
    pr.add_argument("--output", "-o", default="probe.html", help="where to write the page (default: probe.html)")
    pr.add_argument("--device", default="cpu", type=_device, help="torch device (default: cpu)")
    pr.add_argument("-k", type=_positive, default=10, help="precision at k, and predictions shown per fact (default: 10)")
    pr.add_argument("--batch-size", type=_positive, default=32, help="sentences per forward (default: 32)")
    pr.add_argument("--lang", default=None, choices=["en", "ja"],
                    help="only the shipped facts of this language (without a facts file)")
    pr.add_argument("--no-logit-lens", action="store_true", help="skip the per-layer ranks (faster)")

    e = sub.add_parser("embed", help="one vector per line of a text file, to a .npy or .parquet")
    e.add_argument("input", help="a UTF-8 text file, one text per line")
    e.add_argument("--output", "-o", required=True, help="vectors.npy (memory-mapped float32) or vectors.parquet")
    e.add_argument("--model", "-m", default="minilm", help="'minilm', 'smollm2', a Hugging Face id or a local folder (default: minilm)")
    e.add_argument("--layers", type=_layers, nargs="+", default=[[-1]], metavar="L",
                   help="hidden states (0 = embeddings, -1 = last, -2 = second-to-last); several are concatenated (default: -1)")
    e.add_argument("--pooling", default="mean", choices=["mean", "cls", "pooler", "last", "none"],
                   help="how token vectors become one (default: mean; none = per token, Parquet only)")
    e.add_argument("--normalize", action="store_true", help="unit-length vectors")
    e.add_argument("--batch-size", type=_positive, default=32, help="texts per forward (default: 32)")
    e.add_argument("--device", default="cpu", type=_device, help="torch device (default: cpu)")
    e.add_argument("--engine", default="local", choices=["local", "ray"], help="local (default) or a Ray actor pool")
    e.add_argument("--address", default=None, help="a running Ray cluster's address (default: start a local Ray)")
    e.add_argument("--actors", type=_positive, default=2, help="Ray actors, each holding one model (default: 2)")
    return p


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value!r}")
    return n


def _layers(value: str) -> list[int]:
    try:
        return [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be integers such as -1 or -1,-2, got {value!r}") from None


def output_problem(output: str | Path) -> str | None:
    """Why the page cannot be written to ``output`` (checked before the model loads), or None.

    >>> output_problem("/no/such/folder/r.html")
    "output: the folder '/no/such/folder' does not exist"
    """
    path = Path(output).expanduser()
    folder = path.parent
    if path.is_dir():
        return f"output: {str(path)!r} is a folder; give a file name such as {str(path / 'report.html')!r}"
    if not folder.exists():
        return f"output: the folder {str(folder)!r} does not exist"
    if not folder.is_dir():
        return f"output: {str(folder)!r} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"output: cannot write in the folder {str(folder)!r} (permission denied)"
    if path.exists() and not os.access(path, os.W_OK):
        return f"output: {str(path)!r} exists and is not writable"
    return None


def _load(args):
    """The model of ``--model`` on ``--device``; a failure is one line. Loading draws no progress bar
    (transformers' would put lines before a later one-line error)."""
    from transformers.utils import logging as hf_logging

    import lmlens

    hf_logging.disable_progress_bar()
    try:
        return lmlens.load(args.model, device=args.device)
    except (ValueError, TypeError, OSError, ImportError) as e:
        fail(f"--model {args.model}: {e}")


def _probe(args) -> int:
    from lmlens.probes import load_lama, shipped

    problem = output_problem(args.output)
    if problem:
        fail(problem)
    if args.facts is not None and args.lang is not None:
        fail("--lang picks among the shipped facts; with a facts file, leave it out")
    try:
        facts = shipped(lang=args.lang) if args.facts is None else load_lama(args.facts)
    except (ValueError, TypeError, OSError) as e:
        fail(e)
    lens = _load(args)
    try:
        view = lens.probe(facts, k=args.k, batch_size=args.batch_size, logit_lens=not args.no_logit_lens)
        path = view.save_html(args.output)
    except (ValueError, TypeError, OSError) as e:
        fail(e)
    print(Path(path).resolve())
    return 0


#: Skipped lines printed one by one; the rest are counted (all are in the sidecar).
WARN_LINES = 20


def _embed(args) -> int:
    from lmlens.corpus import InputError, output_kind, scan

    problem = output_problem(args.output)
    if problem:
        fail(problem)
    try:
        output_kind(args.output)
        if args.pooling == "none" and Path(args.output).suffix.lower() == ".npy":
            raise ValueError("--pooling none gives one vector per token, a different number per line: "
                             "write it to an output ending in .parquet")
        scan(args.input)  # a missing, empty or binary input fails here, before the model loads
    except (InputError, ValueError, OSError) as e:
        fail(e)
    lens = _load(args)
    layers = [x for group in args.layers for x in group]
    try:
        report = lens.embed_file(
            args.input, args.output, layers=layers, pooling=args.pooling, batch_size=args.batch_size,
            normalize=args.normalize, engine=None if args.engine == "local" else "ray",
            address=args.address, actors=args.actors,
        )
    except KeyboardInterrupt:
        print("lmlens: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError, ImportError) as e:
        fail(e)
    for s in report.skipped[:WARN_LINES]:
        print(f"lmlens: warning: line {s['line']}: {_one_line(s['error'])}; skipped", file=sys.stderr)
    if len(report.skipped) > WARN_LINES:
        print(f"lmlens: warning: {len(report.skipped) - WARN_LINES} more lines skipped (all listed in "
              f"{report.sidecar.name})", file=sys.stderr)
    print(report.path.resolve())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status; prints the path written. Bad input: one line on
    stderr and ``SystemExit(2)``."""
    args = _parser().parse_args(argv)
    if args.command == "probe":
        return _probe(args)
    if args.command == "embed":
        return _embed(args)
    if args.command != "report":  # pragma: no cover - argparse requires a command
        return USAGE_ERROR
    if not args.text.strip():
        fail("text must be a non-empty string")
    if args.subject is not None and (not args.subject.strip() or args.subject.strip() not in args.text):
        fail(f"--subject {args.subject!r} must be text found in TEXT {args.text[:60]!r}")
    problem = output_problem(args.output)
    if problem:
        fail(problem)
    from lmlens.report import save_report

    lens = _load(args)
    try:
        path = save_report(lens, args.text, args.output, strict=args.strict, generate=args.generate,
                           subject=args.subject)
    except (ValueError, TypeError, OSError) as e:
        fail(e)
    print(path.resolve())
    return 0
