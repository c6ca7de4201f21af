"""The allocator setting `csvflow profile` and the validate and summarize functions make
before they stream a file."""

import sys

import pytest

from csvflow.bootstrap import storage_function
from csvflow.process_memory import return_large_blocks


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_takes_the_fixed_mmap_threshold():
    assert return_large_blocks() is True
    assert return_large_blocks() is True  # once per process, the same answer


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_validate_and_summarize_functions_set_it_at_their_cold_start(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return_large_blocks.cache_clear()
    storage_function({})
    assert return_large_blocks.cache_info().currsize == 1
