"""Benchmark of causal tracing on SmolLM2, one run (ratios measured in that run), one thread.

For a 12-token fact, the full trace: 3 sites (resid, mlp, attn) × 30 layers × 12 positions, 10 noise
samples, window 1. Timed:

- ``trace``: ``causal_trace`` whole (clean run, corrupted run, every cell, the clean logit lens);
- ``cells``: its patched forwards alone (``run_patches`` over the same cells, with hooks);
- ``naive``: one forward per cell, as ROME's code runs it: 10 noisy rows, full logits, a forward
  pre-hook adding the noise and a forward hook copying the clean activation, written here on the
  model's own modules. Timed on every ``--stride``-th cell (each naive cell costs the same work)
  and scaled to all cells; its values are checked against the trace's;
- ``floor (same forwards)``: the forwards the trace runs (same batches, start positions, copied
  caches, start blocks) without the noise and patch hooks;
- ``floor (full forwards)``: the same number of forwards with the same rows, each over the whole
  text from block 0, without hooks (what batching alone, with no resuming, costs at least); timed
  on every ``--stride``-th batch and scaled by rows.

Then the views: the logit-lens rank grid of a real 2,000-token text and a causal-trace view of
2,000 positions × 30 layers × 3 sites, opened in headless Chromium (median of 5 offline loads,
from navigation start to the first detail panel shown).

    .venv/bin/python bench/causal_trace.py [--stride 12]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

FACT = "The famous Eiffel Tower is located in the capital city of"
SUBJECT = "Eiffel Tower"
SAMPLES = 10
RUNS = 5

OBSERVER = """
new MutationObserver((_, obs) => {
  if (document.querySelector('.lmlens-root[data-lm-mounted] .lm-detail[data-lm-layer]')
      && document.querySelector('.lm-grid[data-lm-left]')) {
    window.__lmRendered = performance.now();
    obs.disconnect();
  }
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


def naive_cell(model, blocks, ids, sub, noise, site, layer, pos, clean, target):
    """One cell the naive way: hooks on the model's own modules, one full forward."""
    import torch

    def add_noise(mod, args, kwargs):
        h = args[0].clone()
        h[:, sub] += noise
        return (h, *args[1:]), kwargs

    def put(mod, args, out):
        t = (out[0] if isinstance(out, tuple) else out).clone()
        t[:, pos] = clean[pos]
        return (t, *out[1:]) if isinstance(out, tuple) else t

    module = {"resid": blocks[layer], "mlp": blocks[layer].mlp, "attn": blocks[layer].self_attn}[site]
    h1 = blocks[0].register_forward_pre_hook(add_noise, with_kwargs=True)
    h2 = module.register_forward_hook(put)
    try:
        x = ids[None].expand(noise.shape[0], -1)
        with torch.no_grad():
            logits = model(input_ids=x, attention_mask=torch.ones_like(x)).logits
        return float(torch.softmax(logits[:, -1].float(), -1)[:, target].mean())
    finally:
        h1.remove()
        h2.remove()


def trace_bench(lens, stride: int) -> None:
    import torch

    from lmlens import names as N
    from lmlens.analyses.tracing import Base, Cell, causal_trace, run_patches
    from lmlens.analyses.tracing.noise import noise_std, noise_values
    from lmlens.capture import forward_args, record
    from lmlens.capture.modes import attention_for, inference_mode

    model, anatomy = lens.model, lens.anatomy
    ids = lens.tokenize(FACT)
    n, L = len(ids), lens.n_layers
    from lmlens.analyses.tracing import subject_positions
    from lmlens.capture import display_tokens

    sub = subject_positions(display_tokens(lens.tokenizer, ids.tolist())[0], SUBJECT)
    print(f"fact: {FACT!r} ({n} tokens), subject {SUBJECT!r} at positions {sub}; {L} layers; "
          f"{SAMPLES} noise samples; cells: 3 sites × {L} layers × {n} positions = {3 * L * n}")

    t0 = time.perf_counter()
    r = causal_trace(model, anatomy, ids, subject=sub, n_samples=SAMPLES, progress=False)
    t_trace = time.perf_counter() - t0
    target = r.target_id

    # the same cells, run alone with and without the hooks
    std, _ = noise_std(model, anatomy, None)
    noise = noise_values(n_samples=SAMPLES, n_positions=len(sub), d_model=int(model.config.hidden_size),
                         std=std, seed=0)
    base = Base(ids, rows=SAMPLES, noise_positions=torch.tensor(sub), noise=noise)
    keys = {"resid": "resid_post", "mlp": "mlp.out", "attn": "attn.out"}
    source = record(model, anatomy, ids, [N.block(layer, k) for layer in range(L) for k in keys.values()], max_bytes=None)
    cells = [Cell(k, (layer,), (p,)) for k in keys.values() for layer in range(L) for p in range(sub[0], n)]

    def prob(z):
        return torch.softmax(z, -1)[:, target]

    stats: dict = {}
    t0 = time.perf_counter()
    probs = run_patches(model, anatomy, base, cells, source, answer=n - 1, reduce=prob, progress=False, stats=stats)
    t_cells = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_patches(model, anatomy, base, cells, source, answer=n - 1, reduce=prob, progress=False, patch=False)
    t_floor_same = time.perf_counter() - t0
    batches = stats["batches"]
    print(f"trace {t_trace:.1f} s, cells {t_cells:.1f} s, floor (same forwards) {t_floor_same:.1f} s", flush=True)
    fa = forward_args(model)
    some = batches[::stride]
    t0 = time.perf_counter()
    with inference_mode(model), attention_for(model, False), torch.no_grad():
        for rows, _, _ in some:
            x = ids[None].expand(rows, -1)
            model(input_ids=x, attention_mask=torch.ones_like(x), **fa.kwargs(use_cache=False, logits_to_keep=1))
    t_floor_full = (time.perf_counter() - t0) * sum(b[0] for b in batches) / max(1, sum(b[0] for b in some))
    print(f"floor (full forwards, est. from {len(some)} of {len(batches)} batches) {t_floor_full:.1f} s", flush=True)

    # the naive loop, on every stride-th cell of the full grid (positions before the subject too)
    blocks = anatomy.block_list(model)
    clean = {site: [source[N.block(layer, k)] for layer in range(L)] for site, k in keys.items()}
    grid = [(s, site, layer, p) for s, site in enumerate(keys) for layer in range(L) for p in range(n)]
    sample = grid[::stride]
    t0 = time.perf_counter()
    with attention_for(model, False):
        got = [naive_cell(model, blocks, ids, sub, noise, site, layer, p, clean[site][layer], target)
               for _, site, layer, p in sample]
    t_naive = (time.perf_counter() - t0) * len(grid) / len(sample)
    worst = max(abs(g - float(r.scores[s, layer, p])) for g, (s, _, layer, p) in zip(got, sample, strict=True))
    by_cell = {(c.site, c.layers[0], c.positions[0]): float(probs[i].mean()) for i, c in enumerate(cells)}
    worst_cells = max(abs(by_cell[(keys[site], layer, p)] - float(r.scores[s, layer, p]))
                      for s, site, layer, p in grid if p >= sub[0])

    rows = sum(b[0] for b in batches)
    print(f"forwards: {len(batches)} batches, {rows:,} rows ({'resumed' if stats['resumed'] else 'full'}); "
          f"naive: {len(grid)} forwards of {SAMPLES} rows")
    print(f"{'':28}{'seconds':>9}", flush=True)
    print(f"{'trace (causal_trace)':28}{t_trace:9.1f}")
    print(f"{'cells (run_patches)':28}{t_cells:9.1f}")
    print(f"{'naive loop (est.)':28}{t_naive:9.1f}   timed on {len(sample)} of {len(grid)} cells; "
          f"max |naive - trace| = {worst:.1e}")
    print(f"{'floor, same forwards':28}{t_floor_same:9.1f}")
    print(f"{'floor, full forwards':28}{t_floor_full:9.1f}")
    print(f"ratios: naive / trace = {t_naive / t_trace:.2f}x (target >= 5); "
          f"cells / floor(same forwards) = {t_cells / t_floor_same:.2f}x (target <= 1.2); "
          f"cells / floor(full forwards) = {t_cells / t_floor_full:.2f}x; "
          f"run_patches vs causal_trace cells: max diff {worst_cells:.1e}")


def chromium_ms(path: Path) -> float:
    from _common import offline_pages, wait_until

    times = []
    for _, page in offline_pages(path, RUNS, OBSERVER, {"width": 1200, "height": 900}):
        wait_until(page, "window.__lmRendered !== undefined", timeout=60)
        times.append(page.evaluate("window.__lmRendered"))
    return statistics.median(times[1:])  # the first load warms the browser


def views_bench(lens) -> None:
    from _common import ids_of_length
    from browser import skip_reason
    from views_helpers import hand_trace_result

    from lmlens.views.causal_trace import causal_trace_view

    reason = skip_reason()
    if reason:
        print(f"view timings skipped: {reason}")
        return
    n = 2000
    ids = ids_of_length(lens.tokenizer, n)
    rank_view = lens.rankings(ids, progress=False)
    tokens = list(rank_view.result.tokens)
    trace_view = causal_trace_view(hand_trace_result(tokens, n_layers=lens.n_layers, subject=(1990, 1991)))
    with tempfile.TemporaryDirectory() as tmp:
        for name, view in (("rank grid (logit lens)", rank_view), ("causal trace (3 sites)", trace_view)):
            path = Path(tmp) / "v.html"
            view.save_html(path)
            cells = len(view.spec["tokens"]) * (lens.n_layers + (1 if "rank" in name else 0)) * (3 if "trace" in name else 1)
            print(f"{name:24} {len(view.spec['tokens']):,} positions, {cells:,} cells, "
                  f"{path.stat().st_size / 1e6:.1f} MB: opens in {chromium_ms(path):.0f} ms (target < 1000)")


def main(argv: list[str] | None = None) -> int:
    import torch

    import lmlens

    ap = argparse.ArgumentParser()
    ap.add_argument("--stride", type=int, default=12,
                    help="time the naive loop on every N-th cell and the full-forward floor on every N-th batch")
    ap.add_argument("--skip-trace", action="store_true")
    ap.add_argument("--skip-views", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    lens = lmlens.load("smollm2")
    if not args.skip_trace:
        trace_bench(lens, args.stride)
    if not args.skip_views:
        views_bench(lens)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
