"""The layout of regionscope.lab: names, module limits, lazy matplotlib, no private reach."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import regionscope as rs
from regionscope import lab

LAB_DIR = Path(lab.__file__).resolve().parent
MODULES = sorted(LAB_DIR.glob("*.py"))

# what regionscope/__init__.py exposes lazily from regionscope.lab
LAZY = [
    "grid_patterns",
    "compare_with_grid",
    "max_regions_network",
    "region_count_stats",
    "perturbation_series",
    "check_affine",
    "lab_network",
    "arrangement_box",
]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_public_names_are_reexported():
    from regionscope.lab import LAB_SEED, run_lab01  # noqa: F401

    for name in lab.__all__:
        obj = getattr(lab, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert obj.__module__.startswith("regionscope.lab."), (name, obj.__module__)
    assert lab.LAB_DOMAIN.bounds == (-2.0, 2.0, -2.0, 2.0) and lab.LAB_SEED == 0
    for name in LAZY:
        assert name in lab.__all__
        assert getattr(rs, name) is getattr(lab, name)
    assert lab.run_lab01 is importlib.import_module("regionscope.lab.lab01").run_lab01


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_limits(path):
    lines = path.read_text().splitlines()
    assert len(lines) <= 900, f"{path.name} has {len(lines)} lines"
    for fn in _functions(_tree(path)):
        length = fn.end_lineno - fn.lineno + 1
        assert length <= 100, f"{path.name}:{fn.name} has {length} lines"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_matplotlib_only_inside_functions(path):
    tree = _tree(path)
    inside = {id(n) for fn in _functions(tree) for n in ast.walk(fn)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(n.split(".")[0] == "matplotlib" for n in names):
            assert id(node) in inside, f"{path.name}:{node.lineno} imports matplotlib at the top"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_private_names_of_other_modules(path):
    tree = _tree(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            private = [a.name for a in node.names if a.name.startswith("_")]
            assert not private, f"{path.name}:{node.lineno} imports {private}"
        dunder = node.attr.startswith("__") if isinstance(node, ast.Attribute) else False
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not dunder:
            base = node.value
            # only self._x / cls._x, never module._x or part._ev
            assert isinstance(base, ast.Name) and base.id in ("self", "cls"), (
                f"{path.name}:{node.lineno} reaches into .{node.attr}"
            )
    assert "sys.modules" not in path.read_text()  # torch is recognised in one place only


def test_public_api_is_typed_and_documented():
    for name in lab.__all__:
        obj = getattr(lab, name)
        if not callable(obj) or inspect.isclass(obj):
            continue
        sig = inspect.signature(obj)
        missing = [p for p in sig.parameters.values() if p.annotation is inspect.Parameter.empty]
        assert not missing, (name, missing)
        assert sig.return_annotation is not inspect.Signature.empty, name
        doc = inspect.getdoc(obj)
        for section in ("Parameters", "Returns", "Examples"):
            assert section in doc, (name, section)
