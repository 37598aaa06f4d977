"""The command line: ``lmlens report TEXT --model smollm2 -o report.html``.

No logic of its own: it loads the model with ``lmlens.load`` and calls ``lmlens.report``.

>>> main(["report", "The capital of France is", "--model", "smollm2", "-o", "r.html"])  # doctest: +SKIP
r.html
0
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def _parser() -> argparse.ArgumentParser:
    from ._version import __version__

    p = argparse.ArgumentParser(prog="lmlens", description="Interactive, offline views of transformer internals.")
    p.add_argument("--version", action="version", version=f"lmlens {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="write one HTML page with every view for a text")
    r.add_argument("text", help="the text to look at")
    r.add_argument("--model", "-m", default="smollm2", help="'smollm2', 'minilm', a Hugging Face id or a local folder (default: smollm2)")
    r.add_argument("--output", "-o", default="report.html", help="where to write the page (default: report.html)")
    r.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    r.add_argument("--generate", "-g", type=int, default=0, metavar="N",
                   help="first continue the text by N greedy tokens; views mark them (default: 0)")
    r.add_argument("--strict", action="store_true", help="fail if any view fails instead of noting it on the page")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status; prints the path written."""
    args = _parser().parse_args(argv)
    if args.command == "report":
        import lmlens
        from lmlens.report import save_report

        lens = lmlens.load(args.model, device=args.device)
        path = save_report(lens, args.text, args.output, strict=args.strict, generate=args.generate)
        print(path.resolve())
        return 0
    return 2  # pragma: no cover - argparse requires a command
