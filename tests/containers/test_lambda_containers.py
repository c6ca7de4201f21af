"""The functions as built (`sam build`), in Lambda runtime containers (`sam local`), in the workflow.

One good CSV and one that takes the failure branch go S3 -> SNS -> SQS -> starter -> Step
Functions -> validate / summarize / persist, each function running in its container at
`sam local start-lambda`'s endpoint; what lands in PostgreSQL equals the in-process run's.
A packaging mistake (a module left out of the layer, a wrong handler string) fails there.

Needs Docker and the images and layer cache of tools/lambda-containers/prepare.py (which
.ci/run runs first): skipped without them, except in CI, where that is a failure.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from csvflow.adapters.postgres.connection import connector
from csvflow.adapters.postgres.queries import PostgresSummaryQueries
from csvflow.local.container_network import docker_bridge_gateway
from csvflow.local.runtime import LocalRuntime
from tests.support.iac import ROOT
from tests.support.sam import SAM, layer_override, python312, sam_build, sam_environment

pytestmark = [pytest.mark.containers, pytest.mark.slow]
PREPARE = ROOT / "tools" / "lambda-containers" / "prepare.py"
SALES = ROOT / "examples" / "sales.csv"
CONTRACT = ROOT / "examples" / "contracts" / "sales.yaml"
# What differs between two runs of the same file: ids, versions, times, the report's key.
PER_RUN = {"ingestion_id", "version", "execution_arn", "updated_at", "rejects_report"}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI prepares it: tools/lambda-containers/prepare.py)")
    pytest.skip(f"{reason}: run `python tools/lambda-containers/prepare.py` (needs Docker)")


@pytest.fixture(scope="module")
def prepared():
    if shutil.which("docker") is None:
        _unavailable("no docker command")
    check = subprocess.run(
        [sys.executable, str(PREPARE), "--check"], capture_output=True, text=True, check=False
    )
    if check.returncode != 0:
        _unavailable(f"Lambda containers not ready: {check.stderr.strip()}")
    python_bin = python312()
    if python_bin is None:
        _unavailable("sam build needs Python 3.12 on PATH (the functions' runtime)")
    return python_bin


@pytest.fixture(scope="module")
def built(prepared, tmp_path_factory):
    build_dir = tmp_path_factory.mktemp("sam-build")
    result = sam_build(build_dir, prepared)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build_dir


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sam_local(command, build_dir, env_file, *extra):
    gateway = docker_bridge_gateway()
    return [
        str(SAM),
        "local",
        *command,
        "--template",
        str(build_dir / "template.yaml"),
        "--env-vars",
        str(env_file),
        "--add-host",
        f"host.docker.internal:{gateway}",
        "--skip-pull-image",
        "--parameter-overrides",
        layer_override(),
        "--region",
        "us-east-1",
        *extra,
    ]


def _environment_file(folder: Path, aws_port: int) -> Path:
    """env.json, with the functions reaching the emulated AWS on ``aws_port``."""
    variables = json.loads((ROOT / "env.json").read_text())
    for function in variables.values():
        function["AWS_ENDPOINT_URL"] = f"http://host.docker.internal:{aws_port}"
    path = folder / "env.json"
    path.write_text(json.dumps(variables))
    return path


@pytest.fixture(scope="module")
def lambda_endpoint(prepared, built, tmp_path_factory):
    """`sam local start-lambda` on a free port: (its URL, the AWS port its functions use)."""
    aws_port, lambda_port = _free_port(), _free_port()
    env_file = _environment_file(tmp_path_factory.mktemp("sam-env"), aws_port)
    log = tmp_path_factory.mktemp("sam-log") / "start-lambda.log"
    command = _sam_local(
        ["start-lambda"],
        built,
        env_file,
        "--port",
        str(lambda_port),
        "--warm-containers",
        "LAZY",
    )
    credentials = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**sam_environment(prepared), **credentials},
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", lambda_port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, log.read_text()[-3000:]
                time.sleep(0.5)
        else:
            pytest.fail(f"sam local start-lambda did not listen: {log.read_text()[-3000:]}")
        yield f"http://127.0.0.1:{lambda_port}", aws_port
    finally:
        process.send_signal(signal.SIGINT)  # SAM removes its warm containers on the way out
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        print(f"\nsam local start-lambda's log: {log}")


def _broken_csv(folder: Path) -> Path:
    """A file the sales contract refuses: its header lacks the contract's columns."""
    path = folder / "broken.csv"
    path.write_text("a,b\n1,2\n")
    return path


