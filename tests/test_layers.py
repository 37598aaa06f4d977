"""Every module of lmlens sits in a layer of DESIGN.md and imports only to its left, and the
import graph of lmlens's modules has no circle.

names ← anatomy ← capture ← analyses ← views ← lens ← (report, cli, the package itself);
loading sits beside analyses (it builds no Lens: ``lmlens.load`` composes it at the top); probes
(facts) and corpus (text files in, vector files out) import nothing of lmlens.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "lmlens"
BASE = {"_version"}  # readable from anywhere
ALLOWED: dict[str, set[str]] = {
    "names": set(),
    "probes": set(),  # facts for knowledge probes: data and the code that reads it
    "corpus": set(),  # text files as numbered lines in, vector files out
    "anatomy": {"names"},
    "capture": {"names", "anatomy"},
    "analyses": {"names", "anatomy", "capture", "probes"},
    "loading": {"names", "anatomy", "capture"},
    "views": {"names", "anatomy", "capture", "analyses"},
    # loading: Ray actors (lens/embed_ray.py) load the model again by name
    "lens": {"names", "anatomy", "capture", "analyses", "views", "probes", "corpus", "loading"},
    "report": {"names", "anatomy", "capture", "analyses", "views", "lens"},
    "cli": {"names", "anatomy", "capture", "analyses", "views", "lens", "loading", "report",
            "probes", "corpus", "__init__"},
    "__main__": {"cli"},
    "__init__": {"names", "anatomy", "capture", "analyses", "views", "lens", "loading", "probes"},
}
#: Parts that must stay importable without the view stack (the analyses test imports them bare).
LIGHT = {"names", "probes", "corpus", "anatomy", "capture", "analyses", "loading"}
FORBIDDEN_LIGHT = {"jinja2", "IPython", "matplotlib", "ipywidgets", "anywidget"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _part(module: str) -> str:
    """The layer of a module name: ``lmlens.views.rankings`` → ``views``; the package → ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Line numbers inside ``if TYPE_CHECKING:`` blocks (imports there never run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                lines.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return lines


def _imports(path: Path, *, runtime_only: bool = False) -> set[str]:
    """Absolute names imported by ``path``: lmlens modules (resolved to the module that exists)
    and top-level packages."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree) if runtime_only else set()
    pkg = _module_name(path).split(".")
    if path.name != "__init__.py":
        pkg = pkg[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            candidates = [f"{mod}.{a.name}" for a in node.names]
            hits = [c for c in candidates if c in MODULES]
            out.update(hits if hits else [mod])
    return {_resolve(m) for m in out}


def _resolve(name: str) -> str:
    """The longest prefix of ``name`` that is an lmlens module (``lmlens.x.Y`` → ``lmlens.x``)."""
    if not name.startswith("lmlens"):
        return name
    parts = name.split(".")
    while parts and ".".join(parts) not in MODULES:
        parts.pop()
    return ".".join(parts) or name


@pytest.mark.parametrize("module", sorted(MODULES), ids=str)
def test_every_module_imports_only_to_its_left(module):
    part = _part(module)
    assert part in ALLOWED or part in BASE, (
        f"{module}: the top-level part {part!r} is in no layer; add it to DESIGN.md's layers "
        "and to ALLOWED here"
    )
    allowed = ALLOWED.get(part, set()) | BASE | {part}
    for imp in _imports(MODULES[module]):
        top = imp.split(".")[0]
        if top == "lmlens":
            target = _part(imp)
            assert target in allowed, f"{module} ({part}) imports {imp} ({target}); allowed: {sorted(allowed)}"
        elif part in LIGHT:
            assert top not in FORBIDDEN_LIGHT, f"{module} ({part}) imports {imp}"


def _cycles() -> list[list[str]]:
    graph = {
        m: sorted(i for i in _imports(p, runtime_only=True) if i in MODULES and i != m)
        for m, p in MODULES.items()
    }
    found, state, stack = [], {}, []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in graph[m]:
            if state.get(n) == 1:
                found.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return found


def test_the_import_graph_has_no_circle():
    assert _cycles() == []


def test_the_check_sees_every_file_and_finds_a_planted_circle(monkeypatch):
    assert len(MODULES) > 40 and "lmlens.views.view" in MODULES and "lmlens.cli" in MODULES
    assert all(_part(m) in ALLOWED or _part(m) in BASE for m in MODULES)
    real = _imports

    def planted(path, *, runtime_only=False):
        out = real(path, runtime_only=runtime_only)
        if path == MODULES["lmlens.names"]:
            out = out | {"lmlens.capture.trace"}
        return out

    monkeypatch.setattr(__import__(__name__), "_imports", planted)
    assert any("lmlens.names" in c for c in _cycles())
