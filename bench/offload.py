"""SmolLM2-135M rankings at 256 tokens: the plain model vs the same model split by accelerate's
``device_map`` with most blocks offloaded to disk; on a GPU, capture-all vs a plain forward.

In one run (ratios come from the same run):

- ``plain``: ``lens.trace(ids)`` then ``rankings(trace)`` on ``lmlens.load("smollm2")``;
- ``offloaded``: the same on ``lmlens.load("smollm2", device_map="auto",
  max_memory={"cpu": "250MB"}, offload_folder=...)`` (float32 weights are ~540 MB, so the blocks
  that do not fit are read from disk at every forward);
- their agreement (max |Δ prob|, ranks equal) and resident weight bytes;
- on a GPU (``torch.cuda.is_available()``): SmolLM2 on ``cuda`` at 1,024 tokens, ``lens.trace``
  of every capture point (moved to the CPU as they arrive) vs a bare forward, and the GPU's peak
  allocated memory of each; without a GPU this part prints why it is skipped.

Times: min of ``--rounds`` interleaved rounds after one warm-up (``_common.interleaved``), wall
clock. Peak extra memory: process RSS sampled in a thread while the call runs, minus the RSS
before it (``_common.peak_extra_rss``).

Run: ``.venv/bin/python bench/offload.py [--threads N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import ids_of_length, interleaved, peak_extra_rss  # noqa: E402

import lmlens  # noqa: E402
from lmlens.analyses.logit_lens import rankings  # noqa: E402


def resident_bytes(model: torch.nn.Module) -> int:
    """Bytes of parameters that hold data in memory (offloaded ones sit on ``meta``)."""
    return sum(p.numel() * p.element_size() for p in model.parameters() if p.device.type != "meta")


def cpu_part(n: int, rounds: int) -> None:
    plain = lmlens.load("smollm2")
    with tempfile.TemporaryDirectory(prefix="lmlens-offload-") as folder:
        off = lmlens.load("smollm2", device_map="auto", max_memory={"cpu": "250MB"}, offload_folder=folder)
        where = off.model.hf_device_map
        n_disk = sum(1 for k, v in where.items() if v == "disk" and ".layers." in k)
        print(f"device_map: {n_disk} of {plain.n_layers} blocks on disk; "
              f"resident weights: plain {resident_bytes(plain.model) / 2**20:.0f} MiB, "
              f"offloaded {resident_bytes(off.model) / 2**20:.0f} MiB")
        ids = ids_of_length(plain.tokenizer, n)
        fns = {
            "plain": lambda: rankings(plain.trace(ids), progress=False),
            "offloaded": lambda: rankings(off.trace(ids), progress=False),
        }
        best = interleaved(fns, rounds=rounds)
        ra, peak_plain = peak_extra_rss(fns["plain"])
        rb, peak_off = peak_extra_rss(fns["offloaded"])
        print(f"\nrankings at {n} tokens ({plain.n_layers + 1} layers × {n} positions)")
        print(f"{'':>10} {'seconds':>8} {'ratio':>6} {'peak extra RSS':>15}")
        for name, peak in (("plain", peak_plain), ("offloaded", peak_off)):
            print(f"{name:>10} {best[name]:8.2f} {best[name] / best['plain']:6.2f} {peak / 2**20:11.0f} MiB")
        same = bool((ra.ranks == rb.ranks).all())
        print(f"agreement: ranks equal {same}, max |Δ prob| {abs(ra.probs - rb.probs).max():.2e}")


def gpu_part(n: int, rounds: int) -> None:
    if not torch.cuda.is_available():
        print(f"\nGPU part skipped: torch finds no CUDA device here (capture-all vs plain forward "
              f"at {n} tokens runs where torch.cuda.is_available()).")
        return
    lens = lmlens.load("smollm2", device="cuda")
    ids = torch.tensor(ids_of_length(lens.tokenizer, n))

    def plain() -> None:
        with torch.no_grad():
            lens.model(input_ids=ids[None].cuda(), use_cache=False)
        torch.cuda.synchronize()

    def capture_all() -> None:
        lens.trace(ids, max_bytes=None)
        torch.cuda.synchronize()

    best = interleaved({"plain": plain, "capture_all": capture_all}, rounds=rounds)
    peaks = {}
    for name, fn in (("plain", plain), ("capture_all", capture_all)):
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        peaks[name] = torch.cuda.max_memory_allocated() - base
    print(f"\nGPU ({torch.cuda.get_device_name()}), {n} tokens, every capture point")
    print(f"{'':>12} {'ms':>8} {'ratio':>6} {'peak GPU alloc':>15}")
    for name in ("plain", "capture_all"):
        print(f"{name:>12} {best[name] * 1e3:8.1f} {best[name] / best['plain']:6.2f} "
              f"{peaks[name] / 2**20:11.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--gpu-tokens", type=int, default=1024)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")
    cpu_part(args.tokens, args.rounds)
    gpu_part(args.gpu_tokens, max(args.rounds, 3))


if __name__ == "__main__":
    main()
