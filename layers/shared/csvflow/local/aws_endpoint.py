"""The emulated account, served over HTTP to code outside this process.

moto's in-process mock (``mock_aws``) answers this process's boto3 clients; functions that run
elsewhere (worker processes, Lambda runtime containers) reach the same account, the same
in-memory backends, through a moto server running on a thread of this process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# The workers' requests are the run's plumbing, not its output: werkzeug would print one
# access line per request on the terminal (it adds its own handler when none takes INFO);
# they go to this logger at DEBUG instead, which --verbose shows.
_requests_log = logging.getLogger("csvflow.local.endpoint")


@contextmanager
def account_served(host: str, port: int, *, name: str) -> Iterator[str]:
    """Serve the emulated account on ``host:port`` (0: a free port) for the block; its URL."""
    # Imported here: moto's server app imports Flask, which a run that serves nothing (its
    # functions in this process) need not load.
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    class QuietRequestHandler(MotoRequestHandler):  # type: ignore[misc]
        def log(self, type: str, message: str, *args: Any) -> None:
            _requests_log.debug("%s %s", self.address_string(), message % args)

    server = make_server(
        host,
        port,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=QuietRequestHandler,
    )
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
