"""Defaults the lens methods share.

>>> VIEW_MAX_BYTES
10000000
"""

#: Default HTML budget of a view (= ``lmlens.views.DEFAULT_MAX_BYTES``; a test keeps them equal).
#: Repeated here so the Lens methods' signatures need no views import (views pull in jinja2).
VIEW_MAX_BYTES = 10_000_000
