"""``lens.predictions``: the model's top-k at every position, as a view."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from ..capture import Trace
from .defaults import VIEW_MAX_BYTES
from .live import finish, rerun_actions

if TYPE_CHECKING:
    from ..views import View
    from .core import LensCore


def predictions(
    lens: LensCore,
    x: str | Sequence[int] | torch.Tensor | Trace,
    *,
    topk: int = 10,
    max_bytes: int | None = VIEW_MAX_BYTES,
    theme: str = "auto",
    live: bool = False,
) -> View:
    """The text as tokens tinted by the probability the model gave each; hover or click a
    token for the model's top-``topk`` predictions there. ``view.result`` is a
    ``PredictionsResult`` (see ``lmlens.analyses.predictions``). ``live=True``: a live widget
    with a text box that re-runs it in the kernel.

    >>> lens.predictions("The capital of France is").save_html("p.html")  # doctest: +SKIP
    """
    from ..analyses.predictions import predictions as compute
    from ..views.predictions import predictions_view

    lens.require_unembedding("predictions")
    trace = lens.as_trace(x, points=["logits"])
    view = predictions_view(compute(trace, topk=topk), max_bytes=max_bytes, theme=theme)
    options = {"topk": topk, "max_bytes": max_bytes, "theme": theme}
    return finish(view, rerun_actions(lens, predictions, x, options), live)
