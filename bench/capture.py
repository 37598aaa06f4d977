"""Capture cost on SmolLM2 (30 layers, 9 heads): each capture's time ÷ a plain eager forward.

Columns, per text length T (one torch thread; ratios come from one run, median of interleaved rounds):

- plain eager: ``model(input_ids, attention_mask)`` with eager attention (all logits, no capture);
- capture all: ``lens.trace(ids)``: embed, every pattern, mlp.post, resid_post, logits;
- patterns f16: ``lens.trace(ids, points="blocks.*.attn.pattern", dtype=torch.float16)``;
- resid (sdpa): ``lens.trace(ids, points=["embed", "blocks.*.resid_post", "logits"])`` (no patterns:
  capture switches to SDPA attention);
- captured: the bytes the capture-all trace holds.

Times are CPU seconds (user + system) of this process: on a machine shared with other busy
processes they move far less than wall-clock time; wall-clock ratios are printed too. A ratio is
the median, over rounds, of the two times measured in the same round. "user CPU" is capture all's
ratio without system time, and the page faults say why the two differ: at 1,024 tokens eager
attention's 38 MB temporaries come either from fresh pages (about a million minor faults, seconds
of system time, for the plain forward as much as for a capture) or from pages the C allocator
kept from an earlier call, which a capture that keeps 1.5 GB cannot always reuse.
Then the peak memory of capturing one layer's pattern at 1,024 tokens, and batched capture: 32
texts traced one by one vs ``lens.trace_batch`` (when the lens has it).

Run: ``.venv/bin/python bench/capture.py`` (``--no-load`` skips the load times).
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import ids_of_length, peak_extra_rss  # noqa: E402

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


def _usage() -> tuple[float, float, float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, time.perf_counter(), r.ru_utime, r.ru_minflt


def timed(fns: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, list[tuple]]:
    """Each function once per round, in turn; ``name → [(CPU s, wall s, user CPU s, minor page
    faults) per round]``."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    times: dict[str, list[tuple]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            before = _usage()
            f()
            times[k].append(tuple(x - y for x, y in zip(_usage(), before, strict=True)))
    return times


def ratio(times: dict[str, list[tuple]], name: str, base: str, col: int = 0) -> float:
    """Median over rounds of ``name``'s time ÷ ``base``'s time in the same round (a slow drift in
    the machine's load cancels; one lucky round does not decide)."""
    return statistics.median(t[col] / b[col] for t, b in zip(times[name], times[base], strict=True))


def capture_table(lens) -> None:
    model = lens.model
    cols = ("capture all", "patterns f16", "resid (sdpa)")
    print(f"{'T':>5} {'plain eager':>12} " + " ".join(f"{c:>13}" for c in cols)
          + f" {'captured':>10}  {'user CPU':>8}  {'page faults plain / all':>24}  wall-clock")
    for n, rounds in ((16, 9), (64, 7), (256, 5), (1024, 4)):
        ids = torch.tensor(ids_of_length(lens.tokenizer, n))
        holder = {}

        def plain(ids=ids):
            with torch.no_grad():
                model(input_ids=ids[None], attention_mask=torch.ones_like(ids[None]), use_cache=False)

        def capture_all(ids=ids, holder=holder):
            holder["t"] = lens.trace(ids)
            holder["mib"] = holder["t"].nbytes() / 2**20
            del holder["t"]

        fns = {
            "plain": plain,
            "capture all": capture_all,
            "patterns f16": lambda ids=ids: lens.trace(ids, points="blocks.*.attn.pattern", dtype=torch.float16),
            "resid (sdpa)": lambda ids=ids: lens.trace(ids, points=["embed", "blocks.*.resid_post", "logits"]),
        }
        t = timed(fns, rounds=rounds)
        cpu0 = min(r[0] for r in t["plain"])
        faults = [statistics.median(r[3] for r in t[k]) for k in ("plain", "capture all")]
        print(f"{n:>5} {cpu0 * 1e3:>10.0f}ms " + " ".join(f"{ratio(t, c, 'plain'):>12.2f}x" for c in cols)
              + f" {holder['mib']:>8.1f}MiB  {ratio(t, 'capture all', 'plain', 2):>7.2f}x"
              + f"  {faults[0]:>11.0f} / {faults[1]:<10.0f}  "
              + " ".join(f"{ratio(t, c, 'plain', 1):.2f}x" for c in cols))


def one_pattern_memory(lens, n: int = 1024) -> None:
    """Peak memory above the start while capturing one layer's pattern: a capture that asks the
    model for ``output_attentions`` holds every layer's weights until the forward returns."""
    ids = torch.tensor(ids_of_length(lens.tokenizer, n))
    layer = lens.n_layers // 2
    trace, peak = peak_extra_rss(lambda: lens.trace(ids, points=f"blocks.{layer}.attn.pattern"))
    print(f"one pattern (blocks.{layer}) at T={n}: keeps {trace.nbytes() / 2**20:.0f} MiB, "
          f"peak RSS +{peak / 2**20:.0f} MiB during the capture")


def batch_table(lens) -> None:
    if not hasattr(lens, "trace_batch"):
        print("batched capture: lens.trace_batch does not exist in this version")
        return
    lengths = [16 + (37 * i) % 112 for i in range(32)]  # 16..127 tokens
    seqs = [torch.tensor(ids_of_length(lens.tokenizer, n)) for n in lengths]
    points = ["blocks.*.resid_post"]
    fns = {
        "one by one": lambda: [lens.trace(s, points=points) for s in seqs],
        "batch_size=8": lambda: lens.trace_batch(seqs, batch_size=8, points=points, progress=False),
        "batch_size=32": lambda: lens.trace_batch(seqs, batch_size=32, points=points, progress=False),
    }
    t = timed(fns, rounds=3)
    base = min(r[0] for r in t["one by one"])
    print(f"batched capture, 32 texts of 16..127 tokens, resid_post of every block: one by one "
          f"{base:.2f} s CPU; " + "; ".join(f"{k} {ratio(t, k, 'one by one'):.2f}x" for k in fns if k != "one by one"))


def main() -> None:
    torch.set_num_threads(1)
    if "--no-load" not in sys.argv:
        first, second = load_times()
        print(f"load('smollm2'): first {first:.1f} s (GGUF conversion), second {second:.2f} s (cached)")
    lens = lmlens.load("smollm2")
    one_pattern_memory(lens)  # first: the peak above a fresh process's memory
    capture_table(lens)
    batch_table(lens)
    print(f"({time.strftime('%Y-%m-%d %H:%M')}, torch {torch.__version__}, 1 thread, CPU time, median of per-round ratios; "
          f"load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
