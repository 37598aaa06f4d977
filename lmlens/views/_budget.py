"""The size budget: a view never writes more than ``max_bytes`` of HTML without saying so.

Spec builders call ``fit`` with a function that builds the view from the first ``m`` items; when
the whole view is over budget, ``fit`` shrinks ``m`` and adds a notice that the view shows (in
the interactive view and in the fallback). ``View.to_html`` refuses (``ViewTooLargeError``)
anything still over budget. ``max_bytes=None`` switches the budget off.

>>> DEFAULT_MAX_BYTES
10000000
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .view import View

#: Default budget for one view's HTML, in bytes (10 MB).
DEFAULT_MAX_BYTES = 10_000_000


class ViewTooLargeError(ValueError):
    """The view would write more bytes than its ``max_bytes`` budget."""


def check_max_bytes(max_bytes: int | None) -> int | None:
    """Validate a ``max_bytes`` argument (a positive int or None)."""
    if max_bytes is None:
        return None
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
        raise ValueError(f"max_bytes must be a positive int or None, got {max_bytes!r}")
    return max_bytes


def check_size(nbytes: int, max_bytes: int | None, kind: str = "view") -> None:
    """Raise ``ViewTooLargeError`` if ``nbytes`` is over ``max_bytes``."""
    if max_bytes is not None and nbytes > max_bytes:
        raise ViewTooLargeError(
            f"the {kind} view would write {nbytes:,} bytes of HTML, over max_bytes={max_bytes:,}. "
            "Pass a larger max_bytes (or None), or a shorter input."
        )


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
    max_bytes = check_max_bytes(max_bytes)
    view = build(n)
    if max_bytes is None:
        return view
    full = view.nbytes()
    if full <= max_bytes:
        return view
    m, size = n, full
    for _ in range(8):
        m = min(m - 1, int(m * max_bytes / size * 0.92))
        if m < 1:
            break
        view = build(m)
        size = view.nbytes()
        if size <= max_bytes * 0.98:  # room for the notice
            return view.with_notice(
                f"Showing the first {m:,} of {n:,} {unit}: all {n:,} would take about "
                f"{full / 1e6:.1f} MB of HTML, over the size budget max_bytes={max_bytes:,}. "
                "Pass a larger max_bytes (or None) to show everything."
            )
    raise ViewTooLargeError(
        f"the {view.kind} view of {n:,} {unit} would write {full:,} bytes of HTML, and even a "
        f"few {unit} do not fit max_bytes={max_bytes:,}. Pass a larger max_bytes (or None)."
    )
