"""Views: result → versioned JSON-able spec → one HTML shell + one small JS runtime.

A view of kind ``K`` needs three files:

- ``lmlens/views/K.py``: a spec builder, result → ``View({"kind": "K", "version": 1, ...})``
  with arrays as ``encode_array`` records;
- ``js/src/views/K.js``: ``render({model, el})`` returning a cleanup function, and ``VERSION``;
- optionally ``templates/fallback/K.html.j2``: what shows where scripts do not run.

>>> from lmlens.views import View, encode_array
>>> View({"kind": "predictions", "version": 1}).kind
'predictions'
"""

from ._budget import DEFAULT_MAX_BYTES, ViewTooLargeError
from ._encode import decode_array, encode_array, quantize
from ._resources import AssetsNotFoundError
from .fit import fit
from .page import page_html, save_page
from .predictions import predictions_view
from .view import View

__all__ = [
    "DEFAULT_MAX_BYTES",
    "AssetsNotFoundError",
    "View",
    "ViewTooLargeError",
    "decode_array",
    "encode_array",
    "fit",
    "page_html",
    "predictions_view",
    "quantize",
    "save_page",
]
