"""Logit lens on SmolLM2-135M (30 blocks + embeddings = 31 layers, vocab 49,152, d_model 576).

For 16, 64 and 256 tokens, in one run (ratios come from the same run):

- ``rankings``: ``lmlens.analyses.logit_lens.rankings(trace)``: rank, probability and top-5 of
  every layer × position (the model's own logits are the last layer);
- ``floor``: the bare matmul ``stack(normed hidden of all 31 layers) @ W_U`` in one call: the
  FLOP floor as issue 4 defines it (it materialises every logit);
- ``floor_chunked``: the same matmul into one reused buffer of lmlens's chunk size: a stricter
  floor, the matmul alone without the memory traffic of the full logits tensor;
- ``forward``: one bare forward pass of the model (no hooks).

Times: min of ``--rounds`` interleaved rounds after one warm-up (``_common.interleaved``), wall
clock. Peak extra memory: the process RSS sampled every 0.5 ms in a thread while the call runs,
minus the RSS before it (``_common.peak_extra_rss``; tracemalloc cannot see torch's buffers).

Run: ``.venv/bin/python bench/logit_lens.py [--threads N] [--rounds R]`` (default: one torch
thread when another process keeps the CPU busy, else torch's default).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import ids_of_length, interleaved, peak_extra_rss  # noqa: E402

import lmlens  # noqa: E402
from lmlens.analyses.logit_lens import POINTS, layer_names, rankings  # noqa: E402
from lmlens.analyses.logit_lens.decode import DEFAULT_CHUNK_BYTES  # noqa: E402


def chunked_matmul(flat: torch.Tensor, w: torch.Tensor, rows: int):
    """The floor without the full logits tensor: ``flat @ w.T`` chunk by chunk into one buffer."""
    buf = torch.empty(rows, w.shape[0])

    def run() -> None:
        with torch.no_grad():
            for r0 in range(0, flat.shape[0], rows):
                part = flat[r0:r0 + rows]
                torch.matmul(part, w.T, out=buf[:part.shape[0]])

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--lengths", type=int, nargs="+", default=[16, 64, 256])
    args = ap.parse_args()
    load = os.getloadavg()[0]
    threads = args.threads or (1 if load > 0.5 else torch.get_num_threads())
    torch.set_num_threads(threads)

    lens = lmlens.load("smollm2")
    model, readout = lens.model, lens.readout
    w = readout.unembed.weight
    chunk_rows = DEFAULT_CHUNK_BYTES // (w.shape[0] * 4)
    print(f"logit lens bench · SmolLM2-135M · {lens.n_layers + 1} layers · vocab {w.shape[0]:,} · "
          f"d_model {w.shape[1]} · torch threads {threads} (load avg {load:.1f}) · "
          f"min of {args.rounds} interleaved rounds · chunk {chunk_rows} rows")
    print(f"{'tokens':>6} {'forward':>8} {'floor':>8} {'chunked':>8} {'rankings':>9} "
          f"{'÷floor':>7} {'÷chunked':>8} {'÷forward':>8} {'extra MiB':>9} {'floor MiB':>9}")
    for n in args.lengths:
        ids = torch.tensor(ids_of_length(lens.tokenizer, n))
        trace = lens.trace(ids, points=POINTS)
        with torch.no_grad():
            normed = torch.stack([readout.normed(trace[x]) for x in layer_names(trace)])

        def forward(ids=ids) -> None:
            with torch.no_grad():
                model(input_ids=ids[None], use_cache=False)

        def floor(normed=normed) -> None:
            with torch.no_grad():
                normed @ w.T

        fns = {
            "forward": forward,
            "floor": floor,
            "chunked": chunked_matmul(normed.reshape(-1, normed.shape[-1]), w, chunk_rows),
            "rankings": lambda trace=trace: rankings(trace, progress=False),
        }
        t = interleaved(fns, args.rounds)
        _, extra = peak_extra_rss(fns["rankings"])
        _, floor_extra = peak_extra_rss(fns["floor"])
        print(f"{n:>6} {t['forward'] * 1e3:>6.0f}ms {t['floor'] * 1e3:>6.0f}ms {t['chunked'] * 1e3:>6.0f}ms "
              f"{t['rankings'] * 1e3:>7.0f}ms {t['rankings'] / t['floor']:>6.2f}× "
              f"{t['rankings'] / t['chunked']:>7.2f}× {t['rankings'] / t['forward']:>7.1f}× "
              f"{extra / 2**20:>9.0f} {floor_extra / 2**20:>9.0f}", flush=True)
    print("extra MiB: peak RSS above the start while rankings runs; floor MiB: the same for the "
          "one-call floor matmul. Targets (issue 4): rankings ≤ 1.25× floor and ≤ 300 MiB extra at 256 tokens.")


if __name__ == "__main__":
    main()
