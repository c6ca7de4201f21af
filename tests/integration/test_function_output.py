"""A function's output as Lambda's runtime collects it in AWS: its own process, the template's
environment, stdout read line by line. No local runner in between: what this test reads is
what CloudWatch Logs gets from the deployed function."""

import json
import os
import subprocess
import sys
from pathlib import Path

from csvflow.local.sam_template import function_definitions, read_template

ROOT = Path(__file__).parents[2]
KEY = "incoming/sales/a.csv"

# S3 in moto inside the function's process; then the handler, called as Lambda calls it.
INVOKE = """
import importlib.util, json, sys
from moto import mock_aws
from csvflow.local.function_host import LambdaContext

with mock_aws():
    import boto3
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="data")
    s3.put_bucket_versioning(Bucket="data", VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket="data", Key=sys.argv[2], Body=b"id,amount\\n1,2.5\\n2,3\\n")[
        "VersionId"
    ]
    spec = importlib.util.spec_from_file_location("app", sys.argv[1])
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    event = {
        "source": {"bucket": "data", "key": sys.argv[2], "version_id": version},
        "dataset": "sales",
        "ingestion_id": "a-0123",
        "execution_arn": "arn:aws:states:us-east-1:123456789012:execution:csvflow-ingest:a-0123",
    }
    context = LambdaContext(
        function_name="csvflow-validate",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:csvflow-validate",
        memory_limit_in_mb=3008,
        aws_request_id="request-1",
        timeout_seconds=900,
    )
    app.lambda_handler(event, context)
    print(json.dumps({"test_version": version}), file=sys.stderr)
"""


def _validate_environment():
    template = read_template(ROOT / "template.yaml")
    (validate,) = [
        definition
        for definition in function_definitions(
            template,
            parameters={"IncomingPrefix": "incoming/", "BucketName": "data"},
            # (other functions' references; validate's environment has none)
            resources={
                "IngestStateMachine": "",
                "ApplicationDatabaseSecret": "",
                "Database.Endpoint.Address": "",
                "Database.MasterUserSecret.SecretArn": "",
            },
        ).values()
        if definition.logical_id == "ValidateFunction"
    ]
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith(("CSVFLOW_", "POWERTOOLS_"))
    }
    inherited.pop("DATABASE_URL", None)
    return (
        inherited
        | validate.environment
        | {
            "AWS_LAMBDA_FUNCTION_NAME": "csvflow-validate",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )


def test_the_deployed_validate_function_prints_json_lines_with_the_steps_keys_and_its_emf():
    done = subprocess.run(
        [sys.executable, "-c", INVOKE, str(ROOT / "functions/validate/app.py"), KEY],
        env=_validate_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    version = json.loads(done.stderr.strip().splitlines()[-1])["test_version"]
    emitted = [json.loads(line) for line in done.stdout.splitlines()]
    lines = [entry for entry in emitted if "_aws" not in entry]
    (document,) = [entry for entry in emitted if "_aws" in entry]

    assert {entry["message"] for entry in lines} >= {"column types", "validated"}
    for entry in lines:
        assert entry["service"] == "csvflow"
        assert entry["execution_arn"].endswith(":execution:csvflow-ingest:a-0123")
        assert (entry["ingestion_id"], entry["object_key"], entry["object_version"]) == (
            "a-0123",
            KEY,
            version,
        )
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "csvflow"
    assert (document["step"], document["Rows"], document["RejectedRows"]) == (
        "validate",
        [2.0],
        [0.0],
    )
    assert document["Bytes"] == [float(len(b"id,amount\n1,2.5\n2,3\n"))]
