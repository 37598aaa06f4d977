"""Estimate the bytes a capture will hold, and refuse before running when it is too much."""

from __future__ import annotations

from .. import names as N

DEFAULT_MAX_BYTES = 2 * 2**30  # 2 GiB


def estimate_bytes(
    points: list[str], *, n_positions: int, d_model: int, d_mlp: int, n_heads: int,
    d_vocab: int, itemsize: int,
) -> dict[str, int]:
    """Bytes per point name."""
    out = {}
    for name in points:
        _, site = N.parse(name)
        per = {
            N.EMBED: n_positions * d_model,
            "resid_post": n_positions * d_model,
            "mlp.post": n_positions * d_mlp,
            "attn.pattern": n_heads * n_positions * n_positions,
            N.LOGITS: n_positions * d_vocab,
        }[site]
        out[name] = per * itemsize
    return out


def check_budget(sizes: dict[str, int], max_bytes: int | None) -> None:
    """Raise ``MemoryError``-like ``ValueError`` that says how to capture less."""
    if max_bytes is None:
        return
    total = sum(sizes.values())
    if total <= max_bytes:
        return
    by_site: dict[str, int] = {}
    for name, b in sizes.items():
        site = N.parse(name)[1]
        by_site[site] = by_site.get(site, 0) + b
    worst = ", ".join(f"{s}: {b / 2**20:.0f} MiB" for s, b in sorted(by_site.items(), key=lambda x: -x[1]))
    raise ValueError(
        f"max_bytes: this capture would hold {total / 2**20:.0f} MiB, over the budget of "
        f"{max_bytes / 2**20:.0f} MiB ({worst}). Capture less: fewer points "
        "(e.g. points=['blocks.*.resid_post']), dtype=torch.float16, or a shorter text; or raise "
        "max_bytes=."
    )
