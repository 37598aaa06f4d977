"""Where the view assets live: ``templates/`` and the JS runtime sources ``js/src/`` (each module's
``.js`` and its ``.css`` stylesheet).

In a source checkout or an editable install they sit at the repository root. In a wheel,
``pyproject.toml`` force-includes them as ``lmlens/_assets/templates`` and ``lmlens/_assets/js``.

>>> (templates_dir() / "fragment.html.j2").is_file()
True
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # .../lmlens
_SOURCE_ROOT = _PACKAGE.parent  # the repository root in a checkout


class AssetsNotFoundError(FileNotFoundError):
    """Neither the packaged nor the source-checkout assets were found."""


def _candidates() -> list[tuple[Path, Path]]:
    """(templates, js) pairs, packaged first, then the source checkout."""
    return [
        (_PACKAGE / "_assets" / "templates", _PACKAGE / "_assets" / "js"),
        (_SOURCE_ROOT / "templates", _SOURCE_ROOT / "js" / "src"),
    ]


@lru_cache(maxsize=1)
def asset_dirs() -> tuple[Path, Path]:
    """``(templates_dir, js_dir)``; raises ``AssetsNotFoundError`` naming every place tried."""
    tried = []
    for templates, js in _candidates():
        if (templates / "fragment.html.j2").is_file() and all((js / f).is_file() for f in ("index.js", "index.css")):
            return templates, js
        tried.append(f"{templates} + {js}")
    raise AssetsNotFoundError(
        "lmlens cannot find its view templates and JS runtime. Looked in: "
        + "; ".join(tried)
        + ". A wheel ships them as lmlens/_assets (rebuild it); a source checkout needs "
        "templates/ and js/src/ (with its .js and .css files) at the repository root."
    )


def templates_dir() -> Path:
    """Folder of the jinja2 templates."""
    return asset_dirs()[0]


def js_dir() -> Path:
    """Folder of the JS runtime sources and stylesheets (``index.js``, ``index.css``,
    ``views/<kind>.js``, ...)."""
    return asset_dirs()[1]
