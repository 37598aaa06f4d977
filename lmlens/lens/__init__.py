"""The ``Lens``: the user-facing object. One mixin per analysis family keeps files small."""

from .core import LensCore


class Lens(LensCore):
    """A model + tokenizer with every lmlens analysis as a method returning a View.

    >>> import lmlens  # doctest: +SKIP
    >>> lens = lmlens.Lens(model, tokenizer)  # doctest: +SKIP
    """


__all__ = ["Lens"]
