"""Estimate the bytes a capture will hold, and refuse before running when it is too much.

Sizes come from the site table's shapes (``lmlens.names.SITES``). Besides what a trace keeps,
the budget counts what the forward itself holds on the way: every layer's attention weights when
the model only returns them all together (``pattern_source == "output"``), the full logits a
masked LM computes even when they are not kept, and a batch's padded tensors before they are cut
per text.

>>> dims = {"d_model": 8, "d_mlp": 32, "n_heads": 2, "d_head": 4, "d_vocab": 100, "n_layers": 2}
>>> estimate_bytes(["blocks.0.attn.pattern", "logits"], dims, n_positions=10, itemsize=4)
{'blocks.0.attn.pattern': 800, 'logits': 4000}
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import names as N

DEFAULT_MAX_BYTES = 2 * 2**30  # 2 GiB

#: Label of the bytes the forward holds besides the captured points (in error messages).
FORWARD = "held by the forward"


def estimate_bytes(points: Iterable[str], dims: dict[str, int], *, n_positions: int, itemsize: int) -> dict[str, int]:
    """Bytes per point name for one text of ``n_positions`` tokens."""
    d = {**dims, "n_positions": n_positions}
    return {name: N.site(name).numel(d) * itemsize for name in points}


def forward_bytes(
    points: list[str], dims: dict[str, int], *, logit_rows: int, pattern_source: str | None,
    n_texts: int, n_positions: int, model_itemsize: int, keep_itemsize: int,
) -> int:
    """Bytes a forward over ``n_texts`` padded to ``n_positions`` holds beyond the points kept in
    their capture dtype: all layers' attentions when the model returns them only together, and
    the ``logit_rows`` rows of logits per text it computes when ``logits`` is not kept."""
    d = {**dims, "n_positions": n_positions}
    extra = 0
    pattern_layers = [p for p in points if N.parse(p)[1] == "attn.pattern"]
    if pattern_layers and pattern_source == "output":
        shared = len(pattern_layers) if keep_itemsize == model_itemsize else 0
        extra += (dims["n_layers"] - shared) * N.site(N.pattern(0)).numel(d) * model_itemsize
    if N.LOGITS not in points:
        extra += logit_rows * dims["d_vocab"] * model_itemsize
    return extra * n_texts


def check_device_budget(held: int, device: object, free: int | None) -> None:
    """Raise ``ValueError`` when a forward would hold ``held`` bytes on ``device`` (a GPU), more
    than the ``free`` bytes there (None: not a GPU, nothing to check; the CPU's share is what
    ``max_bytes`` bounds).

    >>> check_device_budget(3 * 2**30, "cuda:0", 2**30)
    Traceback (most recent call last):
    ...
    ValueError: max_bytes: the forward would hold 3072 MiB on cuda:0 (the logits and attentions the model returns), over the 1024 MiB free there. ...
    """
    if free is None or held <= free:
        return
    raise ValueError(
        f"max_bytes: the forward would hold {held / 2**20:.0f} MiB on {device} (the logits and "
        f"attentions the model returns), over the {free / 2**20:.0f} MiB free there. Captured "
        "tensors go to the CPU as they arrive; to hold less on the device: a shorter text, fewer "
        "texts per batch (batch_size=), no 'logits' point, fewer attention patterns; or pass "
        "max_bytes=None to skip the check."
    )


def check_budget(sizes: dict[str, int], max_bytes: int | None) -> None:
    """Raise ``ValueError`` saying how to capture less when ``sizes`` (point name or ``FORWARD``
    → bytes) add up to more than ``max_bytes``."""
    if max_bytes is None:
        return
    total = sum(sizes.values())
    if total <= max_bytes:
        return
    by_site: dict[str, int] = {}
    for name, b in sizes.items():
        site = name if name == FORWARD else N.parse(name)[1]
        by_site[site] = by_site.get(site, 0) + b
    worst = ", ".join(f"{s}: {b / 2**20:.0f} MiB" for s, b in sorted(by_site.items(), key=lambda x: -x[1]))
    raise ValueError(
        f"max_bytes: this capture would hold {total / 2**20:.0f} MiB, over the budget of "
        f"{max_bytes / 2**20:.0f} MiB ({worst}). Capture less: fewer points "
        "(e.g. points=['blocks.*.resid_post']), dtype=torch.float16, or a shorter text; or raise "
        "max_bytes=."
    )
