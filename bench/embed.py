"""Feature extraction on MiniLM (all-MiniLM-L6-v2): sentences per second and peak memory.

In one run, one torch thread:

- ``batch-1 loop``: the way a hand-rolled ``extract_features`` script goes: for each sentence,
  tokenize, run the Hugging Face model, mean-pool the last hidden state;
- ``lens.embed``: ``lens.embed(sentences, batch_size=32)`` (length-sorted, padded, masked batches);
  both on the same ``--n`` sentences of ~30 tokens; the rows agree (max difference printed).

Peak memory: a fresh process per corpus size (``--sizes``) writes the sentences to a file and runs
``lens.embed_file(..., "v.npy")`` (and ``lens.embed``, whose result lives in memory); the peak of
the process's anonymous resident memory (``RssAnon``: not the memory-mapped output, not the page
cache) above what it held after loading the model, sampled every 0.5 ms. Flat in the corpus size
means memory O(batch).

Run: ``.venv/bin/python bench/embed.py [--n 2000] [--sizes 2000 20000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import peak_extra_rss, rss_anon  # noqa: E402

WORDS = ("the a of in on at to for with from river city trade salt grain cloth town capital art science "
         "library scholar century market bridge harbor ship merchant king queen war peace song poem river "
         "mountain valley winter summer rain snow light dark old new small large quick slow bright quiet").split()


def sentences(n: int, seed: int = 0) -> list[str]:
    """``n`` sentences of 20 to 26 words (~30 MiniLM tokens with [CLS] and [SEP])."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 26))).capitalize() + "." for _ in range(n)]


def memory_child(n: int) -> None:
    """Run in a fresh process: peak extra anonymous memory of embed_file and embed at ``n``."""
    import torch

    torch.set_num_threads(1)
    import lmlens

    lens = lmlens.load("minilm")
    lens.embed(sentences(8), progress=False)  # warm up
    texts = sentences(n, seed=1)
    folder = Path(tempfile.mkdtemp())
    src = folder / "in.txt"
    src.write_text("\n".join(texts) + "\n", encoding="utf-8")
    del texts
    _, file_peak = peak_extra_rss(lambda: lens.embed_file(src, folder / "v.npy", progress=False), measure=rss_anon)
    texts = src.read_text(encoding="utf-8").splitlines()
    out, api_peak = peak_extra_rss(lambda: lens.embed(texts, progress=False), measure=rss_anon)
    print(json.dumps({"n": n, "embed_file_peak_mb": file_peak / 2**20, "embed_peak_mb": api_peak / 2**20,
                      "output_mb": out.nbytes / 2**20}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        memory_child(args.child)
        return
    import numpy as np
    import torch

    torch.set_num_threads(1)
    import lmlens

    lens = lmlens.load("minilm")
    tok, model = lens.tokenizer, lens.model
    texts = sentences(args.n)
    n_tokens = [len(tok(t)["input_ids"]) for t in texts]
    print(f"MiniLM, {args.n} sentences of {np.mean(n_tokens):.1f} tokens on average ({min(n_tokens)}-{max(n_tokens)}), 1 thread")
    lens.embed(texts[:64], progress=False)  # warm up

    def loop():
        rows = []
        with torch.no_grad():
            for t in texts:
                enc = tok(t, return_tensors="pt")
                rows.append(model(**enc).last_hidden_state[0].mean(0).numpy())
        return np.stack(rows)

    t0 = time.perf_counter()
    ref = loop()
    t_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    got = lens.embed(texts, batch_size=32, progress=False)
    t_embed = time.perf_counter() - t0
    print(f"  batch-1 loop     {args.n / t_loop:7.1f} sentences/s  ({t_loop:.1f} s)")
    print(f"  lens.embed (32)  {args.n / t_embed:7.1f} sentences/s  ({t_embed:.1f} s)   ×{t_loop / t_embed:.2f} the loop")
    print(f"  rows agree: max |difference| {np.abs(got - ref).max():.2e}")
    print("peak extra anonymous memory above the loaded model (fresh process per size):")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")])}
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, env=env)
        if out.returncode != 0:
            print(out.stderr[-2000:])
            raise SystemExit(out.returncode)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {n:>6} sentences: embed_file → .npy {r['embed_file_peak_mb']:6.1f} MB;   lens.embed "
              f"{r['embed_peak_mb']:6.1f} MB (of which the returned array {r['output_mb']:.1f} MB)")


if __name__ == "__main__":
    main()
