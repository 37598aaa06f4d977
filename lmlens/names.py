"""Canonical capture-point names, defined by one table of capture sites.

Every tensor lmlens captures has one name, the same for every architecture. Each row of
``SITES`` says what a site is, which part of the model's anatomy it is read from, how (the
module's input, its output, or a field of the model's output) and its shape for one text.
Names, globs, order, error messages, the byte budget, the hooks and the run all read this table,
so a new site is one row here (plus, at most, a value extraction in ``capture/hooks.py``).

===========================  ==========================================  =====================================
name                         what it is                                  shape (one text, no batch axis)
===========================  ==========================================  =====================================
``embed``                    the input of block 0 (token + position      ``(n_positions, d_model)``
                             embeddings as the model adds them)
``blocks.{i}.attn.v``        per-head value vectors (grouped-query       ``(n_heads, n_positions, d_head)``
                             models: expanded to every query head)
``blocks.{i}.attn.pattern``  attention weights                           ``(n_heads, n_positions, n_positions)``
``blocks.{i}.attn.out``      attention output (the output projection's   ``(n_positions, d_model)``
                             output, before it is added to the residual)
``blocks.{i}.mlp.post``      the FFN activation: the input of the        ``(n_positions, d_mlp)``
                             down-projection
``blocks.{i}.mlp.out``       the FFN output, before the residual add     ``(n_positions, d_model)``
``blocks.{i}.resid_post``    the output of block ``i``                   ``(n_positions, d_model)``
``logits``                   the model's output logits                   ``(n_positions, d_vocab)``
===========================  ==========================================  =====================================

Globs select points: ``"blocks.*.mlp.post"``. Layers are ordered by number, never as strings, and
within a block in forward order. ``points=None`` selects the default sites (``embed``,
``attn.pattern``, ``mlp.post``, ``resid_post``, ``logits``); the others are captured when named.

>>> all_names(2)
['embed', 'blocks.0.attn.pattern', 'blocks.0.mlp.post', 'blocks.0.resid_post', 'blocks.1.attn.pattern', 'blocks.1.mlp.post', 'blocks.1.resid_post', 'logits']
>>> select(["blocks.*.resid_post"], all_names(2))
['blocks.0.resid_post', 'blocks.1.resid_post']
>>> site("blocks.3.attn.v").shape
('n_heads', 'n_positions', 'd_head')
"""

from __future__ import annotations

import fnmatch
import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

HOOKS = ("pre", "post", "output")


@dataclass(frozen=True)
class Site:
    """One row of the capture-site table.

    Fields:
        key: the site's name without the layer (``"resid_post"``, ``"attn.v"``, ``"embed"``).
        per_block: True for ``blocks.{i}.<key>`` sites, False for ``embed`` and ``logits``.
        part: the ``Anatomy`` field naming the module read (``"blocks"``: block ``i`` itself, or
            block 0 for ``embed``; ``"attn"``, ``"attn_out"``, ``"attn_v"``, ``"mlp_down"``,
            ``"mlp_out"``: paths inside block ``i``; ``"head"``: the model output).
        hook: ``"pre"`` (the module's first input), ``"post"`` (its output) or ``"output"`` (a
            field of the model's output).
        index: which element of a tuple output (``attn.pattern`` is element 1 of the attention
            module's output); for ``"output"`` hooks, unused.
        take: how the value is read: ``"tensor"`` as is, ``"heads"`` split into per-head values
            (``attn.v``: see ``capture/hooks.py``).
        shape: dimension names, one text (no batch axis); ``n_positions`` axes are the ones
            padding is cut from in a batch.
        default: captured when ``points=None``.
        doc: one line for error messages and docs.
    """

    key: str
    per_block: bool
    part: str
    hook: str
    shape: tuple[str, ...]
    doc: str
    index: int = 0
    take: str = "tensor"
    default: bool = True

    def __post_init__(self) -> None:
        if self.hook not in HOOKS:
            raise ValueError(f"hook must be one of {HOOKS}, got {self.hook!r}")

    def name(self, layer: int | None = None) -> str:
        """The point name of this site (``layer`` for per-block sites)."""
        if not self.per_block:
            return self.key
        if layer is None:
            raise ValueError(f"site {self.key!r} is per block: give a layer")
        return f"blocks.{int(layer)}.{self.key}"

    def numel(self, dims: Mapping[str, int]) -> int:
        """Elements for one text, from ``dims`` (e.g. ``{"n_positions": 5, "d_model": 576}``)."""
        return math.prod(int(dims[d]) for d in self.shape)

    @property
    def position_axes(self) -> tuple[int, ...]:
        """Axes (of the one-text shape) that run over positions."""
        return tuple(i for i, d in enumerate(self.shape) if d == "n_positions")