def _run(database_url, files, **runtime_options):
    with LocalRuntime(database_url=database_url, **runtime_options) as runtime:
        runtime.put_contract("sales", CONTRACT)
        results = runtime.run(files, dataset="sales")
        durations = dict(runtime.endpoint_runner.durations) if runtime.endpoint_runner else {}
    queries = PostgresSummaryQueries(connector(database_url))
    summaries = {
        result.upload.source.key: queries.summary(result.upload.source.key) for result in results
    }
    statuses = {result.upload.source.key: result.status for result in results}
    return statuses, summaries, durations


def _comparable(summary):
    return {key: value for key, value in summary.items() if key not in PER_RUN}


def test_the_workflow_in_containers_persists_what_the_in_process_run_does(
    lambda_endpoint, database_url, tmp_path, record_property
):
    endpoint_url, aws_port = lambda_endpoint
    files = [SALES, _broken_csv(tmp_path)]
    expected_statuses, expected, _ = _run(database_url, files)
    assert expected_statuses == {
        "incoming/sales/sales.csv": "SUCCEEDED",
        "incoming/sales/broken.csv": "FAILED",
    }

    statuses, summaries, durations = _run(
        database_url, files, lambda_endpoint=endpoint_url, container_aws_port=aws_port
    )

    assert statuses == expected_statuses
    for key, summary in summaries.items():
        assert summary["updated_at"] > expected[key]["updated_at"]  # the second run wrote it
        assert _comparable(summary) == _comparable(expected[key]), key
    good, failed = summaries["incoming/sales/sales.csv"], summaries["incoming/sales/broken.csv"]
    assert (good["rows"], good["rejected_rows"], len(good["columns"])) == (500, 2, 9)
    assert good["aggregates"]
    assert (failed["failed_step"], failed["error"]) == ("validate", "InvalidCsv")
    # Every function of the workflow ran in a container, the starter included.
    assert set(durations) == {
        "csvflow-starter",
        "csvflow-validate",
        "csvflow-summarize",
        "csvflow-persist",
    }
    lines = [
        "each invocation's wall time at the Lambda endpoint, in seconds (the first, and one",
        "running beside another of the same function, start a container: a cold start):",
        *(
            f"  {function:18} " + ", ".join(f"{seconds:.2f}" for seconds in times)
            for function, times in sorted(durations.items())
        ),
    ]
    record_property("figures", "\n".join(lines))


def _invoke_once(prepared, build_dir, tmp_path, function, event):
    env_file = _environment_file(tmp_path, 9)  # nothing is reached: the import fails first
    result = subprocess.run(
        _sam_local(["invoke", function], build_dir, env_file, "--event", str(event)),
        capture_output=True,
        text=True,
        env={
            **sam_environment(prepared),
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        },
        check=False,
        timeout=600,
    )
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


@pytest.mark.parametrize(
    ("mistake", "error_type"),
    [
        ("module left out of the layer", "Runtime.ImportModuleError"),
        ("wrong handler string", "Runtime.HandlerNotFound"),
    ],
)
def test_a_packaging_mistake_fails_in_the_container(prepared, built, tmp_path, mistake, error_type):
    broken = tmp_path / "build"
    shutil.copytree(built, broken, symlinks=True)
    if mistake == "module left out of the layer":
        (broken / "SharedLayer" / "python" / "csvflow" / "adapters" / "s3.py").unlink()
    else:
        template = broken / "template.yaml"
        text = template.read_text()
        assert "Handler: app.lambda_handler" in text
        template.write_text(text.replace("Handler: app.lambda_handler", "Handler: app.handler"))

    answer, log = _invoke_once(
        prepared, broken, tmp_path, "ValidateFunction", ROOT / "events" / "validate.json"
    )

    assert answer["errorType"] == error_type, log[-3000:]
