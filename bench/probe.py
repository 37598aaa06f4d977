"""The shipped probe set on SmolLM2-135M: facts per second, batched vs one by one, and the figures.

In one run, one torch thread: ``lens.probe(facts, batch_size=32)`` vs ``batch_size=1`` on the
shipped English and Japanese facts, without the logit lens (scoring only: the fact sentences plus
the candidate sentences) and with it (every layer of every fact's sentence decoded through the
49,152-token head); then P@1 / P@k / MRR per relation.

Run: ``.venv/bin/python bench/probe.py [--rounds 1]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import interleaved  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    import lmlens
    from lmlens.probes import shipped

    lens = lmlens.load("smollm2")
    facts = shipped()
    print(f"SmolLM2-135M, {len(facts)} shipped facts, 1 thread, min of {args.rounds} interleaved rounds")
    for logit_lens in (False, True):
        t = interleaved({
            "batched": lambda ll=logit_lens: lens.probe(facts, batch_size=32, logit_lens=ll, progress=False),
            "one by one": lambda ll=logit_lens: lens.probe(facts, batch_size=1, logit_lens=ll, progress=False),
        }, rounds=args.rounds, warmup=0)
        what = "with the logit lens" if logit_lens else "scores only"
        print(f"  {what:20s} batched {len(facts) / t['batched']:5.2f} facts/s ({t['batched']:.1f} s)   one by one "
              f"{len(facts) / t['one by one']:5.2f} facts/s ({t['one by one']:.1f} s)   ×{t['one by one'] / t['batched']:.2f}")
    r = lens.probe(facts, logit_lens=False, progress=False).result
    print("per relation (P@1, P@10, MRR; facts ranked over the vocabulary / among candidates):")
    for row in r.relation_table():
        print(f"  {row['relation']:14s} {row['precision_at_1']:5.2f} {row['precision_at_k']:5.2f} {row['mrr']:5.2f}"
              f"   {row['facts']:2d} facts ({row['vocab']} vocab, {row['candidates']} candidates)")
    for lang in ("en", "ja"):
        mine = [i for i, rel in enumerate(r.relation_table()) if rel["relation"].startswith(lang + "/")]
        sel = [i for i in range(r.n_facts) if r.relations[r.relation_index[i]].startswith(lang + "/")]
        p1 = sum(r.precision_at_1[j] for j in mine) / len(mine)
        facts_p1 = sum(int(r.ranks[i] == 1) for i in sel) / len(sel)
        print(f"  {lang}: mean P@1 over relations {p1:.3f}, over facts {facts_p1:.3f}")


if __name__ == "__main__":
    main()
