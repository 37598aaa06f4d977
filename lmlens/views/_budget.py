"""The size budget: a view never writes more than ``max_bytes`` of HTML without saying so.

``View.to_html`` refuses (``ViewTooLargeError``) anything over budget; ``fit.py`` shrinks a view
to fit with a notice. ``max_bytes=None`` switches the budget off.

>>> DEFAULT_MAX_BYTES
10000000
"""

from __future__ import annotations

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
