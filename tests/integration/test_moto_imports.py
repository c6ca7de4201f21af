"""The local runtime loads moto's Batch backend (and EC2's with it) only when it is used
(local/moto_imports.py). Each check runs in a fresh interpreter: this one's imports are shared
by every test. Fails if a moto upgrade moves the seam."""

from tests.support.fresh_interpreter import last_json_line


def test_the_step_functions_emulator_loads_neither_batch_nor_ec2():
    found = last_json_line(
        """
        import json, sys
        from csvflow.local.moto_imports import defer_batch_backend
        defer_batch_backend()  # as the local runtime does as it starts
        import moto.stepfunctions.parser.models  # as the emulator loads it, at first use
        print(json.dumps({
            "stepfunctions": "moto.stepfunctions.parser.models" in sys.modules,
            "batch_utils": "moto.batch.utils" in sys.modules,
            "batch_models": "moto.batch.models" in sys.modules,
            "ec2": "moto.ec2" in sys.modules,
        }))
        """
    )
    # moto's Step Functions still reaches for moto.batch.utils (else this seam is moot)...
    assert found["stepfunctions"] and found["batch_utils"], found
    # ...but Batch's backend, and EC2's, wait for their first use.
    assert not found["batch_models"] and not found["ec2"], found


def test_batch_is_all_there_when_used():
    found = last_json_line(
        """
        import json, sys
        from csvflow.local.moto_imports import defer_batch_backend
        defer_batch_backend()
        from moto.backends import get_backend
        from moto.batch import batch_backends
        import moto.batch
        backends = get_backend("batch")
        missing = None
        try:
            moto.batch.no_such_name
        except AttributeError as error:
            missing = str(error)
        print(json.dumps({
            "same": backends is batch_backends,
            "models": "moto.batch.models" in sys.modules,
            "backend": type(backends["123456789012"]["us-east-1"]).__name__,
            "missing": missing,
        }))
        """
    )
    assert found["same"] and found["models"] and found["backend"] == "BatchBackend", found
    assert "no_such_name" in found["missing"], found


def test_batch_runs_in_the_emulated_account():
    found = last_json_line(
        """
        import json
        from csvflow.local.moto_imports import defer_batch_backend
        defer_batch_backend()
        import boto3
        from moto import mock_aws
        with mock_aws():
            batch = boto3.client("batch", region_name="us-east-1")
            print(json.dumps({"queues": batch.describe_job_queues()["jobQueues"]}))
        """
    )
    assert found == {"queues": []}


def test_importing_the_local_runtime_loads_neither_batch_nor_ec2():
    # Its seams into moto's Step Functions import the parser as the runtime starts, after
    # moto.batch is deferred: at the module's import they would load Batch's backend first.
    found = last_json_line(
        """
        import json, sys
        import csvflow.local.runtime
        print(json.dumps({
            "batch_models": "moto.batch.models" in sys.modules,
            "ec2": "moto.ec2" in sys.modules,
        }))
        """
    )
    assert found == {"batch_models": False, "ec2": False}
