"""The ``Lens``: the user-facing object (``lens.py``), built from ``LensCore`` (``core.py``) and
one file of methods per analysis family."""

from .core import LensCore
from .lens import Lens

__all__ = ["Lens", "LensCore"]
