"""One botocore data loader for every botocore session in the local account's process.

In AWS each function is a process of its own and builds its clients from botocore's JSON data
once per cold start. Locally the five functions, the runtime, moto's backends and the X-Ray
SDK's sampler (which Powertools' Tracer imports, and which builds two X-Ray clients) share one
process, and each of their six sessions made its own loader, so botocore parsed its 1.3 MB
``endpoints.json`` five times and S3's, Lambda's and Step Functions' models up to four times:
0.35-0.5 s of CPU in a run (docs/adr/0020). The data is botocore's read-only files; one loader
caches each once, and every client is built from the same models as before.

moto reads the same files through a loader of its own (botocore's, with moto's extra shapes),
and made a new one for every model it loaded: each new loader lists botocore's 400-odd
service folders again before it opens one (a file check per folder and search path), 20 to
25 ms of CPU each, six times at the stack's start. One moto loader now does it once.

A seam into botocore (``botocore.session`` calls ``create_loader`` for each new session's
``data_loader``); ``tests/integration/test_botocore_data.py`` fails if an upgrade moves it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def service_data_loaded_once() -> Iterator[None]:
    """Sessions created in the block share one loader per data path (its cache with it), and
    moto's models are read through one loader of moto's."""
    import botocore.session

    create_loader = botocore.session.create_loader
    loaders: dict[Any, Any] = {}
    lock = threading.Lock()  # functions cold-start on Step Functions' threads

    def shared_loader(search_path_string: str | None = None) -> Any:
        with lock:
            if search_path_string not in loaders:
                loaders[search_path_string] = create_loader(search_path_string)
            return loaders[search_path_string]

    import moto.core.utils

    create_moto_loader = moto.core.utils.create_loader
    moto_loader = create_moto_loader()

    botocore.session.create_loader = shared_loader
    moto.core.utils.create_loader = lambda: moto_loader
    try:
        yield
    finally:
        botocore.session.create_loader = create_loader
        moto.core.utils.create_loader = create_moto_loader
