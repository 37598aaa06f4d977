"""Lens methods for the predictions view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from ..capture import Trace
from .core import VIEW_MAX_BYTES

if TYPE_CHECKING:
    from ..views import View



class PredictionsMethods:
    """Mixin for ``Lens``: each method takes a text or a ``Trace`` and returns a View."""

    def predictions(
        self,
        x: str | Sequence[int] | torch.Tensor | Trace,
        *,
        topk: int = 10,
        max_bytes: int | None = VIEW_MAX_BYTES,
        theme: str = "auto",
    ) -> View:
        """The text as tokens tinted by the probability the model gave each; hover or click a
        token for the model's top-``topk`` predictions there. ``view.result`` is a
        ``PredictionsResult`` (see ``lmlens.analyses.predictions``).

        >>> lens.predictions("The capital of France is").save_html("p.html")  # doctest: +SKIP
        """
        from ..views.predictions import predictions_view

        trace = self.as_trace(x, points=["logits"])
        return predictions_view(trace, topk=topk, max_bytes=max_bytes, theme=theme)
