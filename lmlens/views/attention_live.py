"""The live attention view: the page holds only the layers it shows; the others come on demand.

A static attention page ships every layer's record (``views/attention.py``). Its live widget
starts from the same spec with only the shown layer's records (the others ``null``): the heads
and matrix modes need one layer, the model and pair modes every layer. When the page picks a
layer it lacks (``js/src/views/attention.js``), it asks the action ``"slice"`` with
``{"layers": [block, ...]}`` and the kernel answers with the same spec holding just those records
(cut from the static view it keeps, so a slice is byte-for-byte the static page's record); the
page keeps what it already received.

>>> acts = slice_actions(lens.attention("The cat sat."))  # doctest: +SKIP
>>> acts.call("slice", {"layers": [1]}).spec["weights"][0] is None  # doctest: +SKIP
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .live.actions import LiveActions

if TYPE_CHECKING:
    from .view import View

#: Modes that draw every layer at once (so the page starts with all of them).
EVERY_LAYER = ("model", "pair")


def check_blocks(layers: Any, shown: Sequence[int]) -> list[int]:
    """``layers`` (block numbers) as slots into ``shown``; ValueError naming what is valid."""
    if isinstance(layers, (int, str)) or not isinstance(layers, (list, tuple)) or not layers:
        raise ValueError(f"layers: a non-empty list of block numbers (this view shows blocks {list(shown)}), got {layers!r}")
    slots = []
    for b in layers:
        if isinstance(b, bool) or not isinstance(b, int) or b not in shown:
            raise ValueError(f"layers: block {b!r} is not in this view (it shows blocks {list(shown)})")
        slots.append(list(shown).index(b))
    return sorted(set(slots))


def sliced(view: View, layers: Sequence[int]) -> View:
    """``view`` (a full attention view) with only the records of blocks ``layers``; the other
    entries of ``weights`` (and ``rollout``) are ``None``. Its HTML (``save_html``, the widget's
    ``text/html`` fallback) is still the whole ``view``."""
    spec = view.spec
    if spec.get("kind") != "attention":
        raise ValueError(f"sliced: an attention view is needed, got {spec.get('kind')!r}")
    keep = set(check_blocks(layers, spec["layers"]))
    out = dict(spec)
    out["weights"] = [rec if i in keep else None for i, rec in enumerate(spec["weights"])]
    if spec.get("rollout") is not None:
        out["rollout"] = [rec if i in keep else None for i, rec in enumerate(spec["rollout"])]
    return view.with_spec(out, partial=True)


def first_slice(view: View) -> View:
    """What a new live widget of ``view`` shows first: the first layer's records (heads, matrix)
    or every layer (model, pair)."""
    spec = view.spec
    return view if spec.get("mode") in EVERY_LAYER else sliced(view, spec["layers"][:1])


def slice_actions(view: View) -> LiveActions:
    """The live table of a full attention ``view``: ``"slice"(layers)`` answers with ``view``'s
    records of those blocks; ``info`` lists the blocks that may be asked for."""
    return LiveActions({"slice": lambda layers: sliced(view, layers)},
                       info={"slice": {"layers": list(view.spec["layers"])}}, start=first_slice)
