"""Lens methods for attribution views (filled in by the attribution work)."""

from __future__ import annotations


class AttributionMethods:
    """Mixin for ``Lens``: each method takes a text or a ``Trace`` and returns a View."""
