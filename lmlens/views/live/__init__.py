"""Live views: a View as an anywidget widget that draws with the same JS runtime as the static
view and asks the kernel to compute (``view.live()``).

- ``LiveActions`` / ``Control`` (``actions.py``): the kernel-side handler table a lens method
  attaches to its View (``view.with_live_actions(...)``); pure Python, no widget library needed.
- ``LiveView`` (``widget.py``, needs ``pip install 'lmlens[widget]'``): the widget itself.
- ``widget_esm`` / ``widget_css`` (``esm.py``): the module and stylesheet it ships.

>>> from lmlens.views.live import Control, LiveActions
>>> Control.range("layers", ["embed", "0", "1"]).value
[0, 2]
"""

from .actions import CONTROL_TYPES, Control, LiveActions
from .esm import widget_css, widget_esm, widget_scope

__all__ = ["CONTROL_TYPES", "Control", "LiveActions", "live_widget", "widget_css", "widget_esm",
           "widget_scope"]


def live_widget(view):
    """``LiveView(view)``, with a clear error when the widget packages are missing."""
    try:
        from .widget import LiveView
    except ImportError as e:
        raise ImportError(
            f"live views need anywidget and ipywidgets ({e}); pip install 'lmlens[widget]'"
        ) from None
    return LiveView(view)
