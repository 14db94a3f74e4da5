"""Import contracts: the core's layers import only downwards and never the app, the app's rooms only downwards, no import circles (read from the source)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[2]
CORE = ROOT / "unet_core"
APP = ROOT / "app"

# lowest first: a module may import its own layer and those before it
LAYERS = ["plumbing", "data", "store", "edit", "model", "clicks", "sample", "training", "loop", "formats", "sim", "cli"]
PLUMBING = {"__init__", "__main__", "errors", "fsutil", "devices", "limits", "priority"}


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


def _modules(package: Path) -> dict[str, Path]:
    return {_module_name(p): p for p in package.rglob("*.py") if "__pycache__" not in p.parts}


def _circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (module -> modules it imports), or ``None``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := walk(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := walk(module)) is not None:
            return found
    return None


def _top_level_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Who imports whom when a module is loaded (imports in functions and under TYPE_CHECKING left out)."""
    return {m: {i for i, top in _imports(p) if top and i in modules and i != m} for m, p in modules.items()}


def test_no_import_circles_in_the_core() -> None:
    modules = _core_modules()
    graph = _top_level_graph(modules)
    for package in [m for m, p in modules.items() if p.name == "__init__.py"]:
        graph[package] = set()  # a package's __init__ only re-exports, lazily
    circle = _circle(graph)
    assert circle is None, "import circle: " + " -> ".join(circle or [])


def test_no_import_circles_in_the_app() -> None:
    modules = _modules(APP)
    assert {"app.window.main_window", "app.document.workspace", "app.workers"} <= set(modules)
    circle = _circle(_top_level_graph(modules))
    assert circle is None, "import circle: " + " -> ".join(circle or [])


def test_app_rooms_import_only_downwards() -> None:
    """The views (canvas, panels) never reach up into the window; the document and the workers know no view."""
    above = {
        "app.canvas": ("app.window", "app.document", "app.panels", "app.workers"),
        "app.panels": ("app.window", "app.canvas"),
        "app.document": ("app.window", "app.canvas", "app.panels"),
        "app.workers": ("app.window", "app.document", "app.canvas", "app.panels"),
    }
    problems = []
    for module, path in _modules(APP).items():
        room = ".".join(module.split(".")[:2])
        for imported, _top in _imports(path):
            if any(imported == f or imported.startswith(f + ".") for f in above.get(room, ())):
                problems.append(f"{module} imports {imported}")
    assert not problems, "\n".join(problems)