#: The capture-site table, in forward order (``embed`` first, ``logits`` last; within a block,
#: in the order the forward computes them).
SITES: tuple[Site, ...] = (
    Site("embed", False, "blocks", "pre", ("n_positions", "d_model"),
         "the input of block 0 (token + position embeddings)"),
    Site("attn.v", True, "attn_v", "post", ("n_heads", "n_positions", "d_head"),
         "per-head value vectors (grouped-query heads expanded to every query head)",
         take="heads", default=False),
    Site("attn.pattern", True, "attn", "post", ("n_heads", "n_positions", "n_positions"),
         "attention weights", index=1),
    Site("attn.out", True, "attn_out", "post", ("n_positions", "d_model"),
         "attention output, before it is added to the residual", default=False),
    Site("mlp.post", True, "mlp_down", "pre", ("n_positions", "d_mlp"),
         "the FFN activation: the input of the down-projection"),
    Site("mlp.out", True, "mlp_out", "post", ("n_positions", "d_model"),
         "the FFN output, before it is added to the residual", default=False),
    Site("resid_post", True, "blocks", "post", ("n_positions", "d_model"), "the output of the block"),
    Site("logits", False, "head", "output", ("n_positions", "d_vocab"), "the model's output logits"),
)

_BY_KEY = {s.key: s for s in SITES}
_ORDER = {s.key: i for i, s in enumerate(SITES)}
EMBED = "embed"
LOGITS = "logits"
BLOCK_SITES = tuple(s.key for s in SITES if s.per_block)
_BLOCK_RE = re.compile(r"^blocks\.(\d+)\.(" + "|".join(re.escape(k) for k in BLOCK_SITES) + r")$")


def block(i: int, key: str) -> str:
    """Name of a per-block point, e.g. ``block(3, "resid_post") == "blocks.3.resid_post"``."""
    if key not in BLOCK_SITES:
        raise ValueError(f"site must be one of {BLOCK_SITES}, got {key!r}")
    return f"blocks.{int(i)}.{key}"


def resid(i: int) -> str:
    """``blocks.{i}.resid_post``."""
    return block(i, "resid_post")


def pattern(i: int) -> str:
    """``blocks.{i}.attn.pattern``."""
    return block(i, "attn.pattern")


def mlp_post(i: int) -> str:
    """``blocks.{i}.mlp.post``."""
    return block(i, "mlp.post")


def attn_out(i: int) -> str:
    """``blocks.{i}.attn.out``."""
    return block(i, "attn.out")


def attn_v(i: int) -> str:
    """``blocks.{i}.attn.v``."""
    return block(i, "attn.v")


def mlp_out(i: int) -> str:
    """``blocks.{i}.mlp.out``."""
    return block(i, "mlp.out")


def parse(name: str) -> tuple[int | None, str]:
    """Split a name into ``(layer, key)``; ``layer`` is None for ``embed`` and ``logits``.

    >>> parse("blocks.12.mlp.post")
    (12, 'mlp.post')
    """
    got = _parse(name) if isinstance(name, str) else None
    if got is None:
        raise ValueError(
            f"unknown point name {name!r}; valid names are "
            + ", ".join(repr(s.key) for s in SITES if not s.per_block)
            + f" and 'blocks.{{i}}.{{site}}' with site in {BLOCK_SITES}"
        )
    return got


