"""The command line: ``lmlens report TEXT --model smollm2 -o report.html``.

No logic of its own: it loads the model with ``lmlens.load`` and calls ``lmlens.report``. Bad
input (an unknown option or model, an output path it cannot write) prints one line to stderr,
``lmlens: error: ...``, and exits with status 2; no traceback.

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
    return p


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status; prints the path written. Bad input: one line on
    stderr and ``SystemExit(2)``."""
    args = _parser().parse_args(argv)
    if args.command != "report":  # pragma: no cover - argparse requires a command
        return USAGE_ERROR
    if not args.text.strip():
        fail("text must be a non-empty string")
    if args.subject is not None and (not args.subject.strip() or args.subject.strip() not in args.text):
        fail(f"--subject {args.subject!r} must be text found in TEXT {args.text[:60]!r}")
    problem = output_problem(args.output)
    if problem:
        fail(problem)
    import lmlens
    from lmlens.report import save_report

    try:
        lens = lmlens.load(args.model, device=args.device)
    except (ValueError, TypeError, OSError, ImportError) as e:
        fail(f"--model {args.model}: {e}")
    try:
        path = save_report(lens, args.text, args.output, strict=args.strict, generate=args.generate,
                           subject=args.subject)
    except (ValueError, TypeError, OSError) as e:
        fail(e)
    print(path.resolve())
    return 0
