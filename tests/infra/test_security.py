"""Security checks: bandit on the package, SQL only from parameters or identifiers, and the
installed dependencies audited for known vulnerabilities (pip-audit)."""

import ast
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.iac import ROOT

pytestmark = pytest.mark.infra
PACKAGE = ROOT / "layers" / "shared" / "csvflow"


def test_bandit_finds_nothing():
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "bandit"),
            "-c",
            str(ROOT / "pyproject.toml"),
            "-r",
            str(PACKAGE),
            "-f",
            "json",
            "-q",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    report = json.loads(result.stdout)
    assert report["results"] == [], json.dumps(report["results"], indent=2)[:4000]
    assert report["metrics"]["_totals"]["loc"] > 1000  # it did scan the package


# pip-audit asks PyPI for each installed version: /pypi/<name>/<version>/json
VULNERABILITY_SERVICE = "https://pypi.org/pypi/pip/24.0/json"


def _vulnerability_service_answers() -> bool:
    try:
        with urllib.request.urlopen(VULNERABILITY_SERVICE, timeout=10) as response:  # nosec B310
            return response.status == 200 and "vulnerabilities" in json.load(response)
    except (urllib.error.URLError, TimeoutError, ValueError):
        return False


def test_no_installed_dependency_has_a_known_vulnerability():
    """Everything installed with the project (what its lock would hold), audited by pip-audit."""
    if not _vulnerability_service_answers():
        pytest.skip(
            f"pip-audit's vulnerability service ({VULNERABILITY_SERVICE}) does not answer here"
        )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--local",
            "--strict",
            "--skip-editable",
            "--progress-spinner",
            "off",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def test_no_package_the_shared_layer_ships_has_a_known_vulnerability():
    """The layer's lock, as deployed: its exact versions (pip is not needed to read them)."""
    if not _vulnerability_service_answers():
        pytest.skip(
            f"pip-audit's vulnerability service ({VULNERABILITY_SERVICE}) does not answer here"
        )
    lock = ROOT / "layers" / "shared" / "requirements.lock"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "--disable-pip",
            "--require-hashes",
            "--strict",
            "--progress-spinner",
            "off",
            "-r",
            str(lock),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def test_no_sql_text_is_built_from_formatted_strings():
    """cursor.execute / execute_values / copy_expert get literals or psycopg2.sql objects."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"execute", "executemany", "copy_expert", "execute_values"}
            ):
                query = (
                    node.args[1]
                    if node.func.attr == "execute_values" and len(node.args) > 1
                    else (node.args[0] if node.args else None)
                )
                if isinstance(query, ast.JoinedStr | ast.BinOp) or (
                    isinstance(query, ast.Call)
                    and getattr(query.func, "attr", "") == "format"
                    and isinstance(query.func.value, ast.Constant)
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
