"""Live views from the lens side: the callables a live widget runs in the kernel.

The views layer holds the widget and its handler table (``lmlens.views.live``) and never imports
the lens; each lens method passes in handlers that close over the lens. Two kinds here:

- ``rerun_actions``: a text box (and a layer range) above the view; Run calls the same lens
  method on the new text, which returns a View carrying new actions (the box holds the new text).
- the attribution family builds its own ``"attribute"`` action (``lens/attribution.py``), and
  neuron factors their re-fit with ``n_factors`` and a block range (``lens/factors.py``).

``finish(view, actions, live)`` attaches the actions and returns the View, or its widget when
``live=True``. A new family plugs in with one entry, e.g. (as neuron factors do)::

    return finish(view, LiveActions({"run": lambda text, n_factors, layers: neuron_factors(
        lens, text, n_factors=n_factors, layers=span(layers))}, controls=[Control.text("text", t),
        Control.integer("n_factors", n_factors, 1, 64), Control.range("layers", labels)]), live)

>>> from lmlens.lens.live import span
>>> span([2, 4])
[2, 3, 4]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from ..capture import Trace

if TYPE_CHECKING:
    from ..views import View
    from ..views.live import LiveActions
    from .core import LensCore


def finish(view: View, actions: LiveActions | None, live: bool) -> Any:
    """``view`` carrying ``actions`` (so ``view.live()`` can compute), or its live widget."""
    if not isinstance(live, bool):
        raise TypeError(f"live must be True or False, got {live!r}")
    if actions is not None:
        view = view.with_live_actions(actions)
    return view.live() if live else view


def input_text(lens: LensCore, x: Any) -> str:
    """The text a text box starts with: ``x`` itself, or the decoded ids / trace."""
    if isinstance(x, str):
        return x
    if isinstance(x, Trace):
        ids = x.token_ids.tolist()
    elif isinstance(x, torch.Tensor):
        ids = x.flatten().tolist()
    else:
        ids = list(x)
    return lens.tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)


def layer_labels(lens: LensCore) -> list[str]:
    """``["embed", "0", "1", ...]``: the logit lens' layers as a range control shows them."""
    return ["embed"] + [str(i) for i in range(lens.n_layers)]


def span(lo_hi: Sequence[int]) -> list[int]:
    """``[lo, hi]`` (inclusive) → every index between."""
    lo, hi = int(lo_hi[0]), int(lo_hi[1])
    return list(range(lo, hi + 1))


def layer_range(layers: Sequence[int | str] | int | str | None, n: int) -> list[int]:
    """The ``[lo, hi]`` a range control starts at for ``layers`` (indices, 0 = embeddings)."""
    if layers is None:
        return [0, n - 1]
    items = [layers] if isinstance(layers, (int, str)) else list(layers)
    names = ["embed"] + [f"blocks.{i}.resid_post" for i in range(n - 1)]
    idx = [names.index(v) if isinstance(v, str) and v in names else int(v) % n for v in items
           if not isinstance(v, str) or v in names]
    return [min(idx), max(idx)] if idx else [0, n - 1]


def rerun_actions(
    lens: LensCore,
    method: Callable[..., View],
    x: Any,
    options: dict[str, Any],
    *,
    layers: Sequence[int | str] | int | str | None = None,
    with_layers: bool = False,
) -> LiveActions:
    """A text box (and, with ``with_layers``, a layer range) whose Run calls
    ``method(lens, text, **options, layers=...)`` — the lens method itself, so the View it returns
    carries the next actions."""
    from ..views.live import Control, LiveActions

    controls = [Control.text("text", input_text(lens, x), "text")]
    if with_layers:
        labels = layer_labels(lens)
        controls.append(Control.range("layers", labels, layer_range(layers, len(labels)), "layers"))

    def run(text: str, layers: Sequence[int] | None = None) -> View:
        kw = dict(options)
        if with_layers and layers is not None:
            kw["layers"] = span(layers)
        return method(lens, text, **kw)

    return LiveActions({"run": run}, controls=controls)
