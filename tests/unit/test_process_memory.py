"""The allocator setting `csvflow profile` makes before it streams a file."""

import sys

import pytest

from csvflow.process_memory import return_large_blocks


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_takes_the_fixed_mmap_threshold():
    assert return_large_blocks() is True
    assert return_large_blocks() is True  # once per process, the same answer
