"""Write SmolLM2-135M (the embedded model, as lmlens loads it) to a folder that transformers 4.40
loads as ``LlamaForCausalLM``, for ecco 0.1.2 in its own venv (``bench/peers/setup_ecco.sh``).

Run with the project's venv (transformers 5.x), not the ecco venv::

    PYTHONPATH=$PWD .venv/bin/python bench/peers/smollm2_hf.py /tmp/smollm2-hf

transformers 4.40 cannot read the GGUF file, and the config that 5.x writes uses keys 4.40 does
not know, so after ``save_pretrained`` the config is rewritten:

- ``rope_parameters: {rope_theta, rope_type}`` → ``rope_theta`` (SmolLM2's is 100000; 4.40 would
  otherwise use its default 10000 and compute different logits) and ``rope_scaling: null``;
- ``dtype`` → ``torch_dtype`` (float32: the GGUF weights de-quantized, as lmlens runs them);
- the tokenizer class ``TokenizersBackend`` → ``PreTrainedTokenizerFast``, and in
  ``tokenizer.json`` the BPE merges as ``"a b"`` strings (tokenizers ≥ 0.20 writes ``["a", "b"]``
  pairs, which tokenizers 0.19, the release transformers 4.40 needs, cannot parse).

The weights are tied (``tie_word_embeddings``), as in the original model.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

DEFAULT = Path("/tmp/smollm2-hf")


def _fix_config(path: Path) -> None:
    cfg = json.loads(path.read_text())
    rope = cfg.pop("rope_parameters", None) or {}
    if rope.get("rope_type", "default") != "default":
        raise ValueError(f"rope_parameters {rope}: only the default rope maps onto transformers 4.40")
    if "rope_theta" in rope:
        cfg["rope_theta"] = rope["rope_theta"]
    cfg.setdefault("rope_scaling", None)
    if "dtype" in cfg:
        cfg["torch_dtype"] = cfg.pop("dtype")
    path.write_text(json.dumps(cfg, indent=2, sort_keys=True) + "\n")


def _fix_tokenizer_config(path: Path) -> None:
    cfg = json.loads(path.read_text())
    cfg["tokenizer_class"] = "PreTrainedTokenizerFast"
    for key in ("backend", "is_local", "local_files_only"):
        cfg.pop(key, None)
    path.write_text(json.dumps(cfg, indent=2) + "\n")


def _fix_tokenizer_json(path: Path) -> None:
    tok = json.loads(path.read_text(encoding="utf-8"))
    merges = tok["model"].get("merges", [])
    if any(" " in part for m in merges if isinstance(m, list) for part in m):
        raise ValueError("a BPE merge holds a space: it cannot be written as an 'a b' string")
    tok["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in merges]
    path.write_text(json.dumps(tok, ensure_ascii=False), encoding="utf-8")


def write(folder: str | Path = DEFAULT, lens=None) -> Path:
    """Save ``lens`` (default: ``lmlens.load("smollm2")``) to ``folder`` for transformers 4.40;
    written to a temporary folder first, so a failure leaves no half-written ``folder``.

    >>> write("/tmp/smollm2-hf")  # doctest: +SKIP
    PosixPath('/tmp/smollm2-hf')
    """
    import torch

    import lmlens
    from lmlens.loading.embedded import replacing_folder

    folder = Path(folder)
    if lens is None:
        lens = lmlens.load("smollm2")
    if next(lens.model.parameters()).dtype != torch.float32:
        raise ValueError("the SmolLM2 weights must be float32 for the ecco comparison")
    with replacing_folder(folder) as tmp:
        lens.model.save_pretrained(tmp, safe_serialization=True)
        lens.tokenizer.save_pretrained(tmp)
        _fix_config(tmp / "config.json")
        _fix_tokenizer_config(tmp / "tokenizer_config.json")
        _fix_tokenizer_json(tmp / "tokenizer.json")
    return folder


def ready(folder: str | Path = DEFAULT) -> bool:
    """Whether ``folder`` holds a written model (weights, config and tokenizer)."""
    folder = Path(folder)
    return all((folder / f).exists() for f in ("model.safetensors", "config.json", "tokenizer.json"))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(write(sys.argv[1] if len(sys.argv) > 1 else DEFAULT))
