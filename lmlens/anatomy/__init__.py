"""Where the parts live: ``Anatomy`` and structural ``discover``."""

from .anatomy import Anatomy, MissingPart
from .discover import AnatomyError, discover

__all__ = ["Anatomy", "AnatomyError", "MissingPart", "discover"]
