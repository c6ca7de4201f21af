"""How functions running in Docker containers reach the local stack on this machine.

`sam local` starts its containers on Docker's default bridge network (its
``--docker-network host`` connects them to no other network), where 127.0.0.1 is the
container itself. The emulated AWS endpoint and the database listen on this machine's
loopback (the embedded PostgreSQL only on a Unix socket). So the local stack relays them on
the bridge's gateway address, which containers reach and nothing outside this machine does:
the AWS endpoint on the same port (env.json names ``host.docker.internal:4566``, which
``sam local --add-host host.docker.internal:<gateway>`` resolves), the database on a port of
its own, written into the persist function's secret.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import shutil
import socket
import subprocess  # nosec B404 - the docker CLI, with fixed arguments
import threading
from collections.abc import Callable
from typing import Any

import psycopg2.extensions

from csvflow.exceptions import ConfigurationError

logger = logging.getLogger(__name__)


def docker_bridge_gateway() -> str:
    """The address of this machine on Docker's default bridge network."""
    docker = shutil.which("docker")
    if docker is None:
        raise ConfigurationError("the functions run in Docker, but there is no docker command")
    result = subprocess.run(  # noqa: S603 # nosec B603
        [docker, "network", "inspect", "bridge"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if result.returncode != 0:
        raise ConfigurationError(f"docker network inspect bridge: {result.stderr.strip()}")
    (network,) = json.loads(result.stdout)
    for config in network.get("IPAM", {}).get("Config") or []:
        if config.get("Gateway"):
            return str(config["Gateway"])
        if config.get("Subnet"):  # Docker's default: the subnet's first address
            subnet = ipaddress.ip_network(config["Subnet"])
            return str(next(subnet.hosts()))
    raise ConfigurationError("Docker's bridge network has no address (docker network inspect)")


class Relay:
    """Accepts connections on ``host:port`` and joins each to a new ``connect()``."""

    def __init__(self, host: str, port: int, connect: Callable[[], socket.socket]) -> None:
        self._connect = connect
        self._server = socket.create_server((host, port))
        self.address: tuple[str, int] = self._server.getsockname()[:2]
        self._thread = threading.Thread(target=self._accept, name="csvflow-relay", daemon=True)

    def __enter__(self) -> Relay:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close()  # accept() fails, and the thread ends

    def _accept(self) -> None:
        while True:
            try:
                inbound, _ = self._server.accept()
            except OSError:
                return
            try:
                outbound = self._connect()
            except OSError as error:
                logger.warning("relay %s: cannot connect onwards: %s", self.address, error)
                inbound.close()
                continue
            for source, target in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=_pipe, args=(source, target), daemon=True).start()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(1 << 16):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the other direction
            end.close()


def tcp(host: str, port: int) -> Callable[[], socket.socket]:
    return lambda: socket.create_connection((host, port), timeout=10)


def database(url: str) -> Callable[[], socket.socket]:
    """Connections to the server a libpq URL names: TCP, or a Unix socket's folder."""
    parameters: dict[str, Any] = psycopg2.extensions.parse_dsn(url)
    host = parameters.get("host") or "/var/run/postgresql"
    port = int(parameters.get("port") or 5432)
    if not host.startswith("/"):
        return tcp(host, port)

    def unix() -> socket.socket:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(f"{host}/.s.PGSQL.{port}")
        return connection

    return unix
