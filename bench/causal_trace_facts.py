"""ROME's finding, checked on SmolLM2: for facts the model gets right, is the strongest MLP effect
of causal tracing at the subject's last token, in early-to-middle layers, more often than chance?

Facts: ``tests/causal_facts.py`` (written for this project); a fact counts when the model's top-1
after the text is the object's first token. For each, ``lens.causal_trace(fact, sites=("mlp",))``
with ROME's window of 10 layers and with single layers; the strongest cell's (layer, position) is
compared with the subject's last token and the first two thirds of the layers. Chance: the
strongest cell falling uniformly over the positions the noise can reach (from the subject on) and
over the layers.

    .venv/bin/python bench/causal_trace_facts.py [--samples 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def main(argv: list[str] | None = None) -> int:
    import torch

    import lmlens
    from lmlens.analyses.tracing import fact_prompt

    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--windows", type=int, nargs="+", default=[10, 1])
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    from causal_facts import FACTS

    lens = lmlens.load("smollm2")
    L = lens.n_layers
    early = (2 * L) // 3
    right = []
    for f in FACTS:
        fp = fact_prompt(f)
        ids = lens.tokenize(fp.text)
        tid = lens.tokenizer(fp.target, add_special_tokens=False)["input_ids"][0]
        with torch.no_grad():
            top = int(lens.model(input_ids=ids[None]).logits[0, -1].argmax())
        if top == tid:
            right.append(f)
    print(f"SmolLM2 ({L} layers): {len(right)} of {len(FACTS)} facts right; noise samples {args.samples}; "
          f"early-to-middle = layers 0..{early - 1}")
    for window in args.windows:
        hits = at_last = in_early = 0
        chance = 0.0
        t0 = time.perf_counter()
        rows = []
        for f in right:
            r = lens.causal_trace(f, sites=("mlp",), window=window, n_samples=args.samples, progress=False).result
            layer, pos = r.strongest("mlp")
            last = int(r.subject_positions.max())
            reach = r.n_positions - int(r.subject_positions.min())
            chance += (1 / reach) * (early / L)
            ok_pos, ok_layer = pos == last, layer < early
            at_last += ok_pos
            in_early += ok_layer
            hits += ok_pos and ok_layer
            rows.append(f"  {f['sub_label']!r:24} strongest mlp: layer {layer:2d} at {r.tokens[pos]!r:12} "
                        f"(last subject token {r.tokens[last]!r}) {'✓' if ok_pos and ok_layer else ''}")
        n = len(right)
        print(f"window={window}: {hits}/{n} = {hits / n:.0%} at the last subject token in layers < {early} "
              f"(chance {chance / n:.0%}); at the last subject token (any layer) {at_last}/{n}; "
              f"in layers < {early} (any position) {in_early}/{n}; {time.perf_counter() - t0:.0f} s")
        print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
