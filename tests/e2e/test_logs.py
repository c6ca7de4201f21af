"""What the functions log: never a secret, never a row's values. An error names the file, line,
column and reason; the values stay in the reject report, in the bucket."""

import logging
from urllib.parse import urlsplit, urlunsplit

import pytest

from csvflow.local.runtime import LocalRuntime

pytestmark = pytest.mark.e2e
PASSWORD = "pw-must-not-be-logged-4711"  # trust authentication ignores it
MARKERS = ("rowvalue-a91f", "rowvalue-c07d", "999731")
_BOOKKEEPING = {"created", "msecs", "relativeCreated", "thread", "process", "lineno", "levelno"}


def _with_password(url):
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    if not user:
        pytest.skip("the test database URL names no user to give a password to")
    return urlunsplit(parts._replace(netloc=f"{user.split(':')[0]}:{PASSWORD}@{host}"))


@pytest.fixture
def runtime(database_url):
    with LocalRuntime(database_url=_with_password(database_url)) as running:
        yield running


def test_no_secret_and_no_row_value_reaches_the_logs(runtime, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    emitted = []  # the functions' own log lines, as CloudWatch Logs gets them
    runtime.runner.log_sinks.append(lambda log: emitted.extend(log.lines))
    good = b"id,note,amount\n" + b"".join(
        b"%d,rowvalue-a91f %d,%d.5\n" % (i, i, i) for i in range(200)
    )
    # Every row rejected for a value that is not a number: the file fails, naming line 2.
    bad = b"id,amount\n" + b"".join(b"%d,rowvalue-c07d\n" % i for i in range(50))
    contract = b"dataset: strict\ncolumns: [{name: amount, type: float}, {name: id, type: int}]\n"
    runtime.s3.put_object(Bucket=runtime.names.bucket, Key="contracts/strict.yaml", Body=contract)
    uploads = [
        runtime.upload_bytes(good, "incoming/logs/good.csv"),
        runtime.upload_bytes(bad.replace(b"49,", b"999731,"), "incoming/strict/bad.csv"),
    ]
    runtime.pump()
    succeeded, failed = runtime.wait(uploads, timeout=120)
    assert succeeded.status == "SUCCEEDED", succeeded.cause
    assert (failed.status, failed.error) == ("FAILED", "RejectedRowsExceeded")
    assert "incoming/strict/bad.csv, line 2, column 'amount': not a valid float" in failed.cause

    captured = capfd.readouterr()
    # A record's extra fields too, not only its message; not the numbers logging keeps about
    # the record itself (times, thread and process ids), where 999731 can turn up by chance.
    logged = "\n".join(
        [
            captured.out,
            captured.err,
            *emitted,
            *(
                str({k: v for k, v in vars(r).items() if k not in _BOOKKEEPING})
                for r in caplog.records
            ),
        ]
    )
    assert any('"message":"validated"' in line for line in emitted)  # the functions' own
    assert PASSWORD not in logged
    for marker in MARKERS:
        assert marker not in logged, marker
