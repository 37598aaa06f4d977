"""Where the parts live: ``Anatomy`` and structural ``discover``."""

from .anatomy import Anatomy
from .discover import AnatomyError, discover

__all__ = ["Anatomy", "AnatomyError", "discover"]
