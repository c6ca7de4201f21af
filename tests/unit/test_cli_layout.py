"""The command line is a package of one module per command group, without an import cycle."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import csvflow.cli

PACKAGE = "csvflow.cli"
MODULES = sorted(f"{PACKAGE}.{info.name}" for info in pkgutil.iter_modules(csvflow.cli.__path__))


def _imports_within_package(module: str) -> set[str]:
    """The package's modules that ``module`` imports, at its top or inside a function."""
    path = Path(csvflow.cli.__path__[0]) / f"{module.rpartition('.')[2]}.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from csvflow.cli import run` imports the module csvflow.cli.run; a name that is
            # not a module is taken from the package itself.
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [n if n in MODULES else node.module for n in submodules]
        else:
            continue
        found.update(n for n in names if n in MODULES or n == PACKAGE)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            if cycle := visit(target):
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        if cycle := visit(node):
            return cycle
    return None


def test_the_command_groups_are_modules_of_one_package():
    assert {"csvflow.cli.main", "csvflow.cli.run", "csvflow.cli.query"} <= set(MODULES)
    assert csvflow.cli.main.__module__ == "csvflow.cli.main"  # the entry point


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_on_its_own(module):
    assert importlib.import_module(module).__name__ == module


def test_no_module_of_the_cli_imports_the_package_or_another_in_a_cycle():
    graph = {m: _imports_within_package(m) for m in MODULES}
    graph[PACKAGE] = {f"{PACKAGE}.main"}  # what __init__ imports to expose main
    assert not any(PACKAGE in targets for m, targets in graph.items() if m != PACKAGE)
    assert _cycle(graph) is None, _cycle(graph)


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
