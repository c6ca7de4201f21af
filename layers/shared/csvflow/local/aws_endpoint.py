"""The emulated account, served over HTTP: the one setup of moto's server csvflow uses.

moto's in-process mock (``mock_aws``) answers this process's boto3 clients; code outside this
process (worker processes, Lambda runtime containers, any AWS client ``csvflow local serve``
is given) reaches the same account, the same in-memory backends, through moto's server
running on a thread of this process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# The requests are the emulator's plumbing, not csvflow's output: werkzeug would print one
# access line per request on the terminal at INFO (it adds its own handler when none takes
# INFO). They go to this logger at DEBUG instead, which --verbose shows.
REQUESTS_LOGGER = "csvflow.local.endpoint"
_requests_log = logging.getLogger(REQUESTS_LOGGER)

WsgiApp = Callable[..., Any]


@contextmanager
def account_served(
    host: str,
    port: int,
    *,
    name: str,
    middleware: Callable[[WsgiApp], WsgiApp] | None = None,
) -> Iterator[str]:
    """Serve the emulated account on ``host:port`` (0: a free port) for the block; its URL.
    ``middleware`` wraps moto's application (to answer APIs moto lacks)."""
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

    application: WsgiApp = DomainDispatcherApplication(create_backend_app)
    server = make_server(
        host,
        port,
        middleware(application) if middleware else application,
        threaded=True,
        request_handler=QuietRequestHandler,
    )
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
