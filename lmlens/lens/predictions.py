"""Lens methods for predictions views (filled in by the predictions work)."""

from __future__ import annotations


class PredictionsMethods:
    """Mixin for ``Lens``: each method takes a text or a ``Trace`` and returns a View."""
