"""The local runtime's botocore is imported without awscrt and pyOpenSSL, which it looks for
and the local account never uses (local/sdk_imports.py); both import as usual afterwards.
Each check runs in a fresh interpreter: this one's imports are shared by every test."""

import importlib.util

import pytest

from tests.support.fresh_interpreter import last_json_line

ACCELERATORS = ("awscrt", "OpenSSL")


@pytest.mark.skipif(
    not all(importlib.util.find_spec(name) for name in ACCELERATORS),
    reason="awscrt and pyOpenSSL are not installed: nothing to leave out",
)
def test_the_local_runtime_imports_botocore_without_awscrt_or_pyopenssl():
    found = last_json_line(
        """
        import json, ssl, sys
        from csvflow.local.sdk_imports import accelerators_left_out
        with accelerators_left_out():  # as `csvflow run` imports the runtime
            import csvflow.local.runtime
        import botocore.compat, botocore.httpsession
        found = {
            "loaded": [name for name in ("awscrt", "OpenSSL") if name in sys.modules],
            "crt": botocore.compat.HAS_CRT,
            "ssl_context": botocore.httpsession.SSLContext is ssl.SSLContext,
        }
        import awscrt.auth, OpenSSL.SSL  # whatever asks later gets them
        found["afterwards"] = [name for name in ("awscrt", "OpenSSL") if name in sys.modules]
        print(json.dumps(found))
        """
    )
    assert found == {
        "loaded": [],
        "crt": False,
        "ssl_context": True,
        "afterwards": ["awscrt", "OpenSSL"],
    }, found
