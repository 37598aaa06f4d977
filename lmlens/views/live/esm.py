"""What the live widget ships to the page: its ES module (the static views' runtime, byte for
byte, wrapped for anywidget) and its stylesheet (the same ``.css`` files, scoped to the widget).

>>> esm = widget_esm("predictions")
>>> esm.startswith("const LMLens = (function () {") and esm.rstrip().endswith("};")
True
>>> widget_scope("predictions")
'.lmlens-live[data-lmlens-kind="predictions"]'
"""

from __future__ import annotations

from functools import lru_cache

from .._html import environment, runtime_js, view_css


def widget_scope(kind: str) -> str:
    """The CSS scope of a live widget of ``kind``: ``js/src/live.js`` marks anywidget's element
    with the class ``lmlens-live`` and ``data-lmlens-kind``."""
    return f'.lmlens-live[data-lmlens-kind="{kind}"]'


@lru_cache(maxsize=32)
def widget_esm(kind: str) -> str:
    """The widget's ES module: ``const LMLens = <runtime_js([kind])>;`` and a default export
    whose ``render({model, el})`` is ``LMLens.live`` (``js/src/live.js``)."""
    return environment().get_template("live.esm.js.j2").render(runtime=runtime_js([kind])) + "\n"


@lru_cache(maxsize=32)
def widget_css(kind: str) -> str:
    """The stylesheets of the modules that draw ``kind``, scoped to the widget."""
    return view_css([kind], widget_scope(kind))
