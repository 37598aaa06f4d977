"""``LiveView``: a view as an anywidget widget that draws with the same JS modules as the static
view and asks the kernel to compute (``js/src/live.js`` on the page side).

The page sends ``{"type": "lmlens:request", "id", "action", "args"}``; the widget runs the
handler from the view's ``LiveActions``, shows the returned View (its spec goes to the page as the
``spec`` trait, in one message with any new ``live`` description) and answers
``{"type": "lmlens:reply", "id", "ok", "seconds", "error"}``. A failing handler changes nothing
and its message shows in the widget.

Offline, the widget keeps its last state: saved with the notebook's widget state, JupyterLab
and Notebook 7 draw it again from the ``spec`` trait; ``save_html`` writes the current view as
one page; and the output also carries the static view as ``text/html`` for front ends without
widgets (an untrusted notebook, nbconvert, GitHub).

>>> import lmlens  # doctest: +SKIP
>>> w = lmlens.load("smollm2").attribution("The capital of France is", live=True)  # doctest: +SKIP
>>> w.call("attribute", position=3).result.target_positions  # doctest: +SKIP
array([3, 5])
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .actions import check_view
from .esm import widget_css, widget_esm

if TYPE_CHECKING:
    from ..view import View

REQUEST = "lmlens:request"
REPLY = "lmlens:reply"
_NO_ACTIONS: dict[str, Any] = {"actions": {}, "controls": []}


class LiveView(anywidget.AnyWidget):
    """A live view (``view.live()``). ``widget.view`` is the View shown now, ``widget.result``
    its result; ``widget.call(action, **args)`` runs an action from Python as a click would."""

    _esm = ""
    _css = ""
    spec = traitlets.Dict().tag(sync=True)
    """The spec drawn now (the same dict ``view.spec`` is)."""
    live = traitlets.Dict().tag(sync=True)
    """``{"actions": {name: info}, "controls": [...]}``: what the page may ask for."""

    def __init__(self, view: View) -> None:
        kind = check_view(view, "view").kind
        if view.live_actions is not None and view.live_actions.start is not None:
            view = check_view(view.live_actions.start(view), "what LiveActions.start returns")
        super().__init__(
            _esm=widget_esm(kind), _css=widget_css(kind), _anywidget_id=f"lmlens.live.{kind}",
            spec=view.spec, live=self._describe(view),
        )
        self._view = view
        self.on_msg(self._on_msg)

    @staticmethod
    def _describe(view: View) -> dict[str, Any]:
        return view.live_actions.describe() if view.live_actions is not None else dict(_NO_ACTIONS)

    # ---- state ---------------------------------------------------------------------------
    @property
    def view(self) -> View:
        """The View shown now."""
        return self._view

    @property
    def result(self) -> Any:
        """The result behind the view shown now."""
        return self._view.result

    @property
    def kind(self) -> str:
        return self._view.kind

    def show(self, view: View) -> None:
        """Show ``view`` (same kind); its live actions, if any, replace the current ones."""
        check_view(view, "view")
        if view.kind != self.kind:
            raise ValueError(f"a live {self.kind} widget cannot show a {view.kind} view")
        if view.live_actions is None and self._view.live_actions is not None:
            view = view.with_live_actions(self._view.live_actions)
        self._view = view
        with self.hold_sync():  # spec and live travel in one message
            self.spec = view.spec
            self.live = self._describe(view)

    # ---- actions ---------------------------------------------------------------------------
    def call(self, action: str, **args: Any) -> View:
        """Run ``action`` with ``args`` in the kernel and show the View it returns."""
        actions = self._view.live_actions
        if actions is None:
            raise ValueError(f"this {self.kind} view has no live actions (build it with a lens method)")
        view = actions.call(action, args)
        self.show(view)
        return view

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != REQUEST:
            return
        t0 = time.perf_counter()
        reply: dict[str, Any] = {"type": REPLY, "id": content.get("id"), "action": content.get("action")}
        try:
            args = content.get("args") or {}
            if not isinstance(args, dict):
                raise TypeError(f"args must be an object, got {type(args).__name__}")
            self.call(str(content.get("action")), **args)
            reply["ok"] = True
        except Exception as e:  # the message shows in the widget; the kernel keeps running
            reply["ok"] = False
            reply["error"] = f"{type(e).__name__}: {e}"
        reply["seconds"] = round(time.perf_counter() - t0, 4)
        self.send(reply)

    # ---- output --------------------------------------------------------------------------
    def save_html(self, path: str | Path) -> Path:
        """Write the view shown now as one standalone page (opens offline); returns the path."""
        return self._view.save_html(path)

    def to_html(self, full_page: bool = False) -> str:
        """HTML of the view shown now (see ``View.to_html``)."""
        return self._view.to_html(full_page=full_page)

    def _repr_mimebundle_(self, **kwargs: Any):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
        data = dict(data)
        # where widgets do not render (untrusted notebook, nbconvert, GitHub): the static view
        data["text/html"] = self._view.to_html()
        return data, meta

    def __repr__(self) -> str:
        acts = sorted(self._view.live_actions.actions) if self._view.live_actions else []
        return f"LiveView({self._view!r}, actions={acts})"
