"""The process's allocator: large blocks go back to the system when freed.

glibc serves a block above its mmap threshold with its own mapping, returned on free; below it,
from heaps that keep freed space for reuse. The threshold starts at 128 KiB and rises to the
largest block freed so far (up to 32 MiB), so after the first few batches a profile's numpy
arrays (a column's values, a batch's hashes) come from the heaps of two threads, and what they
leave fragmented there counted about 120 MB of peak RSS on a 300-column file. A fixed threshold
of 1 MiB keeps the large ones mapped; a trim threshold of 64 MiB keeps glibc from returning the
top of a heap after every free (fixing one threshold fixes the other at its default, 128 KiB,
and that cost 0.3 s of system time on a 150 MB file).
"""

from __future__ import annotations

import ctypes
import functools
import sys

# mallopt's parameter numbers, from glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 20
TRIM_THRESHOLD = 64 << 20


@functools.cache
def return_large_blocks() -> bool:
    """Fix glibc's mmap and trim thresholds (once per process); whether it was applied."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process runs on
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
