"""`sam build` without Docker, and the built artifacts against Lambda's limits."""

import os
import subprocess
import sys
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.iac import ROOT, load_template
from tests.support.sam import python312, sam_build

pytestmark = [pytest.mark.infra, pytest.mark.slow]  # a real `sam build`
LAMBDA_UNZIPPED_LIMIT_MB = 250
# The AWS-managed "AWS SDK for pandas" layer (pandas, pyarrow, numpy and their kin) for
# Python 3.12 on x86_64, unzipped: about 204 MB (its published zip, extracted).
PANDAS_LAYER_MB = 204
PANDAS_LAYER_PROVIDES = {"pandas", "pyarrow", "numpy", "python-dateutil", "pytz", "tzdata", "six"}
LAMBDA_RUNTIME_PROVIDES = {
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "urllib3",
    "python-dateutil",
    "six",
}
RUNTIME = {
    "python_version": "3.12",
    "python_full_version": "3.12.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "os_name": "posix",
    "platform_python_implementation": "CPython",
    "extra": "",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    python_bin = python312()
    if python_bin is None:
        pytest.skip("sam build needs Python 3.12 on PATH (the functions' runtime), or Docker")
    build_dir = tmp_path_factory.mktemp("sam-build")
    result = sam_build(build_dir, python_bin)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build_dir


def _megabytes(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def test_every_function_fits_lambdas_unzipped_limit(built):
    template = load_template()
    shared = _megabytes(built / "SharedLayer")
    sizes = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        uses_pandas = any(
            layer == {"Ref": "PandasLayerArn"} for layer in resource["Properties"].get("Layers", [])
        )
        sizes[name] = _megabytes(built / name) + shared + (PANDAS_LAYER_MB if uses_pandas else 0)
    print({name: f"{size:.1f} MB" for name, size in sizes.items()})
    assert max(sizes.values()) < LAMBDA_UNZIPPED_LIMIT_MB, sizes
    assert sizes["StarterFunction"] < 50  # the starter carries no data libraries


def test_the_shared_layer_holds_its_whole_closure_and_no_second_numpy(built):
    site = built / "SharedLayer" / "python"
    assert (site / "csvflow" / "handlers.py").is_file()
    assert not (site / "csvflow" / "__pycache__").exists()
    installed = {}
    for dist_info in site.glob("*.dist-info"):
        metadata = Parser().parsestr((dist_info / "METADATA").read_text())
        installed[canonicalize_name(metadata["Name"])] = metadata.get_all("Requires-Dist") or []
    assert not {"numpy", "pandas", "pyarrow"} & set(installed)
    provided = set(installed) | PANDAS_LAYER_PROVIDES | LAMBDA_RUNTIME_PROVIDES
    for name, requirements in installed.items():
        for line in requirements:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(RUNTIME):
                assert canonicalize_name(requirement.name) in provided, (name, line)


@pytest.mark.parametrize(
    ("function", "variables"),
    [
        (
            "starter",
            {"CSVFLOW_STATE_MACHINE_ARN": "arn:aws:states:eu-west-2:123456789012:stateMachine:x"},
        ),
        # (neither has the AWS SDK for pandas layer)
        (
            "migrate",
            {
                "CSVFLOW_DB_ADMIN_SECRET_ARN": "arn:aws:secretsmanager:eu-west-2:123456789012:secret:x"
            },
        ),
    ],
)
def test_the_functions_without_the_pandas_layer_import_no_data_library(function, variables):
    code = (
        f"import sys; sys.path.insert(0, 'functions/{function}'); import app; "
        "print(sorted(m for m in ('pandas', 'pyarrow', 'numpy', 'datasketches') if m in sys.modules))"
    )
    env = {**os.environ, **variables, "AWS_DEFAULT_REGION": "eu-west-2"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True
    )
    assert result.stdout.strip() == "[]"
