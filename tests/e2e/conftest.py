import pytest

from csvflow.local.runtime import LocalRuntime


@pytest.fixture(scope="module")
def runtime(database_url):
    with LocalRuntime(database_url=database_url) as running:
        yield running
