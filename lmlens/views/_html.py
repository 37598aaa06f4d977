"""The ONE HTML shell every view goes through.

- jinja2 templates from ``templates/`` with autoescape on; data enters only through ``|tojson``
  (which escapes ``<``, ``>``, ``&`` and ``'``, so ``</script>`` in a token cannot end a script).
- The JS runtime (every file of ``js/src``) is inlined as one expression; it is code, inserted
  with ``|safe`` after a check that it holds no ``</script``, ``<!--`` or ``http(s)://``.
- Styles: one mechanism. A JS module ``js/src/X.js`` may have a stylesheet ``js/src/X.css`` next to
  it; an output carries the stylesheets of exactly the modules it inlines (shell, ui pieces, view),
  in that order. Every selector starts with ``&``, which stands for the scope: the fragment's root.
- Every fragment gets a fresh root id (``lmlens-<uuid hex>``): styles are scoped under it and
  the mount script finds its own root, so two outputs on one page never interfere.
- A plain-HTML fallback (``templates/fallback/<kind>.html.j2``, else ``default``) shows where
  scripts do not run; a JS error is written into the view.

>>> html = render_fragment({"kind": "predictions", "version": 1, "title": "<b>"}, {})
>>> "&lt;b&gt;" in html and "<b>" not in html
True
>>> view_css(["predictions"], "#r").startswith("#r{margin: 6px 0;}")
True
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from functools import lru_cache

import jinja2

from ._format import format_prob, visible_token
from ._resources import js_dir, templates_dir

_KIND = re.compile(r"^[a-z][a-z0-9_]*$")
_FORBIDDEN = re.compile(r"</script|<!--|https?://", re.IGNORECASE)
# A stylesheet may not close the <style>, load anything (url(), @import) or hide rules in at-rules.
_CSS_FORBIDDEN = re.compile(r"</|<!--|https?://|url\(|@import|expression\(", re.IGNORECASE)
_SCOPE = "\ue000"  # stands for the scope selector in the prepared stylesheets
_JSON_KWARGS = {"ensure_ascii": False, "separators": (",", ":"), "allow_nan": False, "sort_keys": False}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja2 environment (autoescape on, strict undefined, compact ``tojson``)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.policies["json.dumps_kwargs"] = dict(_JSON_KWARGS)
    env.filters["prob"] = format_prob
    env.filters["visible"] = visible_token
    return env


def _strip_comments(source: str) -> str:
    """Drop whole-line ``//`` comments, block comments that start a line, and blank lines.

    A line with code after its block comment (``/** @type {X} */ (y).z()``) is kept whole.
    """
    out: list[str] = []
    in_block = False
    for line in source.splitlines():
        s = line.strip()
        if in_block or s.startswith("/*"):
            end = s.find("*/", 0 if in_block else 2)
            if end >= 0 and s[end + 2 :].strip():  # code after the comment: keep the line whole
                out.append(line)
            in_block = end < 0
            continue
        if not s or s.startswith("//"):
            continue
        out.append(line)
    return "\n".join(out) + "\n"


_REQUIRE = re.compile(r"""require\(\s*["'](\.{1,2}/[^"']+)["']\s*\)""")


def _resolve(base: str, rel: str) -> str:
    parts: list[str] = base.split("/")[:-1]
    for piece in rel.split("/"):
        if piece == "..":
            parts.pop()
        elif piece not in (".", ""):
            parts.append(piece)
    return "/".join(parts)


@lru_cache(maxsize=1)
def _all_modules() -> dict[str, str]:
    root = js_dir()
    mods: dict[str, str] = {}
    for p in sorted(root.rglob("*.js")):
        rel = p.relative_to(root).as_posix()
        source = _strip_comments(p.read_text(encoding="utf-8"))
        bad = _FORBIDDEN.search(source)
        if bad:
            raise ValueError(f"js/src/{rel} contains {bad.group(0)!r}, which an inlined script must not hold")
        mods[rel] = source
    return mods


def _split_top(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` outside parentheses and brackets (selector lists)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def scope_css(css: str, name: str = "stylesheet") -> str:
    """Check and compact one stylesheet whose selectors all start with ``&`` (the scope).

    Returns the rules with comments and extra whitespace removed and each leading ``&`` replaced
    by a placeholder that ``view_css`` fills with the scope selector. Raises ``ValueError`` (naming
    ``name``) for a selector without ``&``, an at-rule, ``url(``/``@import``/``</`` or unbalanced braces.

    >>> scope_css("/* c */ & .a, &[x] > b { color: red;  }").replace("\ue000", "#r")
    '#r .a,#r[x] > b{color: red;}'
    """
    if _SCOPE in css:
        raise ValueError(f"{name} holds the reserved character U+E000")
    bad = _CSS_FORBIDDEN.search(css)
    if bad:
        raise ValueError(f"{name} contains {bad.group(0)!r}, which an inlined stylesheet must not hold")
    text = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules: list[str] = []
    rest = text
    while rest.strip():
        open_at = rest.find("{")
        close_at = rest.find("}")
        if open_at < 0 or close_at < open_at:
            raise ValueError(f"{name}: unbalanced braces near {rest.strip()[:40]!r}")
        prelude, body, rest = rest[:open_at], rest[open_at + 1 : close_at], rest[close_at + 1 :]
        selectors = [" ".join(sel.split()) for sel in _split_top(prelude, ",")]
        for sel in selectors:
            if sel.startswith("@"):
                raise ValueError(f"{name}: at-rules ({sel.split()[0]}) are not allowed; themes go through [data-lm-theme]")
            if not sel.startswith("&"):
                raise ValueError(f"{name}: selector {sel!r} must start with '&' (the view's root) so it stays scoped")
        if "{" in body:
            raise ValueError(f"{name}: nested rules are not allowed near {prelude.strip()[:40]!r}")
        decls = ";".join(d.strip() for d in body.split(";") if d.strip())
        decls = " ".join(decls.split())
        rules.append(",".join(_SCOPE + sel[1:] for sel in selectors) + "{" + decls + ";}" if decls else "")
    return "".join(rules)


@lru_cache(maxsize=1)
def _all_styles() -> dict[str, str]:
    """``{"ui/token_strip.js": prepared css, ...}``: each module's stylesheet, keyed by its JS file."""
    root = js_dir()
    styles: dict[str, str] = {}
    for p in sorted(root.rglob("*.css")):
        rel = p.relative_to(root).as_posix()
        module = rel[: -len(".css")] + ".js"
        if not (root / module).is_file():
            raise ValueError(f"js/src/{rel} has no js/src/{module}: a stylesheet belongs to the module that draws it")
        styles[module] = scope_css(p.read_text(encoding="utf-8"), f"js/src/{rel}")
    return styles


def _style_order(path: str) -> tuple[int, str]:
    """The shell first, then shared modules, then ui pieces, then views (later rules win)."""
    if path == "index.js":
        return (0, path)
    return ({"ui": 2, "views": 3}.get(path.split("/")[0], 1) if "/" in path else 1, path)


def view_css(kinds: Sequence[str] | None, scope: str) -> str:
    """The stylesheets of the modules that draw ``kinds`` (None: every view), scoped under the CSS
    selector ``scope`` (a fragment's ``#root-id``; a live widget's own class)."""
    if not scope or "{" in scope or "}" in scope or _SCOPE in scope:
        raise ValueError(f"scope must be a CSS selector such as '#lmlens-1234', got {scope!r}")
    styles = _all_styles()
    paths = sorted((m["path"] for m in js_modules(kinds)), key=_style_order)
    return "".join(styles[p] for p in paths if p in styles).replace(_SCOPE, scope)


def js_modules(kinds: Sequence[str] | None = None) -> list[dict[str, str]]:
    """``[{"path": "views/predictions.js", "source": ...}, ...]``, sorted by path.

    ``kinds=None`` gives every runtime file; otherwise ``index.js`` and ``views/<kind>.js`` for
    each kind, with everything they ``require`` (an output carries only the code it draws with).
    """
    mods = _all_modules()
    if kinds is None:
        return [{"path": k, "source": v} for k, v in mods.items()]
    todo = ["index.js"] + [f"views/{k}.js" for k in kinds]
    seen: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        if path not in mods:
            raise ValueError(f"no JS module {path!r} in js/src")
        seen.add(path)
        todo.extend(_resolve(path, r) for r in _REQUIRE.findall(mods[path]))
    return [{"path": k, "source": mods[k]} for k in sorted(seen)]


@lru_cache(maxsize=64)
def _runtime(kinds: tuple[str, ...] | None) -> str:
    code = environment().get_template("runtime.js.j2").render(modules=js_modules(kinds)).strip()
    bad = _FORBIDDEN.search(code)
    if bad:  # pragma: no cover - js_modules checks each file
        raise ValueError(f"the JS runtime contains {bad.group(0)!r}")
    return code


def runtime_js(kinds: Sequence[str] | None = None) -> str:
    """The JS runtime as one expression whose value is ``js/src/index.js``'s exports: for the
    given view kinds only (what an output needs), or every view when ``kinds`` is None."""
    return _runtime(None if kinds is None else tuple(sorted(set(kinds))))


def check_spec(spec: Mapping) -> None:
    """Raise ``ValueError`` unless ``spec`` is a JSON-able view spec with a known kind."""
    if not isinstance(spec, Mapping):
        raise TypeError(f"spec must be a dict, got {type(spec).__name__}")
    kind = spec.get("kind")
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise ValueError(f"spec['kind'] must be a lowercase name like 'predictions', got {kind!r}")
    version = spec.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"spec['version'] must be a positive int, got {version!r}")
    if not (js_dir() / "views" / f"{kind}.js").is_file():
        raise ValueError(f"no JS module for view kind {kind!r}: expected js/src/views/{kind}.js")
    try:
        json.dumps(spec, **_JSON_KWARGS)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"the {kind} spec is not JSON-able ({e}); put arrays in with "
            "lmlens.views.encode_array (NaN cannot go into JSON)"
        ) from None


