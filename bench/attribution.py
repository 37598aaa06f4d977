"""Attribution over generated tokens: lmlens vs the per-step loop (ecco's algorithm) vs the floor.

SmolLM2-135M, a 20-token prompt, 20 greedy tokens; every generated token is attributed to all
tokens before it, against its log-probability, on the input embeddings.

- loop: captum once per generated token on its prefix (ecco's algorithm: a forward over the
  prefix with full logits, ``log_softmax(logits[:, -1])``, captum defaults otherwise, so IG puts
  all 50 steps in one batch).
- floor: one shared forward over the whole sequence (per IG chunk) with logits at the target
  rows only, then one backward per target (``autograd.grad(..., retain_graph=True)``).
- lmlens: ``lmlens.analyses.attribution.attribute`` (what ``lens.generate(...,
  attribution=[...])`` runs).

Variants are interleaved; saliency runs ``--rounds`` rounds, integrated gradients (n_steps=50,
minutes on this CPU) one. Ratios come from the same run. Peak memory is the peak RSS above the
RSS before the variant, sampled every 5 ms. ``max |Δ|`` compares lmlens with the loop over every
target's per-token signed scores and per-dimension attributions.

Then, on the same targets:

- rules: lmlens saliency, DeepLift (rules for every non-linearity) and AttnLRP, ``--rounds``
  rounds interleaved; their time relative to saliency (target: ≤ 1.5×) and DeepLift's largest
  relative summation-to-delta error.
- IG by accuracy: ``tol=0.01`` against 50 fixed steps, for the probability and the
  log-probability (the latter does not converge from a zero baseline on SmolLM2): time, mean
  gradient points per target and the largest relative gap ``|δ| / |f(x) − f(b)|``; the tol
  run's time as a ratio to the loop (ecco's algorithm at 50 steps, timed in the IG block above
  or, with ``--only ig``, in this one) and to lmlens at 50 fixed steps — the issue's target is
  tol ≥ 3× faster than the loop with a max relative δ ≤ the 50-step run's.
- ecco (when its venv is there: ``bench/peers/setup_ecco.sh``): ecco 0.1.2's own ``generate(...,
  attribution=['ig'])`` on transformers 4.40.2, in a subprocess of that venv's python
  (``bench/peers/ecco_ig.py``), on the same prompt ids, generating as many tokens as are
  attributed here, at ``--threads`` threads; SmolLM2 is first written for transformers 4.40 to
  ``--ecco-model`` if missing (``bench/peers/smollm2_hf.py``). ecco attributes the softmax
  probability, so its largest relative gap is printed beside the ``prob`` rows; the tol run's time
  is also given as a ratio to ecco's IG time alone (captum's calls, without its generation).

    .venv/bin/python bench/attribution.py                          # ~30 min on 1 thread
    .venv/bin/python bench/attribution.py --quick                  # IG with n_steps=10
    .venv/bin/python bench/attribution.py --only ig                # loop + IG by accuracy only
    .venv/bin/python bench/attribution.py --only ig --targets 5 --attr-target prob  # a quick check
    bash bench/peers/setup_ecco.sh                                 # once: /tmp/ecco-venv
    .venv/bin/python bench/attribution.py --only ig --ecco-python /tmp/ecco-venv/bin/python
    .venv/bin/python bench/attribution.py --only ig --targets 2 --ig-steps 4 --attr-target prob  # smoke
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import lmlens  # noqa: E402
from lmlens.analyses.attribution import attribute, gradients_on_inputs_only  # noqa: E402
from lmlens.analyses.attribution._captum import captum_attr, ig_alphas  # noqa: E402

PEERS = Path(__file__).resolve().parent / "peers"
ECCO_VENV_PYTHON = Path("/tmp/ecco-venv/bin/python")

PROMPT = (
    "In a quiet village by the sea, an old fisherman told the children stories about the "
    "great storms he had seen when he was young and strong"
)


def _trim() -> None:
    """Hand freed heap memory back to the OS (glibc keeps it otherwise, and a variant that runs
    after a memory-hungry one would show no growth)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class PeakRSS:
    """Peak resident memory above the level at entry, sampled in a thread."""

    def __init__(self, every: float = 0.005) -> None:
        self.every, self.peak, self._stop = every, 0, threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self._page

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(self.every)

    def __enter__(self) -> PeakRSS:
        _trim()
        self.start = self._rss()
        self.peak = self.start
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()

    @property
    def delta_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def ecco_forward(model):
    def f(emb: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(model(inputs_embeds=emb, use_cache=False).logits[:, -1].float(), -1)

    return f


def loop(model, x, positions, ids, method: str, n_steps: int) -> list[torch.Tensor]:
    """captum once per target on its prefix (ecco's algorithm). Returns (p, d) per target."""
    attr = captum_attr()
    f = ecco_forward(model)
    out = []
    for p in positions:
        t = int(ids[p])
        if method == "saliency":
            a = attr.Saliency(f).attribute(x[None, :p], target=t, abs=False)
        else:
            a = attr.IntegratedGradients(f).attribute(x[None, :p], target=t, n_steps=n_steps)
        out.append(a[0].detach())
    return out


def floor(model, x, positions, ids, method: str, n_steps: int, chunk: int) -> list[torch.Tensor]:
    """One shared forward (per IG chunk) + one backward per target."""
    n = int(max(positions))
    rows = torch.as_tensor(positions) - 1
    tids = torch.as_tensor([int(ids[p]) for p in positions])
    if method == "saliency":
        alphas, weights = [1.0], [1.0]
    else:
        weights, alphas = ig_alphas(n_steps, "gausslegendre")
    total = torch.zeros(len(positions), n, x.shape[-1])
    for c in range(0, len(alphas), chunk):
        a = torch.tensor(alphas[c:c + chunk])
        w = torch.tensor(weights[c:c + chunk])
        pts = (a[:, None, None] * x[None, :n]).requires_grad_(True)
        logits = model(inputs_embeds=pts, use_cache=False, logits_to_keep=rows).logits.float()
        lp = torch.log_softmax(logits, -1)[:, torch.arange(len(positions)), tids]
        for j in range(len(positions)):
            (g,) = torch.autograd.grad(lp[:, j], pts, grad_outputs=w, retain_graph=True)
            total[j] += g.sum(0)
    if method != "saliency":
        total = total * x[None, :n]
    return [total[j, :p] for j, p in enumerate(positions)]


def ours(model, embed, ids, positions, method: str, n_steps: int):
    """lmlens: an ``AttributionResult``."""
    return attribute(model, ids, positions, embed=embed, method=method, n_steps=n_steps,
                     progress=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 on a shared machine)")
    ap.add_argument("--rounds", type=int, default=3, help="saliency rounds")
    ap.add_argument("--ig-steps", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="IG with n_steps=10")
    ap.add_argument("--no-ig", action="store_true")
    ap.add_argument("--no-loop", action="store_true", help="skip the loop/floor comparison (with "
                    "--only ig: the loop's timing, so no ratio to it)")
    ap.add_argument("--tol", type=float, default=0.01, help="IG by accuracy: relative gap")
    ap.add_argument("--only", choices=["ig"], help="ig: only the loop's 50-step IG time and the "
                    "IG-by-accuracy section")
    ap.add_argument("--max-steps", type=int, help="IG by accuracy: cap on gradient points per "
                    "target (default: the library's)")
    ap.add_argument("--targets", type=int, help="attribute only the first N generated tokens")
    ap.add_argument("--attr-target", choices=["both", "prob", "log_prob"], default="both",
                    help="IG by accuracy: which target function(s)")
    ap.add_argument("--ecco-python", default=default_ecco_python(),
                    help="python of an ecco 0.1.2 venv (bench/peers/setup_ecco.sh) to time ecco's "
                    "own IG; 'none' to skip (default: $LMLENS_ECCO_PYTHON, else "
                    f"{ECCO_VENV_PYTHON} if it exists)")
    ap.add_argument("--ecco-model", default="/tmp/smollm2-hf", help="SmolLM2 written for "
                    "transformers 4.40 (made here if missing)")
    args = ap.parse_args()
    if args.ecco_python in ("", "none"):
        args.ecco_python = None
    if args.quick:
        args.ig_steps = 10
    torch.set_num_threads(args.threads)

    lens = lmlens.load("smollm2")
    model, embed = lens.model, lens.anatomy.embed_module(lens.model)
    prompt = lens.tokenize(PROMPT)[:20]
    trace = lens.generate(prompt, max_new_tokens=20, points=["logits"])
    ids = trace.token_ids
    positions = np.flatnonzero(trace.generated).tolist()[: args.targets]
    print(f"SmolLM2-135M · {len(prompt)}-token prompt · {len(positions)} generated tokens · "
          f"torch {torch.__version__} · {torch.get_num_threads()} thread(s)")
    print(f"text: {''.join(trace.tokens)!r}")
    with torch.no_grad():
        x = embed(ids[None])[0].detach()

    def reduce(a) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(signed scores, normalised L2 norms) per target, over its prefix."""
        if isinstance(a, list):
            sc = [t.sum(-1).float().numpy() for t in a]
            nr = [t.norm(dim=-1).float().numpy() for t in a]
            return sc, [v / v.sum() for v in nr]
        return ([a.scores[j, :p] for j, p in enumerate(positions)],
                [a.norms[j, :p] for j, p in enumerate(positions)])

    def compare(ref, got) -> tuple[float, float, float]:
        """max |Δ| of signed scores, the same relative to each target's largest |score|, and
        max |Δ| of normalised norms, over every target."""
        (rs, rn), (gs, gn) = reduce(ref), reduce(got)
        ds = max(float(np.abs(a - b).max()) for a, b in zip(rs, gs, strict=True))
        rel = max(float(np.abs(a - b).max() / np.abs(a).max()) for a, b in zip(rs, gs, strict=True))
        dn = max(float(np.abs(a - b).max()) for a, b in zip(rn, gn, strict=True))
        return ds, rel, dn

    def run_block(method: str, n_steps: int, rounds: int, chunk: int) -> float:
        times: dict[str, list[float]] = {"loop": [], "floor": [], "lmlens": []}
        mem: dict[str, float] = {}
        outs: dict = {}
        for _ in range(rounds):
            for name in times:
                with gradients_on_inputs_only(model), PeakRSS() as peak:
                    t0 = time.perf_counter()
                    if name == "loop":
                        out = loop(model, x, positions, ids, method, n_steps)
                    elif name == "floor":
                        out = floor(model, x, positions, ids, method, n_steps, chunk)
                    else:
                        out = ours(model, embed, ids, positions, method, n_steps)
                    times[name].append(time.perf_counter() - t0)
                mem[name] = max(mem.get(name, 0.0), peak.delta_mb)
                outs[name] = out
        label = "saliency" if method == "saliency" else f"integrated gradients, n_steps={n_steps}"
        print(f"\n{label} ({rounds} round{'s' if rounds > 1 else ''}, interleaved)")
        print(f"{'variant':<8} {'min s':>8} {'median s':>9} {'peak RSS Δ':>11}  vs loop  vs floor")
        best = {k: min(v) for k, v in times.items()}
        for k, v in times.items():
            print(f"{k:<8} {min(v):8.2f} {float(np.median(v)):9.2f} {mem[k]:9.0f} MB"
                  f"  {best['loop'] / best[k]:6.2f}×  {best[k] / best['floor']:6.2f}")
        ds, drel, dn = compare(outs["loop"], outs["lmlens"])
        fs, frel, fn = compare(outs["loop"], outs["floor"])
        r = outs["lmlens"]
        scale = max(float(np.abs(v).max()) for v in reduce(outs["loop"])[0])
        print(f"lmlens is {best['loop'] / best['lmlens']:.2f}× faster than the loop and takes "
              f"{best['lmlens'] / best['floor']:.2f}× the floor's time")
        print(f"max |Δ| vs loop (largest |score| {scale:.3g}):")
        print(f"  lmlens: scores {ds:.1e} (relative to the row's largest {drel:.1e}), norms {dn:.1e}")
        print(f"  floor:  scores {fs:.1e} (relative to the row's largest {frel:.1e}), norms {fn:.1e}")
        print(f"lmlens forward plan: {r.params.get('plan', '?')}"
              + "".join(f" (fell back: {n})" for n in r.notes if "instead of" in n))
        if r.delta is not None:
            print(f"IG convergence delta per target: max |δ| {np.abs(r.delta).max():.2e}, "
                  f"median {np.median(np.abs(r.delta)):.2e}")
        return best["loop"]

    loop_ig = None
    if args.only == "ig" and not args.no_loop:
        with gradients_on_inputs_only(model):
            t0 = time.perf_counter()
            loop(model, x, positions, ids, "integrated_gradients", args.ig_steps)
            loop_ig = time.perf_counter() - t0
        print(f"\nloop (ecco's algorithm), integrated gradients n_steps={args.ig_steps}: {loop_ig:.1f} s")
    elif not args.no_loop:
        run_block("saliency", 1, args.rounds, 1)
        if not args.no_ig:
            loop_ig = run_block("integrated_gradients", args.ig_steps, 1, 10)
    if args.only is None:
        rules_block(model, embed, ids, positions, args.rounds)
    if not args.no_ig:
        ecco = None
        if args.ecco_python:
            ecco = ecco_block(args.ecco_python, args.ecco_model, lens, prompt, ids, positions,
                              args.ig_steps, args.threads)
        kinds = ("prob", "log_prob") if args.attr_target == "both" else (args.attr_target,)
        accuracy_block(model, embed, ids, positions, args.ig_steps, args.tol, kinds, loop_ig,
                       args.max_steps, ecco)
    print(f"\nload average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def default_ecco_python() -> str | None:
    """``$LMLENS_ECCO_PYTHON``, else the venv ``bench/peers/setup_ecco.sh`` makes by default if it
    is there, else None."""
    env = os.environ.get("LMLENS_ECCO_PYTHON")
    if env:
        return env
    return str(ECCO_VENV_PYTHON) if ECCO_VENV_PYTHON.exists() else None


def ecco_block(python: str, model_dir: str, lens, prompt, ids, positions, n_steps: int,
               threads: int) -> dict | None:
    """ecco 0.1.2's ``generate(..., attribution=['ig'])`` in its own venv on the same prompt ids
    (``bench/peers/ecco_ig.py``); its JSON result, or None (said why) if it could not run."""
    sys.path.insert(0, str(PEERS))
    import smollm2_hf

    if not smollm2_hf.ready(model_dir):
        print(f"\nwriting SmolLM2 for transformers 4.40 to {model_dir} …")
        smollm2_hf.write(model_dir, lens)
    prompt_ids = [int(i) for i in prompt]
    n_gen = len(positions)
    cmd = [python, str(PEERS / "ecco_ig.py"), "--model", str(model_dir), "--ids",
           json.dumps(prompt_ids), "--generate", str(n_gen), "--threads", str(threads)]
    if n_steps != 50:  # captum's default, which ecco uses; anything else is a smoke test
        cmd += ["--n-steps", str(n_steps)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    print(f"\necco 0.1.2 ({python}): generate {n_gen} tokens + IG {n_steps} steps …", flush=True)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    except OSError as e:
        print(f"ecco: could not run {python}: {e}")
        return None
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = "\n  ".join(done.stderr.strip().splitlines()[-15:])
        print(f"ecco: failed (exit {done.returncode}); its stderr ends:\n  {tail}")
        return None
    res = json.loads(lines[-1])
    print(f"ecco {res['ecco']} (transformers {res['transformers']}, captum {res['captum']}, "
          f"{res['threads']} thread(s)), generate + IG {res['n_steps']} steps: "
          f"{res['seconds']:.1f} s (IG alone: {res['ig_seconds']:.1f} s); "
          f"target: the probability; max rel δ {max(res['rel_delta']):.2e}")
    ours = [int(ids[p]) for p in positions]
    if res["prompt_ids"] != prompt_ids or res["generated_ids"] != ours:
        print("!" * 100)
        print("!!! ecco's tokens DIFFER from ours: the timings below compare different inputs !!!")
        print(f"!!! prompt  ours {prompt_ids}\n!!!         ecco {res['prompt_ids']}")
        print(f"!!! generated ours {ours}\n!!!           ecco {res['generated_ids']}")
        print("!" * 100)
        res["same_ids"] = False
    else:
        res["same_ids"] = True
        print(f"ecco generated the same {n_gen} tokens as lmlens")
    return res


def _relative_gap(r) -> np.ndarray:
    """``|δ| / |f(x) − f(b)|`` per target."""
    return np.abs(r.delta) / np.abs(r.target_values - r.baseline_values)


def rules_block(model, embed, ids, positions, rounds: int) -> None:
    """Saliency vs DeepLift and AttnLRP (lmlens, every target), interleaved."""
    names = ("saliency", "deeplift", "attnlrp")
    times: dict[str, list[float]] = {k: [] for k in names}
    outs: dict = {}
    for _ in range(rounds):
        for name in names:
            with gradients_on_inputs_only(model):
                t0 = time.perf_counter()
                outs[name] = attribute(model, ids, positions, embed=embed, method=name,
                                       progress=False)
                times[name].append(time.perf_counter() - t0)
    best = {k: min(v) for k, v in times.items()}
    print(f"\nrules ({rounds} rounds, interleaved; log-probability, zero baseline)")
    print(f"{'method':<9} {'min s':>7} {'median s':>9}  vs saliency")
    for k in names:
        print(f"{k:<9} {best[k]:7.2f} {float(np.median(times[k])):9.2f}  {best[k] / best['saliency']:6.2f}×")
    dl = outs["deeplift"]
    print(f"DeepLift summation-to-delta: max |δ| / |f(x) − f(b)| = {_relative_gap(dl).max():.1e} "
          f"(target ≤ 1e-3)")
    print(f"DeepLift note: {' '.join(dl.notes)[:160]}…")


def accuracy_block(model, embed, ids, positions, n_steps: int, tol: float,
                   attr_targets=("prob", "log_prob"), loop_time: float | None = None,
                   max_steps: int | None = None, ecco: dict | None = None) -> None:
    """Integrated gradients at ``tol`` vs at ``n_steps`` fixed steps, for each target function;
    the tol run's time against the loop's (``loop_time``, ecco's algorithm at ``n_steps``) and
    against ecco's own IG (``ecco``: ``ecco_block``'s result)."""
    print(f"\nintegrated gradients by accuracy (tol={tol:g}) vs {n_steps} fixed steps (1 run each)")
    print(f"{'target':<9} {'variant':<12} {'time s':>7} {'mean steps':>11} {'max rel δ':>10} "
          f"{'median rel δ':>13}  {'unconverged':>11}")
    for attr_target in attr_targets:
        res = {}
        for label, kw in ((f"{n_steps} steps", {"n_steps": n_steps}), (f"tol={tol:g}", {"tol": tol} | ({"max_steps": max_steps} if max_steps else {}))):
            with gradients_on_inputs_only(model):
                t0 = time.perf_counter()
                r = attribute(model, ids, positions, embed=embed, method="integrated_gradients",
                              attr_target=attr_target, progress=False, **kw)
                dt = time.perf_counter() - t0
            rel = _relative_gap(r)
            steps = float(np.mean(r.steps)) if r.steps is not None else float(n_steps)
            over = int((rel > tol).sum())
            res[label] = (dt, rel.max(), rel)
            print(f"{attr_target:<9} {label:<12} {dt:7.1f} {steps:11.1f} {rel.max():10.2e} "
                  f"{float(np.median(rel)):13.2e}  {over:>8}/{len(rel)}")
        (t_fixed, d_fixed, rel_fixed), (t_tol, d_tol, rel_tol) = res.values()
        print(f"{attr_target:<9} tol is {t_fixed / t_tol:.2f}× faster than lmlens at {n_steps} steps; "
              f"max rel δ {d_tol:.2e} vs {d_fixed:.2e} ({'≤' if d_tol <= d_fixed else '>'})")
        if loop_time is not None:
            ok = loop_time / t_tol >= 3 and d_tol <= d_fixed
            print(f"{attr_target:<9} tol is {loop_time / t_tol:.2f}× faster than the loop (ecco's "
                  f"algorithm, {n_steps} steps, {loop_time:.1f} s); target ≥ 3× with max rel δ ≤ "
                  f"the {n_steps}-step run's: {'met' if ok else 'NOT met'}")
        if ecco is not None:
            t_ecco, n_ecco = ecco["ig_seconds"], ecco["n_steps"]
            ok = t_ecco / t_tol >= 3 and d_tol <= d_fixed
            same = "" if ecco["same_ids"] else " — ON DIFFERENT TOKENS, see above"
            if attr_target != ecco["attr_target"]:
                same += f" (ecco attributes the {'probability' if ecco['attr_target'] == 'prob' else ecco['attr_target']})"
            print(f"{attr_target:<9} tol is {t_ecco / t_tol:.2f}× faster than ecco 0.1.2's IG "
                  f"({n_ecco} steps, {t_ecco:.1f} s; {ecco['seconds'] / t_tol:.2f}× its generate + "
                  f"IG, {ecco['seconds']:.1f} s); target ≥ 3× with max rel δ ≤ the {n_steps}-step "
                  f"run's: {'met' if ok else 'NOT met'}{same}")
            if attr_target == ecco["attr_target"]:
                d_ecco = max(ecco["rel_delta"])
                print(f"{attr_target:<9} ecco's own max rel δ (probability, {n_ecco} steps) "
                      f"{d_ecco:.2e}: tol's {d_tol:.2e} is {'≤' if d_tol <= d_ecco else '>'}")
        if r.steps is not None:
            counts = {int(k): int(v) for k, v in zip(*np.unique(r.steps, return_counts=True), strict=True)}
            print(f"{'':<9} gradient points per target at tol: {counts}")
            print(f"{'':<9} rel δ per target, {n_steps} steps: {np.array2string(rel_fixed, precision=3)}")
            print(f"{'':<9} rel δ per target, tol:      {np.array2string(rel_tol, precision=3)}")
            print(f"{'':<9} {' '.join(n for n in r.notes if 'forward-only' in n)}")


if __name__ == "__main__":
    main()
