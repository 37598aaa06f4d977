"""``View``: a spec (what to draw), the result behind it, and its HTML.

Every lmlens view is a ``View``. It displays itself in notebooks (``_repr_html_``), renders to
an HTML fragment or a standalone page, and saves to ``.html`` (a page that opens offline) or
``.json`` (the spec). ``view.result`` is the numpy dataclass the spec was built from.

>>> import numpy as np
>>> from lmlens.views import View, encode_array
>>> spec = {"kind": "predictions", "version": 1, "title": "demo"}
>>> view = View(spec)
>>> view.kind, view.spec["title"]
('predictions', 'demo')
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._budget import DEFAULT_MAX_BYTES, check_max_bytes, check_size
from ._html import _JSON_KWARGS, check_spec, render_fragment, render_page

if TYPE_CHECKING:
    from .live import LiveActions

THEMES = ("auto", "light", "dark")


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file beside it, so that a failure (a full
    disk, an unwritable folder) leaves no partial file; returns the path."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"path: the folder {str(path.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


class View:
    """An interactive view of one result.

    Args:
        spec: JSON-able dict ``{"kind": ..., "version": 1, ...}``; numbers go in as array
            records (``lmlens.views.encode_array``). ``js/src/views/<kind>.js`` draws it.
        result: the result object the spec was built from (``view.result``).
        fallback: data for the no-JS fallback template ``templates/fallback/<kind>.html.j2``.
        max_bytes: refuse to write more HTML than this (``ViewTooLargeError``); None: no limit.
        theme: ``"auto"`` (follow the notebook / OS), ``"light"`` or ``"dark"``.

    Raises ``ValueError`` for a spec that is not JSON-able or names no known view kind.
    """

    def __init__(
        self,
        spec: Mapping[str, Any],
        result: Any = None,
        *,
        fallback: Mapping[str, Any] | None = None,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        theme: str = "auto",
    ) -> None:
        if theme not in THEMES:
            raise ValueError(f"theme must be one of {THEMES}, got {theme!r}")
        spec = dict(spec)
        if theme != "auto":
            spec["theme"] = theme
        spec.setdefault("notices", [])
        check_spec(spec)
        self._spec = spec
        self._result = result
        self._fallback = dict(fallback or {})
        self._max_bytes = check_max_bytes(max_bytes)
        self._live_actions: LiveActions | None = None
        self._whole: View | None = None  # set on a partial view (with_spec(..., partial=True))

    # ---- data ---------------------------------------------------------------------------
    @property
    def spec(self) -> dict[str, Any]:
        """The JSON-able spec (read it; build a new View to change it)."""
        return self._spec

    @property
    def result(self) -> Any:
        """The result dataclass behind the view (numpy arrays), or None."""
        return self._result

    @property
    def kind(self) -> str:
        """The view kind, e.g. ``"predictions"``."""
        return self._spec["kind"]

    @property
    def max_bytes(self) -> int | None:
        """The size budget of this view's HTML."""
        return self._max_bytes

    def with_spec(self, spec: Mapping[str, Any], *, partial: bool = False) -> View:
        """A copy of this view (same class, result, fallback, budget, live actions) showing
        ``spec`` instead. ``partial=True``: ``spec`` is part of this view (a live widget's page
        that asks the kernel for the rest, e.g. the attention spec with only some layers' records,
        ``views/attention_live.py``); its HTML, JSON and saved files stay the whole view.

        >>> View({"kind": "predictions", "version": 1}).with_spec({"kind": "predictions", "version": 1}).kind
        'predictions'
        """
        spec = dict(spec)
        spec.setdefault("notices", [])
        check_spec(spec)
        out = copy.copy(self)
        out._spec = spec
        out._whole = (self._whole or self) if partial else None
        return out

    def with_notice(self, text: str) -> View:
        """A copy of this view that shows ``text`` as a notice (e.g. "showing the first ...")."""
        spec = copy.deepcopy(self._spec)
        spec["notices"] = [*spec.get("notices", []), str(text)]
        out = View(spec, self._result, fallback=self._fallback, max_bytes=self._max_bytes)
        out._live_actions = self._live_actions
        return out

    # ---- live ---------------------------------------------------------------------------
    @property
    def live_actions(self) -> LiveActions | None:
        """What a live widget of this view can ask the kernel (set by the lens method that built
        it), or None: such a widget draws the same view and computes nothing."""
        return self._live_actions

    def with_live_actions(self, actions: LiveActions | None) -> View:
        """A copy of this view carrying ``actions`` (``lmlens.views.live.LiveActions``)."""
        from .live import LiveActions

        if actions is not None and not isinstance(actions, LiveActions):
            raise TypeError(f"actions must be LiveActions or None, got {type(actions).__name__}")
        out = copy.copy(self)
        out._live_actions = actions
        return out

    def live(self):
        """This view as a live widget (anywidget): drawn by the same JS runtime, and computing in
        the kernel what the view asks for (a clicked token's attribution, a re-run with new text
        or layers). Its last state stays in the notebook's widget state and in ``save_html``.
        Needs ``pip install 'lmlens[widget]'``.

        >>> w = lens.attribution("The capital of France is").live()  # doctest: +SKIP
        >>> w.call("attribute", position=2).result.target_positions  # doctest: +SKIP
        array([2, 6])
        """
        from .live import live_widget

        return live_widget(self)

    # ---- HTML ---------------------------------------------------------------------------
    def _fragment(self, *, runtime: bool = True, check: bool = True) -> str:
        if self._whole is not None:
            return self._whole._fragment(runtime=runtime, check=check)
        html = render_fragment(self._spec, self._fallback, runtime=runtime)
        if check:
            check_size(len(html.encode("utf-8")), self._max_bytes, self.kind)
        return html

    def nbytes(self) -> int:
        """Bytes of this view's standalone HTML fragment (runtime included)."""
        return len(self._fragment(check=False).encode("utf-8"))

    def to_html(self, full_page: bool = False) -> str:
        """HTML of the view: a fragment for embedding (default) or a standalone page.

        Each call uses a fresh root id, so the same view can appear twice on one page.
        Raises ``ViewTooLargeError`` when over ``max_bytes``.
        """
        if self._whole is not None:
            return self._whole.to_html(full_page=full_page)
        if full_page:
            return render_page([self.section()], title=str(self._spec.get("title") or "lmlens"),
                               heading=False)
        return self._fragment()

    def section(self, title: str | None = None) -> dict[str, Any]:
        """This view as one section of a page (``render_page``): its fragment without the
        runtime (the page inlines it once), checked against ``max_bytes``. ``title`` is dropped
        when the view shows the same title itself."""
        if self._whole is not None:
            return self._whole.section(title)
        html = self._fragment(runtime=False, check=False)
        check_size(len(html.encode("utf-8")), self._max_bytes, self.kind)
        if title == self._spec.get("title"):
            title = None
        return {"title": title, "html": html, "kind": self.kind}

    def _repr_html_(self) -> str:
        return self.to_html()

    def save_html(self, path: str | Path) -> Path:
        """Write a standalone page that opens offline in any browser; returns the path."""
        return write_text(path, self.to_html(full_page=True))

    def to_json(self) -> str:
        """The spec as JSON text (a partial view's: the whole view's)."""
        return json.dumps((self._whole or self)._spec, **_JSON_KWARGS)

    def save(self, path: str | Path) -> Path:
        """Save as ``.html``/``.htm`` (standalone page) or ``.json`` (the spec), by extension."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix in (".html", ".htm"):
            return self.save_html(path)
        if suffix == ".json":
            return write_text(path, self.to_json())
        raise ValueError(f"path must end in .html, .htm or .json, got {path.name!r}")

    def __repr__(self) -> str:
        bits = [f"kind={self.kind!r}"]
        if "tokens" in self._spec:
            bits.append(f"{len(self._spec['tokens'])} tokens")
        if self._spec.get("model_name"):
            bits.append(f"model={self._spec['model_name']!r}")
        return f"View({', '.join(bits)})"
