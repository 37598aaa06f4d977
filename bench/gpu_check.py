"""GPU checks for models bigger than one device (issue 14); without a GPU it says so and exits 0.

Each check compares against the plain float32 model on the CPU (the reference the CPU tests
already tie to Hugging Face's own outputs):

1. ``lmlens.load("smollm2", device="cuda")``: trace (every point back on the CPU), rankings,
   saliency attribution and layer predictions agree with the CPU run;
2. two devices simulated by ``device_map``: the embedding and the first half of the blocks on
   ``cuda:0``, the rest, the final norm and the head on the CPU: the same agreement, no lmlens hook
   left and accelerate's hooks untouched;
3. the same split in bfloat16: rankings within bfloat16's tolerance, ``model_dtype`` and a
   precision note in the result;
4. the byte budget counts GPU memory: a forward whose logits would not fit the free GPU memory
   is refused before it runs (``ValueError`` naming ``max_bytes``).

Run: ``.venv/bin/python bench/gpu_check.py`` (``--device cpu`` runs the same checks with the CPU
standing in for the GPU, to try the script where no GPU is lent). Exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

import numpy as np
import torch

import lmlens

TEXT = "The capital of France is Paris, and the capital of Japan is"
ATTR_TEXT = "The capital of France is Paris"
FAILED: list[str] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)
    if not ok:
        FAILED.append(name)


def hook_state(model: torch.nn.Module) -> list[tuple]:
    return [(n, tuple(m._forward_hooks), tuple(m._forward_pre_hooks), id(getattr(m, "_hf_hook", None)))
            for n, m in model.named_modules()]


def compare(ref, lens, label: str, prob_atol: float, exact_ranks: bool) -> None:
    """Trace, rankings, layer predictions and saliency of ``lens`` against the CPU ``ref``."""
    t0 = time.perf_counter()
    before = hook_state(lens.model)
    a, b = ref.trace(TEXT), lens.trace(TEXT)
    on_cpu = all(b[n].device.type == "cpu" for n in b.names)
    err = max(float((a[n].float() - b[n].float()).abs().max()) / max(1.0, float(a[n].abs().max()))
              for n in a.names)
    check(f"{label}: trace on the CPU, relative error {err:.1e}", on_cpu and err <= 100 * prob_atol)
    ra, rb = ref.rankings(TEXT).result, lens.rankings(TEXT).result
    dp = float(np.abs(ra.probs - rb.probs).max())
    ranks_ok = bool((ra.ranks == rb.ranks).all()) if exact_ranks else True
    check(f"{label}: rankings max |Δ prob| {dp:.1e}", dp <= prob_atol and ranks_ok,
          "" if ranks_ok else "ranks differ")
    pa, pb = ref.layer_predictions(TEXT).result, lens.layer_predictions(TEXT).result
    same_top = float((pa.token_ids[:, 0] == pb.token_ids[:, 0]).mean())
    check(f"{label}: layer predictions top-1 agree on {same_top:.0%} of layers", same_top >= 0.9)
    sa = ref.attribution(ATTR_TEXT, method="saliency", target=" Paris").result
    sb = lens.attribution(ATTR_TEXT, method="saliency", target=" Paris").result
    dn = float(np.abs(sa.norms - sb.norms).max())
    check(f"{label}: saliency norms max |Δ| {dn:.1e}", dn <= max(1e-3, 20 * prob_atol))
    check(f"{label}: no lmlens hook left, accelerate's untouched", hook_state(lens.model) == before)
    print(f"     ({time.perf_counter() - t0:.1f} s)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("GPU checks skipped: torch finds no CUDA device here "
              "(run `bench/gpu_check.py --device cpu` to try the script on the CPU).")
        return 0
    dev = torch.device(args.device)
    print(f"torch {torch.__version__}, checks on {dev}"
          + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""))
    ref = lmlens.load("smollm2")

    # 1. one device
    one = lmlens.load("smollm2", device=args.device)
    on = {(p.device.type, p.device.index or 0) for p in one.model.parameters()}
    check("device= puts every part there", on == {(dev.type, dev.index or 0)}, str(on))
    compare(ref, one, f"single {dev}", prob_atol=1e-4, exact_ranks=True)
    del one

    # 2. two devices by device_map: embedding + first half on the GPU, the rest on the CPU
    #    (with --device cpu: the first half on the CPU, the rest offloaded to disk)
    n = ref.n_layers
    first = (dev.index or 0) if dev.type == "cuda" else "cpu"
    rest = "cpu" if dev.type == "cuda" else "disk"
    device_map = {"model.embed_tokens": first, "model.rotary_emb": rest, "model.norm": rest, "lm_head": "cpu"}
    device_map.update({f"model.layers.{i}": first if i < n // 2 else rest for i in range(n)})
    folder = tempfile.mkdtemp(prefix="lmlens-gpu-check-")
    split = lmlens.load("smollm2", device_map=device_map, offload_folder=folder)
    check("device_map split the model", len(set(map(str, split.model.hf_device_map.values()))) == 2,
          repr(split))
    compare(ref, split, "split GPU/CPU", prob_atol=1e-4, exact_ranks=True)
    del split

    # 3. the same split in bfloat16
    half = lmlens.load("smollm2", device_map=device_map, offload_folder=folder, dtype=torch.bfloat16)
    r = half.rankings(TEXT).result
    check("bfloat16: model_dtype and note", r.model_dtype == "bfloat16" and any("bfloat16" in x for x in r.notes))
    compare(ref, half, "split bfloat16", prob_atol=5e-2, exact_ranks=False)
    del half

    # 4. the budget counts GPU memory
    if dev.type == "cuda":
        free, _ = torch.cuda.mem_get_info(dev)
        # a batch whose logits alone (n × vocab × 4 bytes per text) exceed the free memory
        per_text = 2048 * ref.readout.d_vocab * 4
        n_texts = int(free // per_text) + 2
        gpu_lens = lmlens.load("smollm2", device=args.device)
        ids = [list(range(1, 2049))] * n_texts
        try:
            gpu_lens.trace_batch(ids, batch_size=n_texts, points="logits", max_bytes=2**62)
            check("budget refuses a batch over the free GPU memory", False, "it ran")
        except ValueError as e:
            check("budget refuses a batch over the free GPU memory", "free there" in str(e), str(e)[:120])
        except torch.cuda.OutOfMemoryError:
            check("budget refuses a batch over the free GPU memory", False, "ran out of memory instead")
    print(f"\n{len(FAILED)} check(s) failed" if FAILED else "\nall GPU checks passed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
