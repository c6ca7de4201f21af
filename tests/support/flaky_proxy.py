"""A TCP proxy in front of PostgreSQL: real outages, and a connection cut mid-COPY."""

from __future__ import annotations

import socket
import struct
import threading
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


class FlakyProxy:
    """Listens on 127.0.0.1; closes the first ``drop_first`` connections, forwards the rest.

    The target is the server ``target_url`` names, over TCP or, like the embedded server's
    URL (``?host=/socket/folder``), over its Unix socket; ``url`` reaches it over TCP.
    """

    def __init__(self, target_url: str, *, drop_first: int) -> None:
        parts = urlsplit(target_url)
        self._target = _server_address(target_url)
        self._url_parts = parts
        self.drop_first = drop_first
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port = self._server.getsockname()[1]
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._cut_copy = threading.Event()
        self._copies_cut = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def cut_during_copy(self) -> None:
        """Cut the next connection that sends COPY data, right after its first row batch.

        The proxy reads the client's side of the PostgreSQL protocol (so the URL must say
        sslmode=disable) and drops both ends after forwarding the first CopyData message.
        """
        self._cut_copy.set()

    @property
    def copies_cut(self) -> int:
        return self._copies_cut

    def outage(self, connections: int) -> None:
        """Cut every open connection and refuse the next ``connections`` attempts."""
        self.drop_first = self.connections + connections
        while self._open:
            _shut_down(self._open.pop())

    @property
    def url(self) -> str:
        netloc = self._url_parts.netloc.rsplit("@", 1)
        user = netloc[0] + "@" if len(netloc) == 2 else ""
        # libpq lets host and port in the query win over the netloc: they go, the rest stays.
        query = urlencode(
            [(k, v) for k, v in parse_qsl(self._url_parts.query) if k not in {"host", "port"}]
        )
        return urlunsplit(
            self._url_parts._replace(netloc=f"{user}127.0.0.1:{self.port}", query=query)
        )

    def __enter__(self) -> FlakyProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            self.connections += 1
            if self.connections <= self.drop_first:
                client.close()
                continue
            upstream = _connect(self._target)
            self._open += [client, upstream]
            threading.Thread(target=self._from_client, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()

    def _from_client(self, client: socket.socket, upstream: socket.socket) -> None:
        """Forward the client's messages one by one, watching for COPY data when armed."""
        try:
            (length,) = struct.unpack("!i", _read_exactly(client, 4))
            startup = _read_exactly(client, length - 4)
            upstream.sendall(struct.pack("!i", length) + startup)
            if struct.unpack("!i", startup[:4])[0] in _ENCRYPTION_REQUESTS:
                _pipe(client, upstream)  # TLS follows: nothing to read, only to forward
                return
            while True:  # after the startup message: a type byte, then a length
                head = _read_exactly(client, 5)
                (length,) = struct.unpack("!i", head[1:])
                upstream.sendall(head + _read_exactly(client, length - 4))
                if head[:1] == b"d" and self._cut_copy.is_set():
                    self._cut_copy.clear()
                    self._copies_cut += 1
                    break
        except OSError:
            pass
        _shut_down(client, upstream)


_ENCRYPTION_REQUESTS = {80877103, 80877104}  # SSLRequest, GSSENCRequest


def _server_address(url: str) -> tuple[str, int] | str:
    """(host, port) for TCP, or the socket file's path when the host is a folder (as libpq reads it)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    host = query.get("host") or parts.hostname or "127.0.0.1"
    port = int(query.get("port") or parts.port or 5432)
    return f"{host}/.s.PGSQL.{port}" if host.startswith("/") else (host, port)


def _connect(address: tuple[str, int] | str) -> socket.socket:
    if isinstance(address, tuple):
        return socket.create_connection(address)
    upstream = socket.socket(socket.AF_UNIX)
    upstream.connect(address)
    return upstream


def _read_exactly(source: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = source.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("closed")
        data += chunk
    return data


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _shut_down(source, sink)


def _shut_down(*sockets: socket.socket) -> None:
    """Cut connections both ways; one already cut is no error."""
    for s in sockets:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