def _version() -> str:
    from .._version import __version__

    return __version__


def new_root_id() -> str:
    """A fresh, unique root element id."""
    return f"lmlens-{uuid.uuid4().hex}"


def fallback_template(kind: str) -> str:
    """``fallback/<kind>.html.j2`` if it exists, else ``fallback/default.html.j2``."""
    name = f"fallback/{kind}.html.j2"
    return name if (templates_dir() / name).is_file() else "fallback/default.html.j2"


def render_fragment(
    spec: Mapping,
    fallback: Mapping,
    *,
    runtime: bool = True,
    root_id: str | None = None,
) -> str:
    """One view as an HTML fragment (root div, scoped style, fallback, data, mount script).

    ``runtime=False`` leaves the runtime out: the page that holds the fragment loads it once.
    """
    root_id = root_id or new_root_id()
    return environment().get_template("fragment.html.j2").render(
        root_id=root_id,
        css=view_css([spec["kind"]], f"#{root_id}"),
        spec=spec,
        fb=fallback,
        fallback_template=fallback_template(spec["kind"]),
        runtime=runtime_js([spec["kind"]]) if runtime else None,
        version=_version(),
    )


def render_page(
    sections: Sequence[Mapping],
    *,
    title: str,
    heading: bool = True,
    intro: str | None = None,
    footer: str | None = None,
) -> str:
    """A standalone page: ``sections`` are ``{"title": str | None, "html": fragment}`` dicts
    whose fragments were rendered with ``runtime=False``; the runtime goes in once, with the
    modules of the sections' ``"kind"`` values."""
    return environment().get_template("page.html.j2").render(
        sections=sections,
        title=title,
        heading=heading,
        intro=intro,
        footer=footer,
        runtime=runtime_js([s["kind"] for s in sections if s.get("kind")]),
        version=_version(),
    )
