"""The kernel-side handler table of a live widget: ``LiveActions`` (name → handler, plus the
inputs the widget draws above the view) and ``Control`` (one such input).

A handler is a plain callable ``handler(**args) -> View``: the front end asks for an action by
name with JSON arguments, the handler computes (the lens layer passes in callables that close
over the lens; the views layer never imports it) and returns the new ``View``, whose spec the
widget then shows. A returned View that carries its own ``live_actions`` replaces the table
(e.g. the text box now holds the new text). Two ways to ask:

- **controls**: inputs drawn above the view (text, layer range, integer, choice) and a Run button;
  Run sends the action ``"run"`` with every control's value as keyword arguments;
- **in-view requests**: a view module calls ``request(model, name, args)`` (``js/src/ui/live.js``),
  e.g. the attribution view asks ``"attribute"`` with ``{"position": 7}``; ``info[name]`` is what
  that view needs to know (which tokens may be asked for).

>>> from lmlens.views import View
>>> view = View({"kind": "predictions", "version": 1})
>>> acts = LiveActions({"run": lambda text: view}, controls=[Control.text("text", "hello")])
>>> acts.describe()["controls"][0]["value"], sorted(acts.describe()["actions"])
('hello', ['run'])
>>> acts.call("run", {"text": "bye"}).kind
'predictions'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..view import View

Handler = Callable[..., "View"]


def check_view(x: Any, what: str) -> View:
    """``x`` if it is an lmlens View, else ``TypeError`` naming ``what`` (checked by shape: the
    View module imports this package, so this package does not import it back)."""
    if not (isinstance(getattr(x, "spec", None), dict) and callable(getattr(x, "with_live_actions", None))):
        raise TypeError(f"{what} must be an lmlens View, got {type(x).__name__}")
    return x
CONTROL_TYPES = ("text", "range", "int", "choice")
#: Longest text a text box sends (characters); longer input is refused with a message.
MAX_TEXT = 20_000


@dataclass(frozen=True)
class Control:
    """One input above a live view; its value goes to the ``"run"`` action as ``name=value``.

    - ``text``: a text box (Enter runs, Shift+Enter breaks the line); value: str.
    - ``range``: two choices "from" / "to" over ``options`` (labels); value: ``[lo, hi]``, indices.
    - ``int``: a number box between ``lo`` and ``hi``; value: int.
    - ``choice``: one of ``options``; value: the chosen option.
    """

    name: str
    type: str
    value: Any
    label: str = ""
    options: tuple[str, ...] = ()
    lo: int | None = None
    hi: int | None = None

    def __post_init__(self) -> None:
        if self.type not in CONTROL_TYPES:
            raise ValueError(f"control type must be one of {CONTROL_TYPES}, got {self.type!r}")
        if not self.name.isidentifier():
            raise ValueError(f"control name must be an argument name, got {self.name!r}")
        self.check(self.value)

    # -- constructors --------------------------------------------------------------------
    @classmethod
    def text(cls, name: str, value: str, label: str = "") -> Control:
        """A text box holding ``value``."""
        return cls(name, "text", str(value), label or name)

    @classmethod
    def range(cls, name: str, labels: Sequence[str], value: Sequence[int] | None = None,
              label: str = "") -> Control:
        """A "from … to …" range over ``labels`` (``value`` = ``[lo, hi]`` indices, inclusive)."""
        labels = tuple(str(x) for x in labels)
        lo, hi = (0, len(labels) - 1) if value is None else (int(value[0]), int(value[1]))
        return cls(name, "range", [lo, hi], label or name, options=labels)

    @classmethod
    def integer(cls, name: str, value: int, lo: int, hi: int, label: str = "") -> Control:
        """A number box between ``lo`` and ``hi``."""
        return cls(name, "int", int(value), label or name, lo=int(lo), hi=int(hi))

    @classmethod
    def choice(cls, name: str, options: Sequence[str], value: str, label: str = "") -> Control:
        """One of ``options``."""
        return cls(name, "choice", str(value), label or name, options=tuple(map(str, options)))

    # -- checking what the page sends ------------------------------------------------------
    def check(self, value: Any) -> Any:
        """``value`` as the handler receives it; ``ValueError`` naming the control otherwise."""
        if self.type == "text":
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{self.label or self.name}: type some text")
            if len(value) > MAX_TEXT:
                raise ValueError(f"{self.label or self.name}: at most {MAX_TEXT:,} characters, got {len(value):,}")
            return value
        if self.type == "range":
            n = len(self.options)
            ok = (isinstance(value, (list, tuple)) and len(value) == 2
                  and all(isinstance(v, int) and not isinstance(v, bool) for v in value))
            if not ok or not 0 <= value[0] <= value[1] < n:
                raise ValueError(f"{self.label or self.name}: a range [from, to] with "
                                 f"0 <= from <= to < {n}, got {value!r}")
            return [int(value[0]), int(value[1])]
        if self.type == "int":
            if isinstance(value, bool) or not isinstance(value, int) or not self.lo <= value <= self.hi:
                raise ValueError(f"{self.label or self.name}: an integer in [{self.lo}, {self.hi}], got {value!r}")
            return int(value)
        if value not in self.options:
            raise ValueError(f"{self.label or self.name}: one of {list(self.options)}, got {value!r}")
        return value

    def describe(self) -> dict[str, Any]:
        """The JSON the front end draws the input from."""
        d: dict[str, Any] = {"name": self.name, "type": self.type, "label": self.label or self.name,
                             "value": self.value}
        if self.options:
            d["options"] = list(self.options)
        if self.type == "int":
            d["min"], d["max"] = self.lo, self.hi
        return d


@dataclass(frozen=True)
class LiveActions:
    """What a live view can ask the kernel: ``actions`` (name → ``handler(**args) -> View``),
    the ``controls`` drawn above it (their values go to ``"run"``), and ``info`` (per action,
    JSON the view needs, e.g. ``{"attribute": {"positions": [...]}}``).

    One entry per action: the attention view's layers on demand are
    ``LiveActions({"slice": fetch}, info={"slice": {"layers": [...]}}, start=first_slice)``, the neuron factors' re-fit
    ``LiveActions({"run": refit}, controls=[Control.integer("n_factors", 8, 1, 64),
    Control.range("layers", labels)])``.
    """

    actions: Mapping[str, Handler]
    controls: Sequence[Control] = ()
    info: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: ``start(view) -> View``: what a new widget of ``view`` shows first (None: ``view`` itself),
    #: e.g. the attention view with only the shown layer's records; the rest is asked for.
    start: Handler | None = None

    def __post_init__(self) -> None:
        for name, fn in self.actions.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"action names are identifiers, got {name!r}")
            if not callable(fn):
                raise TypeError(f"action {name!r} must be callable, got {type(fn).__name__}")
        if self.controls and "run" not in self.actions:
            raise ValueError("controls send their values to the 'run' action; add one")
        names = [c.name for c in self.controls]
        if len(set(names)) != len(names):
            raise ValueError(f"control names must differ, got {names}")
        if self.start is not None and not callable(self.start):
            raise TypeError(f"start must be callable or None, got {type(self.start).__name__}")
        unknown = set(self.info) - set(self.actions)
        if unknown:
            raise ValueError(f"info for actions that do not exist: {sorted(unknown)}")

    def describe(self) -> dict[str, Any]:
        """``{"actions": {name: info}, "controls": [...]}``: the widget's ``live`` trait."""
        return {
            "actions": {name: dict(self.info.get(name, {})) for name in self.actions},
            "controls": [c.describe() for c in self.controls],
        }

    def call(self, name: str, args: Mapping[str, Any] | None = None) -> View:
        """Run action ``name`` with ``args`` (checked against the controls for ``"run"``)."""
        if name not in self.actions:
            raise ValueError(f"no live action {name!r}; this view offers {sorted(self.actions)}")
        args = dict(args or {})
        if not all(isinstance(k, str) and k.isidentifier() for k in args):
            raise ValueError(f"action arguments are names, got {sorted(map(str, args))}")
        if name == "run" and self.controls:
            missing = [c.name for c in self.controls if c.name not in args]
            if missing:
                raise ValueError(f"run needs a value for {missing}")
            args = {c.name: c.check(args[c.name]) for c in self.controls}
        return check_view(self.actions[name](**args), f"what live action {name!r} returns")
