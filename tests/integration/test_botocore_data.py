"""Every botocore session the local runtime's process makes shares one data loader
(local/botocore_data.py): botocore's JSON is parsed once, and the clients built from it still
answer as before. Fails if a botocore upgrade moves the seam."""

import textwrap

import boto3
import botocore.session
from moto import mock_aws

from csvflow.local.botocore_data import service_data_loaded_once
from tests.support.fresh_interpreter import last_json_line


def _loader(session: botocore.session.Session):
    return session.get_component("data_loader")


def test_sessions_made_inside_share_one_loader_and_outside_do_not():
    with service_data_loaded_once():
        first, second = botocore.session.Session(), boto3.session.Session()._session
        assert _loader(first) is _loader(second)
        # ...and so one parse of botocore's endpoints for both sessions' resolvers.
        assert _loader(first).load_data("endpoints") is _loader(second).load_data("endpoints")
    after = botocore.session.Session()
    assert _loader(after) is not _loader(first)


def test_each_data_path_keeps_its_own_loader(tmp_path):
    with service_data_loaded_once():
        default = botocore.session.Session()
        elsewhere = botocore.session.Session()
        elsewhere.set_config_variable("data_path", str(tmp_path))
        assert _loader(default) is not _loader(elsewhere)
        assert str(tmp_path) in _loader(elsewhere).search_paths


def test_clients_from_the_shared_loader_work_against_the_emulator():
    with service_data_loaded_once(), mock_aws():
        made = boto3.session.Session(region_name="us-east-1").client("s3")
        made.create_bucket(Bucket="shared-loader")
        made.put_object(Bucket="shared-loader", Key="a.csv", Body=b"a,b\n1,2\n")
        # A second session (as a function's cold start makes) reads the same object.
        other = boto3.session.Session(region_name="us-east-1").client("s3")
        body = other.get_object(Bucket="shared-loader", Key="a.csv")["Body"].read()
    assert body == b"a,b\n1,2\n"


def test_the_runtime_parses_botocores_endpoints_once(database_url, tmp_path):
    """Through a whole stack's start in a fresh interpreter: the runtime's, moto's, the
    functions' and the X-Ray SDK's sessions (five parses of endpoints.json without it)."""
    code = """
        import json
        from pathlib import Path
        import botocore.loaders
        parsed = []
        load_file = botocore.loaders.JSONFileLoader.load_file
        def counted(self, file_path):
            found = load_file(self, file_path)
            if found is not None and file_path.endswith("endpoints"):
                parsed.append(file_path)
            return found
        botocore.loaders.JSONFileLoader.load_file = counted
        from csvflow.local.runtime import LocalRuntime
        with LocalRuntime(database_url=sys.argv[1], data_dir=Path(sys.argv[2])):
            import aws_xray_sdk.core  # the functions' Tracer made its X-Ray clients
        print(json.dumps({"parsed": len(parsed), "xray": "aws_xray_sdk.core" in sys.modules}))
    """
    found = last_json_line(
        "import sys\n" + textwrap.dedent(code), database_url, str(tmp_path), timeout=300
    )
    assert found == {"parsed": 1, "xray": True}, found


def test_motos_models_are_read_through_one_loader_of_its_own():
    """moto made a loader per model it read, each listing botocore's service folders again."""
    import moto.core.loaders
    import moto.core.utils

    with service_data_loaded_once():
        first, second = moto.core.utils.create_loader(), moto.core.utils.create_loader()
        assert first is second
        # moto's own loader (moto's extra shapes on botocore's models), not a session's.
        assert isinstance(first, moto.core.loaders.Loader)
        shared = moto.core.utils._load_service_model("stepfunctions", "service-2")
    assert moto.core.utils.create_loader() is not first
    assert shared == moto.core.loaders.create_loader().load_service_model(
        "stepfunctions", "service-2"
    )
