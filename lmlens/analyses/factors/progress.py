"""A tqdm bar over the NMF solver's iterations.

``solver_bar`` opens a ``bar_class(total=max_iter)`` bar and yields the ``step(decrease)`` callback
the solver (``hals.nmf``) calls after each iteration: the bar advances by one and shows the
iteration's relative decrease of the error beside ``tol`` (the solver stops when it falls below).

>>> bars = []
>>> with solver_bar(lambda **kw: bars.append(Bar()) or bars[-1], max_iter=5, tol=1e-6) as step:
...     step(0.5); step(2e-7)
>>> bars[0].n, bars[0].postfix
(2, 'error decrease 2.0e-07 → 1e-06')
"""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def solver_bar(bar_class: Callable[..., Any], *, max_iter: int, tol: float,
               desc: str = "NMF") -> Iterator[Callable[[float | None], None]]:
    """Within the block, ``step(decrease)`` advances a ``bar_class(total=max_iter)`` bar (with
    ``decrease=None``: no postfix, for a solver that reports none); the bar is closed on exit,
    also on error."""
    bar = bar_class(total=max_iter, desc=desc, unit="it", leave=False)

    def step(decrease: float | None) -> None:
        bar.update(1)
        if decrease is not None:
            bar.set_postfix_str(f"error decrease {decrease:.1e} → {tol:g}", refresh=False)

    try:
        yield step
    finally:
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
