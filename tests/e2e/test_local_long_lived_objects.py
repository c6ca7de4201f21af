"""The local account's long-lived objects (the emulator's and the functions' modules, moto's
backends, botocore's models) are kept out of CPython's full collections while the stack runs,
and given back to them when it closes (docs/adr/0028, amendment)."""

from __future__ import annotations

import gc

import pytest

from csvflow.local.runtime import LocalRuntime

pytestmark = pytest.mark.e2e


def test_the_started_stack_is_frozen_while_it_runs_and_unfrozen_when_it_closes(database_url):
    gc.unfreeze()  # whatever an earlier test left
    with LocalRuntime(database_url=database_url) as running:
        frozen = gc.get_freeze_count()
        # The stack as built: moto's backends, the clients, the warm migrate and starter.
        assert frozen > 100_000, frozen
        backends = running.sfn  # one of the objects made at the start
        assert not any(backends is kept for kept in gc.get_objects())
        # ...working as before: a warm function invoked again, an object put and read.
        assert running.migrate() == running.migrate()
        running.s3.put_object(Bucket=running.names.bucket, Key="tiny.csv", Body=b"a,b\n1,2\n")
        got = running.s3.get_object(Bucket=running.names.bucket, Key="tiny.csv")
        assert got["Body"].read() == b"a,b\n1,2\n"
    # A process that runs stacks one after another (a test session, `serve`) collects them.
    assert gc.get_freeze_count() == 0
