"""Benchmark the logit lens on SmolLM2-135M (30 blocks + embeddings, vocab 49,152).

For 16, 64 and 256 tokens, in one run:

- ``rankings``: ``lmlens.analyses.logit_lens.rankings(trace)`` (ranks, probabilities, top-5 of
  every layer × position);
- ``floor``: the bare matmul ``stack(normed hidden of all layers) @ W_U`` in one call (the FLOP
  floor as the issue defines it; it materialises every logit);
- ``floor_chunked``: the same matmul into one reused chunk buffer of lmlens's size (a stricter
  floor: the matmul alone, without the memory traffic of the full logits tensor);
- ``forward``: one bare forward pass of the model.

Times are the minimum of ``--repeats`` interleaved rounds (wall clock). Peak extra memory is
sampled with psutil: the process RSS every 1 ms in a thread, minus the RSS just before the call.

Run: ``.venv/bin/python bench/logit_lens.py [--threads N] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import gc
import os
import threading
import time

import psutil
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

TEXT = (
    "The logit lens looks at what each layer of a transformer would predict if it were the "
    "last one. Early layers mostly guess frequent words, middle layers start to find the "
    "topic, and the last layers settle on the answer. The capital of France is Paris, and the "
    "capital of Japan is Tokyo; a small model knows both. "
)


class PeakRSS:
    """Peak RSS above the RSS at entry, sampled every ``interval`` seconds in a thread."""

    def __init__(self, interval: float = 0.001) -> None:
        self.proc, self.interval = psutil.Process(), interval

    def __enter__(self) -> PeakRSS:
        gc.collect()
        self.base = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def extra_mib(self) -> float:
        return (self.peak - self.base) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default: 1 when another process keeps the CPU busy)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--lengths", type=int, nargs="+", default=[16, 64, 256])
    args = ap.parse_args()
    busy = os.getloadavg()[0] > 0.5
    threads = args.threads or (1 if busy else torch.get_num_threads())
    torch.set_num_threads(threads)

    import lmlens
    from lmlens.analyses._decode import DEFAULT_CHUNK_BYTES
    from lmlens.analyses.logit_lens import POINTS, layer_names, rankings

    lens = lmlens.load("smollm2")
    model, readout = lens.model, lens.readout
    w = readout.unembed.weight
    ids_all = lens.tokenize(TEXT * 8)
    print(f"lmlens logit lens bench: SmolLM2-135M, {lens.n_layers} blocks + embeddings, "
          f"vocab {w.shape[0]}, d_model {w.shape[1]}; torch threads {threads}"
          f"{' (another process is busy)' if busy else ''}; load avg {os.getloadavg()[0]:.1f}; "
          f"min of {args.repeats} interleaved rounds")
    header = (f"{'tokens':>6} {'forward':>9} {'floor':>9} {'floor_chunked':>13} {'rankings':>9} "
              f"{'÷floor':>7} {'÷chunked':>8} {'÷forward':>8} {'extra MiB':>9} {'floor MiB':>9}")
    print(header)
    for n in args.lengths:
        ids = ids_all[:n]
        trace = lens.trace(ids, points=POINTS)
        names = layer_names(trace)
        with torch.no_grad():
            normed = torch.stack([readout.normed(trace[x]) for x in names[:-1]]
                                 + [readout.normed(trace[names[-1]])])
        flat = normed.reshape(-1, normed.shape[-1])
        chunk_rows = DEFAULT_CHUNK_BYTES // (w.shape[0] * 4)
        buf = torch.empty(chunk_rows, w.shape[0])

        def forward(ids=ids):
            with torch.no_grad():
                model(input_ids=ids[None], use_cache=False)

        def floor(normed=normed):
            with torch.no_grad():
                return normed @ w.T

        def floor_chunked(flat=flat, buf=buf):
            with torch.no_grad():
                for r0 in range(0, flat.shape[0], chunk_rows):
                    rows = flat[r0:r0 + chunk_rows]
                    torch.matmul(rows, w.T, out=buf[:rows.shape[0]])

        def lens_rankings(trace=trace):
            return rankings(trace, progress=False)

        fns = {"forward": forward, "floor": floor, "floor_chunked": floor_chunked,
               "rankings": lens_rankings}
        best = dict.fromkeys(fns, float("inf"))
        for _ in range(args.repeats):
            for k, f in fns.items():
                t0 = time.perf_counter()
                out = f()
                best[k] = min(best[k], time.perf_counter() - t0)
                del out
        with PeakRSS() as mem:
            lens_rankings()
        with PeakRSS() as mem_floor:
            out = floor()
            del out
        b = best
        print(f"{n:>6} {b['forward']*1e3:>7.0f}ms {b['floor']*1e3:>7.0f}ms {b['floor_chunked']*1e3:>11.0f}ms "
              f"{b['rankings']*1e3:>7.0f}ms {b['rankings']/b['floor']:>6.2f}× {b['rankings']/b['floor_chunked']:>7.2f}× "
              f"{b['rankings']/b['forward']:>7.1f}× {mem.extra_mib:>9.0f} {mem_floor.extra_mib:>9.0f}",
              flush=True)
    print("floor MiB: peak extra RSS of the one-call floor matmul, for contrast. "
          "Memory: psutil RSS sampled every 1 ms in a thread, minus RSS before the call.")


if __name__ == "__main__":
    main()
