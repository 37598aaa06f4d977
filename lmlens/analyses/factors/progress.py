"""A tqdm bar over scikit-learn's NMF iterations.

scikit-learn's coordinate-descent solver has no callback; with ``verbose=1`` it prints one
``violation: <v>`` line per iteration (``v`` falls to ``tol`` at convergence). ``solver_bar``
reads those lines while the solver runs and turns them into a bar (iterations out of
``max_iter``, the violation as postfix); anything else printed passes through.

>>> import io, contextlib
>>> out = io.StringIO()
>>> with contextlib.redirect_stdout(out), solver_bar(lambda **kw: Bar(), max_iter=5, tol=1e-4) as bar:
...     print("violation: 0.5"); print("violation: 0.01"); print("hello")
>>> bar.n, out.getvalue()
(2, 'hello\\n')
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable, Iterator
from typing import Any

#: Show a bar by default when the matrix has at least this many entries (about a second).
PROGRESS_ENTRIES = 4_000_000


class Bar:
    """The smallest tqdm-like bar (counts only); used by tests and doctests."""

    def __init__(self) -> None:
        self.n = 0
        self.postfix = ""

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, s: str, refresh: bool = True) -> None:
        self.postfix = s

    def close(self) -> None:
        pass


class _Lines(io.TextIOBase):
    """A text stream that hands each complete ``violation:`` line to the bar."""

    def __init__(self, bar: Any, tol: float, passthrough: Any) -> None:
        self.bar, self.tol, self.passthrough, self.buf = bar, tol, passthrough, ""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self.buf += s
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            if line.startswith("violation:"):
                self.bar.update(1)
                self.bar.set_postfix_str(f"violation {line.split(':', 1)[1].strip()[:9]} → {self.tol:g}",
                                         refresh=False)
            elif not line.startswith("Converged at iteration"):
                self.passthrough.write(line + "\n")
        return len(s)


@contextlib.contextmanager
def solver_bar(bar_class: Callable[..., Any], *, max_iter: int, tol: float, desc: str = "NMF") -> Iterator[Any]:
    """Within the block, the solver's ``verbose`` lines drive a ``bar_class(total=max_iter)`` bar."""
    bar = bar_class(total=max_iter, desc=desc, unit="it", leave=False)
    stream = _Lines(bar, tol, sys.stdout)
    try:
        with contextlib.redirect_stdout(stream):
            yield bar
    finally:
        if stream.buf:
            stream.passthrough.write(stream.buf)
        bar.close()


def bar_class(progress: bool | None | Callable[..., Any], entries: int) -> Callable[..., Any] | None:
    """The bar to show: None for no bar; plain tqdm for True, or when ``progress`` is None and the
    matrix has at least ``PROGRESS_ENTRIES`` entries; ``progress`` itself when it is a class."""
    if progress is None:
        progress = entries >= PROGRESS_ENTRIES
    if progress is False:
        return None
    if progress is True:
        from tqdm import tqdm  # plain tqdm: tqdm.auto would import IPython here

        return tqdm
    if not callable(progress):
        raise TypeError(f"progress must be True, False, None or a tqdm-like class, got {progress!r}")
    return progress
