"""Canonical capture-point names.

Every tensor lmlens captures has one name, the same for every architecture:

=========================  =====================================  ==============================
name                       what it is                             shape (one text, no batch)
=========================  =====================================  ==============================
``embed``                  the input of block 0 (token + position  ``(n_positions, d_model)``
                           embeddings as the model adds them)
``blocks.{i}.resid_post``  the output of block ``i``              ``(n_positions, d_model)``
``blocks.{i}.attn.pattern`` attention weights of block ``i``      ``(n_heads, n_positions, n_positions)``
``blocks.{i}.mlp.post``    the FFN activation: the input of the   ``(n_positions, d_mlp)``
                           down-projection of block ``i``
``logits``                 the model's output logits              ``(n_positions, d_vocab)``
=========================  =====================================  ==============================

Globs select points: ``"blocks.*.mlp.post"``. Layers are ordered by number, never as strings.

>>> all_names(2)
['embed', 'blocks.0.resid_post', 'blocks.0.attn.pattern', 'blocks.0.mlp.post', 'blocks.1.resid_post', 'blocks.1.attn.pattern', 'blocks.1.mlp.post', 'logits']
>>> select(["blocks.*.resid_post"], all_names(2))
['blocks.0.resid_post', 'blocks.1.resid_post']
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

EMBED = "embed"
LOGITS = "logits"
BLOCK_SITES = ("resid_post", "attn.pattern", "mlp.post")

_BLOCK_RE = re.compile(r"^blocks\.(\d+)\.(resid_post|attn\.pattern|mlp\.post)$")


def block(i: int, site: str) -> str:
    """Name of a per-block point, e.g. ``block(3, "resid_post") == "blocks.3.resid_post"``."""
    if site not in BLOCK_SITES:
        raise ValueError(f"site must be one of {BLOCK_SITES}, got {site!r}")
    return f"blocks.{int(i)}.{site}"


def resid(i: int) -> str:
    """``blocks.{i}.resid_post``."""
    return block(i, "resid_post")


def pattern(i: int) -> str:
    """``blocks.{i}.attn.pattern``."""
    return block(i, "attn.pattern")


def mlp_post(i: int) -> str:
    """``blocks.{i}.mlp.post``."""
    return block(i, "mlp.post")


def parse(name: str) -> tuple[int | None, str]:
    """Split a name into ``(layer, site)``; ``layer`` is None for ``embed`` and ``logits``.

    >>> parse("blocks.12.mlp.post")
    (12, 'mlp.post')
    """
    if name in (EMBED, LOGITS):
        return None, name
    m = _BLOCK_RE.match(name)
    if not m:
        raise ValueError(
            f"unknown point name {name!r}; valid names are 'embed', 'logits' and "
            f"'blocks.{{i}}.{{site}}' with site in {BLOCK_SITES}"
        )
    return int(m.group(1)), m.group(2)


def all_names(n_layers: int) -> list[str]:
    """Every point of a model with ``n_layers`` blocks, in forward order."""
    out = [EMBED]
    for i in range(n_layers):
        out.extend(block(i, s) for s in BLOCK_SITES)
    out.append(LOGITS)
    return out


def sort_key(name: str) -> tuple[int, int]:
    """Forward-order key: numeric layer order, then site order."""
    layer, site = parse(name)
    if site == EMBED:
        return (-1, 0)
    if site == LOGITS:
        return (1 << 30, 0)
    return (layer, BLOCK_SITES.index(site))


def select(patterns: str | Iterable[str] | None, available: list[str]) -> list[str]:
    """Names in ``available`` matched by names or globs in ``patterns``, in forward order.

    ``None`` selects everything. A pattern that matches nothing raises ``ValueError``.
    """
    if patterns is None:
        return list(available)
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
            raise ValueError(
                f"points: {p!r} matches no capture point; available: 'embed', "
                f"'blocks.0..{max(0, (len(available) - 2) // 3 - 1)}.{{resid_post,attn.pattern,mlp.post}}', "
                "'logits' (globs like 'blocks.*.resid_post' work)"
            )
        chosen.update(hits)
    return sorted(chosen, key=sort_key)
