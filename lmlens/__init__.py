"""lmlens: interactive, offline views of transformer internals.

>>> import lmlens  # doctest: +SKIP
>>> lens = lmlens.load("smollm2")  # doctest: +SKIP
>>> lens.trace("The capital of France is")["blocks.3.resid_post"].shape  # doctest: +SKIP
torch.Size([5, 576])
"""

from ._version import __version__
from .analyses.result import load_result
from .anatomy import Anatomy, AnatomyError
from .api import load
from .capture import Readout, Trace
from .lens import Lens

__all__ = [
    "Anatomy", "AnatomyError", "Lens", "Readout", "Trace", "View", "__version__", "load",
    "load_result",
]


def __getattr__(name: str):
    # Views pull in jinja2; import them only when asked so `import lmlens.analyses` stays light.
    if name == "View":
        from .views import View

        return View
    raise AttributeError(f"module 'lmlens' has no attribute {name!r}")
