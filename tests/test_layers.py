"""The layers of DESIGN.md import only to their left: names ← anatomy ← capture ← analyses ← views."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "lmlens"
ORDER = ["names", "anatomy", "capture", "analyses", "views"]
FORBIDDEN_BELOW_VIEWS = {"jinja2", "IPython", "matplotlib", "ipywidgets", "anywidget"}


def _layer(path: Path) -> str | None:
    rel = path.relative_to(ROOT).parts
    head = rel[0].removesuffix(".py")
    return head if head in ORDER else None


def _imports(path: Path) -> set[str]:
    """Absolute names of lmlens modules and top-level packages that ``path`` imports."""
    tree = ast.parse(path.read_text())
    pkg = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if path.name == "__init__.py":
        pkg = pkg[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                keep = len(pkg) - node.level + (1 if path.name == "__init__.py" else 0)
                base = ".".join(pkg[:keep])
                if node.module is None:  # from .. import names
                    out.update(f"{base}.{a.name}" for a in node.names)
                    continue
                mod = f"{base}.{node.module}"
            else:
                mod = node.module or ""
            out.add(mod)
    return out


FILES = [p for p in ROOT.rglob("*.py") if _layer(p)]


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_left(path):
    layer = _layer(path)
    allowed = set(ORDER[: ORDER.index(layer) + 1])
    for mod in _imports(path):
        parts = mod.split(".")
        if parts[0] == "lmlens" and len(parts) > 1:
            target = parts[1]
            assert target in allowed or target not in ORDER + ["lens", "loading", "report", "cli"], (
                f"{path.relative_to(ROOT)} ({layer}) imports {mod}: layers import only to their left"
            )
            assert target not in ("lens", "loading", "report", "cli"), (
                f"{path.relative_to(ROOT)} imports {mod}, which sits above every layer"
            )
        if layer != "views":
            assert parts[0] not in FORBIDDEN_BELOW_VIEWS, f"{path.relative_to(ROOT)} imports {mod}"
