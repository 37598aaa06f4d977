"""Loading: the model and tokenizer from an embedded name, a Hugging Face id or a folder.

It returns parts; ``lmlens.load`` (``lmlens/__init__.py``) builds the ``Lens`` from them, so nothing in
here imports ``lmlens.lens``.

>>> from lmlens.loading import load_parts  # doctest: +SKIP
>>> model, tokenizer, name = load_parts("smollm2")  # doctest: +SKIP
"""

from .embedded import EMBEDDED
from .parts import load_parts
from .tokenizer_check import load_tokenizer

__all__ = ["EMBEDDED", "load_parts", "load_tokenizer"]
