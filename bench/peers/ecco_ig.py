"""ecco 0.1.2's own generate + integrated gradients on given prompt ids; prints one JSON line.

Run with the ecco venv's python (``bench/peers/setup_ecco.sh``), never the project's::

    /tmp/ecco-venv/bin/python bench/peers/ecco_ig.py --model /tmp/smollm2-hf \\
        --ids '[788, 253, 8354]' --generate 20

``bench/attribution.py --ecco-python ...`` runs it on the bench's prompt and reads the last
stdout line (a JSON object): ``seconds`` (wall time of ``lm.generate(..., attribution=['ig'])``:
greedy generation, then IG for every generated token), ``ig_seconds`` (the part spent inside
captum's ``IntegratedGradients.attribute``), ``generated_ids``, and per generated token the
probability at the input and at the baseline, captum's convergence gap ``delta`` and
``rel_delta = |delta| / |f(x) − f(b)|``, the signed per-token ``scores`` (raw attributions summed
over the embedding) and ecco's own ``norms``. These per-target values are computed after the timed
call from the attributions ecco's call produced (two forwards per target), so they cost ecco's
timing nothing.

What ecco 0.1.2 attributes (``ecco/lm.py`` ``LM.generate`` → ``_analyze_token`` →
``ecco/attribution.py`` ``compute_primary_attributions_scores``):

- generation first: ``model.generate`` greedy (``do_sample=False``) with
  ``max_length = len(prompt) + generate``, ``output_scores=True``; hidden states are returned
  (``ecco.from_pretrained``'s default ``hidden_states=True`` sets ``output_hidden_states`` on the
  model config, so every forward below also returns all layers' hidden states);
- then, for each generated token k, one captum ``IntegratedGradients(forward_func).attribute(
  inputs_embeds, target=token_k)`` on the prefix before it (prompt + tokens < k), where
  ``inputs_embeds = one_hot(prefix) @ embed_tokens.weight`` (the input embeddings, built by a
  matmul so they carry a graph);
- target function: ``softmax(model(inputs_embeds=x).logits[:, -1, :])`` — the **probability** of
  the token (not its log-probability); no attention mask, ``use_cache`` at the config default;
- baseline: captum's default, all zeros (the zero embedding vector at every position);
- ``n_steps=50``, ``method="gausslegendre"`` (Gauss–Legendre nodes and weights mapped to [0, 1]),
  ``internal_batch_size=None`` — all 50 scaled copies of the prefix in one batch: one forward and
  one backward of batch 50 per target; no convergence delta is asked for;
- attribution = ``(x − 0) ⊙ Σ_i w_i ∇f(α_i x)``, reduced per token to its L2 norm over the
  embedding dimension and normalised to sum to 1 (``aggregation="L2"``); ecco keeps only these
  norms;
- one more full forward with ecco's activation hooks on the last step (before its IG).

Before the timed call, one untimed forward over the prompt warms torch up (the bench's own
variants run after the model has already generated).

``--n-steps N`` (smoke tests only) passes ``n_steps=N`` to captum instead of its default; leave it
out to time ecco as it ships.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# ecco's settings for a Llama model (ecco 0.1.2's model-config.yaml has no Llama entry).
LLAMA_CONFIG = {
    "embedding": "model.embed_tokens.weight",
    "type": "causal",
    "activations": [r"mlp\.down_proj"],
    "token_prefix": "Ġ",
    "partial_token_prefix": "",
}


class FixedIds:
    """The model's tokenizer, except that calling it returns the given prompt ids (ecco's
    ``generate`` takes a string; this keeps its tokenization identical to the caller's)."""

    def __init__(self, tokenizer, ids: list[int]) -> None:
        self._tok, self._ids = tokenizer, ids

    def __call__(self, text, return_tensors=None, **kw):
        import torch
        from transformers import BatchEncoding

        ids = torch.tensor([self._ids])
        return BatchEncoding({"input_ids": ids, "attention_mask": torch.ones_like(ids)})

    def __getattr__(self, name):
        return getattr(self._tok, name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="/tmp/smollm2-hf", help="folder transformers 4.40 loads")
    ap.add_argument("--ids", required=True, help="prompt token ids as a JSON list ('-': stdin)")
    ap.add_argument("--generate", type=int, default=20, help="tokens to generate")
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--n-steps", type=int, help="smoke tests only: IG steps instead of captum's 50")
    args = ap.parse_args()

    import captum
    import ecco
    import ecco.attribution as ecco_attr
    import torch
    import transformers

    torch.set_num_threads(args.threads)
    ids = json.loads(sys.stdin.read() if args.ids == "-" else args.ids)
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise TypeError(f"--ids must be a JSON list of token ids, got {args.ids[:80]!r}")

    calls: list[dict] = []
    base = ecco_attr.ATTR_NAME_TO_CLASS["integrated_gradients"]

    class RecordingIG(base):
        """ecco's IntegratedGradients, keeping what each call returned (and optionally n_steps)."""

        def attribute(self, inputs, *a, **kw):
            if args.n_steps is not None:
                kw["n_steps"] = args.n_steps
            t0 = time.perf_counter()
            out = super().attribute(inputs, *a, **kw)
            calls.append({"seconds": time.perf_counter() - t0, "inputs": inputs.detach(),
                          "target": int(kw["target"]), "attr": out.detach(),
                          "f": self.forward_func})
            return out

    ecco_attr.ATTR_NAME_TO_CLASS["integrated_gradients"] = RecordingIG

    lm = ecco.from_pretrained(args.model, model_config=dict(LLAMA_CONFIG), verbose=False, gpu=False)
    lm.tokenizer = FixedIds(lm.tokenizer, ids)
    with torch.no_grad():  # warm-up (one-time kernel and allocator set-up stays out of the timing)
        lm.model(torch.tensor([ids]))
    t0 = time.perf_counter()
    out = lm.generate("(ids given)", generate=args.generate, do_sample=False, attribution=["ig"])
    seconds = time.perf_counter() - t0

    all_ids = out.token_ids[0].tolist()
    res = {
        "ecco": ecco.__version__, "transformers": transformers.__version__,
        "captum": captum.__version__, "torch": torch.__version__,
        "threads": torch.get_num_threads(), "n_steps": args.n_steps or 50,
        "attr_target": "prob", "seconds": seconds,
        "ig_seconds": sum(c["seconds"] for c in calls),
        "prompt_ids": all_ids[: len(ids)], "generated_ids": all_ids[len(ids):],
        "f_x": [], "f_b": [], "delta": [], "rel_delta": [], "scores": [],
        "norms": [a.tolist() for a in out.attribution["ig"]],
    }
    with torch.no_grad():
        for c in calls:
            x = c["inputs"]
            fx = float(c["f"](x)[0, c["target"]])
            fb = float(c["f"](torch.zeros_like(x))[0, c["target"]])
            total = float(c["attr"].sum())
            res["f_x"].append(fx)
            res["f_b"].append(fb)
            res["delta"].append(total - (fx - fb))
            res["rel_delta"].append(abs(total - (fx - fb)) / abs(fx - fb))
            res["scores"].append(c["attr"][0].sum(-1).tolist())
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
