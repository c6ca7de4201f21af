import pytest

from csvflow.local.runtime import LocalRuntime


@pytest.fixture(scope="session", autouse=True)
def _local_data_dir(tmp_path_factory):
    """The CLI keeps the local account's objects in the user's data folder: not in tests."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
        yield


@pytest.fixture(scope="module")
def runtime(database_url):
    with LocalRuntime(database_url=database_url) as running:
        yield running