@functools.lru_cache(maxsize=8192)  # a capture parses each of its point names several times
def _parse(name: str) -> tuple[int | None, str] | None:
    if name in _BY_KEY and not _BY_KEY[name].per_block:
        return None, name
    m = _BLOCK_RE.match(name)
    return (int(m.group(1)), m.group(2)) if m else None


def site(name: str) -> Site:
    """The table row of a point name (``site("blocks.2.attn.out").part == "attn_out"``)."""
    return _BY_KEY[parse(name)[1]]


def all_names(n_layers: int, *, optional: bool = False) -> list[str]:
    """Every point of a model with ``n_layers`` blocks, in forward order: the default sites, and
    with ``optional=True`` also the sites captured only when named (``attn.v``, ``attn.out``, ...)."""
    rows = [s for s in SITES if s.default or optional]
    out = [s.key for s in rows if not s.per_block and s.key != LOGITS]
    for i in range(n_layers):
        out.extend(s.name(i) for s in rows if s.per_block)
    if any(s.key == LOGITS for s in rows):
        out.append(LOGITS)
    return out


def sort_key(name: str) -> tuple[int, int]:
    """Forward-order key: numeric layer order, then table order."""
    layer, key = parse(name)
    if layer is None:
        return (-1 if _ORDER[key] == 0 else 1 << 30, _ORDER[key])
    return (layer, _ORDER[key])


def summary(available: Iterable[str]) -> str:
    """A short description of ``available`` names, derived from them (layers as ranges).

    >>> summary(all_names(6)[:-1])
    "'embed', 'blocks.0..5.{attn.pattern,mlp.post,resid_post}'"
    """
    layers: dict[str, list[int]] = {}
    singles: list[str] = []
    for n in sorted(available, key=sort_key):
        layer, key = parse(n)
        if layer is None:
            singles.append(key)
        else:
            layers.setdefault(key, []).append(layer)
    groups: dict[str, list[str]] = {}  # layer description -> keys, in table order
    for key, ls in layers.items():
        contiguous = ls == list(range(ls[0], ls[-1] + 1))
        desc = (f"{ls[0]}..{ls[-1]}" if len(ls) > 1 else str(ls[0])) if contiguous else "{" + ",".join(map(str, ls)) + "}"
        groups.setdefault(desc, []).append(key)
    parts = [repr(s) for s in singles if s != LOGITS]
    for desc, keys in groups.items():
        sites = keys[0] if len(keys) == 1 else "{" + ",".join(keys) + "}"
        parts.append(repr(f"blocks.{desc}.{sites}"))
    if LOGITS in singles:
        parts.append(repr(LOGITS))
    return ", ".join(parts)


def select(
    patterns: str | Iterable[str] | None,
    available: list[str],
    *,
    unavailable: Mapping[str, str] | None = None,
) -> list[str]:
    """Names in ``available`` matched by names or globs in ``patterns``, in forward order.

    ``None`` selects the default sites among ``available``. A pattern that matches nothing raises
    ``ValueError``: with the reason from ``unavailable`` (name → why this model lacks it) when the
    pattern names such a point, else with a summary of what is available.
    """
    if patterns is None:
        return [n for n in available if site(n).default]
    if isinstance(patterns, str):
        patterns = [patterns]
    patterns = list(patterns)
    if not patterns:
        raise ValueError("points must name at least one point (or be None for all)")
    chosen: set[str] = set()
    for p in patterns:
        if not isinstance(p, str):
            raise TypeError(f"points must be strings, got {type(p).__name__}")
        hits = [n for n in available if fnmatch.fnmatchcase(n, p)]
        if not hits:
            lacking = [why for n, why in (unavailable or {}).items() if fnmatch.fnmatchcase(n, p)]
            if lacking:
                raise ValueError(f"points: {p!r} cannot be captured: {lacking[0]}")
            raise ValueError(
                f"points: {p!r} matches no capture point; available: {summary(available)} "
                "(globs like 'blocks.*.resid_post' work)"
            )
        chosen.update(hits)
    return sorted(chosen, key=sort_key)
