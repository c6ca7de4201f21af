"""The ASL checked by a real validator (the npm asl-validator); moto runs it in tests/e2e."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.iac import ROOT

pytestmark = [pytest.mark.infra, pytest.mark.slow]  # installs the validator with npm
DEFINITION = ROOT / "statemachine" / "ingest.asl.json"
VALIDATOR_VERSION = "3.16.0"


@pytest.fixture(scope="session")
def asl_validator(tmp_path_factory):
    installed = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "asl-validator"
    if installed.exists():
        return installed
    if not shutil.which("npm"):
        pytest.skip("asl-validator needs Node.js and npm")
    folder = tmp_path_factory.mktemp("asl-validator")
    subprocess.run(
        [
            "npm",
            "install",
            "--no-audit",
            "--no-fund",
            "--silent",
            "--prefix",
            str(folder),
            f"asl-validator@{VALIDATOR_VERSION}",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder / "node_modules" / ".bin" / "asl-validator"


def _validate(validator: Path, path: Path):
    return subprocess.run(
        [str(validator), "--json-path", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_definition_is_valid_asl(asl_validator):
    result = _validate(asl_validator, DEFINITION)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_rejects_a_broken_definition(asl_validator, tmp_path):
    broken = json.loads(DEFINITION.read_text())
    broken["States"]["Validate CSV"]["Next"] = "Nowhere"
    path = tmp_path / "broken.asl.json"
    path.write_text(json.dumps(broken))
    result = _validate(asl_validator, path)
    assert result.returncode != 0
    assert "Nowhere" in result.stdout + result.stderr


def test_transient_errors_end_on_the_failed_task_for_redrive():
    """Only permanent errors are caught; transient ones fail the task itself, so a redrive
    resumes there instead of finding the failure recorded as final."""
    states = json.loads(DEFINITION.read_text())["States"]
    for name in ("Validate CSV", "Summarize columns", "Persist summary"):
        retried = {e for r in states[name]["Retry"] for e in r["ErrorEquals"]}
        caught = {e for c in states[name]["Catch"] for e in c["ErrorEquals"]}
        assert {"StorageUnavailable", "DatabaseUnavailable"} <= retried
        assert not caught & retried
        assert "States.ALL" not in caught
