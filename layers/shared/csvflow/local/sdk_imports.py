"""The AWS SDK imported for the local account without the accelerators it looks for and that
nothing here uses.

botocore imports awscrt when it is installed (``botocore.compat``: CRT's signers and checksums,
57-150 ms of CPU), and its HTTP session imports pyOpenSSL's urllib3 module only to take back
the ``ssl.SSLContext`` it would patch (``botocore.httpsession``: 38-90 ms, with cryptography's
OpenSSL bindings). The local account signs no request with SigV4a, computes no CRC32C or
CRC64NVME (the functions' checksums are left to real S3, docs/adr/0020) and makes no TLS
connection; Lambda's Python runtime has neither library, so its botocore runs as this one does.
Neither is a dependency of csvflow: development tools (aws-sam-cli) bring them.

Only while botocore is first imported: after the block both import as usual for whatever asks
(botocore has settled on its fallbacks by then).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

UNUSED_ACCELERATORS = ("awscrt", "OpenSSL")


@contextmanager
def accelerators_left_out() -> Iterator[bool]:
    """For the block, importing awscrt or pyOpenSSL fails as if they were not installed;
    whether they were left out (not when botocore was already imported)."""
    if "botocore" in sys.modules:
        yield False
        return
    left_out = [name for name in UNUSED_ACCELERATORS if name not in sys.modules]
    for name in left_out:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not found"
    try:
        yield True
    finally:
        for name in left_out:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
