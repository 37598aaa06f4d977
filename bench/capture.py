"""Capture cost on SmolLM2: capture-all time ÷ a plain eager forward, captured bytes, load times.

Run: ``.venv/bin/python bench/capture.py`` (single torch thread; ratios come from one run).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import ids_of_length, interleaved  # noqa: E402

import lmlens  # noqa: E402

LOAD_SNIPPET = "import time,lmlens;t=time.perf_counter();lmlens.load('smollm2');print(time.perf_counter()-t)"


def load_times() -> tuple[float, float]:
    """First load (empty cache: GGUF conversion) and second load (cached), in fresh processes."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "LMLENS_CACHE": cache, "TQDM_DISABLE": "1"}
        out = []
        for _ in range(2):
            r = subprocess.run([sys.executable, "-c", LOAD_SNIPPET], env=env, capture_output=True, text=True, check=True)
            out.append(float(r.stdout.strip().splitlines()[-1]))
    return out[0], out[1]


def main() -> None:
    torch.set_num_threads(1)
    first, second = load_times()
    print(f"load('smollm2'): first {first:.1f} s (GGUF conversion), second {second:.2f} s (cached)")
    lens = lmlens.load("smollm2")
    model = lens.model
    print(f"{'T':>5} {'plain eager':>12} {'capture all':>12} {'ratio':>6} {'captured':>10} "
          f"{'resid+logits (sdpa)':>20}")
    for n, rounds in ((16, 5), (64, 5), (256, 3), (1024, 2)):
        ids = torch.tensor(ids_of_length(lens.tokenizer, n))

        def plain(ids=ids):
            with torch.no_grad():
                model(input_ids=ids[None], attention_mask=torch.ones_like(ids[None]), use_cache=False)

        holder = {}

        def capture(ids=ids, holder=holder):
            holder["t"] = lens.trace(ids)

        def resid(ids=ids):  # no patterns requested: capture switches to SDPA
            lens.trace(ids, points=["embed", "blocks.*.resid_post", "logits"])

        best = interleaved({"plain": plain, "capture": capture, "resid": resid}, rounds=rounds)
        mib = holder["t"].nbytes() / 2**20
        print(f"{n:>5} {best['plain'] * 1e3:>10.0f}ms {best['capture'] * 1e3:>10.0f}ms "
              f"{best['capture'] / best['plain']:>5.2f}x {mib:>8.1f}MiB "
              f"{best['resid'] * 1e3:>10.0f}ms {best['resid'] / best['plain']:>5.2f}x")
        holder.clear()
    print(f"({time.strftime('%Y-%m-%d %H:%M')}, torch {torch.__version__}, 1 thread, min of rounds)")


if __name__ == "__main__":
    main()
