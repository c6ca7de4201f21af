"""The local runtime is an extra: a plain install runs the operator's commands without it.

An operator who only lists or redrives executions in AWS installs `csvflow` alone; moto,
Flask, the embedded PostgreSQL and the per-user folder come with `csvflow[local]`. The
commands run here in a fresh interpreter whose imports of those modules fail, as they do where
the extra was never installed.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from csvflow.local import EXTRA, EXTRA_MODULES

ROOT = Path(__file__).parents[2]
PACKAGE = ROOT / "layers" / "shared" / "csvflow"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
INSTALL_THE_EXTRA = 'pip install "csvflow[local]"'
NO_DATABASE = "postgresql://nobody@127.0.0.1:1/x"

# What a plain install lacks: the extra's modules, and pandas (the tests' and benchmark's).
ABSENT = sorted(EXTRA_MODULES | {"pandas"})

# Run in a fresh interpreter: imports of ABSENT fail as they do where nothing installed them,
# then `python -m csvflow ARGV...` runs; what was imported is printed last, after a marker.
_WITHOUT_THE_EXTRA = """
import importlib.abc, json, runpy, sys

absent = set(json.loads(sys.argv[1]))


class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in absent:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NotInstalled())
sys.argv = ["csvflow", *sys.argv[2:]]
try:
    runpy.run_module("csvflow", run_name="__main__", alter_sys=True)
except SystemExit as exit:
    code = exit.code
else:
    code = 0
loaded = sorted({m.partition(".")[0] for m in sys.modules} & absent)
print("\\n@@imported " + json.dumps(loaded))
sys.exit(code)
"""


def _without_the_extra(*argv: str, env: dict[str, str] | None = None):
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_THE_EXTRA, json.dumps(ABSENT), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env if env is not None else dict(os.environ),
        timeout=120,
        check=False,
    )
    out, _, imported = result.stdout.rpartition("\n@@imported ")
    return result.returncode, out, result.stderr, json.loads(imported)


def _names(requirements: list[str]) -> set[str]:
    return {canonicalize_name(Requirement(line).name) for line in requirements}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_local_runtime_and_pandas_are_not_runtime_dependencies():
    runtime = _names(PROJECT["dependencies"])
    assert not runtime & {"moto", "flask", "flask-cors", "pgserver", "platformdirs", "pandas"}


def test_the_extra_holds_the_modules_the_cli_names_when_they_are_missing():
    extra = PROJECT["optional-dependencies"][EXTRA]
    assert {name.replace("-", "_") for name in _names(extra)} == EXTRA_MODULES


def test_dev_installs_everything_the_local_extra_does():
    # The README's test command (`.[dev]`) also runs `csvflow run`.
    dev = PROJECT["optional-dependencies"]["dev"]
    extra = PROJECT["optional-dependencies"][EXTRA]
    assert f"csvflow[{EXTRA}]" in dev or set(extra) <= set(dev)


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return names


def test_only_the_local_runtime_imports_the_extras_modules_and_nothing_imports_pandas():
    importers: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for name in _imported_modules(path) & set(ABSENT):
            importers.setdefault(name, set()).add(path.relative_to(PACKAGE).parts[0])
    assert "pandas" not in importers
    assert set(importers) <= EXTRA_MODULES
    assert all(folders == {"local"} for folders in importers.values()), importers


@pytest.mark.parametrize("argv", [["--help"], ["executions", "--help"], ["redrive", "--help"]])
def test_a_plain_install_shows_the_commands_without_importing_the_extra(argv):
    code, out, err, imported = _without_the_extra(*argv)
    assert (code, err) == (0, "")
    assert out.startswith("usage: csvflow")
    assert imported == []


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["executions", "--endpoint-url", "{endpoint}"], "csvflow: cannot reach {endpoint}"),
        (["dlq", "list", "--endpoint-url", "{endpoint}"], "csvflow: cannot reach {endpoint}"),
        (["ingestions", "--database-url", "{database}"], "csvflow: cannot connect to PostgreSQL"),
    ],
)
def test_an_operator_command_runs_without_the_extra(argv, said):
    # Nothing answers there: the command gets as far as calling it, and says so in its words.
    endpoint, database = f"http://127.0.0.1:{_free_port()}", NO_DATABASE
    filled = [a.format(endpoint=endpoint, database=database) for a in argv]
    code, _, err, imported = _without_the_extra(*filled)
    assert code == 2
    assert err.startswith(said.format(endpoint=endpoint)), err
    assert imported == []


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "examples/sales.csv", "--database-url", NO_DATABASE],
        ["local", "serve", "--port", "0", "--database-url", NO_DATABASE],
        # No database named: the embedded PostgreSQL, which is the extra's.
        ["summary", "sales.csv"],
        ["migrate"],
        # The local account's folder.
        ["logs", "validate"],
    ],
)
def test_a_command_that_needs_the_local_runtime_says_which_extra_to_install(argv):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    code, out, err, _ = _without_the_extra(*argv, env=env)
    assert code == 2
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("csvflow: this command runs csvflow's local runtime, which is not")
    assert INSTALL_THE_EXTRA in line


def test_profiling_a_local_file_needs_no_extra():
    # The same validate and summarize code as the functions: the plain install's libraries.
    code, out, err, imported = _without_the_extra(
        "profile", "examples/sales.csv", "--contract", "examples/contracts/sales.yaml", "--json"
    )
    assert (code, err) == (0, "")
    assert json.loads(out)["status"] == "SUCCEEDED"
    assert imported == []
