"""Lens methods for logit lens views (filled in by the logit lens work)."""

from __future__ import annotations


class LogitLensMethods:
    """Mixin for ``Lens``: each method takes a text or a ``Trace`` and returns a View."""
