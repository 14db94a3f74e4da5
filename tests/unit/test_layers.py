"""Import contracts: unet_core's layers import only downwards, nothing in the core imports the app, and no
module of the core takes part in an import circle (read from the source, nothing is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]
CORE = ROOT / "unet_core"

# lowest first: a module may import its own layer and those before it
LAYERS = ["plumbing", "data", "store", "edit", "model", "sample", "training", "loop", "sim", "cli"]
PLUMBING = {"__init__", "__main__", "errors", "fsutil", "devices", "limits"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    if module == "unet_core.__main__":
        return "cli"  # ``python -m unet_core`` is the command line
    if len(parts) == 1 or (len(parts) == 2 and parts[1] in PLUMBING):
        return "plumbing"
    return parts[1]


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level) for every import of ``path`` outside ``if TYPE_CHECKING``."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, top) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, top))
            found.extend((f"{node.module}.{alias.name}", top) for alias in node.names)
        nested = top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, nested)

    visit(tree, True)
    return found


def _core_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in CORE.rglob("*.py") if "__pycache__" not in p.parts}


def test_every_core_module_belongs_to_a_layer() -> None:
    for module in _core_modules():
        assert _layer(module) in LAYERS, f"{module} is in no layer; put it in a subpackage"


def test_layers_import_only_downwards_and_never_the_app() -> None:
    modules = _core_modules()
    problems = []
    for module, path in modules.items():
        rank = LAYERS.index(_layer(module))
        for imported, _top in _imports(path):
            root = imported.split(".")[0]
            if root in ("app", "PySide6", "shiboken6", "pyqtgraph", "qimage2ndarray"):
                problems.append(f"{module} imports {imported}")
            elif root == "unet_core" and imported in modules and LAYERS.index(_layer(imported)) > rank:
                problems.append(f"{module} ({_layer(module)}) imports {imported} ({_layer(imported)})")
    assert not problems, "\n".join(problems)


def test_no_import_circles_in_the_core() -> None:
    modules = _core_modules()
    graph = {m: {i for i, top in _imports(p) if top and i in modules and i != m} for m, p in modules.items()}
    for package in [m for m, p in modules.items() if p.name == "__init__.py"]:
        graph[package] = set()  # a package's __init__ only re-exports, lazily
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join([*stack[stack.index(nxt):], nxt]))
            if nxt not in state:
                walk(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)
