"""`sam build` as the tests run it: Python 3.12 (the functions' runtime) on PATH, no Docker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.iac import ROOT, TEMPLATE
from tests.support.managed_layer import load_managed_layer

SAM = Path(sys.executable).parent / "sam"


def python312() -> Path | None:
    """The folder of a Python of the functions' runtime, which `sam build` needs on PATH."""
    found = shutil.which("python3.12")
    if found:
        return Path(found).parent
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for candidate in sorted(pyenv.glob("3.12*/bin/python3.12"), reverse=True):
        return candidate.parent
    return None


def sam_environment(python_bin: Path) -> dict[str, str]:
    path = f"{Path(sys.executable).parent}{os.pathsep}{python_bin}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "SAM_CLI_TELEMETRY": "0", "PATH": path}


def layer_override() -> str:
    return f"PandasLayerArn={load_managed_layer().arn}"


def sam_build(build_dir: Path, python_bin: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(SAM),
            "build",
            "--template-file",
            str(TEMPLATE),
            "--build-dir",
            str(build_dir),
            # (its own cache: samconfig.toml's `cached` would share the project's between
            # builds that run side by side in two test workers)
            "--cache-dir",
            str(build_dir.with_name(build_dir.name + "-cache")),
            "--base-dir",
            str(ROOT),
            "--parameter-overrides",
            layer_override(),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=sam_environment(python_bin),
        check=False,
        timeout=900,
    )
