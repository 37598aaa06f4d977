"""Shrink a view to its size budget, with a notice that says what is shown.

Spec builders call ``fit`` with a function that builds the view from the first ``m`` items; when
the whole view is over budget, ``fit`` shrinks ``m`` and adds a notice that the view shows (in
the interactive view and in the fallback). ``fit_window`` keeps a window around one position.

>>> from lmlens.views import View
>>> fit(lambda m: View({"kind": "predictions", "version": 1}), 3, max_bytes=None).kind
'predictions'
"""

from __future__ import annotations

from collections.abc import Callable

from ._budget import ViewTooLargeError, check_max_bytes
from .view import View


def fit(
    build: Callable[[int], View],
    n: int,
    *,
    max_bytes: int | None,
    unit: str = "tokens",
) -> View:
    """``build(n)``, or ``build(m)`` for the largest ``m < n`` found that fits, with a notice.

    ``build(m)`` must return a View of the first ``m`` of ``n`` items. Raises
    ``ViewTooLargeError`` when not even one item fits.
    """
    return fit_window(lambda lo, hi: build(hi), n, None, max_bytes=max_bytes, unit=unit)


def fit_window(
    build: Callable[[int, int], View], n: int, center: int | None, *, max_bytes: int | None,
    unit: str = "tokens",
) -> View:
    """``build(0, n)``, or ``build(lo, hi)`` for the widest window that fits ``max_bytes``, with a
    notice saying which part is shown: the first items (``center=None``) or a window around
    ``center`` (views that must keep one chosen position in sight)."""
    max_bytes = check_max_bytes(max_bytes)
    view = build(0, n)
    if max_bytes is None:
        return view
    full = size = view.nbytes()
    if full <= max_bytes:
        return view
    anchor = 0 if center is None else min(max(0, center), n - 1)
    base = build(anchor, anchor + 1).nbytes()  # what does not grow with the items (the runtime)
    m = n
    for _ in range(8):
        per = max(1.0, (size - base) / max(1, m - 1))
        m = min(m - 1, int((max_bytes * 0.97 - base) / per) + 1)
        if m < 1:
            break
        lo = max(0, min(anchor - m // 2, n - m))
        view = build(lo, lo + m)
        size = view.nbytes()
        if size <= max_bytes * 0.98:  # room for the notice
            shown = (f"the first {m:,} of {n:,} {unit}" if center is None else
                     f"{unit} {lo:,}–{lo + m - 1:,} of {n:,} (around position {center:,})")
            return view.with_notice(
                f"Showing {shown}: all {n:,} would take about {full / 1e6:.1f} MB of HTML, over "
                f"the size budget max_bytes={max_bytes:,}. Pass a larger max_bytes (or None) to "
                "show everything."
            )
    raise ViewTooLargeError(
        f"the {view.kind} view of {n:,} {unit} would write {full:,} bytes of HTML, and even a "
        f"few {unit} do not fit max_bytes={max_bytes:,}. Pass a larger max_bytes (or None)."
    )
