"""The shared layer is built from a hashed lock of its requirements, for the functions' runtime.

layers/shared/requirements.txt says what the layer needs; `make -C layers/shared lock` resolves
it into requirements.lock (exact versions, every file's hash) for the runtime and architecture
template.yaml gives the functions; `sam build` installs the lock with --require-hashes
(tests/infra/test_packaging.py builds it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.iac import ROOT, load_template

pytestmark = pytest.mark.infra

LAYER = ROOT / "layers" / "shared"
LOCK = LAYER / "requirements.lock"
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def _requirements() -> dict[str, Requirement]:
    found = {}
    for line in (LAYER / "requirements.txt").read_text(encoding="utf-8").splitlines():
        text = line.partition("#")[0].strip()
        if text:
            requirement = Requirement(text)
            found[canonicalize_name(requirement.name)] = requirement
    return found


def _entries(text: str) -> list[str]:
    """The lock's requirement entries, continuation lines joined, comments dropped."""
    logical = re.sub(r"\\\n", " ", text)
    return [
        stripped
        for line in logical.splitlines()
        if (stripped := line.partition("#")[0].strip()) and not stripped.startswith("-")
    ]


def _lock() -> dict[str, tuple[Requirement, list[str]]]:
    locked = {}
    for entry in _entries(LOCK.read_text(encoding="utf-8")):
        requirement = Requirement(HASH.sub("", entry).strip())
        locked[canonicalize_name(requirement.name)] = (requirement, HASH.findall(entry))
    return locked


def test_the_lock_holds_exactly_the_requirements():
    assert set(_lock()) == set(_requirements())
    assert "numpy" not in _lock()  # the pandas layer's


def test_every_locked_package_has_one_version_that_meets_its_requirement_and_hashes():
    requirements = _requirements()
    for name, (locked, hashes) in _lock().items():
        (pin,) = locked.specifier
        assert pin.operator == "==", locked
        assert requirements[name].specifier.contains(pin.version, prereleases=True), (
            f"{locked} does not meet {requirements[name]}: `make -C layers/shared lock`"
        )
        assert hashes, f"{name} has no hash"


def test_the_lock_is_resolved_for_the_functions_runtime_and_architecture():
    function = load_template()["Globals"]["Function"]
    python = function["Runtime"].removeprefix("python")
    (architecture,) = function["Architectures"]
    command = next(line for line in LOCK.read_text().splitlines() if "uv pip compile" in line)
    assert f"--python-version {python}" in command
    assert f"--python-platform {architecture}-manylinux" in command
    makefile = (LAYER / "Makefile").read_text(encoding="utf-8")
    assert f"--python-version {python}" in makefile
    assert f"--platform manylinux2014_{architecture}" in makefile


def test_the_layer_is_installed_from_the_lock_with_its_hashes_required():
    makefile = (LAYER / "Makefile").read_text(encoding="utf-8")
    build = makefile.partition("build-SharedLayer:")[2].partition("\n\n")[0]
    install = re.sub(r"\\\n\s*", " ", build)
    assert "-r requirements.lock" in install
    assert "--require-hashes" in install
    assert "--no-deps" in install
    assert "requirements.txt" not in install


def _with_wrong_hashes(lock: str, package: str) -> str:
    """The lock with every hash of one package replaced by one no file has."""
    lines, inside = [], False
    for line in lock.splitlines(keepends=True):
        if not line.startswith(" "):
            inside = line.startswith(f"{package}==")
        lines.append(
            HASH.sub("--hash=sha256:" + "0" * 64, line) if inside and line.startswith(" ") else line
        )
    return "".join(lines)


@pytest.mark.slow  # downloads the layer's wheels (pip's cache keeps them)
def test_a_file_that_does_not_match_its_hash_fails_the_build(tmp_path: Path):
    # The same Makefile and lock, but no hash of jmespath's is its file's.
    shutil.copy(LAYER / "Makefile", tmp_path / "Makefile")
    (tmp_path / "csvflow").mkdir()
    tampered = _with_wrong_hashes(LOCK.read_text(encoding="utf-8"), "jmespath")
    assert tampered.count("0" * 64) >= 1 and tampered != LOCK.read_text(encoding="utf-8")
    (tmp_path / "requirements.lock").write_text(tampered, encoding="utf-8")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["make", "build-SharedLayer", f"ARTIFACTS_DIR={tmp_path / 'built'}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode != 0
    assert "DO NOT MATCH THE HASHES" in result.stderr
    assert "jmespath" in result.stderr.partition("DO NOT MATCH THE HASHES")[2]
