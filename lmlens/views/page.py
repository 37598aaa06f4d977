"""Several views on one standalone page, with the JS runtime inlined once.

A section is a ``View``, a ``(title, View)`` pair, or a ``(title, str)`` pair whose text shows
as a note (e.g. why a view is missing). The report (``lmlens.report``) is built on this.

>>> from lmlens.views import View
>>> v = View({"kind": "predictions", "version": 1})
>>> html = page_html([("First", v), ("Second", v)], title="two views")
>>> html.count('class="lmlens-root"'), html.count("function load(path)")
(2, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ._html import render_page
from .view import View, write_text

Section = View | tuple[str | None, View | str]


def _section(item: Section) -> dict:
    title, body = (None, item) if isinstance(item, View) else item
    if isinstance(body, View):
        return body.section(title)
    if isinstance(body, str):
        return {"title": title, "note": body}
    raise TypeError(f"a page section is a View or (title, View | str), got {type(item).__name__}")


def page_html(
    sections: Sequence[Section],
    *,
    title: str = "lmlens",
    heading: bool = True,
    intro: str | None = None,
    footer: str | None = None,
) -> str:
    """One standalone HTML page holding every section (runtime inlined once)."""
    return render_page(
        [_section(s) for s in sections], title=title, heading=heading, intro=intro, footer=footer
    )


def save_page(sections: Sequence[Section], path: str | Path, **kwargs) -> Path:
    """Write ``page_html(sections, **kwargs)`` to ``path``; returns the path."""
    return write_text(path, page_html(sections, **kwargs))
