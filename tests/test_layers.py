"""Imports only go down the layers (docs/architecture.md), and no two modules import each other.

Read from the source with `ast`, function-level imports included (they hide cycles, not
remove them); `if TYPE_CHECKING:` imports too, since mypy needs them to resolve. The layers,
lowest first; a module may import its own layer and the ones below:
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("formcheck.errors", "formcheck.util"),
    ("formcheck.inputs",),
    ("formcheck.pose",),
    ("formcheck.analysis",),
    ("formcheck.rules",),
    ("formcheck.config",),
    ("formcheck.pipeline",),
    ("formcheck.report",),
    ("formcheck.apps",),
    ("formcheck.cli",),
)
# The package itself is the public face (formcheck.analyze_path, Config, __version__): it sits
# on top, lazily; importing `__version__` from it is allowed everywhere.
FACE = "formcheck"


def layer_of(module: str) -> int:
    if module == FACE:
        return len(LAYERS)
    for i, prefixes in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"{module}: in no layer; add it to LAYERS in tests/test_layers.py")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the module imported (a submodule when `from pkg import submodule`)
    names: tuple[str, ...]
    line: int


def imports_of(path: Path, root: Path, known: set[str]) -> list[Import]:
    me = module_name(path, root)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [Import(me, a.name, (), node.lineno) for a in node.names if a.name.split(".")[0] == FACE]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            if base.split(".")[0] != FACE:
                continue
            names = tuple(a.name for a in node.names)
            subs = [f"{base}.{n}" for n in names if f"{base}.{n}" in known]
            found += [Import(me, s, (), node.lineno) for s in subs]
            rest = tuple(n for n in names if f"{base}.{n}" not in known)
            if rest:
                found.append(Import(me, base, rest, node.lineno))
    return found


def all_imports(root: Path) -> list[Import]:
    files = sorted(root.rglob("*.py"))
    known = {module_name(f, root) for f in files}
    return [imp for f in files for imp in imports_of(f, root, known)]


def upward(imports: list[Import]) -> list[str]:
    bad = []
    for imp in imports:
        if imp.target == FACE and imp.names == ("__version__",):
            continue
        if layer_of(imp.target) > layer_of(imp.source):
            bad.append(f"{imp.source}:{imp.line} imports {imp.target} (a higher layer)")
    return bad


def cycles(imports: list[Import]) -> list[str]:
    """Module-level cycles: a module that imports, through others, one that imports it."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if imp.target != imp.source and not imp.source.startswith(imp.target + "."):
            graph.setdefault(imp.source, set()).add(imp.target)
    found, done = [], set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            found.append(" -> ".join([*stack[stack.index(node):], node]))
            return
        if node in done:
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*stack, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return sorted(set(found))


def test_imports_go_down_the_layers() -> None:
    assert upward(all_imports(SRC)) == []


def test_no_import_cycles() -> None:
    assert cycles(all_imports(SRC)) == []


def test_every_module_has_a_layer() -> None:
    for f in SRC.rglob("*.py"):
        layer_of(module_name(f, SRC))


# ---- the checks themselves, on small fixture trees ----------------------------------------------


@pytest.mark.parametrize(
    ("files", "want_upward", "want_cycles"),
    [
        pytest.param({"pose/track.py": "from formcheck.errors import NotAVideo\n"}, 0, 0, id="down-is-fine"),
        pytest.param({"pose/track.py": "from formcheck.report.export import build\n"}, 1, 0, id="upward"),
        pytest.param({"pose/track.py": "def f():\n    from formcheck.cli import main\n"}, 1, 0,
                     id="upward-in-a-function"),
        pytest.param({"inputs/video.py": "from formcheck import report\n"}, 1, 0, id="upward-package-import"),
        pytest.param({"pose/track.py": "from formcheck import __version__\n"}, 0, 0, id="version-from-the-face"),
        pytest.param({"apps/a.py": "from formcheck.apps import b\n", "apps/b.py": "def f():\n"
                      "    from formcheck.apps.a import x\n"}, 0, 1, id="cycle-same-layer"),
    ],
)
def test_checker_on_fixtures(tmp_path: Path, files: dict[str, str], want_upward: int, want_cycles: int) -> None:
    root = tmp_path / "src"
    for rel, text in {"report/__init__.py": "", **files}.items():
        p = root / "formcheck" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        for d in (p.parent, *p.parent.parents):
            if d == root:
                break
            (d / "__init__.py").touch()
        p.write_text(text, encoding="utf-8")
    imports = all_imports(root)
    assert len(upward(imports)) == want_upward
    assert len(cycles(imports)) == want_cycles
