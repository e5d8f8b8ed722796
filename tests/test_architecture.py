"""The package's shape: no import cycles (lazy imports included), short functions and
modules, no reaching into another module's private names, no submodule hidden by a name."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import regionscope

SRC = Path(regionscope.__file__).parent
MAX_FUNCTION_LINES = 120
MAX_MODULE_LINES = 900


def modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """Every regionscope module ``name`` imports, at any depth of its code."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }  # imports for type hints only never run
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        for t in targets:
            # the module itself, or the deepest known module containing the name
            while t and t not in known:
                t = t.rsplit(".", 1)[0] if "." in t else ""
            if t and t != name:
                found.add(t)
    return found


def test_no_import_cycles_lazy_imports_included():
    mods = modules()
    known = set(mods)
    graph = {m: imported(m, p, known) for m, p in mods.items()}
    # a package imports its parent packages implicitly: ignore edges to ancestors
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycle = stack[stack.index(t) :] + [t]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_functions_and_modules_are_short():
    long_functions = []
    long_modules = []
    for name, path in modules().items():
        text = path.read_text()
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules.append((name, text.count("\n")))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append((name, node.name, length))
    assert not long_modules, long_modules
    assert not long_functions, long_functions


def test_no_private_names_from_other_modules():
    offenders = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (
                node.level or "regionscope" in (node.module or "")
            ):
                offenders += [(name, a.name) for a in node.names if a.name.startswith("_")]
    assert not offenders, offenders


def test_no_package_attribute_hides_a_submodule():
    hidden = []
    for info in pkgutil.walk_packages(regionscope.__path__, "regionscope."):
        if info.name.endswith("torch_import") or ".torch_import." in info.name:
            continue  # needs torch; checked by its own tests
        parent_name, _, child = info.name.rpartition(".")
        parent = importlib.import_module(parent_name)
        module = importlib.import_module(info.name)
        if getattr(parent, child) is not module:
            hidden.append(info.name)
    assert not hidden, hidden
