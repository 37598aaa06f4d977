"""``FigureView``: a ``View`` that also draws itself as a matplotlib figure (``view.figure()``),
and ``layer_label`` for layer axes (``"blocks.12.resid_post"`` → ``"12"``).

>>> layer_label("blocks.12.resid_post"), layer_label("embed")
('12', 'embed')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .. import names as N
from .view import View


class FigureView(View):
    """A ``View`` with ``figure()``: the same result as a static matplotlib figure, for slides.

    >>> view = lens.rankings("The capital of France is")  # doctest: +SKIP
    >>> view.figure().savefig("rankings.png", dpi=200)  # doctest: +SKIP
    """

    def __init__(self, spec: Mapping[str, Any], result: Any = None, *,
                 figure: Callable[..., Any] | None = None, **kwargs: Any) -> None:
        super().__init__(spec, result, **kwargs)
        self._figure_fn = figure

    def figure(self, **kwargs: Any):
        """A ``matplotlib.figure.Figure`` of the result (needs matplotlib: ``pip install
        lmlens[plot]``). Keyword arguments go to the plotting function (e.g. ``figsize``)."""
        if self._figure_fn is None:
            raise ValueError(f"the {self.kind} view has no static figure")
        return self._figure_fn(self.result, **kwargs)

    def with_notice(self, text: str) -> FigureView:
        v = super().with_notice(text)
        out = FigureView(v.spec, v.result, figure=self._figure_fn, fallback=self._fallback,
                         max_bytes=self.max_bytes)
        return out.with_live_actions(self.live_actions)


def layer_label(name: str) -> str:
    """Short label of a decoded layer: ``"embed"`` or the block number."""
    layer, _ = N.parse(name)
    return name if layer is None else str(layer)
