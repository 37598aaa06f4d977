"""The ``Lens``: the user-facing object. One mixin per analysis family keeps files small."""

from .attribution import AttributionMethods
from .core import LensCore
from .logit_lens import LogitLensMethods
from .predictions import PredictionsMethods


class Lens(PredictionsMethods, LogitLensMethods, AttributionMethods, LensCore):
    """A model + tokenizer with every lmlens analysis as a method returning a View.

    >>> import lmlens  # doctest: +SKIP
    >>> lens = lmlens.Lens(model, tokenizer)  # doctest: +SKIP
    >>> lens.rankings("The capital of France is")  # doctest: +SKIP
    """


__all__ = ["Lens"]
